"""The developer scripts in dev/ (benchmarks, the refactoring hash check) stay runnable: each answers --help,
and the manipulation benchmark's batched and reference loops agree on a few windows."""

import subprocess
import sys

import pytest

from conftest import REPO

DEV = sorted((REPO / "dev").glob("*.py"))


@pytest.mark.parametrize("script", DEV, ids=[p.name for p in DEV])
def test_dev_script_answers_help(script):
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert done.returncode == 0 and "usage" in done.stdout, done.stderr[-2000:]


def test_manipulation_benchmark_finds_both_loops_equal():
    done = subprocess.run([sys.executable, str(REPO / "dev" / "benchmark_manipulation.py"), "--n-windows", "3",
                           "--window", "768", "--repeats", "1", "--threads", "1"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "same MAE tables (rtol 1e-12): True" in done.stdout
