"""The input check (sslrp.explain.input_check): batch norms' input statistics against their running statistics, with
expected values computed here without the code under test."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from sslrp.explain import input_check
from sslrp.report import inputs

PUBLISHED = Path(__file__).resolve().parents[2] / "shared" / "published"
CHECKPOINT = PUBLISHED / "samplecnn" / "model_SNR_25_T60_0.15.pth"


class Small(nn.Module):
    """Two conv -> batch norm blocks and a dense -> batch norm, in forward order."""

    def __init__(self, momentum=None):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv1d(4, 6, 3, padding="same"), nn.BatchNorm1d(6, momentum=momentum)
        self.conv2, self.bn2 = nn.Conv1d(6, 5, 3, padding="same"), nn.BatchNorm1d(5, momentum=momentum)
        self.dense, self.bn3 = nn.Linear(5 * 64, 7), nn.BatchNorm1d(7, momentum=momentum)
        self.out = nn.Linear(7, 3)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        return self.out(torch.relu(self.bn3(self.dense(x.flatten(1)))))


def trained_on(batch):
    """A Small whose running statistics are those of `batch`: momentum None (a cumulative average) and one
    training-mode pass, so every running_mean / running_var is that batch's mean / unbiased variance."""
    torch.manual_seed(0)
    model = Small()
    model.train()
    with torch.no_grad():
        model(batch)
    return model.eval()


@pytest.fixture(scope="module")
def batch():
    return torch.as_tensor(np.random.default_rng(1).normal(0.3, 2.0, size=(64, 4, 64)), dtype=torch.float32)


def test_model_on_its_own_training_batch_reports_ratio_one_at_every_layer(batch):
    report = input_check.check(trained_on(batch), batch.numpy())
    assert [row["layer"] for row in report["layers"]] == ["bn1", "bn2", "bn3"]
    for row in report["layers"]:
        # Not exactly 1 after the first: training normalizes by the biased batch variance, evaluation by the
        # unbiased running one, a factor (n - 1) / n (n = 4096 values per channel) on what the next layer sees.
        assert row["variance_ratio"] == pytest.approx(1, rel=2e-3)
        assert row["mean_shift"] < 0.05
    assert report["in_distribution"] is True and report["first_layer"] is None
    assert "look like this checkpoint's training data" in report["sentence"]


@pytest.mark.parametrize("k", [3.0, 0.25])
def test_inputs_scaled_by_k_report_k_squared_at_the_first_layer(batch, k):
    report = input_check.check(trained_on(batch), batch.numpy() * k)
    first = report["layers"][0]
    assert first["variance_ratio"] == pytest.approx(k**2, rel=1e-3)
    assert first["variance_ratio_min"] == pytest.approx(k**2, rel=1e-3)
    assert first["variance_ratio_max"] == pytest.approx(k**2, rel=1e-3)
    assert report["in_distribution"] is False
    assert report["first_layer"] == "bn1" and report["first_index"] == 1
    assert report["factor"] == pytest.approx(k**2, rel=1e-3)
    assert ("above" if k > 1 else "below") in report["sentence"]
    assert f"{max(k**2, 1 / k**2):.3g}x" in report["sentence"]


def test_statistics_are_each_channels_mean_and_unbiased_variance_of_the_batch_norms_input(batch):
    model = trained_on(batch[:8])
    stats = input_check.input_statistics(model, batch.numpy(), batch_size=10)  # batches of unequal size
    conv = torch.nn.functional.conv1d(batch, model.conv1.weight, model.conv1.bias, padding="same").detach().numpy()
    per_channel = conv.transpose(1, 0, 2).reshape(6, -1).astype(np.float64)
    mean, var, count = stats["bn1"]
    np.testing.assert_allclose(mean, per_channel.mean(axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var, per_channel.var(axis=1, ddof=1), rtol=1e-5)
    assert count == 64 * 64


def test_mean_shift_is_in_training_standard_deviations(batch):
    model = trained_on(batch)
    shifted = batch + 5.0
    report = input_check.check(model, shifted.numpy())
    conv = torch.nn.functional.conv1d(shifted, model.conv1.weight, model.conv1.bias, padding="same").double()
    mean = conv.mean(dim=(0, 2)).detach().numpy()
    shift = np.abs(mean - model.bn1.running_mean.double().numpy()) / np.sqrt(
        model.bn1.running_var.double().numpy() + model.bn1.eps)
    assert report["layers"][0]["mean_shift"] == pytest.approx(float(np.median(shift)), rel=1e-4)
    assert report["layers"][0]["outside"] == (np.median(shift) > input_check.MEAN_SHIFT_LIMIT
                                              or abs(math.log(report["layers"][0]["variance_ratio"])) > math.log(2))


def test_a_model_without_batch_norms_gets_a_report_that_the_check_does_not_apply():
    model = nn.Sequential(nn.Conv1d(4, 2, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(3))
    report = input_check.check(model, np.ones((2, 4, 16), dtype=np.float32))
    assert report["applies"] is False and report["layers"] == []
    assert "does not apply" in report["sentence"]


def test_batch_norms_without_running_statistics_are_skipped_and_listed(batch):
    model = trained_on(batch)
    model.bn2 = nn.BatchNorm1d(5, track_running_stats=False)
    report = input_check.check(model, batch.numpy())
    assert [row["layer"] for row in report["layers"]] == ["bn1", "bn3"]
    assert report["skipped_layers"] == ["bn2"]


def test_tolerance_must_be_a_factor_above_one(batch):
    with pytest.raises(ValueError, match="tolerance"):
        input_check.check(trained_on(batch), batch.numpy(), tolerance=1.0)


def test_table_rows_and_page_lines_follow_the_reports(batch):
    applies = {"model": "sample_cnn", "condition": "SNR_25_T60_0.15",
               **input_check.check(trained_on(batch), batch.numpy() * 3)}
    none = {"model": "loc_cnn", "condition": "SNR_25_T60_0.15",
            **input_check.check(nn.Sequential(nn.Flatten(), nn.Linear(256, 3)), batch.numpy()[:, :, :64])}
    rows = inputs.rows([applies, none])
    assert [(r["model"], r["layer"]) for r in rows] == [
        ("sample_cnn", "bn1"), ("sample_cnn", "bn2"), ("sample_cnn", "bn3"), ("loc_cnn", "–")]
    assert [r["outside"] for r in rows[:3]] == ["yes" if layer["outside"] else "no" for layer in applies["layers"]]
    assert rows[0]["outside"] == "yes" and rows[3]["outside"] == "does not apply"
    assert rows[0]["variance ratio"] == pytest.approx(9, rel=1e-3)
    assert math.isnan(rows[3]["variance ratio"])
    blocks = inputs.page_blocks([applies, none], ["loc_cnn", "sample_cnn"], ["SNR_25_T60_0.15"])
    (kind, lines), = [b for b in blocks if b[0] == "list"]
    assert lines[0].startswith("LocCNN on SNR_25_T60_0.15: ") and "does not apply" in lines[0]
    assert lines[1].startswith("SampleCNN on SNR_25_T60_0.15: they do not, from layer 1 of 3 (bn1) on")
    assert "9x above" in lines[1]
    assert blocks[0][:3] == ("heading", 2, inputs.HEADING) and blocks[-1][0] == "table"
    assert inputs.page_blocks([], ["loc_cnn"], ["SNR_25_T60_0.15"]) == []


@pytest.mark.skipif(not CHECKPOINT.exists(), reason=f"the authors' checkpoint is not at {CHECKPOINT} "
                    "(../shared/published, see its README)")
def test_published_checkpoint_on_white_noise_matches_the_ratio_its_first_filters_predict():
    """White noise of variance s² through conv1 has variance s² * (sum of the filter's squared weights) per channel
    (the bias moves only the mean); against the checkpoint's running_var that is the first layer's ratio."""
    from sslrp.localize import models

    model = models.load("sample_cnn", CHECKPOINT, 5120, 16)
    sigma = 0.01
    noise = np.random.default_rng(5).normal(0, sigma, size=(8, 16, 5120)).astype(np.float32)
    report = input_check.check(model, noise)
    bn = model.BasicBlock1.bn
    expected_var = sigma**2 * (model.BasicBlock1.conv.weight.detach().double() ** 2).sum(dim=(1, 2)).numpy()
    expected = np.exp(np.mean(np.log((expected_var + bn.eps) / (bn.running_var.double().numpy() + bn.eps))))
    assert report["layers"][0]["layer"] == "BasicBlock1.bn"
    assert report["layers"][0]["variance_ratio"] == pytest.approx(expected, rel=0.03)  # 655 360 noise values
    assert len(report["layers"]) == 1 + 5 * 2 + 1  # BasicBlock1, each ReSE's two, the dense one


def test_table_step_writes_the_inputs_table_once_tables_lists_it(batch, tmp_path, monkeypatch, step_script):
    """The `input_table` rule's job (table.py with step_settings.input_table) once sslrp.report.tables.ROWS maps
    "inputs" to sslrp.report.inputs.rows (wired at merge; set here)."""
    import json

    from sslrp import step_settings
    from sslrp.report import tables

    monkeypatch.setitem(tables.ROWS, "inputs", inputs.rows)
    paths = []
    for k, cond in ((3.0, "a"), (1.0, "b")):
        paths.append(tmp_path / f"{cond}.json")
        paths[-1].write_text(json.dumps({"model": "sample_cnn", "condition": cond,
                                         **input_check.check(trained_on(batch), batch.numpy() * k)}))
    settings = step_settings.input_table({"training": {"replicates": 3}})
    assert settings == {"kind": "inputs", "digits": inputs.DIGITS, "replicates": 1}
    step_script("table").run([str(p) for p in paths], str(tmp_path / "t.md"), str(tmp_path / "t.csv"), **settings)
    md = (tmp_path / "t.md").read_text().splitlines()
    assert len(md) == 2 + 2 * 3
    assert "| sample_cnn | a | bn1 | 1 | 9.0" in md[2] and "| sample_cnn | b | bn1 | 1 | 1.0" in md[5]


def test_inputs_table_writes_through_the_tables_writer(batch, tmp_path):
    """What table.py does with the `inputs` kind once sslrp.report.tables.ROWS lists inputs.rows."""
    from sslrp.report import tables

    applies = {"model": "sample_cnn", "condition": "c", **input_check.check(trained_on(batch), batch.numpy() * 3)}
    none = {"model": "loc_cnn", "condition": "c", "applies": False, "layers": [], "sentence": "n/a"}
    tables.write(inputs.rows([applies, none]), tmp_path / "inputs.md", tmp_path / "inputs.csv", inputs.DIGITS)
    md = (tmp_path / "inputs.md").read_text().splitlines()
    assert md[0].startswith("| model | condition | layer | index | variance ratio |")
    assert "| sample_cnn | c | bn1 | 1 | 9.0" in md[2] and md[-1].startswith("| loc_cnn | c | – | – | – |")
    assert len((tmp_path / "inputs.csv").read_text().splitlines()) == 1 + 3 + 1


def test_dropout_before_a_batch_norm_is_active_as_in_training_unless_switched_off(batch):
    """Dropout scales what it keeps by 1 / (1 - p): in evaluation the next batch norm sees less variance than in
    training. With dropout active (the default) the model on its own training batch reads as in distribution;
    without, the ratio is the dropout-free variance over the stored one, computed here directly."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Dropout(0.5), nn.Conv1d(4, 6, 3, padding="same"), nn.BatchNorm1d(6, momentum=None))
    model.train()
    with torch.no_grad():
        model(batch)
    model.eval()
    active = input_check.check(model, batch.numpy(), seed=1)
    assert active["layers"][0]["variance_ratio"] == pytest.approx(1, rel=0.05)
    assert active["dropout"] is True and not model[0].training  # modes restored
    off = input_check.check(model, batch.numpy(), dropout=False)
    bn = model[2]
    clean = model[1](batch).detach().double().transpose(0, 1).reshape(6, -1).var(dim=1).numpy()
    expected = np.exp(np.mean(np.log((clean + bn.eps) / (bn.running_var.double().numpy() + bn.eps))))
    assert off["layers"][0]["variance_ratio"] == pytest.approx(expected, rel=1e-4)
    assert expected < 0.8  # the shift the default avoids
    again = input_check.check(model, batch.numpy(), seed=1)
    assert again["layers"] == active["layers"]  # seeded masks


@pytest.mark.skipif(not CHECKPOINT.exists(), reason=f"the authors' checkpoint is not at {CHECKPOINT} "
                    "(../shared/published, see its README)")
def test_published_checkpoint_on_this_workflows_paper_data_is_far_above_its_first_layers_training_variance():
    """The value measured by dev/published_study.py (checks/RESULTS.md): on paper-geometry data simulated by this
    workflow, the published T60 0.15 s checkpoint's first batch norm sees 37-64x its training variance."""
    from sslrp import config as configuration
    from sslrp import seeding
    from sslrp.data import acoustics, corpus, geometry
    from sslrp.localize import models

    config = configuration.load(str(Path(__file__).resolve().parents[1] / "config" / "paper.yaml"))
    geo, condition = config["geometry"], {"t60": 0.15, "snr": 25}
    speech = corpus.load({**config["corpus"], "n_utterances": 1}, geo["fs"], config["seed"])[0].signal
    sources = geometry.sources(geo, config["seed"])
    windows = np.concatenate([
        acoustics.simulate_source(i, sources.positions[i], speech, 0, geometry.mic_positions(geo), condition, geo,
                                  5120, config["seed"]).windows[:4]
        for i in seeding.rng(config["seed"], "test/published").choice(sources.train, 2, replace=False)])
    report = input_check.check(models.load("sample_cnn", CHECKPOINT, 5120, 16), windows, seed=0)
    assert report["first_layer"] == "BasicBlock1.bn"
    assert 25 < report["factor"] < 100
