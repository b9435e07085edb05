"""The per-condition HDF5 dataset: layout, atomic writers and a reader with clear errors.

Layout of `results/data/{cond}.h5` (the contract later steps read):

    /                attrs: condition, fs, t60, snr, max_order, t60_measured (median over sources, s),
                            window, n_mics, room, mics (json), seed, config_hash, versions (json)
    /{train,val,test}
        per source:  position [N, 3] m, source_index [N] (grid index), utterance [N] (corpus index),
                     correlation_time [N] samples, rt60 [N] s (measured on mic 0's RIR)
        per window:  windows [N_win, M, W] float32, source [N_win] (row in the per-source arrays),
                     window [N_win] (position of the window within its source's signal)

Sources of a split are in grid order and a source's windows are consecutive, so the dataset does not
depend on how the simulation was sharded. A shard file holds the same per-source arrays for its sources
plus `n_windows`, without the split groups.
"""

import json
from dataclasses import dataclass

import h5py
import numpy as np

from .geometry import SPLITS
from .io import atomic_path

PER_SOURCE = ("position", "source_index", "utterance", "correlation_time", "rt60")


class DatasetError(OSError):
    """A dataset file is missing, truncated or lacks what a step needs; the message names the file."""


@dataclass
class Split:
    """One split of a dataset, in memory."""

    windows: np.ndarray  # [N_win, M, W] float32
    source: np.ndarray  # [N_win]
    window: np.ndarray  # [N_win]
    position: np.ndarray  # [N_src, 3]
    source_index: np.ndarray  # [N_src]
    utterance: np.ndarray  # [N_src]
    correlation_time: np.ndarray  # [N_src]
    rt60: np.ndarray  # [N_src]

    def signal(self, source, channel, values=None):
        """The concatenated windows of one source (row in the per-source arrays) on one channel.

        `values` takes the place of the windows: any array aligned with them, e.g. the relevance.
        """
        values = self.windows if values is None else values
        return values[self.source == source, channel].reshape(-1)


def write_shard(path, recordings, attrs):
    """Write the simulated sources of one shard (a list of `acoustics.SourceRecording`) atomically."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(attrs)
        f["source_index"] = np.array([r.index for r in recordings], dtype=np.int64)
        f["position"] = np.array([r.position for r in recordings]).reshape(-1, 3)
        f["utterance"] = np.array([r.utterance for r in recordings], dtype=np.int64)
        f["correlation_time"] = np.array([r.correlation_time for r in recordings])
        f["rt60"] = np.array([r.rt60 for r in recordings])
        f["n_windows"] = np.array([len(r.windows) for r in recordings], dtype=np.int64)
        f["windows"] = np.concatenate([r.windows for r in recordings])


def gather(shard_paths, out, split_of, attrs):
    """Merge shard files into the dataset `out`, one group per split; `split_of[i]` names source i's split.

    Windows are copied source by source, so memory stays at one source's windows even at paper scale.
    """
    shards = [_open(p) for p in shard_paths]
    try:
        where = {}  # grid index -> (shard file, row in shard, first window in shard)
        for f in shards:
            first = np.concatenate([[0], np.cumsum(f["n_windows"][:])[:-1]])
            for row, idx in enumerate(f["source_index"][:]):
                where[int(idx)] = (f, row, int(first[row]))
        rt60 = np.array([f["rt60"][row] for f, row, _ in where.values()])
        with atomic_path(out) as tmp, h5py.File(tmp, "w") as dst:
            dst.attrs.update(attrs)
            dst.attrs["t60_measured"] = float(np.nanmedian(rt60)) if np.isfinite(rt60).any() else np.nan
            for split in SPLITS:
                members = sorted(i for i in where if split_of[i] == split)
                _write_split(dst.create_group(split), [where[i] for i in members], shards[0]["windows"])
    finally:
        for f in shards:
            f.close()


def _write_split(group, rows, template):
    for name in PER_SOURCE:
        like = template.file[name]  # dtype and trailing shape, also for an empty split
        values = np.array([f[name][row] for f, row, _ in rows], dtype=like.dtype)
        group[name] = values.reshape(len(rows), *like.shape[1:])
    counts = [int(f["n_windows"][row]) for f, row, _ in rows]
    group["source"] = np.repeat(np.arange(len(rows)), counts)
    group["window"] = np.concatenate([np.arange(n) for n in counts]) if rows else np.zeros(0, np.int64)
    shape = (sum(counts), *template.shape[1:])
    # One chunk per window; h5py refuses a chunk larger than the data, so an empty split is contiguous.
    windows = group.create_dataset(
        "windows", shape=shape, dtype="float32", chunks=(1, *shape[1:]) if shape[0] else None
    )
    start = 0
    for (f, _, first), n in zip(rows, counts):
        windows[start : start + n] = f["windows"][first : first + n]
        start += n


def _open(path):
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise DatasetError(f"{path}: cannot be read as HDF5 ({err}); delete it and re-run the step") from err


def read_attrs(path):
    """The dataset's attributes as a dict (json-encoded values decoded)."""
    with _open(path) as f:
        attrs = dict(f.attrs)
    for key in ("mics", "versions", "room"):
        if isinstance(attrs.get(key), str):
            attrs[key] = json.loads(attrs[key])
    return attrs


def read_split(path, split, windows=True):
    """Load one split of a dataset; `windows=False` skips the (large) window array."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    with _open(path) as f:
        if split not in f:
            raise DatasetError(f"{path}: has no group {split!r}; was it written by gather_dataset?")
        g = f[split]
        try:
            arrays = {name: g[name][:] for name in (*PER_SOURCE, "source", "window")}
            arrays["windows"] = g["windows"][:] if windows else None
        except (KeyError, OSError) as err:
            raise DatasetError(f"{path}: group {split!r} is incomplete or corrupt ({err})") from err
    return Split(**arrays)


def write_relevance(path, relevance, targets, test, attrs):
    """Store one model's relevance for every test window (aligned with the test split's windows)."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(attrs)
        f["relevance"] = relevance
        f["target"] = targets
        f["source"] = test.source
        f["window"] = test.window


def read_relevance(path, test=None, targets=False):
    """Relevance [N_win, M, W] written by `write_relevance`; checked against `test` when given.

    With `targets`, returns (relevance, targets [N_win, 3]): the output relevance each window's LRP
    started from, so that other attribution methods can explain the same output.
    """
    with _open(path) as f:
        try:
            relevance, source = f["relevance"][:], f["source"][:]
            target = f["target"][:] if targets else None
        except KeyError as err:
            raise DatasetError(f"{path}: not a relevance file ({err})") from err
    if test is not None and not np.array_equal(source, test.source):
        raise DatasetError(f"{path}: its windows do not match the test split; re-run the relevance step")
    return (relevance, target) if targets else relevance
