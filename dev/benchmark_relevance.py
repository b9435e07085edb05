"""Benchmark LRP relevance against a plain gradient (forward + backward) on the same windows, per model.

Prints windows per second for both and their ratio, which sizes the relevance step of the workflow (one
relevance per test window). Untrained models with random inputs: the cost does not depend on the weights.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))  # the sslrp package

from sslrp import names  # noqa: E402
from sslrp.explain import lrp  # noqa: E402
from sslrp.localize import models  # noqa: E402


def gradient(model, windows, targets, batch_size):
    """Plain input gradient with `targets` as output gradient: the cost floor of any backward attribution."""
    for start in range(0, len(windows), batch_size):
        x = torch.from_numpy(windows[start : start + batch_size]).requires_grad_()
        y = torch.from_numpy(targets[start : start + batch_size])
        torch.autograd.grad(model(x), x, grad_outputs=y)


def windows_per_second(fn, n_windows):
    """Throughput of one call of `fn`, after an untimed warm-up call (first-call allocations, thread pools)."""
    fn()
    start = time.perf_counter()
    fn()
    return n_windows / (time.perf_counter() - start)


def benchmark(name, window, n_windows, batch_size, seed=0):
    """(gradient windows/s, LRP windows/s) for one model on `n_windows` random windows."""
    torch.manual_seed(seed)
    model = models.build(name, window).eval()
    rng = np.random.default_rng(seed)
    windows = rng.standard_normal((n_windows, 16, window)).astype(np.float32)
    targets = rng.uniform(0.5, 6.5, (n_windows, 3)).astype(np.float32)
    grad_rate = windows_per_second(lambda: gradient(model, windows, targets, batch_size), n_windows)
    localizer = models.spec(name).wrap(model)
    lrp_rate = windows_per_second(lambda: lrp.relevance(localizer, windows, targets, batch_size), n_windows)
    return grad_rate, lrp_rate


def run(window, windows, batch_size, threads, model_names):
    torch.set_num_threads(threads)
    print(f"W={window}, {windows} windows, batch {batch_size}, {threads} threads (torch {torch.__version__})")
    print(f"{'model':<12}{'gradient win/s':>16}{'LRP win/s':>12}{'LRP/gradient time':>20}")
    for name in model_names:
        grad_rate, lrp_rate = benchmark(name, window, windows, batch_size)
        print(f"{name:<12}{grad_rate:>16.1f}{lrp_rate:>12.1f}{grad_rate / lrp_rate:>19.2f}x")


def cli():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--window", type=int, default=5120, help="samples per window (W)")
    p.add_argument("--windows", type=int, default=16, help="windows per timed pass")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--models", nargs="+", default=list(names.MODELS), choices=names.MODELS)
    args = p.parse_args()
    run(args.window, args.windows, args.batch_size, args.threads, args.models)


if __name__ == "__main__":
    cli()
