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
plus `n_windows`, without the split groups, and says what it is in its attributes `condition` (the settings,
json), `shard` and `n_shards`, so that a gather can refuse another condition's shard or an incomplete set.
"""

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from importlib import metadata

import h5py
import numpy as np

from ..io import atomic_path, rebuild_advice, write_array
from ..names import condition_name
from .geometry import SPLITS, mic_positions

PER_SOURCE = ("position", "source_index", "utterance", "correlation_time", "rt60")
# Per-source arrays that must be finite (rt60 is NaN where the decay was too short to measure).
FINITE = ("position", "correlation_time")
# Windows checked for finite values per block: bounds the temporary mask at paper scale.
CHECK_BLOCK = 1024


class DatasetError(OSError):
    """A dataset file is missing, truncated, corrupt or lacks what a step needs; the message names the file."""


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


def dataset_attrs(name, geometry_settings, signals, seed, recipe, versioned, t60, snr, max_order, **specific):
    """The attributes every dataset carries, simulated or recorded (README "Dataset layout"): the condition's name,
    sampling, target T60 and SNR (NaN for a recording), image-source order (-1: uncapped or none), window, array
    and room, the seed, a hash of the `recipe` (every setting the data depend on) and the versions of the
    `versioned` packages that made it; then the kind's own attributes (`specific`)."""
    return {
        "condition": name,
        "fs": geometry_settings["fs"],
        "t60": t60,
        "snr": snr,
        "max_order": max_order,
        "window": signals["window"],
        "n_mics": geometry_settings["array"]["n_mics"],
        "room": json.dumps(geometry_settings["room"]),
        "mics": json.dumps(mic_positions(geometry_settings).tolist()),
        "seed": seed,
        "config_hash": hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16],
        "versions": json.dumps({p: metadata.version(p) for p in versioned}),
        **specific,
    }


def write_shard(path, recordings, attrs):
    """Write the simulated sources of one shard (a list of `acoustics.SourceRecording`) atomically."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(attrs)
        write_array(f, "source_index", np.array([r.index for r in recordings], dtype=np.int64))
        write_array(f, "position", np.array([r.position for r in recordings]).reshape(-1, 3))
        write_array(f, "utterance", np.array([r.utterance for r in recordings], dtype=np.int64))
        write_array(f, "correlation_time", np.array([r.correlation_time for r in recordings]))
        write_array(f, "rt60", np.array([r.rt60 for r in recordings]))
        write_array(f, "n_windows", np.array([len(r.windows) for r in recordings], dtype=np.int64))
        windows = np.concatenate([r.windows for r in recordings])
        write_array(f, "windows", windows, chunks=(1, *windows.shape[1:]) if len(windows) else None)


def simulation_recipe(condition, geometry_settings, signals, corpus_settings, seed):
    """Every setting a simulated condition's data depend on: the condition's, the geometry, the signals (window,
    length), the corpus and the seed. Its hash is the dataset's `config_hash`; each shard records it too, so that
    the gather can refuse shards simulated with other settings."""
    return {"condition": condition, "geometry": geometry_settings, "signals": signals, "corpus": corpus_settings,
            "seed": seed}


def _digest(settings):
    text = json.dumps(settings, sort_keys=True)
    return text, hashlib.sha256(text.encode()).hexdigest()[:16]


def shard_attrs(recipe, shard, n_shards):
    """The attributes by which a shard file says what it is (`check_shards` reads them): its condition's settings,
    its number, the number of shards of its simulation, and every setting its data depend on (the
    `simulation_recipe` and the shard count: readable as JSON, and one hash of them)."""
    settings, digest = _digest({**recipe, "n_shards": n_shards})
    return {"condition": json.dumps(recipe["condition"], sort_keys=True), "shard": shard, "n_shards": n_shards,
            "settings": settings, "settings_hash": digest}


def check_shards(shard_paths, recipe):
    """Raise DatasetError unless the files are one complete simulation with the settings `recipe` (see
    `simulation_recipe`): each simulated for its condition with the same geometry, signals, corpus and seed, all
    of the same shard count, each shard once. A gather given another condition's shards, shards left from a run
    with other settings (another window, another seed), or some of them only, would otherwise write a wrong,
    mixed or partial dataset that later steps read as good."""
    condition = recipe["condition"]
    name = condition_name(condition)
    expected = json.loads(json.dumps(recipe))  # as a shard records it (JSON: tuples are lists)
    found = {}  # shard number -> (path, shard count)
    for path in shard_paths:
        with _open(path) as f:
            attrs = dict(f.attrs)
        if not {"condition", "shard", "n_shards", "settings"} <= attrs.keys():
            raise DatasetError(f"{path}: not a shard file that records its condition, shard count and settings "
                               f"(attributes condition, shard, n_shards, settings); {rebuild_advice(path)}")
        theirs = json.loads(attrs["condition"])
        number = int(attrs["shard"])
        if theirs != condition:
            raise DatasetError(f"{path}: shard {number} of condition {condition_name(theirs)} ({theirs}), not of "
                               f"{name} ({condition}); give the gather {name}'s shards, "
                               f"{_simulate_advice(name, [number], int(attrs['n_shards']))}")
        recorded = {k: v for k, v in json.loads(attrs["settings"]).items() if k != "n_shards"}
        difference = _first_difference(recorded, expected)
        if difference:
            key, shard_value, gather_value = difference
            raise DatasetError(f"{path}: shard {number} of {name} was simulated with {key} = {shard_value}, but the "
                               f"gather's settings have {key} = {gather_value} (a shard left from a run with other "
                               f"settings; its data would mix with the others'); {rebuild_advice(path)}")
        if number in found:
            raise DatasetError(f"{path}: shard {number} of {name} is given twice (also {found[number][0]}); give "
                               "each shard once")
        found[number] = (path, int(attrs["n_shards"]))
    counts = sorted({n for _, n in found.values()})
    if len(counts) > 1:
        listing = "; ".join(f"{path}: shard {k} of {n}" for k, (path, n) in sorted(found.items()))
        raise DatasetError(f"the shards of {name} come from simulations with different shard counts ({listing}); "
                           f"give the gather the shards of one simulation, {_simulate_advice(name, [], counts[-1])}")
    missing = sorted(set(range(counts[0])) - found.keys())
    if missing:
        raise DatasetError(f"{name}: the gather was given {len(found)} of the {counts[0]} shards; missing shard(s) "
                           f"{', '.join(map(str, missing))}; {_simulate_advice(name, missing, counts[0])}")


def _first_difference(recorded, expected, key=""):
    """(config key, recorded value, expected value) of the first setting that differs, or None; keys as the config
    names them (`signals.window`, `geometry.grid.nx`), values as JSON."""
    if isinstance(recorded, dict) and isinstance(expected, dict):
        for name in sorted(recorded.keys() | expected.keys()):
            if name not in recorded or name not in expected:
                return (f"{key}.{name}".lstrip("."), json.dumps(recorded.get(name, "(absent)")),
                        json.dumps(expected.get(name, "(absent)")))
            found = _first_difference(recorded[name], expected[name], f"{key}.{name}".lstrip("."))
            if found:
                return found
        return None
    return None if recorded == expected else (key, json.dumps(recorded), json.dumps(expected))


def _simulate_advice(name, shards, n_shards):
    which = f" for K in {', '.join(map(str, shards))}" if shards else " for every K"
    return (f"simulate them with `python workflow/scripts/simulate_shard.py --cond {name} --shard K --corpus "
            f"<corpus.h5> --out <shard-K.h5>`{which} (simulation.shards: {n_shards}; use the --config of the "
            "gather), then gather all of them")


def gather(shard_paths, out, split_of, attrs):
    """Merge shard files into the dataset `out`, one group per split; `split_of[i]` names source i's split.

    Windows are copied source by source, so memory stays at one source's windows even at paper scale; each
    source's windows are checked for finite values on the way.
    """
    shards = [_open(p) for p in shard_paths]
    try:
        where = {}  # grid index -> (shard file, its per-source arrays, row in shard, first window in shard)
        for f in shards:
            arrays = {name: _read(f, name) for name in (*PER_SOURCE, "n_windows")}
            first = np.concatenate([[0], np.cumsum(arrays["n_windows"])[:-1]])
            for row, idx in enumerate(arrays["source_index"]):
                where[int(idx)] = (f, arrays, row, int(first[row]))
        rt60 = np.array([arrays["rt60"][row] for _, arrays, row, _ in where.values()])
        with atomic_path(out) as tmp, _new_hdf5(tmp) as dst:
            dst.attrs.update(attrs)
            dst.attrs["t60_measured"] = float(np.nanmedian(rt60)) if np.isfinite(rt60).any() else np.nan
            for split in SPLITS:
                members = sorted(i for i in where if split_of[i] == split)
                _write_split(dst.create_group(split), [where[i] for i in members], shards[0])
    finally:
        for f in shards:
            f.close()


@contextlib.contextmanager
def _new_hdf5(path):
    """`h5py.File(path, "w")` that closes cleanly even when the block fails, e.g. on a full disk, and lets the
    block's error (`No space left on device`) through.

    HDF5 flushes its caches when a file closes; on a full disk that flush fails as well, h5py then leaves the file
    open, and HDF5 crashes (segmentation fault) closing it at exit. So: no chunk cache (windows are written as
    whole chunks, which the cache does not speed up), and a failed file is emptied, freeing its space, before it is
    closed (it is deleted next anyway).
    """
    f = h5py.File(path, "w", rdcc_nbytes=0)
    try:
        yield f
        f.close()
    except BaseException:
        os.truncate(path, 0)
        try:
            f.close()
        except (OSError, RuntimeError):
            pass  # the block's error is the one to report
        raise


def _write_split(group, rows, template):
    for name in PER_SOURCE:
        like = template[name]  # dtype and trailing shape, also for an empty split
        values = np.array([arrays[name][row] for _, arrays, row, _ in rows], dtype=like.dtype)
        write_array(group, name, values.reshape(len(rows), *like.shape[1:]))
    counts = [int(arrays["n_windows"][row]) for _, arrays, row, _ in rows]
    write_array(group, "source", np.repeat(np.arange(len(rows)), counts))
    write_array(group, "window", np.concatenate([np.arange(n) for n in counts]) if rows else np.zeros(0, np.int64))
    shape = (sum(counts), *template["windows"].shape[1:])
    windows = write_array(group, "windows", shape=shape, dtype="float32", chunks=(1, *shape[1:]))  # one per window
    start = 0
    for (f, arrays, row, first), n in zip(rows, counts):
        block = _read(f, "windows", slice(first, first + n))
        _check_finite(f.filename, f"source {int(arrays['source_index'][row])}'s", block, np.arange(n))
        windows[start : start + n] = block
        start += n


def _open(path):
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise DatasetError(f"{path}: cannot be read as HDF5 ({err}); {rebuild_advice(path)}") from err


def _read(node, name, selection=()):
    """`node[name][selection]`, with an error naming the file and dataset when it is absent or corrupt.

    A Fletcher-32 mismatch (a flipped byte) surfaces here as h5py's OSError "filter returned failure".
    """
    path = node.file.filename
    try:
        dset = node[name]
    except KeyError as err:
        group = f"group {node.name.strip('/')!r}" if node.name != "/" else "the file"
        raise DatasetError(f"{path}: {group} has no dataset {name!r}; {rebuild_advice(path)}") from err
    try:
        return dset[selection]
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path}: dataset {dset.name} is corrupt and cannot be read ({err}); "
                           f"{rebuild_advice(path)}") from err


def _check_finite(path, where, windows, numbers):
    """Raise naming the first windows (numbered by `numbers`) of `windows` that hold NaN or infinity."""
    bad = []
    for start in range(0, len(windows), CHECK_BLOCK):
        block = windows[start : start + CHECK_BLOCK]
        finite = np.isfinite(block)
        if not finite.all():  # the flat test is the fast one; locate the windows only when it fails
            bad.extend(start + np.flatnonzero(~finite.all(axis=tuple(range(1, block.ndim)))))
    if bad:
        listed = ", ".join(str(int(numbers[i])) for i in bad[:5]) + (f" and {len(bad) - 5} more" * (len(bad) > 5))
        raise DatasetError(f"{path}: {where} window(s) {listed} hold NaN or infinite values; {rebuild_advice(path)}")


def attributes_of(f, path):
    """The attributes of an open workflow HDF5 file `f` (read from `path`) as a dict; DatasetError naming the file
    when they are corrupt."""
    try:
        return dict(f.attrs)
    except (OSError, RuntimeError, KeyError) as err:
        raise DatasetError(f"{path}: its attributes are corrupt and cannot be read ({err}); "
                           f"{rebuild_advice(path)}") from err


def _split_group(f, path, split):
    """The group of `split` in the open dataset `f`, or DatasetError naming the file."""
    if split not in f:
        raise DatasetError(f"{path}: has no group {split!r}; was it written by gather_dataset? {rebuild_advice(path)}")
    return f[split]


def read_attrs(path):
    """The dataset's attributes as a dict (json-encoded values decoded)."""
    with _open(path) as f:
        attrs = attributes_of(f, path)
    for key in ("mics", "versions", "room", "baseline_position"):
        if isinstance(attrs.get(key), str):
            attrs[key] = json.loads(attrs[key])
    return attrs


def read_split(path, split, windows=True):
    """Load one split of a dataset; `windows=False` skips the (large) window array.

    Every array is checksummed by HDF5 as it is read, and the windows and positions are checked for finite
    values once, here, so a corrupt file fails before a step computes anything from it.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    with _open(path) as f:
        g = _split_group(f, path, split)
        arrays = {name: _read(g, name) for name in (*PER_SOURCE, "source", "window")}
        arrays["windows"] = _read(g, "windows") if windows else None
    for name in FINITE:
        values = arrays[name]
        rows = np.flatnonzero(~np.isfinite(values).reshape(len(values), -1).all(axis=1)) if len(values) else []
        if len(rows):
            raise DatasetError(f"{path}: split {split!r}, {name} of source row(s) {list(rows[:5])} is not "
                               f"finite; {rebuild_advice(path)}")
    if windows:
        _check_finite(path, f"split {split!r},", arrays["windows"], np.arange(len(arrays["windows"])))
    return Split(**arrays)


def read_windows(path, split, rows):
    """The windows [len(rows), M, W] of the given rows of one split (e.g. a seeded subset of the test windows),
    read without loading the others, checksummed and checked for finite values like `read_split`'s."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) and (np.any(np.diff(rows) <= 0) or rows[0] < 0):
        raise ValueError(f"rows must be increasing and non-negative, got {rows[:5].tolist()}...")
    with _open(path) as f:
        group = _split_group(f, path, split)
        n = len(group["windows"]) if "windows" in group else 0  # no dataset: _read below says so
        if len(rows) and rows[-1] >= n and "windows" in group:
            raise DatasetError(f"{path}: split {split!r} has {n} windows, no row {int(rows[-1])}; "
                               f"{rebuild_advice(path)}")
        windows = _read(group, "windows", rows if len(rows) else slice(0, 0))
    _check_finite(path, f"split {split!r},", windows, rows)
    return windows


def baseline_position(path):
    """The mean-training-position baseline's constant estimate [3]: the mean of `trained_positions`."""
    return trained_positions(path).mean(axis=0)


def trained_positions(path):
    """The source positions [N, 3] the dataset's models learned from: its train split's, or, for recordings without
    one (explained with another condition's models), the one `baseline_position` attribute gather_recordings.py
    stored, the mean of the simulated train split those models learned from ([1, 3])."""
    train = read_split(path, "train", windows=False)
    if len(train.position):
        return train.position
    attrs = read_attrs(path)
    if "baseline_position" not in attrs:
        raise DatasetError(f"{path}: its train split is empty and it has no baseline_position attribute; "
                           f"{rebuild_advice(path)}")
    return np.asarray(attrs["baseline_position"], dtype=np.float64)[None]


def write_relevance(path, relevance, targets, test, attrs):
    """Store one model's relevance for every test window (aligned with the test split's windows)."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(attrs)
        write_array(f, "relevance", relevance)
        write_array(f, "target", targets)
        write_array(f, "source", test.source)
        write_array(f, "window", test.window)


def read_relevance(path, test=None, targets=False):
    """Relevance [N_win, M, W] written by `write_relevance`; checked against `test` when given, and for
    finite values.

    With `targets`, returns (relevance, targets [N_win, 3]): the output relevance each window's LRP
    started from, so that other attribution methods can explain the same output.
    """
    with _open(path) as f:
        if "relevance" not in f:
            raise DatasetError(f"{path}: not a relevance file (no dataset 'relevance'); {rebuild_advice(path)}")
        relevance, source = _read(f, "relevance"), _read(f, "source")
        target = _read(f, "target") if targets else None
    if test is not None and not np.array_equal(source, test.source):
        raise DatasetError(f"{path}: its windows do not match the test split (the dataset was rebuilt after it); "
                           f"{rebuild_advice(path)}")
    _check_finite(path, "relevance of test", relevance, np.arange(len(relevance)))
    return (relevance, target) if targets else relevance
