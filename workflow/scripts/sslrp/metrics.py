"""Evaluation metrics: localization error, GCC-PHAT / TDoA, correlation time (the manipulation test:
explain.manipulation).

Pure functions on numpy arrays. Conventions used throughout:
- positions are [N, 3] arrays in metres (x, y, z); errors are predicted minus true;
- windows are [N, M, W] (window, microphone, sample); relevance has the same shape;
- delays and lags are in samples.
"""

import numpy as np
from scipy import fft

# Guards the PHAT division: bins whose cross-spectrum is exactly zero give 0 instead of NaN.
_TINY = np.finfo(np.float64).tiny


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

    The peak is that of |cc|, as in the authors' code (their `gcc_phat` takes the argmax of the absolute
    correlation): a relevance signal is signed, and a polarity flip between its two channels turns the delay's
    peak negative, which the signed maximum would miss. On microphone signals the delay's peak is positive and
    dominant, so both give the same lag. With `interpolate` a parabola through the peak and its two neighbours
    refines the estimate to a fraction of a sample; the default (off) returns integer lags, as in the paper.
    """
    lags, cc = gcc_phat(x, y, max_lag)
    peak = np.argmax(np.abs(cc), axis=-1)
    cc = cc * np.sign(np.take_along_axis(cc, peak[..., None], axis=-1))  # the parabola fits a maximum
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


def tdoa_errors(signals, true_delay, pair, max_lag=None):
    """GCC-PHAT delay error (samples) per window for signals [N, M, W] on mic `pair` against `true_delay` [N]."""
    return tdoa_gcc_phat(signals[:, pair[0]], signals[:, pair[1]], max_lag) - true_delay


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


def tdoa_estimator_summary(estimated, true_delay, thresholds):
    """An estimator's row of the TDoA table: `tdoa_summary` of its errors, plus `correlation`, Pearson's r
    between its estimates and the true delays (`delay_correlation`). The anomaly count alone cannot tell an
    estimator that follows the delay from a constant guess that lies near every true delay; r can."""
    estimated = np.broadcast_to(np.asarray(estimated, float), np.shape(true_delay))
    return {**tdoa_summary(estimated - np.asarray(true_delay, float), thresholds),
            "correlation": delay_correlation(estimated, true_delay)}


def tdoa_estimator_record(estimated, true_delay, thresholds):
    """`tdoa_estimator_summary` JSON-ready (None for what is undefined: JSON has no NaN), with the per-window
    estimates as a list, so that records of several sets of windows can be pooled (the report card's physics)."""
    summary = tdoa_estimator_summary(estimated, true_delay, thresholds)
    return {**{k: None if np.isnan(v) else float(v) for k, v in summary.items()},
            "estimates": np.asarray(estimated, float).tolist()}

def delay_correlation(estimated, true):
    """Pearson's r between estimated and true delays; NaN when either does not vary (a constant estimator
    follows nothing: its r is undefined, not 0)."""
    estimated, true = np.asarray(estimated, float).ravel(), np.asarray(true, float).ravel()
    if np.ptp(estimated) == 0 or np.ptp(true) == 0:  # tested on the values: a mean's rounding is not variation
        return float("nan")
    a, b = estimated - estimated.mean(), true - true.mean()
    return float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b)))


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
