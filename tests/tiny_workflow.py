"""The tiny workflow config and helpers to run the repo's Snakefile on it in a folder of its own (shared by
the end-to-end and the re-run tests)."""

import os
import subprocess
import sys

import yaml

from conftest import REPO

TINY = {
    "seed": 3,
    "conditions": [{"t60": 0.2, "snr": 20}, {"t60": 0.4, "snr": 10}],
    "geometry": {"grid": {"nx": 9, "ny": 9}},
    "corpus": {"n_utterances": 6, "espeak": {"sentences_per_utterance": 1}},
    "signals": {"window": 768, "max_seconds": 0.25},
    "simulation": {"shards": 2, "max_order": 4},
    "training": {m: {"max_epochs": 2, "batch_size": 16, "early_stopping_patience": 2, "lr_patience": 1}
                 for m in ("loc_cnn", "sample_cnn")},
    "explain": {"batch_size": 16},
    "manipulation": {"percents": [0, 20, 50], "attribution": {"integrated_gradients": {"steps": 4}}},
    # more windows than the test split has: the card covers every test window, so its LRP, energy and random numbers
    # are the manipulation, TDoA and sanity steps' (tests/test_card_workflow.py)
    "explanations": {"windows": 64, "methods": ["relevance", "lrp_epsilon", "lrp_flat", "gradient_x_input",
                                                "integrated_gradients", "energy", "random"]},
}


def snakemake(workdir, *args, config=None):
    """Run the repo's Snakefile in `workdir` (which holds config/config.yaml); return the finished process."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--cores", "2", *args]
    if config:
        cmd += ["--configfile", str(config)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)


def write_config(workdir, config):
    (workdir / "config").mkdir(exist_ok=True)
    path = workdir / "config" / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path
