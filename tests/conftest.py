"""Shared fixtures. The domain package lives beside the step scripts (as Snakemake sees it)."""

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "workflow" / "scripts"
sys.path.insert(0, str(SCRIPTS))


@pytest.fixture(autouse=True, scope="session")
def _few_threads():
    """Keep torch to the 2 cores CI has (and avoid oversubscription when tests run beside jobs)."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(2)
