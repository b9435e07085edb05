"""Plain reference implementations of optimized package code: slow, obviously right, for tests and the developer
benchmarks (dev/) to compare the package against.

The manipulation reference shares nothing with `sslrp.explain.manipulation` but its list of percents: it
ranks the samples, counts the removed ones and computes the imputed values itself, so a fault in any of
those (not only in the batching) makes the two disagree.
"""

import numpy as np

from sslrp.explain.manipulation import PERCENTS
from sslrp.names import PAPER_ORDERINGS


def ranking_reference(window, attribution, ordering, random_keys=None, least_first=False, magnitude=False):
    """Flat sample indices of one window, removed first to last: sorted by -attribution (highest signed
    value first; with `magnitude` by -|attribution|), by -|x| for "energy", by the drawn uniform keys for
    "random"; `least_first` sorts by +attribution (+|attribution|, +|x|) instead. Ties keep index order (a
    stable sort)."""
    if ordering == "random":
        return np.argsort(random_keys, kind="stable")
    if ordering == "energy":
        score = np.abs(np.asarray(window, np.float32).ravel())
    else:
        maps = attribution if isinstance(attribution, dict) else {"relevance": attribution}
        score = np.asarray(maps[ordering], np.float32).ravel()
        score = np.abs(score) if magnitude else score
    score = score if least_first else -score
    return np.argsort(score + np.float32(0), kind="stable")  # + 0: -0.0 and +0.0 tie, as numbers


def fill_reference(window, imputation, noise=None):
    """The values removed samples of one window [M, W] take (float32, flat): 0, each microphone's mean over
    the window, or `noise` (standard normal, [M, W]) times each microphone's standard deviation."""
    window = np.asarray(window, np.float64)
    if imputation == "zeros":
        values = np.zeros_like(window)
    elif imputation == "mean":
        values = np.repeat(window.sum(axis=1, keepdims=True) / window.shape[1], window.shape[1], axis=1)
    elif imputation == "noise":
        centred = window - window.sum(axis=1, keepdims=True) / window.shape[1]
        std = np.sqrt((centred ** 2).sum(axis=1, keepdims=True) / window.shape[1])
        values = noise * std
    else:
        raise ValueError(imputation)
    return values.astype(np.float32).ravel()


def manipulation_curve_reference(predict_fn, windows, positions_true, relevance, rng,
                                 orderings=PAPER_ORDERINGS, percents=PERCENTS, batch_size=32, least_first=False,
                                 imputation="zeros", fill_rng=None, magnitude=False):
    """The plain algorithm: the same result as `sslrp.explain.manipulation.manipulation_curve`.

    For every ordering and P, each window is ranked again (`ranking_reference`) and its top round(P/100 * M*W)
    samples are replaced one by one in a Python loop by their `fill_reference` values. The random keys are
    one uniform float32 draw per sample from `rng`, the noise one standard normal float32 draw per sample
    from `fill_rng` per batch of `batch_size` windows: the streams the package documents it consumes.
    """
    windows = np.asarray(windows, np.float32)
    n, size = len(windows), windows[0].size
    flat = windows.reshape(n, size)
    random_keys = rng.random((n, size), dtype=np.float32) if "random" in orderings else None
    noise = (np.concatenate([fill_rng.standard_normal(windows[lo:lo + batch_size].shape, dtype=np.float32)
                             for lo in range(0, n, batch_size)]) if imputation == "noise" else [None] * n)
    fills = [fill_reference(windows[w], imputation, noise[w]) for w in range(n)]
    abs_sum = np.zeros((len(orderings), len(percents)))
    for i, ordering in enumerate(orderings):
        for j, percent in enumerate(percents):
            removed = int(round(percent * size / 100))
            perturbed = flat.copy()
            for w in range(n):
                attribution = (None if relevance is None else
                               {o: m[w] for o, m in relevance.items()} if isinstance(relevance, dict) else relevance[w])
                order = ranking_reference(windows[w], attribution, ordering,
                                          None if random_keys is None else random_keys[w], least_first, magnitude)
                for idx in order[:removed]:
                    perturbed[w, idx] = fills[w][idx]
            pred = np.concatenate([predict_fn(perturbed[lo:lo + batch_size].reshape((-1,) + windows.shape[1:]))
                                   for lo in range(0, n, batch_size)])
            abs_sum[i, j] = sum(abs(float(p) - float(t))
                                for p, t in zip(np.ravel(pred), np.ravel(np.asarray(positions_true, float))))
    mae_table = abs_sum / (3 * n)
    return {"percents": [int(p) for p in percents], "n_windows": int(n),
            "mae": {o: mae_table[i].tolist() for i, o in enumerate(orderings)}}


def tdoa_reference(x, y):
    """Delay (samples) of `y` relative to `x` (1-D, equal length n): the lag of the largest PHAT-weighted
    cross-correlation sum_k x[k] y[k + lag] in absolute value (the authors' gcc_phat takes the peak of |cc|) over
    lags -(n-1)..n-1, computed on a 2n-point FFT (so linear, not circular); the first (most negative) lag wins a
    tie."""
    n = len(x)
    cross = np.conj(np.fft.rfft(x, 2 * n)) * np.fft.rfft(y, 2 * n)
    magnitude = np.abs(cross)
    cc = np.fft.irfft(np.divide(cross, magnitude, out=np.zeros_like(cross), where=magnitude > 0), 2 * n)
    by_lag = {lag: cc[lag % (2 * n)] for lag in range(-(n - 1), n)}
    return float(max(by_lag, key=lambda lag: (abs(by_lag[lag]), -lag)))


def tdoa_table_reference(windows, positions, mics, pair, fs, sound_speed, thresholds):
    """The paper's TDoA entry of windows [N, M, W] whose sources sit at `positions` [N, 3]: the percentage
    of windows whose |estimated - direct-path delay| exceeds their threshold, and the mean |error| of the
    others (NaN when none is left)."""
    errors = []
    for window, position in zip(windows, positions):
        near, far = (np.sqrt(sum((float(p) - float(m)) ** 2 for p, m in zip(position, mics[i]))) for i in pair)
        errors.append(abs(tdoa_reference(window[pair[0]], window[pair[1]]) - (far - near) * fs / sound_speed))
    good = [e for e, t in zip(errors, thresholds) if e <= t]
    return {"anomaly_percent": 100.0 * (len(errors) - len(good)) / len(errors),
            "mae": sum(good) / len(good) if good else float("nan"), "n_windows": len(errors)}
