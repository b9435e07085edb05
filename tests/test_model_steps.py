"""The model steps (train, evaluate, select, relevance, manipulation, TDoA, sanity checks) on the tiny dataset: their
outputs agree with independent computations."""

import csv
import json

import numpy as np
import pytest
import torch

from reference import tdoa_table_reference
from sslrp import config as configuration
from sslrp import seeding
from sslrp.data import dataset
from sslrp.localize import models

# The schema's defaults for every training setting (new ones included), with the tiny run's choices on top.
SETTINGS = {**configuration.validate({"conditions": [{"t60": 0.3, "snr": 20}]})["training"]["loc_cnn"],
            "lr": 1e-3, "batch_size": 16, "max_epochs": 2, "early_stopping_patience": 5, "lr_factor": 0.2,
            "lr_patience": 2, "windows_per_source": 1, "random_offset": True, "init_bias_to_mean": True}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, step_script, tiny_dataset):
    """A LocCNN trained for 2 epochs on the tiny dataset, and its evaluation."""
    out = tmp_path_factory.mktemp("model")
    checkpoint = out / "loc_cnn.pth"
    step_script("train").run(str(tiny_dataset), checkpoint, out / "history.csv", out / "curve.png", "loc_cnn",
                             512, 16, SETTINGS, 7, "cpu", 2)
    step_script("evaluate").run(str(tiny_dataset), checkpoint, out / "windows.csv", out / "sources.csv",
                                out / "summary.json", out / "positions.png", "loc_cnn", "tiny", 512, 16, "cpu", 2)
    return out


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_training_writes_a_history_row_per_epoch_and_drops_its_resume_state(trained):
    rows = read_csv(trained / "history.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert all(np.isfinite(float(r["val_loss"])) for r in rows)
    assert not (trained / "loc_cnn.resume.pt").exists()
    assert (trained / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_checkpoint_loads_back_and_reproduces_the_evaluated_predictions(trained, tiny_dataset):
    model = models.load("loc_cnn", trained / "loc_cnn.pth", 512)
    test = dataset.read_split(tiny_dataset, "test")
    with torch.no_grad():
        pred = model(torch.from_numpy(test.windows)).numpy()
    rows = read_csv(trained / "windows.csv")
    stored = np.array([[float(r[f"{c}_pred"]) for c in "xyz"] for r in rows])
    np.testing.assert_allclose(stored, pred, rtol=1e-5, atol=1e-6)


def test_evaluation_mae_equals_an_independent_computation(trained, tiny_dataset):
    rows = read_csv(trained / "windows.csv")
    pred = np.array([[float(r[f"{c}_pred"]) for c in "xyz"] for r in rows])
    true = np.array([[float(r[c]) for c in "xyz"] for r in rows])
    summary = json.loads((trained / "summary.json").read_text())
    assert summary["mae"] == pytest.approx(np.abs(pred - true).mean())
    assert summary["mae_xyz"] == pytest.approx(np.abs(pred - true).mean(axis=0))
    train = dataset.read_split(tiny_dataset, "train", windows=False)
    baseline = np.abs(train.position.mean(axis=0) - true).mean()
    assert summary["baseline_mae"] == pytest.approx(baseline)


def test_evaluation_scores_the_validation_split_against_the_training_mean(trained, tiny_dataset):
    model = models.load("loc_cnn", trained / "loc_cnn.pth", 512)
    val = dataset.read_split(tiny_dataset, "val")
    with torch.no_grad():
        pred = model(torch.from_numpy(val.windows)).numpy().astype(float)
    true = val.position[val.source]
    mean_position = dataset.read_split(tiny_dataset, "train", windows=False).position.mean(axis=0)
    summary = json.loads((trained / "summary.json").read_text())["val"]
    assert summary["n_windows"] == len(val.windows)
    assert summary["mae"] == pytest.approx(np.abs(pred - true).mean(), rel=1e-5)
    assert summary["mae_xyz"] == pytest.approx(np.abs(pred - true).mean(axis=0), rel=1e-5)
    assert summary["baseline_mae"] == pytest.approx(np.abs(mean_position - true).mean())


def test_selection_picks_the_smallest_and_largest_mean_euclidean_error(trained, step_script):
    step_script("select_sources").run(trained / "sources.csv", trained / "selection.json")
    picks = json.loads((trained / "selection.json").read_text())
    rows = read_csv(trained / "windows.csv")
    errors = {}
    for r in rows:
        e = np.linalg.norm([float(r[f"{c}_pred"]) - float(r[c]) for c in "xyz"])
        errors.setdefault(int(r["source"]), []).append(e)
    means = {s: np.mean(v) for s, v in errors.items()}
    assert picks["min"]["source"] == min(means, key=means.get)
    assert picks["max"]["source"] == max(means, key=means.get)
    assert picks["max"]["euclidean_error"] == pytest.approx(max(means.values()))


def test_warm_start_keeps_the_checkpoint_and_scales_by_its_own_conditions_data(trained, step_script, tiny_dataset,
                                                                               tmp_path, monkeypatch):
    """train.run with `init` (a warm start in a chain) starts from that checkpoint's weights and derives its input
    gain and target standardization from the data it is given, not from the condition the checkpoint came from.
    The second condition is the tiny dataset with 3x louder windows and sources 0.4 m further along x; lr 0 keeps
    the weights where they start, so the written checkpoint must be the given one (unfold and fold cancel)."""
    import h5py

    from sslrp.localize import scaling

    louder = tmp_path / "louder.h5"
    louder.write_bytes(tiny_dataset.read_bytes())
    with h5py.File(louder, "r+") as f:
        for split in ("train", "val", "test"):
            f[f"{split}/windows"][...] = 3 * f[f"{split}/windows"][...]
            f[f"{split}/position"][...] = f[f"{split}/position"][...] + [0.4, 0.0, 0.0]
    used = []
    unfold = scaling.Scaling.unfold
    monkeypatch.setattr(scaling.Scaling, "unfold", lambda self, model: used.append(self) or unfold(self, model))
    out = tmp_path / "warm.pth"
    settings = SETTINGS | {"lr": 0.0, "max_epochs": 1, "input_gain": True, "standardize_targets": True,
                           "init_bias_to_mean": True}
    step_script("train").run(str(louder), out, tmp_path / "h.csv", tmp_path / "c.png", "loc_cnn", 512, 16, settings,
                             7, "cpu", 2, init=str(trained / "loc_cnn.pth"), log=str(tmp_path / "log"))
    assert "warm start from" in (tmp_path / "log").read_text()
    given, written = (torch.load(p, weights_only=True) for p in (trained / "loc_cnn.pth", out))
    for name in given:  # float32 through x * gain / gain: a few ulps
        torch.testing.assert_close(written[name], given[name], rtol=1e-5, atol=1e-6)
    # The scaling it trained in, by hand from the louder condition's training split (< 4096 windows: all)
    train = dataset.read_split(louder, "train")
    (scale,) = used
    assert scale.gain == pytest.approx(1 / np.sqrt(np.mean(train.windows.astype(float) ** 2)), rel=1e-9)
    assert scale.mean == pytest.approx(train.position.mean(axis=0), rel=1e-9)
    assert scale.std == pytest.approx(train.position.std(axis=0), rel=1e-9)
    original = dataset.read_split(tiny_dataset, "train")
    assert scale.gain == pytest.approx(1 / np.sqrt(np.mean(original.windows.astype(float) ** 2)) / 3, rel=1e-6)


def test_pretrained_checkpoint_is_adopted_instead_of_training(trained, step_script, tiny_dataset, tmp_path):
    out = tmp_path / "adopted.pth"
    step_script("train").run(str(tiny_dataset), out, tmp_path / "h.csv", tmp_path / "c.png", "loc_cnn", 512, 16,
                             SETTINGS, 7, "cpu", 2, pretrained=trained / "loc_cnn.pth")
    given = torch.load(trained / "loc_cnn.pth", weights_only=True)
    adopted = torch.load(out, weights_only=True)
    assert given.keys() == adopted.keys() and all(torch.equal(given[k], adopted[k]) for k in given)
    assert read_csv(tmp_path / "h.csv") == []


def test_a_checkpoint_of_another_architecture_is_refused_naming_the_file(trained, tmp_path):
    with pytest.raises(RuntimeError, match="loc_cnn.pth"):
        models.load("sample_cnn", trained / "loc_cnn.pth", 1024)


def test_relevance_and_manipulation_steps_agree_with_the_test_split(trained, step_script, tiny_dataset, tmp_path):
    rel_path = tmp_path / "relevance.h5"
    step_script("relevance").run(str(tiny_dataset), trained / "loc_cnn.pth", rel_path, "loc_cnn", 512, 16,
                                 "ground_truth", "signal", 8, "cpu", 2)
    test = dataset.read_split(tiny_dataset, "test")
    relevance = dataset.read_relevance(rel_path, test)
    assert relevance.shape == test.windows.shape and np.isfinite(relevance).all()

    curve_path = tmp_path / "curve.json"
    step_script("manipulation").run(str(tiny_dataset), trained / "loc_cnn.pth", rel_path, curve_path, "loc_cnn",
                                    "tiny", 512, 16, [0, 30], ["relevance", "energy", "random"], 8, 7, "cpu", 2,
                                    magnitude=["relevance"])
    curve = json.loads(curve_path.read_text())
    unperturbed = json.loads((trained / "summary.json").read_text())["mae"]
    assert all(curve["mae"][o][0] == pytest.approx(unperturbed, rel=1e-5) for o in curve["mae"])

    assert set(curve["mae_magnitude"]) == set(curve["lerf_magnitude"]) == {"relevance"}
    assert curve["mae_magnitude"]["relevance"][0] == curve["mae"]["relevance"][0]  # P = 0 removes nothing


def test_tdoa_step_gives_each_pair_its_estimators_and_the_constant_baseline(trained, step_script, tiny_dataset,
                                                                             tmp_path):
    from sslrp import metrics

    rel_path = tmp_path / "relevance.h5"
    step_script("relevance").run(str(tiny_dataset), trained / "loc_cnn.pth", rel_path, "loc_cnn", 512, 16,
                                 "ground_truth", "signal", 8, "cpu", 2)
    tdoa_path = tmp_path / "tdoa.json"
    step_script("tdoa").run(str(tiny_dataset), [rel_path], tdoa_path, "tiny", ["loc_cnn"], [[7, 8], [0, 15]], None,
                            343.0)
    result = json.loads(tdoa_path.read_text())
    assert [p["pair"] for p in result["pairs"]] == [[7, 8], [0, 15]]
    test = dataset.read_split(tiny_dataset, "test")
    relevance = dataset.read_relevance(rel_path, test)
    train = dataset.read_split(tiny_dataset, "train", windows=False)
    mics = np.asarray(dataset.read_attrs(tiny_dataset)["mics"])
    fs, c = 16000, 343.0
    thresholds = test.correlation_time[test.source] / 2
    for entry in result["pairs"]:
        a, b = entry["pair"]

        def delay(positions):  # the direct-path delay of mic b relative to mic a, by hand
            distance = np.linalg.norm(positions[:, None, :] - mics[None, [a, b]], axis=2)
            return (distance[:, 1] - distance[:, 0]) * fs / c

        true = delay(test.position[test.source])
        constant = delay(train.position).mean()
        assert entry["constant_delay"] == pytest.approx(constant)
        assert entry["largest_true_delay"] == pytest.approx(np.abs(true).max())
        errors = np.abs(constant - true)
        assert entry["signals"]["constant"]["anomaly_percent"] == pytest.approx(100 * np.mean(errors > thresholds))
        assert entry["signals"]["constant"]["correlation"] is None  # a constant follows nothing: r is undefined
        assert set(entry["signals"]) == {"microphone", "loc_cnn", "constant"}
        # GCC-PHAT recomputed without sslrp.metrics or sslrp.data.geometry (tests/reference.py)
        for name, signals in (("microphone", test.windows), ("loc_cnn", relevance)):
            expected = tdoa_table_reference(signals, test.position[test.source], mics, (a, b), fs, c, thresholds)
            expected["mae"] = None if np.isnan(expected["mae"]) else expected["mae"]  # the JSON's null
            got = {k: v for k, v in entry["signals"][name].items() if k != "correlation"}
            assert got == pytest.approx(expected, rel=1e-9), (name, entry["pair"])
        estimate = metrics.tdoa_gcc_phat(test.windows[:, a], test.windows[:, b])
        assert entry["signals"]["microphone"]["correlation"] == pytest.approx(np.corrcoef(estimate, true)[0, 1])


def test_explain_target_prediction_starts_lrp_from_the_models_own_output(trained, step_script, tiny_dataset,
                                                                         tmp_path):
    """`explain.target: prediction` reaches the relevance step, which then explains the model's prediction: the
    stored targets are the forward pass of the checkpoint (computed here with torch), not the true positions,
    and the relevance is LRP started from them."""
    from sslrp import step_settings
    from sslrp.explain import lrp

    config = configuration.validate({"conditions": [{"t60": 0.3, "snr": 20}], "explain": {"target": "prediction"}})
    settings = step_settings.relevance(config, "loc_cnn")
    assert settings["target"] == "prediction"
    rel_path = tmp_path / "relevance.h5"
    step_script("relevance").run(str(tiny_dataset), trained / "loc_cnn.pth", rel_path, "loc_cnn", 512, 16,
                                 settings["target"], settings["gate"], 8, "cpu", 2)
    test = dataset.read_split(tiny_dataset, "test")
    relevance, targets = dataset.read_relevance(rel_path, test, targets=True)
    model = models.load("loc_cnn", trained / "loc_cnn.pth", 512).eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(test.windows)).numpy()
    np.testing.assert_allclose(targets, predicted, rtol=1e-5, atol=1e-6)
    assert np.abs(targets - test.position[test.source]).max() > 1e-3  # not the ground truth
    localizer = models.spec("loc_cnn").wrap(model)
    np.testing.assert_allclose(relevance, lrp.relevance(localizer, test.windows, predicted, 8),
                               rtol=1e-4, atol=1e-6 * np.abs(relevance).max())


def test_sanity_step_randomizes_layer_by_layer_and_measures_conservation(trained, step_script, tiny_dataset,
                                                                         tmp_path):
    from sslrp import metrics
    from sslrp.data import geometry
    from sslrp.explain import randomization

    rel_path = tmp_path / "relevance.h5"
    step_script("relevance").run(str(tiny_dataset), trained / "loc_cnn.pth", rel_path, "loc_cnn", 512, 16,
                                 "ground_truth", "signal", 8, "cpu", 2)
    out = tmp_path / "sanity.json"
    step_script("sanity").run(str(tiny_dataset), trained / "loc_cnn.pth", rel_path, out, "loc_cnn", "tiny", 512, 16,
                              "cpu", "signal", 8, 4, 7, [7, 8], None, 343.0, threads=2)
    result = json.loads(out.read_text())
    steps = result["randomization"]
    assert [s["layer"] for s in steps] == ["none", *(label for label, _ in randomization.cascade(
        models.build("loc_cnn", 512)))]
    assert steps[0]["spearman"] == pytest.approx(1.0)
    # Deterministic (the seeded 2-epoch model, seeded re-initializations, 4 windows): the last step measured 0.443
    # (depths 1-6: 0.95, 0.92, 0.68, 0.70, 0.52, 0.57). The bound leaves room for float differences across CPUs;
    # a cascade that re-initializes nothing (1.0) or stops a layer early (>= 0.52) leaves it.
    assert steps[-1]["spearman"] == pytest.approx(0.443, abs=0.05)
    # Depth 0 is the trained model: its MAE on the explained windows is the evaluation's on those rows.
    test = dataset.read_split(tiny_dataset, "test")
    rows = seeding.subset(4, len(test.windows), 7)
    evaluated = read_csv(trained / "windows.csv")
    errors = [abs(float(evaluated[r][f"{c}_pred"]) - float(evaluated[r][c])) for r in rows for c in "xyz"]
    assert steps[0]["model_mae"] == pytest.approx(np.mean(errors), rel=1e-5)
    # Re-initialized layers ruin the localization: measured 2.86 m at every depth against 0.076 m trained.
    assert all(s["model_mae"] > 10 * steps[0]["model_mae"] for s in steps[1:])

    relevance, targets = dataset.read_relevance(rel_path, test, targets=True)
    expected = np.median(relevance.reshape(len(relevance), -1).sum(axis=1) / targets.sum(axis=1))
    assert result["conservation"]["median"] == pytest.approx(expected, rel=1e-6)
    assert result["conservation"]["n_windows"] == len(test.windows)
    # the microphones' TDoA is GCC-PHAT on the same fixed subset of windows the cascade explains
    attrs = dataset.read_attrs(tiny_dataset)
    delay = geometry.direct_path_tdoa(test.position[test.source[rows]], np.asarray(attrs["mics"]), [7, 8],
                                      attrs["fs"], 343.0)
    mic = metrics.tdoa_summary(metrics.tdoa_errors(test.windows[rows], delay, [7, 8]),
                               test.correlation_time[test.source[rows]] / 2)
    assert result["microphone_tdoa"] == pytest.approx(mic, nan_ok=True) and result["n_windows"] == len(rows)
