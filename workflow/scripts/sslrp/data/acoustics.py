"""Room acoustics of one source: RIRs (pyroomacoustics image method), reverberant speech, sensor noise,
windows, and the measured reverberation time (SPEC "Signals")."""

from dataclasses import dataclass

import numpy as np

from .. import metrics, seeding


@dataclass(frozen=True)
class SourceRecording:
    """What the dataset stores for one source position."""

    index: int  # grid index of the source
    position: np.ndarray  # [3]
    utterance: int  # corpus index
    windows: np.ndarray  # [n_windows, M, W] float32
    correlation_time: float  # samples, of the clean utterance
    rt60: float  # seconds, measured on mic 0's RIR (T20-based)


def room_rirs(position, mics, room_dim, fs, t60, max_order=None, threads=1):
    """RIRs [M, L] from `position` to each mic in a shoebox room with reverberation time `t60`.

    Absorption and image order come from Sabine's formula (`pra.inverse_sabine`); `max_order` caps the order
    (a speed knob for quick runs: it shortens the measured decay, which is reported, not hidden).
    `max_order=0` gives the anechoic direct path. `threads`: pyroomacoustics' RIR-building threads (`shoebox`).
    """
    return stack_rirs(shoebox(position, mics, room_dim, fs, t60, max_order, threads).rir)


def shoebox(position, mics, room_dim, fs, t60, max_order=None, threads=1):
    """The pyroomacoustics room of `room_rirs`, its image sources computed and its RIRs built (`room.rir[m][0]`);
    sslrp.data.components splits the same room's image sources into direct sound, early and late reflections."""
    import pyroomacoustics as pra  # imported where used: every job imports this module, few simulate (1-3 s each)

    # One thread for the RIR build by default: pyroomacoustics 0.10 otherwise takes os.cpu_count() threads (it
    # ignores OMP_NUM_THREADS), so the RIRs' float sums, and the data, would depend on the host's core count, and
    # every shard job would oversubscribe a many-core node. Shards are the parallelism (dev/benchmark_simulation.py).
    pra.constants.set("num_threads", threads)
    absorption, order = pra.inverse_sabine(t60, room_dim)
    if max_order is not None:
        order = min(order, max_order)
    room = pra.ShoeBox(room_dim, fs=fs, materials=pra.Material(absorption), max_order=order)
    room.add_source(list(position))
    room.add_microphone_array(np.asarray(mics).T)
    room.compute_rir()
    return room


def stack_rirs(rirs):
    """One source's RIRs per mic (`room.rir`: a list per mic of a list per source) zero-padded to the longest: [M, L]
    float64."""
    rirs = [per_source[0] for per_source in rirs]
    out = np.zeros((len(rirs), max(map(len, rirs))))
    for m, rir in enumerate(rirs):
        out[m, : len(rir)] = rir
    return out


def reverberant(speech, rirs):
    """Speech convolved with each RIR, cut to the utterance's length: [M, len(speech)]."""
    import scipy.signal  # imported where used, as pyroomacoustics in room_rirs

    return scipy.signal.fftconvolve(speech[None, :], rirs, axes=1)[:, : len(speech)]


def add_noise(signals, snr_db, rng):
    """Add independent white Gaussian noise per channel; power set by mic 0's signal and `snr_db`."""
    return signals + sensor_noise(signals, snr_db, rng)


def sensor_noise(signals, snr_db, rng):
    """The noise `add_noise` adds to `signals` (same draw from `rng`): white Gaussian, independent per channel, of
    power (mic 0's mean power) / 10^(snr_db / 10)."""
    noise_power = np.mean(signals[0] ** 2) / 10 ** (snr_db / 10)
    return rng.normal(scale=np.sqrt(noise_power), size=signals.shape)


def windows(signals, window):
    """Non-overlapping windows of `window` samples over all channels: [n, M, window] (the tail is dropped)."""
    n = signals.shape[1] // window
    if n == 0:
        raise ValueError(f"signal of {signals.shape[1]} samples is shorter than one window ({window})")
    return signals[:, : n * window].reshape(signals.shape[0], n, window).transpose(1, 0, 2)


def measured_rt60(rir, fs):
    """Reverberation time (s) from the T20 decay of the Schroeder curve (pyroomacoustics), NaN if too short."""
    import pyroomacoustics as pra  # imported where used, as in room_rirs

    try:
        with np.errstate(divide="ignore", invalid="ignore"):  # log10 of the silent tail of the decay
            value = float(pra.experimental.measure_rt60(rir, fs=fs, decay_db=20))
    except (ValueError, IndexError):
        return float("nan")
    # pyroomacoustics returns 0 when the decay never spans the T20 range (e.g. a silent or one-tap RIR).
    return value if value > 0 else float("nan")


def simulate_source(index, position, speech, utterance, mics, condition, geometry, window, seed):
    """Simulate one source: RIRs, reverberant speech, noise at the condition's SNR, windows."""
    fs = geometry["fs"]
    rirs = room_rirs(position, mics, geometry["room"], fs, condition["t60"], condition.get("max_order"))
    signals = add_noise(reverberant(speech, rirs), condition["snr"], seeding.rng(seed, "noise", index))
    return SourceRecording(
        index=int(index),
        position=np.asarray(position, dtype=np.float64),
        utterance=int(utterance),
        windows=windows(signals, window).astype(np.float32),
        correlation_time=float(metrics.correlation_time(speech)),
        rt60=measured_rt60(rirs[0], fs),
    )
