"""Recorded conditions: a manifest of multichannel WAV files with known source positions, checked row by row and
turned into the per-source recordings the dataset stores (README "Your own array and recordings").

The manifest is a CSV file with a header: `file, x, y, z` and an optional `split` (train / val / test; without
the column every recording is a test recording). `file` is relative to the manifest's folder (or absolute); each
file has one channel per microphone, in the order of `geometry.array`, at any sample rate (resampled to
`geometry.fs` with scipy.signal.resample_poly). Every error names the manifest, its line and the file, so that the
user can find the row; the config validation checks what the files' headers tell (sslrp.config), the gather step
the samples, both before anything is written.
"""

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .. import metrics
from .acoustics import SourceRecording, windows
from .geometry import SPLITS

COLUMNS = ("file", "x", "y", "z")
SPLIT_COLUMN = "split"
NO_SPLIT = "test"  # the split of every recording of a manifest without a `split` column


class RecordingsError(ValueError):
    """A manifest or one of its recordings is unusable; the message names the manifest, the line and the file."""


@dataclass(frozen=True)
class Row:
    """One recording of a manifest."""

    line: int  # line of the manifest (the header is line 1)
    file: Path  # as resolved (relative to the manifest's folder)
    position: tuple  # (x, y, z) metres
    split: str


def where(manifest, row):
    """`data/manifest.csv, line 3 (a.wav)`: how errors name a row."""
    return f"{manifest}, line {row.line} ({row.file})"


def resampled_length(frames, rate, fs):
    """Samples of a recording of `frames` samples at `rate` Hz once resampled to `fs` Hz (resample_poly's length)."""
    up, down = _ratio(rate, fs)
    return math.ceil(frames * up / down)


def _ratio(rate, fs):
    g = math.gcd(int(rate), int(fs))
    return int(fs) // g, int(rate) // g


def read_manifest(manifest, n_mics, room, fs, window):
    """The checked rows of `manifest`: the file exists, is a WAV file of `n_mics` channels and at least one `window`
    long at `fs`, its position lies inside `room`, its split is known, and no file is listed twice.

    Reads the files' headers only (soundfile.info), so that config validation can call it before every run.
    """
    manifest = Path(manifest)
    rows = _parse(manifest)
    seen = {}
    room = np.asarray(room, float)
    for row in rows:
        at = where(manifest, row)
        if row.file in seen:
            raise RecordingsError(f"{at}: the file is listed twice (also on line {seen[row.file]}); list each "
                                  "recording once")
        seen[row.file] = row.line
        if not row.file.is_file():
            raise RecordingsError(f"{at}: no such file (paths are relative to the manifest's folder)")
        try:
            info = sf.info(str(row.file))
        except (RuntimeError, sf.LibsndfileError) as err:
            raise RecordingsError(f"{at}: cannot be read as a sound file ({err})") from err
        if info.channels != n_mics:
            raise RecordingsError(f"{at}: has {info.channels} channel(s) but the array has {n_mics} microphones "
                                  "(geometry.array); record one channel per microphone, in the array's order")
        length = resampled_length(info.frames, info.samplerate, fs)
        if length < window:
            raise RecordingsError(f"{at}: {info.frames} samples at {info.samplerate} Hz ({length} at geometry.fs "
                                  f"{fs} Hz) are shorter than one window (signals.window: {window})")
        position = np.asarray(row.position)
        if not ((position > 0) & (position < room)).all():
            raise RecordingsError(f"{at}: position {list(row.position)} lies outside the room {room.tolist()} "
                                  "(geometry.room)")
    return rows


def _parse(manifest):
    """The manifest's rows, with the columns, numbers and splits checked."""
    try:
        with open(manifest, newline="") as f:
            reader = csv.DictReader(f, skipinitialspace=True)
            header = [name.strip() for name in reader.fieldnames or []]
            lines = list(reader)
    except OSError as err:
        raise RecordingsError(f"{manifest}: cannot read the manifest ({err})") from err
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in (*COLUMNS, SPLIT_COLUMN)]
    if missing or unknown:
        raise RecordingsError(f"{manifest}: the header must name the columns {', '.join(COLUMNS)} and optionally "
                              f"{SPLIT_COLUMN}; missing {missing}, unknown {unknown}")
    rows = []
    for number, raw in enumerate(lines, start=2):
        raw = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        name = raw["file"]
        path = Path(name) if Path(name).is_absolute() else manifest.parent / name
        at = f"{manifest}, line {number} ({path})"
        if not name:
            raise RecordingsError(f"{manifest}, line {number}: the file column is empty")
        try:
            position = tuple(float(raw[c]) for c in ("x", "y", "z"))
        except ValueError as err:
            raise RecordingsError(f"{at}: x, y, z must be numbers in metres ({err})") from err
        if not np.isfinite(position).all():
            raise RecordingsError(f"{at}: position {list(position)} is not finite")
        split = raw.get(SPLIT_COLUMN) or (NO_SPLIT if SPLIT_COLUMN not in header else "")
        if split not in SPLITS:
            raise RecordingsError(f"{at}: unknown split {split!r}; use one of {', '.join(SPLITS)}")
        rows.append(Row(line=number, file=path, position=position, split=split))
    if not rows:
        raise RecordingsError(f"{manifest}: lists no recordings")
    return rows


def load(manifest, row, n_mics, fs, window):
    """[M, T] samples of one recording at `fs` (resampled with scipy.signal.resample_poly when recorded at another
    rate), checked for its channel count, length and finite values; and its sample rate."""
    at = where(manifest, row)
    try:
        samples, rate = sf.read(str(row.file), dtype="float64", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as err:
        raise RecordingsError(f"{at}: cannot be read as a sound file ({err})") from err
    if samples.shape[1] != n_mics:
        raise RecordingsError(f"{at}: has {samples.shape[1]} channel(s) but the array has {n_mics} microphones "
                              "(geometry.array)")
    bad = np.flatnonzero(~np.isfinite(samples).all(axis=1))
    if len(bad):
        raise RecordingsError(f"{at}: {len(bad)} sample(s) hold NaN or infinite values (first at sample {bad[0]})")
    if rate != fs:
        import scipy.signal  # imported where used: every job imports this module (via the config), few resample

        samples = scipy.signal.resample_poly(samples, *_ratio(rate, fs), axis=0)
    if len(samples) < window:
        raise RecordingsError(f"{at}: {len(samples)} samples at {fs} Hz are shorter than one window "
                              f"(signals.window: {window})")
    return samples.T, int(rate)


def source_recording(manifest, index, row, signals, window):
    """The dataset's record of one recording: its windows, its position, and the correlation time of its first
    channel (the clean utterance of a simulation is not known here, so the recording at microphone 0 stands in
    for it: noise and reverberation shorten or lengthen it). The utterance is -1 and the reverberation time NaN
    (neither is known for a recording)."""
    correlation_time = float(metrics.correlation_time(signals[0]))
    if not np.isfinite(correlation_time):
        raise RecordingsError(f"{where(manifest, row)}: the correlation time of channel 0 is not finite (a constant "
                              "or silent channel?)")
    return SourceRecording(index=int(index), position=np.asarray(row.position, dtype=np.float64), utterance=-1,
                           windows=windows(signals, window).astype(np.float32), correlation_time=correlation_time,
                           rt60=float("nan"))
