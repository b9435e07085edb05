"""Evaluation metrics: localization error, GCC-PHAT / TDoA, correlation time, input manipulation, AOPC.

Pure functions on numpy arrays. Conventions used throughout:
- positions are [N, 3] arrays in metres (x, y, z); errors are predicted minus true;
- windows are [N, M, W] (window, microphone, sample); relevance has the same shape;
- delays and lags are in samples.
"""

from collections.abc import Mapping

import numpy as np
from scipy import fft

# Guards the PHAT division: bins whose cross-spectrum is exactly zero give 0 instead of NaN.
_TINY = np.finfo(np.float64).tiny
ORDERINGS = ("relevance", "energy", "random")  # the paper's three
# Attribution orderings beyond the paper (maps from sslrp.attribution); like "relevance", each removes the
# samples with the highest attribution value first.
ATTRIBUTIONS = ("gradient", "gradient_x_input", "smoothgrad", "integrated_gradients", "epsilon_plus_flat")
ALL_ORDERINGS = (*ORDERINGS, *ATTRIBUTIONS)
PERCENTS = (0, 10, 20, 30, 40, 50, 60, 70)


# --- localization error -------------------------------------------------------------------------

def mae(pred, true):
    """Mean absolute error over all coordinates and rows (the paper's localization MAE, metres)."""
    return float(np.mean(np.abs(np.asarray(pred, float) - np.asarray(true, float))))


def mae_per_coordinate(pred, true):
    """Mean absolute error of each coordinate over the rows: [3] for (x, y, z)."""
    return np.mean(np.abs(np.asarray(pred, float) - np.asarray(true, float)), axis=0)


def localization_summary(pred, true, baseline_position):
    """The evaluation summary: MAE (overall, per coordinate) of `pred` and of always predicting
    `baseline_position` (the mean training position), over the rows of `true`."""
    true = np.asarray(true, float)
    baseline = np.broadcast_to(baseline_position, true.shape)
    return {
        "n_windows": len(true),
        "mae": mae(pred, true),
        "mae_xyz": mae_per_coordinate(pred, true).tolist(),
        "baseline_mae": mae(baseline, true),
        "baseline_mae_xyz": mae_per_coordinate(baseline, true).tolist(),
    }


def per_source_errors(pred, true, source):
    """Per-source error summaries over the source's windows.

    Returns a dict of arrays aligned with `source` ids in ascending order:
    `source` (the ids), `n_windows`, `euclidean` (mean Euclidean error, metres) and `absolute`
    (mean absolute error over coordinates, metres). Best/worst sources are chosen on `euclidean`.
    """
    diff = np.asarray(pred, float) - np.asarray(true, float)
    ids, inverse, counts = np.unique(np.asarray(source), return_inverse=True, return_counts=True)
    euclid = np.bincount(inverse, weights=np.linalg.norm(diff, axis=1)) / counts
    absolute = np.bincount(inverse, weights=np.abs(diff).mean(axis=1)) / counts
    return {"source": ids, "n_windows": counts, "euclidean": euclid, "absolute": absolute}


def best_worst(errors):
    """Indices of the smallest and the largest error (first occurrence on ties)."""
    errors = np.asarray(errors)
    return int(np.argmin(errors)), int(np.argmax(errors))


# --- GCC-PHAT and TDoA --------------------------------------------------------------------------

def gcc_phat(x, y, max_lag=None, interp=1):
    """Generalized cross-correlation with PHAT weighting of x and y ([..., N] each, batched).

    Sign convention: cc[l] ~ sum_n x[n] y[n + l], so a peak at a positive lag means y is delayed
    relative to x (y[n] = x[n - d] peaks at l = d). The FFT is zero-padded to at least 2N - 1 so
    that the correlation is linear, not circular. `interp` > 1 upsamples the correlation by
    zero-padding the spectrum (lags then step by 1/interp samples). `max_lag` (samples) limits the
    returned lags to [-max_lag, max_lag]; None keeps every lag, as the paper does.

    Returns (lags [L], cc [..., L]) with lag 0 in the middle.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = max(x.shape[-1], y.shape[-1])
    nfft = fft.next_fast_len(2 * n - 1, real=True)
    cross = np.conj(fft.rfft(x, nfft)) * fft.rfft(y, nfft)
    cc = fft.irfft(cross / np.maximum(np.abs(cross), _TINY), nfft * interp)
    reach = n - 1 if max_lag is None else min(max_lag, n - 1)
    shift = int(np.floor(reach * interp))
    cc = np.concatenate([cc[..., cc.shape[-1] - shift:], cc[..., : shift + 1]], axis=-1)
    return np.arange(-shift, shift + 1) / interp, cc


def tdoa_gcc_phat(x, y, max_lag=None, interpolate=False):
    """Delay of y relative to x (samples) per batch item: the lag of the GCC-PHAT peak.

    With `interpolate` a parabola through the peak and its two neighbours refines the estimate to
    a fraction of a sample; the default (off) returns integer lags, as in the paper.
    """
    lags, cc = gcc_phat(x, y, max_lag)
    peak = np.argmax(cc, axis=-1)
    delay = lags[peak].astype(float)
    if interpolate:
        delay = delay + _parabolic_offset(cc, peak)
    return delay


def _parabolic_offset(cc, peak):
    # Vertex of the parabola through the peak and its two neighbours; 0 at the ends of the range.
    last = cc.shape[-1] - 1
    if last < 2:
        return np.zeros(peak.shape)
    at = np.clip(peak, 1, last - 1)[..., None]
    left, mid, right = (np.take_along_axis(cc, at + d, axis=-1)[..., 0] for d in (-1, 0, 1))
    curvature = left - 2 * mid + right
    ok = (peak > 0) & (peak < last) & (curvature < 0)
    return np.where(ok, 0.5 * (left - right) / np.where(ok, curvature, -1.0), 0.0)


def tdoa_summary(errors, thresholds):
    """The paper's TDoA table entry: anomaly percentage and MAE over the non-anomalous windows.

    A window is an anomaly when |error| > threshold (threshold = half the source's correlation
    time; scalar or one per window). MAE is NaN when every window is an anomaly.
    """
    errors = np.abs(np.asarray(errors, float))
    anomaly = errors > np.broadcast_to(np.asarray(thresholds, float), errors.shape)
    good = errors[~anomaly]
    return {
        "anomaly_percent": 100.0 * float(np.mean(anomaly)),
        "mae": float(np.mean(good)) if good.size else float("nan"),
        "n_windows": int(errors.size),
    }


# --- correlation time ---------------------------------------------------------------------------

def correlation_time(signal, demean=True):
    """Correlation time (samples) of a 1-D signal (Champagne, Bédard, Stéphenne 1996).

    The width of the main lobe of the normalised autocorrelation r[k] = R[k] / R[0] at the level
    1/sqrt(2): with k the first lag where r[k] < 1/sqrt(2), the crossing is placed by linear
    interpolation between lags k - 1 and k, and the width is twice that (the lobe is two-sided).
    White noise gives about 0.6 samples, a triangle autocorrelation of length L gives 2 L (1 - 1/sqrt 2).
    `demean` removes the mean first, so that a DC offset cannot widen the lobe. Returns inf when r
    never falls below the level within the signal.
    """
    x = np.asarray(signal, float)
    if demean:
        x = x - x.mean()
    nfft = fft.next_fast_len(2 * x.size - 1, real=True)
    acf = fft.irfft(np.abs(fft.rfft(x, nfft)) ** 2, nfft)[: x.size]
    if not acf[0] > 0:
        raise ValueError("correlation time is undefined for a signal with zero energy")
    r = acf / acf[0]
    level = 1 / np.sqrt(2)
    below = np.flatnonzero(r < level)
    if below.size == 0:
        return float("inf")
    k = below[0]
    return 2.0 * ((k - 1) + (r[k - 1] - level) / (r[k - 1] - r[k]))


# --- input manipulation -------------------------------------------------------------------------

def n_removed(percent, size):
    """Number of samples zeroed in a window of `size` values at `percent` %: round(P/100 * size)."""
    return int(round(percent / 100 * size))


def removal_order(windows, relevance, ordering, rng=None):
    """Flat sample indices of each window, most important first: [N, M*W] int.

    ordering "energy": highest |x| first; "random": a random permutation per window from `rng`; an
    attribution ordering ("relevance", "gradient", ...: see `ALL_ORDERINGS`): highest signed value of
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
    elif ordering in ALL_ORDERINGS:
        keys = -np.asarray(attribution_map(relevance, ordering), np.float32).reshape(n, -1)
    else:
        raise ValueError(f"unknown ordering {ordering!r}; expected one of {ALL_ORDERINGS}")
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
                       orderings=ORDERINGS, percents=PERCENTS, batch_size=32):
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


def manipulation_curve_reference(predict_fn, windows, positions_true, relevance, rng,
                                 orderings=ORDERINGS, percents=PERCENTS, batch_size=32):
    """The plain algorithm, for tests and benchmarks: same result as `manipulation_curve`.

    For every ordering and P, each window is sorted again and its samples are zeroed one by one in
    a Python loop (numpy's stable argsort on the same keys as `removal_order`). Random keys are
    drawn once for all windows: the same stream the batched version consumes batch by batch.
    """
    windows = np.asarray(windows, np.float32)
    n, size = len(windows), windows[0].size
    flat = windows.reshape(n, size)
    keys = {o: removal_keys(windows, relevance, o, rng) for o in orderings}
    abs_sum = np.zeros((len(orderings), len(percents)))
    for i, ordering in enumerate(orderings):
        for j, percent in enumerate(percents):
            perturbed = flat.copy()
            for w in range(n):
                order = np.argsort(keys[ordering][w], kind="stable")
                for idx in order[: n_removed(percent, size)]:
                    perturbed[w, idx] = 0.0
            perturbed_windows = perturbed.reshape(windows.shape)
            pred = np.concatenate([predict_fn(perturbed_windows[lo:lo + batch_size])
                                   for lo in range(0, n, batch_size)])
            abs_sum[i, j] = _abs_error_sum(pred, positions_true)
    return _curve(percents, orderings, abs_sum, n)


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
