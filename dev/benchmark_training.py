"""Measure training throughput (forward + backward + Adam step, samples/s) and inference throughput
(windows/s) on random input, per model, window and arithmetic (`training.{model}.precision`), to size
configurations before launching a run and to compare later changes. One JSON line per combination.

    python dev/benchmark_training.py                      # both models, W 1280 and 5120, fp32 and bf16
    python dev/benchmark_training.py --model loc_cnn --window 1280 --precision fp32 --threads 1
"""

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))  # the sslrp package

from sslrp import names  # noqa: E402
from sslrp.localize import inference, models, training  # noqa: E402


def timed_rate(step, batch, seconds):
    """Samples per second of `step()` (one batch each call), after one warm-up call, over >= `seconds`."""
    step()
    done, started = 0, time.perf_counter()
    while done == 0 or time.perf_counter() - started < seconds:
        step()
        done += batch
    return done / (time.perf_counter() - started)


def training_rate(model, x, y, seconds, precision="fp32"):
    """Training samples/s for batches like `x` (the training loop's arithmetic: see inference.autocast)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()

    def step():
        optimizer.zero_grad(set_to_none=True)
        with inference.autocast(x.device, precision):
            out = model(x).float()
        nn.functional.mse_loss(out, y).backward()
        optimizer.step()

    return timed_rate(step, len(x), seconds)


def inference_rate(model, x, seconds, precision="fp32"):
    """Inference windows/s for batches like `x` (eval mode, no gradients)."""
    model.eval()

    @torch.no_grad()
    def step():
        with inference.autocast(x.device, precision):
            model(x)

    return timed_rate(step, len(x), seconds)


def run(model, window, threads, seconds, batch, n_mics=16, device="auto", precision="fp32"):
    """Both rates for one model, window and arithmetic; returns a dict (also printed as one JSON line)."""
    torch.set_num_threads(threads)
    device = inference.pick_device(device)
    training.manual_seed(0, "benchmark")
    net = models.build(model, window, n_mics).to(device)
    x = torch.randn(batch, n_mics, window, device=device)
    y = torch.randn(batch, 3, device=device)
    result = dict(
        model=model,
        window=window,
        threads=threads,
        batch=batch,
        device=str(device),
        precision=precision,
        train_samples_per_s=round(training_rate(net, x, y, seconds / 2, precision), 1),
        inference_windows_per_s=round(inference_rate(net, x, seconds / 2, precision), 1),
    )
    print(json.dumps(result), flush=True)
    return result


def cli():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", choices=names.MODELS, nargs="+", default=list(names.MODELS))
    p.add_argument("--window", type=int, nargs="+", default=[1280, 5120], help="window lengths W in samples")
    p.add_argument("--precision", choices=inference.PRECISIONS, nargs="+", default=list(inference.PRECISIONS))
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--seconds", type=float, default=10, help="time per combination, split between the two rates")
    p.add_argument("--batch", type=int, default=32, help="batch size (the quick default's; the paper's is 100)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu or cuda")
    args = p.parse_args()
    for model, window, precision in itertools.product(args.model, args.window, args.precision):
        run(model, window, args.threads, args.seconds, args.batch, device=args.device, precision=precision)


if __name__ == "__main__":
    cli()
