"""Benchmark the attribution methods of the manipulation step (sslrp.explain.attribution) and the SRP-PHAT baseline.

Prints milliseconds per window for every method and model (untrained models, random windows: the cost does not
depend on the weights) and for SRP-PHAT over its candidate grid, which sizes the manipulation step when extra
orderings are configured (each attribution map is computed once per test window, before the curves).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))  # the sslrp package

from sslrp import config, names  # noqa: E402
from sslrp.data import geometry  # noqa: E402
from sslrp.explain import attribution  # noqa: E402
from sslrp.localize import models, srp  # noqa: E402


def ms_per_window(fn, n_windows):
    """Milliseconds per window of one call of `fn`, after an untimed warm-up call."""
    fn()
    start = time.perf_counter()
    fn()
    return 1000 * (time.perf_counter() - start) / n_windows


def run(window, windows, batch_size, threads, model_names, methods, srp_grid):
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((windows, 16, window)).astype(np.float32)
    targets = rng.uniform(0.5, 6.5, (windows, 3)).astype(np.float32)
    print(f"W={window}, {windows} windows, batch {batch_size}, {threads} threads (torch {torch.__version__}); "
          f"SmoothGrad / IG: {attribution.DEFAULTS}")
    for name in model_names:
        torch.manual_seed(0)
        localizer = models.spec(name).wrap(models.build(name, window).eval())
        for method in methods:
            ms = ms_per_window(lambda: attribution.attribute(method, localizer, x, targets, batch_size), windows)
            print(f"  {name:<11} {method:<21} {ms:9.1f} ms/window")
    geo = config.validate({"conditions": [{"t60": 0.3, "snr": 20}]})["geometry"]
    cands = srp.candidate_grid(geo, srp_grid)
    mics = geometry.mic_positions(geo)
    ms = ms_per_window(lambda: srp.srp_phat_localize(x, mics, geo["fs"], geo["sound_speed"], cands), windows)
    print(f"  SRP-PHAT {srp_grid[0]}x{srp_grid[1]} candidates, 120 pairs: {ms:.1f} ms/window")


def cli():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--window", type=int, default=1280, help="samples per window (W)")
    p.add_argument("--windows", type=int, default=16, help="windows per timed pass")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--models", nargs="+", default=list(names.MODELS), choices=names.MODELS)
    p.add_argument("--methods", nargs="+", default=["relevance", *names.ATTRIBUTIONS],
                   choices=["relevance", *names.ATTRIBUTIONS])
    p.add_argument("--srp-grid", nargs=2, type=int, default=[41, 41])
    args = p.parse_args()
    run(args.window, args.windows, args.batch_size, args.threads, args.models, args.methods, args.srp_grid)


if __name__ == "__main__":
    cli()
