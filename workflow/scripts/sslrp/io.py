"""Safe file writes: atomic (a killed job never leaves a half-written output behind, nor, once the output is
written again, its temporary file), checksummed (HDF5 arrays) and reproducible (identical content gives
identical bytes)."""

import contextlib
import csv
import io
import json
import math
import os
import re
import sys
from pathlib import Path

import numpy as np


def rebuild_advice(path):
    """What to do about a broken or missing workflow file: the exact command that rebuilds it.

    Deleting the file is not enough: when the files made from it exist, `snakemake` finds nothing to do.
    `--forcerun` names the file, so its job and everything downstream run again.
    """
    return (f"rebuild it and everything made from it with `snakemake --cores 2 --forcerun {path}` (add the "
            "options of your original run, e.g. --configfile or --profile; outside Snakemake, re-run the step "
            "that wrote it)")


def _temporary(path, pid):
    return path.with_name(f".{path.stem}.tmp-{pid}{path.suffix}")


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(path):
    """Delete temporaries of `path` left by killed processes (their PID no longer runs on this machine).

    Returns the removed paths. A temporary of a live process is kept: it may be a concurrent write.
    """
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(path.stem)}\.tmp-(\d+){re.escape(path.suffix)}")
    removed = []
    if not path.parent.is_dir():
        return removed
    for candidate in path.parent.iterdir():
        match = pattern.fullmatch(candidate.name)
        if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    The temporary name keeps the suffix so that libraries choosing a format by extension still work.
    Temporaries of `path` left by killed jobs (SIGKILL runs no cleanup) are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = _temporary(path, os.getpid())
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_array(group, name, data=None, shape=None, dtype=None, chunks=None):
    """Create dataset `name` in `group` with a Fletcher-32 checksum, so a flipped byte fails on reading.

    The checksum needs chunked storage; an empty array gets an extendable shape, since h5py refuses a chunk
    larger than fixed-size data.
    """
    if data is not None:
        data = np.asarray(data)
        shape, dtype = data.shape, data.dtype
    maxshape = (None, *shape[1:]) if shape and shape[0] == 0 else None
    if maxshape and chunks is None:
        chunks = (1, *(max(n, 1) for n in shape[1:]))
    return group.create_dataset(name, shape=shape, dtype=dtype, data=data, chunks=chunks, maxshape=maxshape,
                                fletcher32=True)


def write_bytes(path, data):
    """Write `data` (bytes) to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path, text):
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def save_torch(obj, path):
    """`torch.save(obj)` to `path` atomically, byte-identical for identical `obj`.

    torch.save into a file names the zip records after that file (here a temporary with a PID); saving into
    memory gives them a fixed name, so identical runs write identical checkpoints.
    """
    # `obj` holds tensors, so torch is loaded; io.py itself does not import it, since the data steps' conda
    # env (envs/simulate.yaml) has no torch and tests/test_envs.py checks every import a script can reach.
    buffer = io.BytesIO()
    sys.modules["torch"].save(obj, buffer)
    write_bytes(path, buffer.getvalue())


def write_csv(path, header, rows):
    """Write `rows` (sequences in `header` order) as a CSV file with a header line, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def non_finite(obj, key=""):
    """Key paths (`mae_xyz[2]`) of the NaN or infinite floats inside nested dicts and lists."""
    if isinstance(obj, dict):
        return [k for name, value in obj.items() for k in non_finite(value, f"{key}.{name}".lstrip("."))]
    if isinstance(obj, (list, tuple)):
        return [k for i, value in enumerate(obj) for k in non_finite(value, f"{key}[{i}]")]
    if isinstance(obj, float) and not math.isfinite(obj):
        return [key or "(top level)"]
    return []


def write_json(path, obj):
    """Write `obj` as indented JSON to `path` atomically.

    JSON has no NaN or infinity (Python would write the invalid token `NaN`): such a value is refused,
    naming the file and the key, and nothing is written.
    """
    bad = non_finite(obj)
    if bad:
        raise ValueError(f"{path}: refusing to write non-finite values at {', '.join(bad)} (JSON has no NaN or "
                         "infinity); the step's inputs or model produced them, see the step's log")
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n")
