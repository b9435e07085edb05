"""Room, microphone array, source grid and the train/val/test split (SPEC "Geometry").

Everything is computed from the `geometry` section of the config and the global seed, so every
step that needs positions derives the same ones without reading a file.
"""

from dataclasses import dataclass

import numpy as np

from .. import seeding

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Sources:
    """All source positions of the grid and the split each belongs to (indices into `positions`)."""

    positions: np.ndarray  # [N, 3] metres
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def split_of(self):
        """Per-source split name, in grid order."""
        names = np.empty(len(self.positions), dtype=object)
        for split in SPLITS:
            names[getattr(self, split)] = split
        return names


def mic_positions(geometry):
    """[M, 3] microphone positions: `geometry.array.positions` when given (any geometry), else the uniform linear
    array along x that `center`, `n_mics`, `spacing` and `height` describe (the paper's)."""
    arr = geometry["array"]
    if arr.get("positions") is not None:
        return np.asarray(arr["positions"], dtype=np.float64).reshape(-1, 3)
    n, d = arr["n_mics"], arr["spacing"]
    cx, cy = arr["center"]
    x = cx + (np.arange(n) - (n - 1) / 2) * d
    return np.stack([x, np.full(n, cy), np.full(n, arr["height"])], axis=1)


def grid_x(geometry):
    """(lowest, highest) x of the source grid: `geometry.grid.x` when given, else the microphones' x range inset
    by `grid.margin` (the paper's grid, derived from the linear array's ends)."""
    grid = geometry["grid"]
    if grid.get("x") is not None:
        return float(grid["x"][0]), float(grid["x"][1])
    mics = mic_positions(geometry)
    return mics[:, 0].min() + grid["margin"], mics[:, 0].max() - grid["margin"]


def grid_xy(geometry):
    """[nx*ny, 2] grid points over `grid_x` and `grid.y`, row-major in x then y."""
    grid = geometry["grid"]
    x = np.linspace(*grid_x(geometry), grid["nx"])
    y = np.linspace(*grid["y"], grid["ny"])
    xx, yy = np.meshgrid(x, y, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def sources(geometry, seed):
    """Grid positions with seeded heights, split into the held-out test square and 80/20 train/val."""
    xy = grid_xy(geometry)
    lo, hi = geometry["grid"]["height"]
    z = np.array([seeding.rng(seed, "height", i).uniform(lo, hi) for i in range(len(xy))])
    positions = np.column_stack([xy, z])

    in_test = in_test_square(xy, geometry["test_square"])
    rest = np.flatnonzero(~in_test)
    shuffled = seeding.rng(seed, "split").permutation(rest)
    n_val = _n_val(geometry["val_fraction"], len(rest))
    return Sources(
        positions=positions,
        train=np.sort(shuffled[n_val:]),
        val=np.sort(shuffled[:n_val]),
        test=np.flatnonzero(in_test),
    )


def in_test_square(xy, square):
    """Which points [N, 2] lie strictly inside the held-out test square."""
    return (xy[:, 0] > square["x"][0]) & (xy[:, 0] < square["x"][1]) & (xy[:, 1] > square["y"][0]) & (
        xy[:, 1] < square["y"][1]
    )


def _n_val(val_fraction, n_rest):
    return int(round(val_fraction * n_rest))


def split_sizes(geometry):
    """Number of sources per split, without drawing positions (cheap enough for config validation)."""
    n_test = int(in_test_square(grid_xy(geometry), geometry["test_square"]).sum())
    n_rest = geometry["grid"]["nx"] * geometry["grid"]["ny"] - n_test
    n_val = _n_val(geometry["val_fraction"], n_rest)
    return {"train": n_rest - n_val, "val": n_val, "test": n_test}


def shard_indices(n_sources, shard, n_shards):
    """Source indices of one shard: interleaved, so that every shard gets a similar mix of positions."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} is outside 0..{n_shards - 1}")
    return np.arange(shard, n_sources, n_shards)


def direct_path_tdoa(position, mics, pair, fs, sound_speed):
    """Direct-path delay (samples) of mic pair[1] relative to pair[0] for a source at `position`.

    Positive when the sound reaches pair[1] later than pair[0].
    """
    dist = np.linalg.norm(mics[list(pair)] - np.asarray(position)[..., None, :], axis=-1)
    return (dist[..., 1] - dist[..., 0]) * fs / sound_speed


def default_pairs(geometry):
    """Three microphone pairs from the narrowest to the widest baseline, the default of `tdoa.pairs`: on a linear
    array (no `positions`) of n mics the centre pair (n/2 - 1, n/2), the pair a quarter in from each end (n/4,
    n - 1 - n/4) and the end pair (0, n - 1), the paper's (7, 8), (4, 11), (0, 15) on its 16 mics; for any other
    array the closest pair, the pair whose distance lies nearest the middle of the closest and the farthest, and
    the farthest (lowest indices first among equals). Duplicates (few mics) appear once."""
    arr = geometry["array"]
    if arr.get("positions") is None:
        n = arr["n_mics"]
        pairs = [(n // 2 - 1, n // 2), (n // 4, n - 1 - n // 4), (0, n - 1)]
    else:
        mics = mic_positions(geometry)
        candidates = [(i, j) for i in range(len(mics)) for j in range(i + 1, len(mics))]
        distance = {p: float(np.linalg.norm(mics[p[0]] - mics[p[1]])) for p in candidates}
        near, far = min(distance.values()), max(distance.values())
        pairs = [min(candidates, key=lambda p: (abs(distance[p] - target), p)) for target in (near, (near + far) / 2)]
        pairs.append(min(candidates, key=lambda p: (-distance[p], p)))
    return [list(p) for p in dict.fromkeys(pairs)]


# pyroomacoustics's speed of sound, with which the simulation builds its rooms (geometry.sound_speed is the TDoA
# ground truth's).
SIMULATION_SOUND_SPEED = 343.0


def shortest_t60(room, sound_speed=SIMULATION_SOUND_SPEED):
    """The shortest reverberation time [s] a shoebox `room` [m] can have by Sabine's formula: every reflection
    fully absorbed (absorption 1). `pyroomacoustics.inverse_sabine` refuses any shorter T60 ("room may be too
    large for required RT60"); computed here so that config validation needs no pyroomacoustics."""
    lx, ly, lz = room
    surface = 2 * (lx * ly + lx * lz + ly * lz)
    return 24 * np.log(10) * lx * ly * lz / (sound_speed * surface)
