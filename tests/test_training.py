"""Training loop: learning, resume, failure messages, early stopping, window drawing, prediction.

The data are a learnable toy: per source a pulse train on 4 channels whose inter-channel delay grows
with the source's x, so x can be read from any contiguous cut of the signal. The model is a tiny CNN of
our own, so these tests do not depend on sslrp.localize.models.
"""

import numpy as np
import pytest
import torch
from torch import nn

from sslrp.localize import inference, training

M, W = 4, 64


def pulse_set(n_sources, n_windows, seed):
    """A WindowSet whose source x in [0, 1] sets the delay (2 x samples) between neighbouring channels."""
    gen = np.random.default_rng(seed)
    x = gen.uniform(0, 1, n_sources)
    positions = np.stack([x, np.full(n_sources, 5.0), np.full(n_sources, 1.2)], axis=1)
    t = np.arange(n_windows * W)
    windows = []
    for xs in x:
        times = np.arange(W // 4, n_windows * W, W // 2) + gen.uniform(-6, 6, size=2 * n_windows)
        delays = 2.0 * xs * np.arange(M)
        shifted = t[None, None] - times[None, :, None] - delays[:, None, None]
        signal = np.exp(-0.5 * (shifted / 1.5) ** 2).sum(axis=1) + 0.05 * gen.standard_normal((M, len(t)))
        windows.append(signal.reshape(M, n_windows, W).transpose(1, 0, 2))
    source = np.repeat(np.arange(n_sources), n_windows)
    return training.WindowSet(np.concatenate(windows).astype(np.float32), source, positions)


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(M, 16, 9, padding=4),
        nn.ReLU(),
        nn.AdaptiveMaxPool1d(1),
        nn.Flatten(),
        nn.Dropout(0.1),
        nn.Linear(16, 3),
    )


def settings(**changes):
    base = dict(
        lr=1e-2,
        batch_size=16,
        max_epochs=6,
        early_stopping_patience=100,
        lr_factor=0.5,
        lr_patience=2,
        windows_per_source=2,
        random_offset=True,
        init_bias_to_mean=True,
        precision="fp32",
        input_gain=False,
        standardize_targets=False,
        schedule="plateau",
    )
    return base | changes


@pytest.fixture(scope="module")
def data():
    return pulse_set(32, 4, seed=1), pulse_set(12, 4, seed=2)


def fit(model, data, tmp_path, name="state.pt", **changes):
    train, val = data
    return training.fit(
        model, train, val, settings(**changes), seed=7, state_path=tmp_path / name, log=lambda line: None
    )


def without_seconds(history):
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


def test_training_learns_position_far_better_than_mean_predictor(data, tmp_path):
    train, val = data
    lines = []
    model = tiny_model()
    history = training.fit(
        model, train, val, settings(max_epochs=8), seed=7, state_path=tmp_path / "s.pt", log=lines.append
    )
    mean_predictor = np.mean((val.targets(slice(None)) - train.mean_position()) ** 2)
    final = np.mean((inference.predict(model, val.windows) - val.targets(slice(None))) ** 2)
    assert len(history) == 8 and len(lines) >= 8
    assert set(history[0]) == {"epoch", "train_loss", "val_loss", "val_mae", "lr", "seconds"}
    assert final < 0.1 * mean_predictor
    assert final == pytest.approx(min(r["val_loss"] for r in history), rel=1e-4)


def test_resumed_run_equals_uninterrupted_run(data, tmp_path):
    straight = tiny_model()
    history = fit(straight, data, tmp_path, "straight.pt", max_epochs=6, lr_patience=1)
    interrupted = tiny_model()
    fit(interrupted, data, tmp_path, "resumed.pt", max_epochs=3, lr_patience=1)
    resumed = tiny_model()  # a fresh process: the weights come back from the state file only
    resumed_history = fit(resumed, data, tmp_path, "resumed.pt", max_epochs=6, lr_patience=1)
    assert without_seconds(resumed_history) == without_seconds(history)
    assert len({r["lr"] for r in history}) > 1, "the test should cover a learning-rate reduction"
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_resume_state_from_other_settings_is_ignored(data, tmp_path):
    fit(tiny_model(), data, tmp_path, max_epochs=2, lr=1e-3)
    fresh = tiny_model()
    history = fit(fresh, data, tmp_path, "fresh.pt", max_epochs=2)
    restarted = tiny_model()
    assert without_seconds(fit(restarted, data, tmp_path, max_epochs=2)) == without_seconds(history)


def test_resume_state_from_other_starting_weights_is_ignored(data, tmp_path):
    """A warm start from another checkpoint must not pick up a state left by a run from other weights."""
    fit(tiny_model(seed=0), data, tmp_path, max_epochs=2)
    lines = []
    train, val = data
    training.fit(tiny_model(seed=1), train, val, settings(max_epochs=2), seed=7, state_path=tmp_path / "state.pt",
                 log=lines.append)
    assert "ignoring resume state" in lines[0]


def test_nan_input_fails_with_clear_message(data, tmp_path):
    train, val = data
    windows = train.windows.copy()
    windows[train.source == 3, 1, 10] = np.nan  # every window of one source: drawn in every epoch
    broken = training.WindowSet(windows, train.source, train.positions)
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch \d+: check the input windows for NaN/inf"):
        fit(tiny_model(), (broken, val), tmp_path)


def test_early_stopping_restores_best_weights(data, tmp_path):
    train, val = data
    # Validation targets below all training targets, outputs starting near 0: training only moves the
    # outputs up, away from them, so the first epoch stays the best and later ones use up the patience.
    far = training.WindowSet(val.windows, val.source, val.positions - 10.0)
    model = tiny_model()
    history = fit(
        model, (train, far), tmp_path, max_epochs=50, early_stopping_patience=3, init_bias_to_mean=False
    )
    assert len(history) == 4
    assert history[0]["val_loss"] < min(r["val_loss"] for r in history[1:])
    restored = np.mean((inference.predict(model, far.windows) - far.targets(slice(None))) ** 2)
    assert restored == pytest.approx(history[0]["val_loss"], rel=1e-5)


def test_random_offset_draws_contiguous_segments_of_the_source_signal():
    n_sources, n_windows = 3, 5
    signal = np.arange(n_sources * M * n_windows * W, dtype=np.float32).reshape(n_sources, M, n_windows * W)
    # Rows interleave the sources (window k of every source, then window k + 1), time order kept per source.
    windows = signal.reshape(n_sources, M, n_windows, W).transpose(2, 0, 1, 3).reshape(-1, M, W)
    source = np.tile(np.arange(n_sources), n_windows)
    rows_by_source = training.WindowSet(windows, source, np.zeros((n_sources, 3))).rows_by_source()
    draws = training.draw_windows(rows_by_source, W, 40, True, np.random.default_rng(3))
    cut = training.cut_windows(windows, draws)
    starts = set()
    for window, row in zip(cut, draws[:, 0], strict=True):
        s = source[row]
        start = int(window[0, 0] - signal[s, 0, 0])
        assert np.array_equal(window, signal[s, :, start : start + W])
        starts.add(start)
    assert len(draws) == 40 * n_sources
    assert any(start % W for start in starts) and max(starts) > W


def test_without_random_offset_whole_stored_windows_are_drawn(data):
    train, _ = data
    draws = training.draw_windows(train.rows_by_source(), W, 3, False, np.random.default_rng(0))
    assert not draws[:, 2].any()
    assert np.array_equal(training.cut_windows(train.windows, draws), train.windows[draws[:, 0]])
    assert np.array_equal(np.bincount(train.source[draws[:, 0]]), np.full(len(train.positions), 3))


def test_predict_matches_model_in_eval_mode(data):
    _, val = data
    model = tiny_model()
    predicted = inference.predict(model, val.windows, batch_size=7)
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(val.windows)).numpy()
    assert predicted.shape == (len(val.windows), 3)
    np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-6)


def test_bias_init_starts_at_mean_training_position(data, tmp_path):
    train, val = data
    model = tiny_model()
    fit(model, data, tmp_path, max_epochs=1, lr=0.0)
    np.testing.assert_allclose(model[-1].bias.detach().numpy(), train.mean_position(), rtol=1e-6)


def test_missing_setting_is_named(data, tmp_path):
    train, val = data
    incomplete = {k: v for k, v in settings().items() if k != "lr_patience"}
    with pytest.raises(KeyError, match="lr_patience"):
        training.fit(tiny_model(), train, val, incomplete, seed=0, state_path=tmp_path / "s.pt")


def test_pick_device_falls_back_to_cpu_without_cuda(monkeypatch):
    """"auto" asks torch whether CUDA is there (faked both ways here, so the test means the same on any machine);
    a device named outright is taken as it is."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert inference.pick_device().type == "cpu" and inference.pick_device("auto").type == "cpu"
    assert inference.pick_device("cuda:1") == torch.device("cuda:1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert inference.pick_device().type == "cuda"
    assert inference.pick_device("cpu").type == "cpu"


def test_scaled_training_learns_and_returns_a_model_in_metres(data, tmp_path):
    """With input gain, standardized targets and a one-cycle schedule, the returned (folded) model takes raw
    windows and predicts metres: its validation MSE is the best epoch's, far below the mean predictor's."""
    train, val = data
    model = tiny_model()
    history = fit(model, data, tmp_path, max_epochs=8, input_gain=True, standardize_targets=True,
                  schedule="onecycle", lr=3e-2)
    mean_predictor = np.mean((val.targets(slice(None)) - train.mean_position()) ** 2)
    final = np.mean((inference.predict(model, val.windows) - val.targets(slice(None))) ** 2)
    assert final < 0.1 * mean_predictor
    assert final == pytest.approx(min(r["val_loss"] for r in history), rel=1e-4)
    rates = [r["lr"] for r in history]
    assert max(rates) > rates[0] and rates[-1] < max(rates), "one-cycle: the rate rises, then falls"


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_killed_run_with_a_per_batch_schedule_resumes_exactly(data, tmp_path, schedule):
    train, val = data
    straight = tiny_model()
    history = fit(straight, data, tmp_path, "straight.pt", max_epochs=4, schedule=schedule)

    def killed_in_epoch_3(line):
        if line.startswith("epoch 3/"):
            raise KeyboardInterrupt  # after epoch 3's line, before its state is saved
    with pytest.raises(KeyboardInterrupt):
        training.fit(tiny_model(), train, val, settings(max_epochs=4, schedule=schedule), seed=7,
                     state_path=tmp_path / "cut.pt", log=killed_in_epoch_3)
    resumed = tiny_model()
    assert without_seconds(fit(resumed, data, tmp_path, "cut.pt", max_epochs=4, schedule=schedule)) == \
        without_seconds(history)
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    # The schedule depends on the run's length: a state of a 4-epoch run does not resume a 6-epoch run.
    lines = []
    training.fit(tiny_model(), train, val, settings(max_epochs=6, schedule=schedule), seed=7,
                 state_path=tmp_path / "cut.pt", log=lines.append)
    assert "ignoring resume state" in lines[0]


def test_warm_start_keeps_the_given_weights(data, tmp_path):
    """warm=True starts from the model's weights as they are (no bias reset); with lr 0 they come back
    unchanged through the scaling's unfold and fold."""
    trained = tiny_model()
    fit(trained, data, tmp_path, "first.pt", max_epochs=2)
    warm = tiny_model(seed=5)
    warm.load_state_dict(trained.state_dict())
    train, val = data
    training.fit(warm, train, val, settings(max_epochs=1, lr=0.0, input_gain=True, standardize_targets=True),
                 seed=7, state_path=tmp_path / "warm.pt", log=lambda line: None, warm=True)
    for a, b in zip(trained.state_dict().values(), warm.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("changes", [{}, {"random_offset": False}, {"precision": "bf16", "max_epochs": 2}],
                         ids=["random-offset", "whole-windows", "bf16"])
def test_windows_kept_on_the_device_train_exactly_as_batches_copied_one_at_a_time(data, tmp_path, changes):
    """Training with the windows held as tensors on the device (`resident=True`, here on the CPU), batches cut
    there, draws the same windows in the same order as the per-batch copy from numpy: the same history and the
    same weights to the last bit. The CPU default copies per batch, as before."""
    train, val = data
    runs = []
    for resident in (False, True):
        model, lines = tiny_model(), []
        history = training.fit(model, train, val, settings(**changes), seed=7, state_path=tmp_path / f"{resident}.pt",
                               log=lines.append, resident=resident)
        runs.append((without_seconds(history), model.state_dict(), lines))
    (copied, copied_weights, _), (kept, kept_weights, lines) = runs
    assert kept == copied
    for a, b in zip(copied_weights.values(), kept_weights.values(), strict=True):
        assert torch.equal(a, b)
    assert "windows kept on cpu (resident=True)" in lines[0]
    default = []
    training.fit(tiny_model(), train, val, settings(max_epochs=1), seed=7, state_path=tmp_path / "d.pt",
                 log=default.append)
    assert default[0].endswith("stay in host memory, one batch at a time to cpu")


def test_device_split_cuts_the_windows_numpy_cuts(data):
    """DeviceSplit.cut against cut_windows on the same draws, shifted and whole; and its targets are the windows'
    sources' positions."""
    train, _ = data
    gen = np.random.default_rng(3)
    on_device = training.DeviceSplit.upload(train, "cpu", chunk=5)  # chunks that do not divide the split
    np.testing.assert_array_equal(on_device.windows.numpy(), train.windows)
    for random_offset in (True, False):
        draws = training.draw_windows(train.rows_by_source(), W, 3, random_offset, gen)
        cut = on_device.cut(torch.from_numpy(draws), bool(draws[:, 2].any()))
        np.testing.assert_array_equal(cut.numpy(), training.cut_windows(train.windows, draws))
        np.testing.assert_array_equal(on_device.targets[torch.from_numpy(draws[:, 0])].numpy(),
                                      train.targets(draws[:, 0]))
