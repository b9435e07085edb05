"""How far a run's relevance files are from zennit's own rules: recompute them with zennit's rule classes.

The workflow's LRP uses the lean rules of `sslrp.explain.rules` (the same relevance as zennit's rules, in fewer
passes). This recomputes each relevance file of a finished run (`results/relevance/{model}/{cond}.h5`) with
zennit's own rule classes (`lrp.relevance(..., lean=False)`), from the same checkpoint, test windows, output
relevance and gate, and prints the relative L1 difference sum |R_file - R_zennit| / sum |R_zennit| per file, the
largest absolute difference, and the seconds both ways:

    python dev/relevance_vs_zennit.py                  # every model x condition of config/config.yaml's run
    python dev/relevance_vs_zennit.py --results /tmp/run/results --config /tmp/run/config/config.yaml

Simulated conditions only (a recorded condition is explained with another condition's checkpoints).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))  # the sslrp package

from sslrp import config as configuration  # noqa: E402
from sslrp import names, step_settings  # noqa: E402
from sslrp.data import dataset  # noqa: E402
from sslrp.explain import lrp  # noqa: E402
from sslrp.localize import inference  # noqa: E402


def compare(config, results, model, cond, threads):
    """(relative L1, max |difference|, seconds lean, seconds zennit) for one relevance file."""
    settings = step_settings.relevance(config, model)
    loaded = inference.load_for_test(settings["model"], f"{results}/models/{model}/{cond}.pth",
                                     f"{results}/data/{cond}.h5", settings["window"], settings["n_mics"], "cpu",
                                     threads)
    stored, targets = dataset.read_relevance(f"{results}/relevance/{model}/{cond}.h5", loaded.test, targets=True)
    seconds = {}
    for lean in (True, False):
        start = time.perf_counter()
        maps = lrp.relevance(loaded.localizer, loaded.test.windows, np.asarray(targets, np.float32),
                             settings["batch_size"], settings["gate"], "cpu", lean=lean)
        seconds[lean] = time.perf_counter() - start
    diff = np.abs(stored - maps)
    return float(diff.sum() / np.abs(maps).sum()), float(diff.max()), seconds[True], seconds[False]


def cli():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="config/config.yaml", help="the run's config file")
    p.add_argument("--results", default="results", help="the run's results folder")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    config = configuration.load(args.config)
    torch.set_num_threads(args.threads)
    print(f"{'model':<12}{'condition':<18}{'rel. L1':>10}{'max |diff|':>12}{'lean s':>8}{'zennit s':>10}")
    for model in configuration.model_names(config):
        for cond, settings in configuration.conditions(config).items():
            if names.is_recorded(settings):  # explained with another condition's models: not compared here
                continue
            rel, worst, lean, stock = compare(config, args.results, model, cond, args.threads)
            print(f"{model:<12}{cond:<18}{rel:>10.2e}{worst:>12.2e}{lean:>8.1f}{stock:>10.1f}")


if __name__ == "__main__":
    cli()
