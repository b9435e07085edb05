"""Plain reference implementations of optimized package code: slow, obviously right, for tests and the developer
benchmarks (dev/) to compare the package against."""

import numpy as np

from sslrp.explain.manipulation import PERCENTS, fill_values, n_removed, removal_keys
from sslrp.names import PAPER_ORDERINGS


def manipulation_curve_reference(predict_fn, windows, positions_true, relevance, rng,
                                 orderings=PAPER_ORDERINGS, percents=PERCENTS, batch_size=32, least_first=False,
                                 imputation="zeros", fill_rng=None, magnitude=False):
    """The plain algorithm: the same result as `sslrp.explain.manipulation.manipulation_curve`.

    For every ordering and P, each window is sorted again and its samples are replaced one by one in
    a Python loop (numpy's stable argsort on the same keys as `removal_order`). Random keys are
    drawn once for all windows: the same stream the batched version consumes batch by batch; so are the
    imputed values (per batch of `batch_size` windows, in order). With `magnitude` the (attribution) orderings
    rank the samples by |map|, sorted here from the map itself: highest first, or lowest first with
    `least_first`.
    """
    windows = np.asarray(windows, np.float32)
    n, size = len(windows), windows[0].size
    flat = windows.reshape(n, size)
    if magnitude:
        maps = relevance if isinstance(relevance, dict) else {"relevance": relevance}
        sign = 1 if least_first else -1
        keys = {o: sign * np.abs(np.asarray(maps[o], np.float32).reshape(n, size)) for o in orderings}
    else:
        keys = {o: removal_keys(windows, relevance, o, rng, least_first) for o in orderings}
    fills = [fill_values(windows[lo:lo + batch_size], imputation, fill_rng) for lo in range(0, n, batch_size)]
    fill = None if imputation == "zeros" else np.concatenate(fills)
    abs_sum = np.zeros((len(orderings), len(percents)))
    for i, ordering in enumerate(orderings):
        for j, percent in enumerate(percents):
            perturbed = flat.copy()
            for w in range(n):
                order = np.argsort(keys[ordering][w], kind="stable")
                for idx in order[: n_removed(percent, size)]:
                    perturbed[w, idx] = 0.0 if fill is None else fill[w, idx]
            perturbed_windows = perturbed.reshape(windows.shape)
            pred = np.concatenate([predict_fn(perturbed_windows[lo:lo + batch_size])
                                   for lo in range(0, n, batch_size)])
            abs_sum[i, j] = np.sum(np.abs(np.asarray(pred, float) - np.asarray(positions_true, float)))
    mae_table = abs_sum / (3 * n)
    return {"percents": [int(p) for p in percents], "n_windows": int(n),
            "mae": {o: mae_table[i].tolist() for i, o in enumerate(orderings)}}
