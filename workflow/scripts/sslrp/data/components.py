"""What a simulated microphone window is made of: the direct-path sound, the early reflections, the late
reverberation and the sensor noise (`names.COMPONENTS`), which sum to the window.

The split is of pyroomacoustics' own image sources, in the room `acoustics.room_rirs` builds (same absorption,
order cap, sampling rate and thread setting): after the image-source model, image i arrives at mic m after
d_im / c (its distance over pyroomacoustics' speed of sound). The direct part is the order-0 image, the early part
the images arriving within `early_ms` after the direct path at that mic, the late part every other image. The
direct and early parts are built by pyroomacoustics' own RIR builder (`Room.compute_rir`) with the other images
made invisible, so they carry the same fractional-delay filter, level (1/d) and 40-sample global delay as the full
RIR; the late part is the full RIR minus those two (see `split_rirs`).

Layout of `results/components/{cond}.h5` (a sibling of the condition's dataset, for a seeded subset of its test
windows, `seeding.subset`):

    /                attrs: condition, early_ms, seed, n_windows (the subset size asked for), window, fs,
                            data_config_hash (the dataset's config_hash)
    test_row         [N] int64, rows of the dataset's test split (sorted)
    direct, early, late, noise
                     [N, M, W] float32, one window per row, Fletcher-32 checksummed

Each part is computed in float64 and cast to float32 at the end, as the dataset's windows are, so the four sum to
the stored window to float32 rounding (`check_sum`, `TOLERANCE`).
"""

from dataclasses import dataclass

import h5py
import numpy as np

from .. import seeding
from ..io import atomic_path, rebuild_advice, write_array
from ..names import COMPONENTS
from . import acoustics
from .dataset import DatasetError, _check_finite, _open, _read, read_windows
from .dataset import attributes_of as dataset_attributes_of

EARLY_MS = 50.0  # default boundary between early reflections and late reverberation (config components.early_ms)
RIR_PARTS = COMPONENTS[:3]  # the parts of the RIR: direct, early, late (noise is not in the RIR)

# How far the sum of the four float32 parts may be from the stored float32 window, relative to the row's scale
# (the largest |value| of the window and its parts over all mics). Each of the five values at a sample (4 parts, the
# window) is a float64 rounded once to float32, an error of at most 2^-24 of its own magnitude (half an ulp), so
# |sum of parts - window| <= 5 * 2^-24 * scale, plus float64 rounding (~1e-16). 8 * 2^-24 (= 4.8e-7) leaves room for
# that bound and is still 2^-21: any real mismatch (another seed, utterance, position or condition) is of order 1.
TOLERANCE = 8 * 2.0**-24


@dataclass(frozen=True)
class Components:
    """A components file in memory (`read_components`)."""

    condition: str
    test_row: np.ndarray  # [N] rows of the dataset's test split
    parts: dict  # name (names.COMPONENTS) -> [N, M, W] float32
    early_ms: float
    seed: int
    n_windows: int  # the subset size asked for (explanations.windows); N is smaller when the test split is


def split_rirs(position, mics, room_dim, fs, t60, max_order=None, early_ms=EARLY_MS, threads=1):
    """The direct, early and late parts of the RIRs `acoustics.room_rirs` builds for the same arguments: a dict
    name -> [M, L] float64, the three of one length L (room_rirs' L), summing to room_rirs' RIRs to float64
    rounding.

    direct: the order-0 image; early: the images of order >= 1 arriving at most `early_ms` after the direct path at
    that mic; late: the rest (the full RIR minus direct and early).
    """
    import pyroomacoustics as pra  # imported where used, as in acoustics

    room = acoustics.shoebox(position, mics, room_dim, fs, t60, max_order, threads)
    full = acoustics.stack_rirs(room.rir)
    source = room.sources[0]
    mic_xyz = room.mic_array.R  # [3, M]
    distance = np.linalg.norm(source.images[:, None, :] - mic_xyz[:, :, None], axis=0)  # [M, n_images]
    arrival = distance / room.c
    is_direct = np.broadcast_to(source.orders == 0, arrival.shape)
    (direct_image,) = np.flatnonzero(source.orders == 0)
    is_early = ~is_direct & (arrival - arrival[:, [direct_image]] <= early_ms / 1000)

    visible = room.visibility[0].copy()  # [M, n_images], what compute_rir builds each mic's RIR from
    lengths = [len(per_source[0]) for per_source in room.rir]
    parts = {}
    hpf = pra.constants.get("rir_hpf_enable")
    try:
        # Rebuild the RIRs from the same image sources (compute_rir reuses them: the image-source model is done)
        # with only the part's images visible. compute_rir's high-pass filter (filtfilt, non-causal) is switched off
        # here and applied below to the part padded to the full RIR's length: a part's RIR ends at its last image,
        # shorter than the full one, and filtering it at that length would change its tail, so the parts would no
        # longer add up to the filtered full RIR. Filtered at the full length, the filter being linear, they do.
        pra.constants.set("rir_hpf_enable", False)
        for name, mask in (("direct", is_direct), ("early", is_early)):
            keep = visible & mask
            # compute_rir needs at least one image per mic (an empty arrival list has no maximum); a mic without any
            # image of this part is built from its direct image and its part set to zero below.
            empty = ~keep.any(axis=1)
            keep[empty] = visible[empty] & is_direct[empty]
            room.visibility[0] = keep
            room.compute_rir()
            part = np.zeros_like(full)
            for m, per_source in enumerate(room.rir):
                if not empty[m]:
                    padded = np.zeros(lengths[m], dtype=per_source[0].dtype)
                    padded[: len(per_source[0])] = per_source[0]
                    part[m, : lengths[m]] = _highpass(padded, fs) if hpf else padded
            parts[name] = part
    finally:
        pra.constants.set("rir_hpf_enable", hpf)
        room.visibility[0] = visible
    # The late part by difference, so that the three add up to the full RIR to float64 rounding. Built by the RIR
    # builder instead, it would agree to float32 rounding only: pyroomacoustics accumulates each RIR in float32.
    parts["late"] = full - parts["direct"] - parts["early"]
    return parts


def _highpass(rir, fs):
    """pyroomacoustics' RIR high-pass filter, as Room.compute_rir applies it (0.10: design_highpass_filter_sos with
    the constants rir_hpf_fc and rir_hpf_kwargs, then sosfiltfilt). tests/test_components.py checks that it
    reproduces compute_rir's filtered RIR exactly."""
    import pyroomacoustics as pra
    from scipy.signal import sosfiltfilt

    sos = pra.utilities.design_highpass_filter_sos(fs, pra.constants.get("rir_hpf_fc"),
                                                    **pra.constants.get("rir_hpf_kwargs"))
    return np.ascontiguousarray(sosfiltfilt(sos, rir))


def source_components(index, position, speech, mics, condition, geometry, window, seed, early_ms=EARLY_MS):
    """The components of one simulated source's windows (arguments as `acoustics.simulate_source` takes them):
    a dict name (names.COMPONENTS) -> [n_windows, M, W] float32.

    direct + early + late is the reverberant speech, noise the sensor noise `simulate_source` adds (the same
    seeded draw, its power set by the full reverberant signal), so the four sum to the source's stored windows to
    float32 rounding.
    """
    rirs = split_rirs(position, mics, geometry["room"], geometry["fs"], condition["t60"], condition.get("max_order"),
                      early_ms)
    signals = {name: acoustics.reverberant(speech, rirs[name]) for name in RIR_PARTS}
    # The noise is drawn from the full reverberant signal's power, exactly as simulate_source draws it.
    full = acoustics.reverberant(speech, sum(rirs[name] for name in RIR_PARTS))
    signals["noise"] = acoustics.sensor_noise(full, condition["snr"], seeding.rng(seed, "noise", index))
    return {name: acoustics.windows(signals[name], window).astype(np.float32) for name in COMPONENTS}


def sum_error(parts, windows):
    """Per row, max |sum of the parts - window| over the row's samples, relative to the row's scale (the largest
    |value| of the window and of its parts): [N] float64, 0 for a silent row."""
    total = sum(parts[name].astype(np.float64) for name in COMPONENTS)
    axes = tuple(range(1, windows.ndim))
    diff = np.abs(total - windows).max(axis=axes, initial=0.0)
    scale = np.max([np.abs(windows).max(axis=axes, initial=0.0),
                    *(np.abs(parts[name]).max(axis=axes, initial=0.0) for name in COMPONENTS)], axis=0)
    return np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)


def check_sum(path, test_row, parts, windows, tolerance=TOLERANCE):
    """Raise DatasetError, naming `path` and the test rows, unless the parts sum to the stored `windows` (of those
    test rows, [N, M, W]) within `tolerance` of each row's scale; returns the largest relative error."""
    if windows.shape != parts[COMPONENTS[0]].shape:
        raise DatasetError(f"{path}: components of shape {parts[COMPONENTS[0]].shape} for windows of shape "
                           f"{windows.shape}")
    error = sum_error(parts, windows)
    bad = np.flatnonzero(~(error <= tolerance))
    if len(bad):
        worst = bad[np.argmax(error[bad])]
        raise DatasetError(
            f"{path}: the components of {len(bad)} test window(s) do not sum to the stored window (test row(s) "
            f"{', '.join(str(int(test_row[i])) for i in bad[:5])}; worst: row {int(test_row[worst])}, relative error "
            f"{error[worst]:.3g} > {tolerance:.3g}); the dataset and the components come from different settings "
            "(seed, corpus, condition) or code; rebuild the components")
    return float(error.max(initial=0.0))


def write_components(path, condition, test_row, parts, early_ms, seed, n_windows, **attrs):
    """Write a components file (layout in the module docstring) atomically; `attrs`: further root attributes."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update({"condition": condition, "early_ms": float(early_ms), "seed": int(seed),
                        "n_windows": int(n_windows), **attrs})
        write_array(f, "test_row", np.asarray(test_row, dtype=np.int64))
        for name in COMPONENTS:
            values = np.asarray(parts[name], dtype=np.float32)
            write_array(f, name, values, chunks=(1, *values.shape[1:]) if len(values) else None)


def read_components(path):
    """The components file at `path`, checksummed as it is read and checked for finite values; DatasetError
    naming the file when it is missing, corrupt or incomplete."""
    with _open(path) as f:
        attrs = dataset_attributes_of(f, path)
        missing = [key for key in ("condition", "early_ms", "seed", "n_windows") if key not in attrs]
        if missing:
            raise DatasetError(f"{path}: not a components file (no attribute(s) {', '.join(missing)}); "
                               f"{rebuild_advice(path)}")
        test_row = _read(f, "test_row")
        parts = {name: _read(f, name) for name in COMPONENTS}
    for name, values in parts.items():
        if values.shape[0] != len(test_row) or values.shape != parts[COMPONENTS[0]].shape:
            raise DatasetError(f"{path}: dataset {name!r} has shape {values.shape}, expected {len(test_row)} rows "
                               f"like test_row and one shape for all components; {rebuild_advice(path)}")
        _check_finite(path, f"{name} of test row", values, test_row)
    return Components(condition=str(attrs["condition"]), test_row=test_row, parts=parts,
                      early_ms=float(attrs["early_ms"]), seed=int(attrs["seed"]), n_windows=int(attrs["n_windows"]))


def check_against_dataset(components_path, data_path, tolerance=TOLERANCE):
    """Read a components file and its condition's dataset and check that the parts sum to the stored test windows
    (`check_sum`); returns the largest relative error."""
    components = read_components(components_path)
    windows = read_windows(data_path, "test", components.test_row)
    return check_sum(components_path, components.test_row, components.parts, windows, tolerance)


def file_attrs(data_attrs):
    """The components file's attributes taken from its dataset's (`dataset.read_attrs`): window, fs and the
    dataset's config hash, which say which data the components are of."""
    return {"window": int(data_attrs["window"]), "fs": int(data_attrs["fs"]),
            "data_config_hash": str(data_attrs["config_hash"])}
