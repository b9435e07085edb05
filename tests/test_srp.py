"""SRP-PHAT (sslrp.localize.srp): candidate grid, the sparse steered read-out against a plain loop, localization of an
anechoic source, and the baseline step's summary."""

import json

import numpy as np
import pytest

from sslrp import config as configuration
from sslrp import metrics
from sslrp.data import acoustics, dataset, geometry
from sslrp.localize import srp
from sslrp.report import tables

PAPER = configuration.validate({"conditions": [{"t60": 0.3, "snr": 20}]})["geometry"]


def test_candidate_grid_covers_the_source_area_at_the_mean_height():
    cands = srp.candidate_grid(PAPER, (5, 3))
    grid = geometry.grid_xy(PAPER)
    assert cands.shape == (15, 3)
    assert cands[:, 0].min() == pytest.approx(grid[:, 0].min()) and cands[:, 0].max() == pytest.approx(grid[:, 0].max())
    assert cands[:, 1].min() == pytest.approx(4.5) and cands[:, 1].max() == pytest.approx(6.5)
    assert np.all(cands[:, 2] == pytest.approx(1.25))
    assert np.all(srp.candidate_grid(PAPER, (2, 2), height=1.2)[:, 2] == 1.2)
    assert srp.all_pairs(16).shape == (120, 2)


def test_steered_power_equals_a_loop_over_pairs_and_candidates():
    rng = np.random.default_rng(0)
    mics = geometry.mic_positions(PAPER)[:5]
    windows = rng.normal(size=(2, 5, 256))
    cands = srp.candidate_grid(PAPER, (4, 3))
    pairs = np.array([[0, 1], [0, 4], [3, 2]])
    power = srp.srp_phat_map(windows, mics, 16000, 343.0, cands, pairs)
    expected = np.zeros_like(power)
    for n in range(2):
        for i, j in pairs:
            lags, cc = metrics.gcc_phat(windows[n, i], windows[n, j])
            for k, c in enumerate(cands):
                tau = geometry.direct_path_tdoa(c, mics, (i, j), 16000, 343.0)
                expected[n, k] += np.interp(tau, lags, cc)
    np.testing.assert_allclose(power, expected, atol=1e-9)


@pytest.mark.parametrize("source", [(1.31, 5.23, 1.12), (2.2, 6.1, 1.4), (0.9, 4.7, 1.25)])
def test_anechoic_white_noise_source_is_found_within_a_grid_step(source):
    fs, mics = PAPER["fs"], geometry.mic_positions(PAPER)
    rirs = acoustics.room_rirs(source, mics, PAPER["room"], fs, t60=0.3, max_order=0)
    rng = np.random.default_rng(1)
    signals = acoustics.add_noise(acoustics.reverberant(rng.normal(size=6000), rirs), 20, rng)
    windows = acoustics.windows(signals[:, 400:], 1280)
    cands = srp.candidate_grid(PAPER, (41, 41))
    step = np.diff(np.unique(cands[:, 0]))[0], np.diff(np.unique(cands[:, 1]))[0]
    est = srp.srp_phat_localize(windows, mics, fs, PAPER["sound_speed"], cands)
    assert est.shape == (len(windows), 3)
    assert np.all(np.abs(est[:, 0] - source[0]) <= step[0])
    assert np.all(np.abs(est[:, 1] - source[1]) <= 2 * step[1])  # y trades against the unknown height


def test_baseline_step_writes_an_evaluation_summary(tmp_path, tiny_dataset, tiny_config, tiny_cond, step_script):
    out = tmp_path / "summary.json"
    settings = {"grid": [9, 9], "height": None, "pairs": [[0, 15], [7, 8], [3, 12]], "enabled": True}
    step_script("srp_baseline").run(str(tiny_dataset), str(out), tiny_cond, tiny_config["geometry"], settings,
                                    log=str(tmp_path / "log"))
    summary = json.loads(out.read_text())
    assert summary["model"] == "srp_phat" and summary["condition"] == tiny_cond and summary["n_pairs"] == 3
    # The summary against its definition: SRP-PHAT's grid pick per test window (the map itself is checked
    # against a plain loop above), the MAE over coordinates and windows taken here by hand.
    test = dataset.read_split(tiny_dataset, "test")
    mics = np.asarray(dataset.read_attrs(tiny_dataset)["mics"], float)
    pred = srp.srp_phat_localize(test.windows, mics, 16000.0, tiny_config["geometry"]["sound_speed"],
                                 srp.candidate_grid(tiny_config["geometry"], (9, 9)), np.array(settings["pairs"]))
    errors = np.abs(pred - test.position[test.source])
    assert summary["n_windows"] == len(test.windows) == len(pred)
    assert summary["mae"] == pytest.approx(errors.mean(), rel=1e-12)
    assert summary["mae_xyz"] == pytest.approx(errors.mean(axis=0), rel=1e-12)
    # Deterministic (seeded data, no training): measured 0.167 m (x/y/z 0.073, 0.269, 0.158) on the 9 x 9 grid.
    # The bound (6 %) leaves room for float noise across machines, which moves no grid pick; a systematic fault
    # in the steering, the pairs or the grid moves many picks by a grid step (~0.2-0.4 m) and leaves it.
    assert summary["mae"] == pytest.approx(0.167, abs=0.01)
    row, = tables.localization_rows([summary])
    assert row["model"] == "srp_phat" and row["baseline MAE [m]"] == summary["baseline_mae"]
