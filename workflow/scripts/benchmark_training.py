"""Measure a model's training throughput (forward + backward + Adam step, samples/s) and inference
throughput (windows/s) on random input, to size configurations before launching a run."""

import argparse
import json
import time

import torch
from torch import nn

from sslrp import models, training


def timed_rate(step, batch, seconds):
    """Samples per second of `step()` (one batch each call), after one warm-up call, over >= `seconds`."""
    step()
    done, started = 0, time.perf_counter()
    while done == 0 or time.perf_counter() - started < seconds:
        step()
        done += batch
    return done / (time.perf_counter() - started)


def training_rate(model, x, y, seconds):
    """Training samples/s for batches like `x`."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()

    def step():
        optimizer.zero_grad(set_to_none=True)
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()

    return timed_rate(step, len(x), seconds)


def inference_rate(model, x, seconds):
    """Inference windows/s for batches like `x` (eval mode, no gradients)."""
    model.eval()

    @torch.no_grad()
    def step():
        model(x)

    return timed_rate(step, len(x), seconds)


def run(model, window, threads, seconds, batch, n_mics=16, device="auto"):
    """Both rates for one model and window; returns a dict (also printed as one JSON line)."""
    torch.set_num_threads(threads)
    device = training.pick_device(device)
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
        train_samples_per_s=round(training_rate(net, x, y, seconds / 2), 1),
        inference_windows_per_s=round(inference_rate(net, x, seconds / 2), 1),
    )
    print(json.dumps(result), flush=True)
    return result


def cli():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", choices=models.MODEL_NAMES, default="loc_cnn")
    p.add_argument("--window", type=int, default=5120, help="window length W in samples")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--seconds", type=float, default=20, help="time budget, split between the two rates")
    p.add_argument("--batch", type=int, default=100, help="batch size (the paper trains with 100)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu or cuda")
    run(**vars(p.parse_args()))


if __name__ == "__main__":
    cli()
