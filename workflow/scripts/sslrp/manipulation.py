"""The input-manipulation test (the paper's "manipulation of relevant input features") and its summaries.

Zero the top P % of each test window's samples, ordered by an attribution map (LRP relevance, or another
method of sslrp.attribution), by energy or at random, and measure the localization MAE per P; AOPC sums a
curve up, `pooled` joins the curves of several conditions. Pure functions on numpy arrays: windows and
attribution maps are [N, M, W], positions [N, 3] in metres.
"""

from collections.abc import Mapping

import numpy as np

from .names import ORDERINGS, PAPER_ORDERINGS

PERCENTS = (0, 10, 20, 30, 40, 50, 60, 70)


def n_removed(percent, size):
    """Number of samples zeroed in a window of `size` values at `percent` %: round(P/100 * size)."""
    return int(round(percent / 100 * size))


def removal_order(windows, relevance, ordering, rng=None):
    """Flat sample indices of each window, most important first: [N, M*W] int.

    ordering "energy": highest |x| first; "random": a random permutation per window from `rng`; an
    attribution ordering ("relevance", "gradient", ...: see `sslrp.names.ORDERINGS`): highest signed value of
    its map first (see `attribution_map` for how `relevance` gives the maps). Ties keep index order,
    as a stable sort would.
    """
    return _argsort_rows(removal_keys(windows, relevance, ordering, rng))


def attribution_map(relevance, ordering):
    """The map an attribution ordering sorts by. `relevance` is either one array (the paper's LRP
    relevance: the map of "relevance" only) or a dict ordering -> array."""
    maps = relevance if isinstance(relevance, Mapping) else {"relevance": relevance}
    if maps.get(ordering) is None:
        given = sorted(o for o, m in maps.items() if m is not None)
        raise ValueError(f"ordering {ordering!r} needs an attribution map; given: {given}")
    return maps[ordering]


def removal_keys(windows, relevance, ordering, rng=None):
    """Per-window sort keys [N, M*W], float32, ascending = removed first.

    Keys are compared at float32, the precision of the model input. Random keys are one uniform
    draw per sample, so consecutive calls draw the same keys as one call over all windows.
    `relevance` gives the attribution maps as in `attribution_map` (unused by "energy" and "random").
    """
    n = len(windows)
    if ordering == "energy":
        keys = -np.abs(np.asarray(windows, np.float32).reshape(n, -1))
    elif ordering == "random":
        keys = rng.random((n, np.asarray(windows[0]).size), dtype=np.float32)
    elif ordering in ORDERINGS:
        keys = -np.asarray(attribution_map(relevance, ordering), np.float32).reshape(n, -1)
    else:
        raise ValueError(f"unknown ordering {ordering!r}; expected one of {ORDERINGS}")
    return np.ascontiguousarray(keys) + np.float32(0)  # -0.0 + 0 = +0.0: signed zeros tie


def _argsort_rows(keys):
    """Stable argsort of each row of float32 keys (no NaN), about 10x faster than numpy's.

    Each float's bits map to an order-preserving integer in the high 32 bits of an int64 and the
    column index fills the low 32 bits: the int64 keys are unique, so a plain (SIMD) sort orders
    ties by index exactly like a stable argsort; the low bits then are the indices.
    """
    bits = keys.view(np.int32).astype(np.int64)
    ordered = np.where(bits < 0, bits ^ 0x7FFFFFFF, bits)
    packed = (ordered << 32) | np.arange(keys.shape[1], dtype=np.int64)
    packed.sort(axis=1)
    return packed & 0xFFFFFFFF


def perturb(windows, order, percent):
    """Copy of `windows` with the first round(P% of M*W) indices of `order` set to zero."""
    flat = np.array(windows).reshape(len(windows), -1)
    k = n_removed(percent, flat.shape[1])
    np.put_along_axis(flat, order[:, :k], 0, axis=1)
    return flat.reshape(np.shape(windows))


def manipulation_curve(predict_fn, windows, positions_true, relevance, rng,
                       orderings=PAPER_ORDERINGS, percents=PERCENTS, batch_size=32):
    """Localization MAE after zeroing the top P % of each window's samples, per ordering and P.

    `relevance` gives the attribution maps the orderings sort by: one array shaped like `windows` (the
    key of "relevance", as in the paper) or a dict ordering -> array for several attribution methods
    ("relevance", "gradient", ...); "energy" and "random" are built in and need none.
    `predict_fn` maps float32 windows [B, M, W] to positions [B, 3] (numpy) and must not keep its
    input. Per batch each ordering is sorted once; the removed sets grow with P, so one working copy
    per ordering is zeroed incrementally; unperturbed inputs (k = 0) are predicted once per batch.
    Returns a JSON-ready dict: `percents`, `n_windows` and `mae` {ordering: [MAE per percent]}.
    """
    windows = np.asarray(windows, np.float32)
    size = windows[0].size
    ks = [n_removed(p, size) for p in percents]
    abs_sum = np.zeros((len(orderings), len(percents)))
    for lo in range(0, len(windows), batch_size):
        batch, true = windows[lo:lo + batch_size], positions_true[lo:lo + batch_size]
        rel = _batch_of(relevance, slice(lo, lo + batch_size))
        baseline = _abs_error_sum(predict_fn(batch), true)
        for i, ordering in enumerate(orderings):
            order = removal_order(batch, rel, ordering, rng)
            abs_sum[i] += _incremental_errors(predict_fn, batch, true, order, ks, baseline)
    return _curve(percents, orderings, abs_sum, len(windows))


def _batch_of(relevance, rows):
    # The rows of one batch of an attribution map, or of each map of a dict of them.
    if relevance is None:
        return None
    if isinstance(relevance, Mapping):
        return {o: m[rows] for o, m in relevance.items()}
    return relevance[rows]


def _incremental_errors(predict_fn, batch, true, order, ks, baseline):
    # Absolute-error sums for each k of `ks` (any order), zeroing only the new indices at each step.
    work = batch.reshape(len(batch), -1).copy()
    sums, done = np.empty(len(ks)), 0
    for j in np.argsort(ks, kind="stable"):
        if ks[j] == 0:
            sums[j] = baseline
            continue
        np.put_along_axis(work, order[:, done:ks[j]], 0, axis=1)
        done = ks[j]
        sums[j] = _abs_error_sum(predict_fn(work.reshape(batch.shape)), true)
    return sums


def _abs_error_sum(pred, true):
    return float(np.sum(np.abs(np.asarray(pred, float) - np.asarray(true, float))))


def _curve(percents, orderings, abs_sum, n_windows):
    mae_table = abs_sum / (3 * n_windows)
    return {
        "percents": [int(p) for p in percents],
        "n_windows": int(n_windows),
        "mae": {o: mae_table[i].tolist() for i, o in enumerate(orderings)},
    }


def aopc(percents, mae_values):
    """Area over the perturbation curve: the mean MAE increase over the P > 0 points relative to P = 0.

    Larger means removing the ordering's top samples hurts the model more, i.e. the ordering found
    what the model relies on. Needs a P = 0 point and at least one P > 0 (metres, like the MAE).
    """
    percents, values = np.asarray(percents, float), np.asarray(mae_values, float)
    if percents.shape != values.shape:
        raise ValueError(f"{percents.size} percents but {values.size} MAE values")
    zero, positive = percents == 0, percents > 0
    if not zero.any() or not positive.any():
        raise ValueError(f"AOPC needs P = 0 and some P > 0; got percents {percents.tolist()}")
    return float(np.mean(values[positive] - values[zero][0]))


def pooled(curves):
    """Pool manipulation curves of several conditions as if all their windows were one test set.

    The MAE of the union is the window-count-weighted mean of the per-condition MAEs.
    """
    weights = np.array([c["n_windows"] for c in curves], float)
    orderings = curves[0]["mae"].keys()
    return {
        "percents": list(curves[0]["percents"]),
        "n_windows": int(weights.sum()),
        "mae": {o: np.average([c["mae"][o] for c in curves], axis=0, weights=weights).tolist()
                for o in orderings},
    }
