"""Tests for sslrp.metrics: errors, GCC-PHAT / TDoA, correlation time, input manipulation."""

import numpy as np
import pytest
from scipy import signal as sps

from sslrp import metrics

# --- localization error -------------------------------------------------------------------------

def test_mae_matches_explicit_loop():
    rng = np.random.default_rng(0)
    pred, true = rng.normal(size=(9, 3)), rng.normal(size=(9, 3))
    total = sum(abs(pred[i, j] - true[i, j]) for i in range(9) for j in range(3))
    assert metrics.mae(pred, true) == pytest.approx(total / 27)
    per_coord = [sum(abs(pred[i, j] - true[i, j]) for i in range(9)) / 9 for j in range(3)]
    np.testing.assert_allclose(metrics.mae_per_coordinate(pred, true), per_coord)


def test_per_source_errors_average_each_sources_windows():
    true = np.zeros((4, 3))
    pred = np.array([[3.0, 4, 0], [0, 0, 0], [1, 1, 1], [0, 0, 6]])
    out = metrics.per_source_errors(pred, true, source=[7, 2, 7, 2])
    np.testing.assert_array_equal(out["source"], [2, 7])
    np.testing.assert_array_equal(out["n_windows"], [2, 2])
    np.testing.assert_allclose(out["euclidean"], [(0 + 6) / 2, (5 + np.sqrt(3)) / 2])
    np.testing.assert_allclose(out["absolute"], [(0 + 2) / 2, (7 / 3 + 1) / 2])


def test_best_worst_picks_min_and_max():
    assert metrics.best_worst([0.3, 0.1, 0.9, 0.5]) == (1, 2)


# --- GCC-PHAT and TDoA --------------------------------------------------------------------------

def _noisy_pair(delay, n=4096, snr_db=10, seed=0):
    """Broadband x and y = x delayed by `delay` samples (y[n] = x[n - delay]), both at `snr_db`."""
    rng = np.random.default_rng(seed)
    source = rng.normal(size=n + 64)
    x, y = source[32:32 + n], source[32 - delay:32 - delay + n]
    noise = 10 ** (-snr_db / 20)
    return x + noise * rng.normal(size=n), y + noise * rng.normal(size=n)


def test_tdoa_recovers_integer_delays_with_positive_lag_meaning_y_later():
    delays = [d for d in range(-7, 8) if d != 0]
    pairs = [_noisy_pair(d, seed=i) for i, d in enumerate(delays)]
    x, y = np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
    np.testing.assert_array_equal(metrics.tdoa_gcc_phat(x, y), delays)
    np.testing.assert_array_equal(metrics.tdoa_gcc_phat(x, y, max_lag=7), delays)
    np.testing.assert_array_equal(metrics.tdoa_gcc_phat(y, x), np.negative(delays))


def test_tdoa_of_fractional_delay_is_within_half_a_sample():
    rng = np.random.default_rng(1)
    n, delay = 8192, 2.5
    source = rng.normal(size=n)
    freqs = np.fft.rfftfreq(n)
    delayed = np.fft.irfft(np.fft.rfft(source) * np.exp(-2j * np.pi * freqs * delay), n)
    keep = slice(100, n - 100)  # away from the circular wrap
    x = source[keep] + 10 ** (-0.5) * rng.normal(size=n - 200)
    y = delayed[keep] + 10 ** (-0.5) * rng.normal(size=n - 200)
    assert metrics.tdoa_gcc_phat(x, y, max_lag=7) in (2.0, 3.0)
    assert metrics.tdoa_gcc_phat(x, y, max_lag=7, interpolate=True) == pytest.approx(delay, abs=0.25)


def test_gcc_phat_lags_are_centred_and_silence_gives_no_nan():
    lags, cc = metrics.gcc_phat(np.zeros((2, 64)), np.zeros((2, 64)), max_lag=7)
    np.testing.assert_array_equal(lags, np.arange(-7, 8))
    assert cc.shape == (2, 15) and np.all(np.isfinite(cc))
    lags, cc = metrics.gcc_phat(np.ones(64), np.ones(64), interp=4)
    assert lags.size == cc.shape[-1] == 2 * 63 * 4 + 1 and lags[0] == -63 and lags[-1] == 63


def test_tdoa_errors_is_the_estimated_minus_the_true_delay_of_the_pair():
    # Four microphones; the pair (1, 3) carries a broadband signal and its copy delayed by a known number of
    # samples, the other channels unrelated noise: the error is GCC-PHAT's delay of mic 3 relative to mic 1
    # minus the true delay, so 0 for the true delay and +d (estimate minus truth) against a true delay of 0.
    delays = np.array([3, -5, 0, 11])
    signals = np.random.default_rng(7).normal(size=(len(delays), 4, 1024))
    for i, d in enumerate(delays):
        signals[i, 1], signals[i, 3] = _noisy_pair(int(d), n=1024, snr_db=20, seed=10 + i)
    np.testing.assert_array_equal(metrics.tdoa_errors(signals, delays, (1, 3)), np.zeros(4))
    np.testing.assert_array_equal(metrics.tdoa_errors(signals, np.zeros(4), (1, 3)), delays)
    np.testing.assert_array_equal(metrics.tdoa_errors(signals, np.zeros(4), (3, 1)), -delays)
    np.testing.assert_array_equal(metrics.tdoa_errors(signals, delays + 0.25, (1, 3), max_lag=16), [-0.25] * 4)


def test_tdoa_summary_counts_anomalies_and_averages_the_rest():
    out = metrics.tdoa_summary([0, 1, 5, -6], thresholds=2)
    assert out["anomaly_percent"] == 50.0 and out["mae"] == 0.5 and out["n_windows"] == 4
    out = metrics.tdoa_summary([0, 1, -2, 3], thresholds=[0.5, 0.5, 2, 2])
    assert out["anomaly_percent"] == 50.0 and out["mae"] == 1.0  # |-2| <= 2 is not an anomaly
    assert np.isnan(metrics.tdoa_summary([4, 5], thresholds=1)["mae"])


# --- correlation time ---------------------------------------------------------------------------

def test_correlation_time_of_white_noise_is_below_two_samples():
    noise = np.random.default_rng(2).normal(size=32000)
    assert metrics.correlation_time(noise) <= 2.0


def test_correlation_time_grows_for_low_pass_signal():
    noise = np.random.default_rng(3).normal(size=32000)
    low = sps.sosfilt(sps.butter(8, 0.1, output="sos"), noise)  # cut-off at 0.05 fs
    assert metrics.correlation_time(low) > 4 * metrics.correlation_time(noise)


def test_correlation_time_of_boxcar_matches_triangle_formula():
    # A boxcar of length L has autocorrelation 1 - k / L: it crosses 1/sqrt(2) at L (1 - 1/sqrt 2).
    length = 100
    boxcar = np.r_[np.zeros(50), np.ones(length), np.zeros(50)]
    expected = 2 * length * (1 - 1 / np.sqrt(2))
    assert metrics.correlation_time(boxcar, demean=False) == pytest.approx(expected, rel=1e-9)


def test_correlation_time_of_ar1_process_matches_its_autocorrelation():
    a, n = 0.9, 2 ** 17
    rng = np.random.default_rng(4)
    ar1 = sps.lfilter([1.0], [1.0, -a], rng.normal(size=n))
    level = 1 / np.sqrt(2)
    k = int(np.ceil(np.log(level) / np.log(a)))  # first lag with a**k < level
    expected = 2 * (k - 1 + (a ** (k - 1) - level) / (a ** (k - 1) - a ** k))
    assert metrics.correlation_time(ar1) == pytest.approx(expected, abs=0.3)


def test_correlation_time_of_silence_is_an_error():
    with pytest.raises(ValueError):
        metrics.correlation_time(np.zeros(100))


def test_localization_summary_compares_with_the_constant_baseline():
    true = np.array([[1.0, 5.0, 1.0], [2.0, 6.0, 1.5]])
    out = metrics.localization_summary(true + [0.1, -0.2, 0.0], true, [1.5, 5.5, 1.25])
    assert out["n_windows"] == 2
    assert out["mae"] == pytest.approx(0.1) and out["mae_xyz"] == pytest.approx([0.1, 0.2, 0.0])
    assert out["baseline_mae_xyz"] == pytest.approx([0.5, 0.5, 0.25])
