"""SRP-PHAT: the classical, training-free localization baseline (steered response power with PHAT weighting).

For each window the GCC-PHAT of every microphone pair is computed once (numpy/scipy FFTs, the sign convention
of `metrics.gcc_phat`: a peak at a positive lag means the pair's second mic hears the sound later). The
steered response power of a candidate position is the sum over pairs of the GCC at the candidate's
direct-path TDoA, read between integer lags by linear interpolation. That read-out is linear in the GCCs,
so it is precomputed once as a sparse matrix [pairs x lags, candidates] (two weights per candidate and pair)
and every window's power map is one sparse product; the estimate is the candidate with the largest power.

Candidates lie on a plane: x over the source grid's x range, y over its y range, at one height. The height
is unobservable for a linear array (the array's TDoAs depend only on x and on the distance to the array's
axis, sqrt(dy^2 + dz^2), which a height offset trades against y), so the candidates sit at the mean source
height (the middle of `geometry.grid.height`) unless a height is given; the z estimate is that height.
"""

from itertools import combinations

import numpy as np
from scipy import fft, sparse

from ..data.geometry import grid_x

NAME = "srp_phat"  # its "model" name in summaries, tables and file names (results/evaluation/srp_phat/...)
_TINY = np.finfo(np.float64).tiny  # guards the PHAT division, as in metrics.gcc_phat
_CHUNK_BYTES = 256 * 2 ** 20  # cross-spectra of a chunk of windows stay below this


def candidate_grid(geometry, shape=(41, 41), height=None):
    """[nx*ny, 3] candidate positions: the source grid's x range (`geometry.grid_x`) and y range, sampled
    `shape` = (nx, ny) times, at `height` (None: the middle of the source height range)."""
    grid = geometry["grid"]
    x = np.linspace(*grid_x(geometry), shape[0])
    y = np.linspace(*grid["y"], shape[1])
    z = float(np.mean(grid["height"])) if height is None else float(height)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    return np.column_stack([xx.ravel(), yy.ravel(), np.full(xx.size, z)])


def all_pairs(n_mics):
    """Every microphone pair (i, j), i < j: [n_mics * (n_mics - 1) / 2, 2]."""
    return np.array(list(combinations(range(n_mics), 2)), dtype=int).reshape(-1, 2)


def configured(geometry, settings, n_mics):
    """The candidate positions and the mic pairs the config's `srp` section asks for: (`candidate_grid` of its grid
    and height, its `pairs` or, where null, `all_pairs`)."""
    candidates = candidate_grid(geometry, settings["grid"], settings["height"])
    pairs = all_pairs(n_mics) if settings["pairs"] is None else np.asarray(settings["pairs"], int)
    return candidates, pairs


def candidate_tdoas(candidates, mics, pairs, fs, sound_speed):
    """Direct-path TDoA [K, P] in samples of mic pairs[p, 1] relative to pairs[p, 0] per candidate."""
    dist = np.linalg.norm(np.asarray(candidates, float)[:, None, :] - np.asarray(mics, float)[None], axis=-1)
    return (dist[:, pairs[:, 1]] - dist[:, pairs[:, 0]]) * fs / sound_speed


def steering_matrix(tdoas, max_lag):
    """Sparse [P * (2 max_lag + 1), K] matrix that reads each pair's GCC (lags -max_lag..max_lag, pair-major)
    at each candidate's fractional TDoA by linear interpolation between the two neighbouring lags."""
    n_cand, n_pairs = tdoas.shape
    position = np.clip(tdoas + max_lag, 0, 2 * max_lag)  # index into the lag axis
    low = np.minimum(np.floor(position).astype(int), 2 * max_lag - 1)
    frac = position - low
    rows = np.arange(n_pairs)[None, :] * (2 * max_lag + 1) + low  # [K, P]
    cols = np.broadcast_to(np.arange(n_cand)[:, None], rows.shape)
    data = np.concatenate([(1 - frac).ravel(), frac.ravel()])
    return sparse.csr_matrix(
        (data, (np.concatenate([rows.ravel(), rows.ravel() + 1]), np.concatenate([cols.ravel()] * 2))),
        shape=(n_pairs * (2 * max_lag + 1), n_cand),
    )


def pair_gcc_phat(windows, pairs, max_lag):
    """GCC-PHAT [N, P, 2 max_lag + 1] of every pair of every window (lags -max_lag..max_lag): each mic's
    spectrum once, then the PHAT-weighted cross-spectra of the pairs (linear, not circular, correlation)."""
    windows = np.asarray(windows, float)
    n = windows.shape[-1]
    nfft = fft.next_fast_len(2 * n - 1, real=True)
    spectra = fft.rfft(windows, nfft, axis=-1)
    cross = np.conj(spectra[:, pairs[:, 0]]) * spectra[:, pairs[:, 1]]
    cc = fft.irfft(cross / np.maximum(np.abs(cross), _TINY), nfft, axis=-1)
    return np.concatenate([cc[..., nfft - max_lag:], cc[..., : max_lag + 1]], axis=-1)


def srp_phat_map(windows, mics, fs, sound_speed, candidates, pairs=None):
    """Steered response power [N, K] of every window [N, M, W] at every candidate [K, 3]."""
    windows = np.asarray(windows)
    pairs = all_pairs(len(mics)) if pairs is None else np.asarray(pairs, dtype=int).reshape(-1, 2)
    tdoas = candidate_tdoas(candidates, mics, pairs, fs, sound_speed)
    max_lag = min(int(np.ceil(np.abs(tdoas).max())) + 1, windows.shape[-1] - 1)
    steer = steering_matrix(tdoas, max_lag)
    bins = fft.next_fast_len(2 * windows.shape[-1] - 1, real=True) // 2 + 1
    chunk = max(1, _CHUNK_BYTES // (16 * len(pairs) * bins))
    power = np.empty((len(windows), len(candidates)))
    for lo in range(0, len(windows), chunk):
        cc = pair_gcc_phat(windows[lo:lo + chunk], pairs, max_lag)
        power[lo:lo + chunk] = (steer.T @ cc.reshape(len(cc), -1).T).T
    return power


def srp_phat_localize(windows, mics, fs, sound_speed, candidates, pairs=None):
    """Position estimate [N, 3] of every window [N, M, W]: the candidate with the largest steered response
    power (SRP-PHAT over `pairs`, default all microphone pairs)."""
    candidates = np.asarray(candidates, float)
    return candidates[np.argmax(srp_phat_map(windows, mics, fs, sound_speed, candidates, pairs), axis=1)]
