"""The worked example of README "Your own array and recordings", through the whole workflow at the tiny scale from
an empty folder: an 8-microphone circular array, one simulated condition that trains LocCNN, and a recorded
condition (`lab_a`) whose WAV files and manifest this test writes itself (pyroomacoustics at positions of its
choosing, at 32 kHz so that the workflow resamples them), explained with the simulated condition's model."""

import csv
import json
import math

import numpy as np
import pyroomacoustics as pra
import pytest
import soundfile as sf

from tiny_workflow import TINY, snakemake, write_config

RATE = 32000  # the recordings' rate; the workflow runs at 16 kHz
ROOM = [3.6, 8.2, 2.4]
CIRCLE = [[round(1.7 + 0.1 * math.cos(a), 6), round(7.0 + 0.1 * math.sin(a), 6), 1.2]
          for a in np.arange(8) * 2 * math.pi / 8]
POSITIONS = [[1.55, 5.4, 1.2], [1.85, 5.6, 1.3], [1.6, 5.7, 1.1], [1.8, 5.3, 1.25]]
SIMULATED = "SNR_20_T60_0.2"
CONFIG = {
    **TINY,
    "conditions": [{"t60": 0.2, "snr": 20},
                   {"name": "lab_a", "recordings": "recordings/lab_a/manifest.csv", "models_from": SIMULATED}],
    # 7 x 7 grid (3 test sources), fewer sanity windows and SRP-PHAT candidates than the tiny run: one simulated
    # condition and one model keep the run short on a shared 2-core machine.
    "geometry": {"array": {"positions": CIRCLE}, "grid": {"nx": 7, "ny": 7, "x": [1.2, 2.2]}},
    "models": ["loc_cnn"],
    "training": {"loc_cnn": TINY["training"]["loc_cnn"]},
    "sanity": {"windows": 8},
    "srp": {"grid": [21, 21]},
    "tdoa": {"pairs": [[0, 4]]},  # opposite microphones of the circle
}


def record(folder):
    """Write one 8-channel WAV per position (noise bursts in a shoebox room, 0.3 s at 32 kHz) and the manifest."""
    folder.mkdir(parents=True)
    absorption, _ = pra.inverse_sabine(0.3, ROOM)
    rng = np.random.default_rng(11)
    rows = []
    for i, position in enumerate(POSITIONS):
        room = pra.ShoeBox(ROOM, fs=RATE, materials=pra.Material(absorption), max_order=4)
        burst = rng.normal(size=int(0.3 * RATE)) * np.repeat(rng.uniform(0.2, 1, 30), int(0.01 * RATE))
        room.add_source(position, signal=burst)
        room.add_microphone_array(np.array(CIRCLE).T)
        room.simulate()
        signals = room.mic_array.signals[:, : len(burst)]
        sf.write(folder / f"take{i}.wav", (signals / np.abs(signals).max()).T.astype(np.float32), RATE,
                 subtype="FLOAT")
        rows.append([f"take{i}.wav", *position])
    with open(folder / "manifest.csv", "w", newline="") as f:
        csv.writer(f).writerows([["file", "x", "y", "z"], *rows])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("recordings")
    record(workdir / "recordings" / "lab_a")
    write_config(workdir, CONFIG)
    done = snakemake(workdir)
    assert done.returncode == 0, done.stderr[-4000:]
    return workdir


def rows(run, table):
    with open(run / "results" / "tables" / f"{table}.csv") as f:
        return list(csv.DictReader(f))


def test_the_recordings_become_the_test_split_of_their_dataset(run):
    from sslrp.data import dataset

    test = dataset.read_split(run / "results" / "data" / "lab_a.h5", "test")
    np.testing.assert_allclose(test.position, POSITIONS)
    assert test.windows.shape[1:] == (8, CONFIG["signals"]["window"])
    # 0.3 s at 16 kHz after resampling: 4800 samples, 6 windows of 768 per recording.
    assert np.bincount(test.source).tolist() == [4800 // 768] * len(POSITIONS)


def test_the_recorded_condition_is_explained_with_the_simulated_models_without_training(run):
    assert (run / "results" / "models" / "loc_cnn" / f"{SIMULATED}.pth").is_file()
    assert not (run / "results" / "models" / "loc_cnn" / "lab_a.pth").exists()
    assert not (run / "logs" / "train" / "loc_cnn" / "lab_a.log").exists()
    assert (run / "results" / "relevance" / "loc_cnn" / "lab_a.h5").is_file()


def test_the_tables_list_the_recorded_condition_with_its_numbers(run):
    localization = {(r["model"], r["condition"]): r for r in rows(run, "localization")}
    for model in ("loc_cnn", "srp_phat"):
        summary = json.loads((run / "results" / "evaluation" / model / "lab_a" / "summary.json").read_text())
        assert float(localization[model, "lab_a"]["MAE [m]"]) == pytest.approx(summary["mae"], abs=5e-4)
        assert int(localization[model, "lab_a"]["windows"]) == 6 * len(POSITIONS)
    with open(run / "results" / "evaluation" / "loc_cnn" / "lab_a" / "windows.csv") as f:
        per_window = np.array([[float(r[k]) for k in ("x", "y", "z", "x_pred", "y_pred", "z_pred")]
                               for r in csv.DictReader(f)])
    assert summary["condition"] == "lab_a"
    loc = json.loads((run / "results" / "evaluation" / "loc_cnn" / "lab_a" / "summary.json").read_text())
    assert loc["mae"] == pytest.approx(np.abs(per_window[:, 3:] - per_window[:, :3]).mean())
    tdoa = [r for r in rows(run, "tdoa") if r["condition"] == "lab_a"]
    assert len(tdoa) == 1
    assert all(rows for rows in (tdoa, [r for r in rows(run, "sanity") if r["condition"] == "lab_a"]))


def test_the_page_names_the_recorded_condition_and_says_it_was_resampled(run):
    page = (run / "results" / "page" / "index.md").read_text()
    assert "\n## lab_a\n" in page
    assert ("Recorded condition lab_a: 4 recordings listed in recordings/lab_a/manifest.csv, recorded at 32000 Hz "
            "and resampled to 16000 Hz with scipy.signal.resample_poly; explained with the models trained on "
            f"{SIMULATED}.") in page
    figures = run / "results" / "page" / "figures"
    for extreme in ("min", "max"):
        assert (figures / f"ex_gcc_relevance_loc_cnn_lab_a_error_{extreme}.png").stat().st_size > 0


def test_the_input_check_of_the_recorded_condition_reads_the_simulated_model(run):
    done = snakemake(run, "results/checks/loc_cnn/lab_a_inputs.json")
    assert done.returncode == 0, done.stderr[-4000:]
    found = json.loads((run / "results" / "checks" / "loc_cnn" / "lab_a_inputs.json").read_text())
    assert found["checkpoint"] == f"results/models/loc_cnn/{SIMULATED}.pth"
    assert found["condition"] == "lab_a" and found["applies"] is False  # LocCNN has no batch norm
    assert not (run / "results" / "models" / "loc_cnn" / "lab_a.pth").exists()
