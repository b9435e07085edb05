"""Figures and audio of the results page (SPEC "Experiments"): per-source, manipulation, training, positions.

Every figure function returns a matplotlib Figure (so tests can inspect its axes) and draws nothing on
screen; `save_figure` writes it as PNG atomically and closes it. The Agg backend is forced because the
steps run headless (cluster nodes, CI).
"""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from scipy import signal as sps  # noqa: E402

from .. import io, names  # noqa: E402

STFT_FLOOR_DB = -80.0  # dynamic range shown in the spectrograms, below each row's maximum
# One colour per removal ordering, the same in every panel and figure whichever orderings are drawn.
# Matplotlib's ten cycle colours first (the paper's orderings keep theirs), then tab20b's darker shades.
ORDERING_COLORS = {name: f"C{i}" if i < 10 else matplotlib.colors.to_hex(matplotlib.colormaps["tab20b"](2 * (i - 10)))
                   for i, name in enumerate(names.ORDERINGS)}


def save_figure(fig, path, dpi=100):
    """Write `fig` to `path` as PNG atomically and close it (figures hold memory until closed)."""
    try:
        with io.atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi)
    finally:
        plt.close(fig)


def write_wav(path, signal, fs):
    """Write a mono signal as 16-bit PCM WAV normalised to peak |x| = 1, atomically.

    PCM-16 is the WAV flavour every browser plays; an all-zero signal is written as silence.
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"write_wav expects a mono 1-D signal, got shape {x.shape}")
    peak = np.max(np.abs(x)) if x.size else 0.0
    if peak > 0:
        x = x / peak
    with io.atomic_path(path) as tmp:
        sf.write(tmp, x, int(fs), subtype="PCM_16", format="WAV")


def source_figure(mic_signal, relevance_signal, partner_mic_signal, partner_relevance_signal, fs, title,
                  max_lag=20, pair=(7, 8)):
    """Per-source figure: 2 rows (microphone, relevance) x 3 panels (waveform, STFT, GCC-PHAT).

    The GCC-PHAT of each row is taken between the signal and the same kind of signal at the pair
    partner (`pair` names the two microphones in the labels). The two STFT panels carry a colorbar
    each, so the figure has 8 axes: the 6 panels (row-major, `fig.axes[:6]`) then the 2 colorbars.
    """
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5), layout="constrained")
    rows = (
        ("Microphone", "Amplitude", mic_signal, partner_mic_signal),
        ("Relevance", "Relevance", relevance_signal, partner_relevance_signal),
    )
    for row_axes, (kind, unit, x, partner) in zip(axes, rows):
        _plot_waveform(row_axes[0], x, fs, f"{kind} signal (mic {pair[0]})", unit)
        _plot_stft(fig, row_axes[1], x, fs, f"{kind} STFT (mic {pair[0]})")
        _plot_gcc(row_axes[2], x, partner, max_lag, f"{kind} GCC-PHAT (mics {pair[0]}, {pair[1]})")
    fig.suptitle(title)
    return fig


def _plot_waveform(ax, x, fs, title, unit):
    """Signal against time in seconds."""
    x = np.asarray(x)
    ax.plot(np.arange(x.size) / fs, x, linewidth=0.5)
    ax.set(title=title, xlabel="Time [s]", ylabel=unit)


def _plot_stft(fig, ax, x, fs, title):
    """STFT magnitude in dB (0 dB = the panel's maximum) on a log-frequency axis without the 0 Hz bin."""
    x = np.asarray(x, dtype=np.float64)
    nperseg = min(512, x.size)
    freqs, times, z = sps.stft(x, fs=fs, nperseg=nperseg, noverlap=nperseg * 3 // 4)
    magnitude = np.abs(z[1:])
    db = 20 * np.log10(np.maximum(magnitude / max(magnitude.max(), 1e-30), 1e-12))
    mesh = ax.pcolormesh(times, freqs[1:], db, shading="auto", vmin=STFT_FLOOR_DB, vmax=0.0)
    ax.set_yscale("log")
    ax.set(title=title, xlabel="Time [s]", ylabel="Frequency [Hz]")
    fig.colorbar(mesh, ax=ax, label="Magnitude [dB]")


def _plot_gcc(ax, x, partner, max_lag, title):
    """GCC-PHAT around lag 0 with its peak marked (the TDoA estimate, in samples)."""
    from .. import metrics  # lazy: plots stay importable while metrics is being built

    lags, cc = metrics.gcc_phat(np.asarray(x), np.asarray(partner), max_lag=max_lag)
    peak = int(np.argmax(cc))
    ax.plot(lags, cc, marker=".")
    ax.axvline(0, color="0.6", linewidth=0.8)
    ax.plot(lags[peak], cc[peak], "rv", label=f"peak at {lags[peak]:g} samples")
    ax.legend(loc="lower right", fontsize="small")
    ax.set(title=title, xlabel="Lag [samples]", ylabel="GCC-PHAT")


def _line_with_spread(ax, x, values, **style):
    """Plot `values` against `x`: one curve, or (a [replicates, len(x)] array) the replicates' mean with their
    range (min to max) shaded in the line's colour."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    (line,) = ax.plot(x, values.mean(axis=0), **style)
    if len(values) > 1:
        ax.fill_between(x, values.min(axis=0), values.max(axis=0), color=line.get_color(), alpha=0.2, linewidth=0)
    return line


def _spread_note(n_replicates):
    """What a figure over seed replicates shows, for its title ("" for one replicate)."""
    return f" (mean of {n_replicates} seed replicates, range shaded)" if n_replicates > 1 else ""


def manipulation_figure(curves, model_label):
    """Localization MAE vs. removed input samples: one panel per condition, one line per ordering.

    `curves` maps condition name -> ordering -> (percents, mae_values), e.g.
    {"SNR_25_T60_0.15": {"relevance": ([0, 10, ...], [0.09, 0.2, ...]), "energy": ..., "random": ...}}.
    With seed replicates, mae_values is one row per replicate and the line is their mean with their range
    shaded. Panels follow the dict order and are laid out in a near-square grid (4 conditions -> 2 x 2); the
    y axis is shared so the conditions compare at a glance. `fig.axes` holds exactly one axis per panel.
    """
    if not curves:
        raise ValueError("manipulation_figure needs at least one condition")
    ncols = math.ceil(math.sqrt(len(curves)))
    nrows = math.ceil(len(curves) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.5 * ncols, 3.5 * nrows), sharey=True,
                             squeeze=False, layout="constrained")
    n_replicates = 1
    for ax, (condition, orderings) in zip(axes.flat, curves.items()):
        for ordering, (percents, mae) in orderings.items():
            n_replicates = max(n_replicates, len(np.atleast_2d(mae)))
            _line_with_spread(ax, percents, mae, marker="o", label=ordering, color=ORDERING_COLORS.get(ordering))
        ax.set(title=names.condition_label(condition), xlabel="Removed samples [%]", ylabel="MAE [m]")
        ax.grid(alpha=0.3)
        ax.legend(title="Ordering")
    for ax in axes.flat[len(curves):]:
        fig.delaxes(ax)
    fig.suptitle(f"{model_label}: input manipulation{_spread_note(n_replicates)}")
    return fig


def training_curve_figure(history_rows):
    """Training and validation loss per epoch (log scale: MSE spans orders of magnitude).

    `history_rows` is a sequence of mappings with keys "epoch", "train_loss", "val_loss" whose values
    convert to float, e.g. the rows of `csv.DictReader` over the training history.
    """
    epochs = [float(r["epoch"]) for r in history_rows]
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        ax.plot(epochs, [float(r[key]) for r in history_rows], label=label)
    ax.set_yscale("log")
    ax.set(title="Training curve", xlabel="Epoch", ylabel="MSE loss [m²]")
    ax.legend()
    return fig


def positions_figure(true, pred, title, array=None):
    """Estimated vs. true source positions in the x/y plane, each estimate joined to its true position.

    `true` and `pred` are [N, >=2] arrays in metres; `array` optionally gives microphone positions
    [M, >=2] to draw the array.
    """
    true, pred = np.asarray(true), np.asarray(pred)
    fig, ax = plt.subplots(figsize=(6, 6), layout="constrained")
    ax.plot(np.stack([true[:, 0], pred[:, 0]]), np.stack([true[:, 1], pred[:, 1]]),
            color="0.7", linewidth=0.5)
    ax.scatter(true[:, 0], true[:, 1], s=10, label="true")
    ax.scatter(pred[:, 0], pred[:, 1], s=10, marker="x", label="estimated")
    if array is not None:
        array = np.asarray(array)
        ax.scatter(array[:, 0], array[:, 1], s=12, marker="s", color="k", label="microphones")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set(title=title, xlabel="x [m]", ylabel="y [m]")
    ax.legend()
    return fig


def randomization_figure(results, model_label):
    """Cascading parameter randomization of one model: rank correlation of |relevance| with the trained
    model's (left) and GCC-PHAT TDoA anomalies on the relevance (right, microphones dashed) against the
    number of layer groups re-initialized from the output; one line per condition.

    `results` maps condition name -> sanity.py result ({"randomization": rows, "microphone_tdoa": ...}), or
    a list of them, one per seed replicate: the lines are then their mean with their range shaded.
    """
    if not results:
        raise ValueError("randomization_figure needs at least one condition")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    for i, (condition, replicates) in enumerate(results.items()):
        replicates = replicates if isinstance(replicates, list) else [replicates]
        rows, color = replicates[0]["randomization"], f"C{i}"
        depth = [r["depth"] for r in rows]
        label = names.condition_label(condition)
        for ax, key in ((left, "spearman"), (right, "tdoa_anomaly_percent")):
            values = [[r[key] for r in result["randomization"]] for result in replicates]
            _line_with_spread(ax, depth, values, marker="o", color=color, label=label)
        right.axhline(np.mean([r["microphone_tdoa"]["anomaly_percent"] for r in replicates]), color=color,
                      linestyle="--", alpha=0.6)
    layers = [r["layer"] for r in rows]
    for ax in (left, right):
        ax.set_xticks(depth, ["trained", *(f"+{name}" for name in layers[1:])], rotation=45, ha="right")
        ax.set_xlabel("Layers re-initialized (output first)")
        ax.grid(alpha=0.3)
    left.set(ylabel="Spearman ρ of |relevance| with trained", title="Similarity to the trained model's relevance")
    right.set(ylabel="TDoA anomalies [%]", title="GCC-PHAT on relevance (dashed: microphones)")
    left.legend(title="Condition")
    fig.suptitle(f"{model_label}: cascading parameter randomization{_spread_note(len(replicates))}")
    return fig
