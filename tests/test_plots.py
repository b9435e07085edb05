"""Figures and audio of the results page: panel layout, titles, legends, valid PNG / WAV files."""

import matplotlib.image
import numpy as np
import pytest
import soundfile as sf

from sslrp import names
from sslrp.report import plots

FS = 16000
CONDITIONS = ["SNR_25_T60_0.15", "SNR_20_T60_0.3", "SNR_15_T60_0.4", "SNR_10_T60_0.6"]
ORDERINGS = ("relevance", "energy", "random")


def _signals(n=4000, delay=3, seed=0):
    """A noise signal and its copy delayed by `delay` samples (a pair with a known TDoA)."""
    x = np.random.default_rng(seed).standard_normal(n + delay)
    return x[delay:], x[:-delay]


def _curves(conditions):
    """Manipulation curves of the documented shape: condition -> ordering -> (percents, mae)."""
    percents = [0, 10, 20, 30]
    return {c: {o: (percents, [0.1 + 0.01 * k * i for i in range(4)]) for k, o in enumerate(ORDERINGS, 1)}
            for c in conditions}


def _assert_png(path):
    """`path` is a PNG that decodes to a non-empty RGB(A) image."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def test_condition_label_copies_numbers_as_written():
    assert names.condition_label("SNR_25_T60_0.15") == "T60 0.15 s, SNR 25 dB"
    assert names.condition_label("SNR_20_T60_0.3", sep=" ") == "T60 0.3 s SNR 20 dB"
    assert names.condition_label("lab_a") == "lab_a"  # a recorded condition is labelled by its name


def test_source_figure_has_six_titled_panels_and_two_colorbars(tmp_path):
    mic, partner = _signals()
    rel, rel_partner = _signals(seed=1)
    fig = plots.source_figure(mic, rel, partner, rel_partner, FS, "LocCNN, best", max_lag=10)
    panels, colorbars = fig.axes[:6], fig.axes[6:]
    assert len(colorbars) == 2 and all(cb.get_ylabel() == "Magnitude [dB]" for cb in colorbars)
    titles = [ax.get_title() for ax in panels]
    assert [t.split()[0] for t in titles] == ["Microphone"] * 3 + ["Relevance"] * 3
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in panels)
    assert panels[1].get_yscale() == "log" and panels[1].get_ylim()[0] > 0
    lags = panels[2].lines[0].get_xdata()
    assert lags[0] == -10 and lags[-1] == 10
    plots.save_figure(fig, tmp_path / "fig.png")
    _assert_png(tmp_path / "fig.png")


def test_source_figure_marks_the_gcc_peak_at_the_delay():
    mic, partner = _signals(delay=3)
    fig = plots.source_figure(mic, mic, partner, partner, FS, "t", max_lag=10)
    assert fig.axes[2].get_legend().get_texts()[0].get_text() == "peak at 3 samples"
    plots.plt.close(fig)


@pytest.mark.parametrize("conditions", [CONDITIONS, CONDITIONS[:1], CONDITIONS[:3]])
def test_manipulation_figure_one_titled_panel_per_condition(conditions, tmp_path):
    fig = plots.manipulation_figure(_curves(conditions), "LocCNN")
    assert [ax.get_title() for ax in fig.axes] == [names.condition_label(c) for c in conditions]
    for ax in fig.axes:
        assert [t.get_text() for t in ax.get_legend().get_texts()] == list(ORDERINGS)
        assert ax.get_xlabel() == "Removed samples [%]" and ax.get_ylabel() == "MAE [m]"
    plots.save_figure(fig, tmp_path / "manipulation.png")
    _assert_png(tmp_path / "manipulation.png")


def test_training_curve_and_positions_figures_save(tmp_path):
    rows = [{"epoch": str(e), "train_loss": str(1 / e), "val_loss": str(2 / e)} for e in range(1, 6)]
    fig = plots.training_curve_figure(rows)
    assert len(fig.axes[0].lines) == 2
    plots.save_figure(fig, tmp_path / "training.png")
    true = np.random.default_rng(0).uniform(size=(20, 3))
    fig = plots.positions_figure(true, true + 0.05, "positions", array=np.zeros((16, 3)))
    assert len(fig.axes[0].collections) == 3
    plots.save_figure(fig, tmp_path / "positions.png")
    _assert_png(tmp_path / "training.png")
    _assert_png(tmp_path / "positions.png")


def test_write_wav_is_mono_16khz_pcm16_with_peak_one(tmp_path):
    signal = 1e-3 * np.sin(np.linspace(0, 100, 8000))
    signal[123] = -5e-3
    plots.write_wav(tmp_path / "a.wav", signal, FS)
    info = sf.info(tmp_path / "a.wav")
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (FS, 1, 8000, "PCM_16")
    data, _ = sf.read(tmp_path / "a.wav")
    assert np.max(np.abs(data)) == pytest.approx(1.0, abs=1e-4)
    assert data[123] == pytest.approx(-1.0, abs=1e-4)


def test_write_wav_keeps_silence_silent_and_rejects_multichannel(tmp_path):
    plots.write_wav(tmp_path / "zero.wav", np.zeros(100), FS)
    assert not np.any(sf.read(tmp_path / "zero.wav")[0])
    with pytest.raises(ValueError):
        plots.write_wav(tmp_path / "two.wav", np.zeros((2, 100)), FS)


def test_manipulation_figure_step_draws_only_the_figure_orderings(tmp_path, monkeypatch, step_script):
    import json

    script = step_script("manipulation_figure")
    drawn = []
    monkeypatch.setattr(script.plots, "save_figure", lambda fig, path: drawn.append(fig))
    paths = []
    for cond in CONDITIONS[:2]:
        paths.append(tmp_path / f"{cond}.json")
        paths[-1].write_text(json.dumps({
            "model": "loc_cnn", "condition": cond, "percents": [0, 50], "n_windows": 3,
            "mae": {o: [0.1, 0.2] for o in ("energy", "gradient", "random", "relevance", "smoothgrad")}}))
    script.run([str(p) for p in paths], str(tmp_path / "m.png"), "loc_cnn",
               orderings=["relevance", "smoothgrad", "random", "integrated_gradients"], log=str(tmp_path / "log"))
    fig, = drawn
    for ax in fig.axes:
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["relevance", "smoothgrad", "random"]
    assert "not drawn: integrated_gradients" in (tmp_path / "log").read_text()
