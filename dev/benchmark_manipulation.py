"""Benchmark the input-manipulation step: reference loop vs. batched implementation vs. model alone.

All three run on the same random windows and relevance with an untrained LocCNN (eval mode), making the curves the
workflow's manipulation step makes by default: the paper's orderings most relevant first (MoRF), relevance and
energy least relevant first (LeRF), and relevance ranked by magnitude both ways. The plain reference (per curve
and P: sort, then zero sample by sample), `manipulation.manipulation_curve`, and the model's forward passes alone
(one per window for P = 0 and one per curve and P > 0: the floor for the whole step). Prints milliseconds per
window for each (plus the batched step with a free model: its own cost), the ratios, and whether both
implementations agree.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "workflow" / "scripts"), str(REPO / "tests")]  # the sslrp package; tests/reference.py

from reference import manipulation_curve_reference  # noqa: E402
from sslrp.explain import manipulation  # noqa: E402
from sslrp.localize import models  # noqa: E402
from sslrp.names import PAPER_ORDERINGS  # noqa: E402


def predictor(model):
    """A numpy -> numpy forward pass without gradients: float32 [B, M, W] -> [B, 3]."""
    def predict(batch):
        with torch.no_grad():
            return model(torch.from_numpy(batch)).numpy()
    return predict


def forward_only(predict, windows, batch_size, n_passes):
    """The forward passes the manipulation step cannot avoid: `n_passes` over every window."""
    for _ in range(n_passes):
        for lo in range(0, len(windows), batch_size):
            predict(windows[lo:lo + batch_size])


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def no_model(batch):
    """A free 'model', to time what the batched step costs besides the forward passes."""
    return np.zeros((len(batch), 3), np.float32)


# The curves of the workflow's default: (orderings, least_first, magnitude) as the reference computes them, and the
# same as `manipulation_curve` arguments.
CURVES = ((PAPER_ORDERINGS, False, False), (("relevance", "energy"), True, False), (("relevance",), False, True),
          (("relevance",), True, True))
WORKFLOW = dict(orderings=PAPER_ORDERINGS, lerf=True, magnitude=("relevance",))


def reference_curves(predict, windows, true, relevance, seed, batch_size):
    """Every curve of `CURVES` by the plain reference loop, keyed as `manipulation_curve` keys them."""
    out = {}
    for orderings, least_first, magnitude in CURVES:
        ref = manipulation_curve_reference(predict, windows, true, relevance, np.random.default_rng(seed),
                                           orderings=orderings, batch_size=batch_size, least_first=least_first,
                                           magnitude=magnitude)
        out[manipulation.curve_key(least_first, magnitude)] = ref["mae"]
    return out


def run(n_windows=24, window=5120, batch_size=16, seed=0, threads=2, repeats=2):
    """Time the three ways on `n_windows` random windows; return ms per window and the agreement."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    gen = np.random.default_rng(seed)
    windows = gen.normal(size=(n_windows, 16, window)).astype(np.float32)
    relevance = gen.normal(size=windows.shape).astype(np.float32)
    true = gen.normal(size=(n_windows, 3))
    predict = predictor(models.build("loc_cnn", window).eval())
    predict(windows[:batch_size])  # warm-up

    common = dict(batch_size=batch_size)
    ref, t_ref = timed(reference_curves, predict, windows, true, relevance, seed, batch_size)
    positive = sum(p > 0 for p in manipulation.PERCENTS)
    n_passes = 1 + positive * sum(len(orderings) for orderings, _, _ in CURVES)
    t_fast = t_model = float("inf")
    for _ in range(repeats):  # alternate, so that background load hits both alike
        fast, t = timed(manipulation.manipulation_curve, predict, windows, true, relevance,
                        np.random.default_rng(seed), **common, **WORKFLOW)
        t_fast = min(t_fast, t)
        t_model = min(t_model, timed(forward_only, predict, windows, batch_size, n_passes)[1])
    _, t_rest = timed(manipulation.manipulation_curve, no_model, windows, true, relevance,
                      np.random.default_rng(seed), **common, **WORKFLOW)

    same = fast.keys() >= ref.keys() and all(
        np.allclose(fast[key][o], ref[key][o], rtol=1e-12, atol=0) for key in ref for o in ref[key])
    per_window = {name: 1000 * t / n_windows
                  for name, t in (("reference", t_ref), ("batched", t_fast), ("forward", t_model),
                                   ("no model", t_rest))}
    print(f"{n_windows} windows of 16 x {window}, batch {batch_size}, {threads} threads, "
          f"{len(CURVES)} kinds of curve, {n_passes} forward passes per window, best of {repeats} "
          "(reference: 1 run)")
    for name, ms in per_window.items():
        print(f"  {name:<10} {ms:8.1f} ms/window")
    print(f"  batched / forward   = {t_fast / t_model:.3f} (goal <= 1.25)")
    print(f"  reference / batched = {t_ref / t_fast:.2f}")
    print(f"  same MAE tables (rtol 1e-12): {same}")
    return per_window, same


def cli():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n-windows", type=int, default=24)
    p.add_argument("--window", type=int, default=5120)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    run(**vars(p.parse_args()))


if __name__ == "__main__":
    cli()
