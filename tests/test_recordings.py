"""Your own array and recordings (README "Your own array and recordings"): `geometry.array.positions` and
`geometry.grid.x` in the config, a recorded condition's manifest checked row by row (each error names the
manifest line and the file, before anything is written), and gather_recordings.py writing the recordings into
the dataset layout every later step reads."""

import csv
import math

import h5py
import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from sslrp import config as configuration
from sslrp import names
from sslrp.data import dataset, geometry, recordings

FS = 16000
WINDOW = 512
CIRCLE = [[1.7 + 0.1 * math.cos(a), 7.0 + 0.1 * math.sin(a), 1.2] for a in np.arange(6) * 2 * math.pi / 6]


def write_wav(path, n_channels=6, seconds=0.2, rate=FS, seed=0, dtype="float32"):
    """A seeded noise recording of `n_channels` channels; returns the samples [T, C] as written."""
    samples = np.random.default_rng(seed).normal(scale=0.1, size=(int(seconds * rate), n_channels))
    sf.write(path, samples.astype(dtype), rate, subtype="FLOAT" if dtype == "float32" else "DOUBLE")
    return samples.astype(dtype)


def write_manifest(folder, rows, split=True):
    """rows: (file, x, y, z[, split]); returns the manifest path."""
    path = folder / "manifest.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "x", "y", "z", *(["split"] if split else [])])
        w.writerows(rows)
    return path


def circle_config(manifest=None, **condition):
    """A config with a 6-mic circular array and, if given, a recorded condition explained by the simulated one."""
    conditions = [{"t60": 0.3, "snr": 20}]
    if manifest is not None:
        conditions.append({"name": "lab_a", "recordings": str(manifest), "models_from": "SNR_20_T60_0.3",
                           **condition})
    return {"conditions": conditions, "geometry": {"array": {"positions": CIRCLE}, "grid": {"x": [1.2, 2.2]}},
            "signals": {"window": WINDOW}, "tdoa": {"pairs": [[0, 3]]}, "models": ["loc_cnn"]}


@pytest.fixture
def good(tmp_path):
    """A manifest of three 6-channel recordings (two at 16 kHz, one at 48 kHz), all test."""
    for i, rate in enumerate((FS, FS, 48000)):
        write_wav(tmp_path / f"r{i}.wav", rate=rate, seed=i)
    return write_manifest(tmp_path, [(f"r{i}.wav", 1.5 + 0.1 * i, 5.0, 1.2, "test") for i in range(3)])


# --- the array and the grid --------------------------------------------------------------------------------------

def test_given_positions_are_the_array_and_set_the_number_of_microphones():
    config = configuration.validate(circle_config())
    np.testing.assert_array_equal(geometry.mic_positions(config["geometry"]), np.array(CIRCLE))
    assert config["geometry"]["array"]["n_mics"] == 6
    xy = geometry.grid_xy(config["geometry"])
    assert xy[:, 0].min() == 1.2 and xy[:, 0].max() == 2.2  # grid.x, not the array's ends


def test_the_paper_geometry_is_unchanged_without_the_new_keys():
    config = configuration.validate({"conditions": [{"t60": 0.3, "snr": 20}]})
    assert "positions" not in config["geometry"]["array"] and "x" not in config["geometry"]["grid"]
    mics = geometry.mic_positions(config["geometry"])
    np.testing.assert_allclose(mics[:, 0], 1.7 + (np.arange(16) - 7.5) * 0.15)
    x = np.unique(geometry.grid_xy(config["geometry"])[:, 0])
    np.testing.assert_allclose([x.min(), x.max()], [mics[0, 0] + 0.25, mics[-1, 0] - 0.25])


@pytest.mark.parametrize("change, key", [
    ({"array": {"positions": [*CIRCLE[:-1], [1.7, 9.0, 1.2]]}}, "geometry.array.positions"),
    ({"array": {"positions": CIRCLE, "n_mics": 16}}, "geometry.array.n_mics"),
    ({"array": {"positions": [[1.0, 2.0]] * 4}}, "geometry.array.positions[0]"),
    ({"array": {"positions": CIRCLE}, "grid": {"x": [0.1, 4.0]}}, "geometry.grid"),
    ({"array": {"positions": CIRCLE}, "grid": {"x": [2.5, 3.0]}}, "geometry.test_square"),
])
def test_a_bad_geometry_fails_naming_the_key(change, key):
    raw = circle_config()
    raw["geometry"] = change
    with pytest.raises(configuration.ConfigError) as err:
        configuration.validate(raw)
    assert key in str(err.value)


def test_the_tdoa_pair_is_checked_against_the_given_array():
    raw = circle_config()
    raw["tdoa"] = {"pairs": [[0, 1], [7, 8]]}  # the paper's pair, beyond a 6-mic array
    with pytest.raises(configuration.ConfigError,
                       match=r"tdoa\.pairs\[1\]: \[7, 8\] must be two different mics in 0\.\.5"):
        configuration.validate(raw)


# --- recorded conditions in the config ------------------------------------------------------------------------------

def test_a_recorded_condition_is_named_by_its_name_and_uses_the_models_it_names(good):
    from sslrp import step_settings

    config = configuration.validate(circle_config(good))
    assert list(configuration.conditions(config)) == ["SNR_20_T60_0.3", "lab_a"]
    assert step_settings.models_condition(config, "lab_a") == "SNR_20_T60_0.3"
    assert step_settings.models_condition(config, "SNR_20_T60_0.3") == "SNR_20_T60_0.3"
    files = step_settings.recording_files(config, "lab_a")
    assert files == [str(good), *(str(good.parent / f"r{i}.wav") for i in range(3))]
    assert names.condition_name({"name": "lab_a", "recordings": "m.csv"}) == "lab_a"


@pytest.mark.parametrize("condition, message", [
    ({"models_from": "SNR_1_T60_1"}, r"conditions\[1\]\.models_from: 'SNR_1_T60_1' is not a simulated condition"),
    ({"models_from": "lab_a"}, r"conditions\[1\]\.models_from: 'lab_a' is not a simulated condition"),
    ({"name": "bad/name"}, r"conditions\[1\]\.name"),
])
def test_a_bad_recorded_condition_fails_naming_the_key(good, condition, message):
    with pytest.raises(configuration.ConfigError, match=message):
        configuration.validate(circle_config(good, **condition))


def test_recordings_without_models_from_need_train_and_val_recordings(good):
    raw = circle_config(good)
    del raw["conditions"][1]["models_from"]
    with pytest.raises(configuration.ConfigError, match=r"conditions\[1\]\.recordings: .* has no train or val "
                                                         r"recording \(without models_from"):
        configuration.validate(raw)


def test_a_duplicate_condition_name_fails(good):
    raw = circle_config(good)
    raw["conditions"].append(dict(raw["conditions"][1]))
    with pytest.raises(configuration.ConfigError, match="duplicate condition.*lab_a"):
        configuration.validate(raw)


# --- the manifest's errors, each naming the line and the file --------------------------------------------------------

def read(manifest, n_mics=6):
    return recordings.read_manifest(manifest, n_mics, [3.6, 8.2, 2.4], FS, WINDOW)


def test_a_good_manifest_reads_in_order_with_splits(tmp_path):
    for i in range(3):
        write_wav(tmp_path / f"r{i}.wav", seed=i)
    rows = read(write_manifest(tmp_path, [("r0.wav", 1, 5, 1.2, "train"), ("r1.wav", 1.5, 5, 1.2, "val"),
                                          ("r2.wav", 2, 5, 1.2, "test")]))
    assert [r.split for r in rows] == ["train", "val", "test"] and [r.line for r in rows] == [2, 3, 4]
    assert rows[1].position == (1.5, 5.0, 1.2) and rows[2].file == tmp_path / "r2.wav"


def test_without_a_split_column_every_recording_is_a_test_recording(tmp_path):
    write_wav(tmp_path / "r0.wav")
    rows = read(write_manifest(tmp_path, [("r0.wav", 1, 5, 1.2)], split=False))
    assert [r.split for r in rows] == ["test"]


@pytest.mark.parametrize("make, row, message", [
    (lambda d: None, ("missing.wav", 1, 5, 1.2, "test"), "no such file"),
    (lambda d: write_wav(d / "a.wav", n_channels=4), ("a.wav", 1, 5, 1.2, "test"),
     "has 4 channel(s) but the array has 6 microphones"),
    (lambda d: write_wav(d / "a.wav"), ("a.wav", 1, 9.5, 1.2, "test"), "lies outside the room"),
    (lambda d: write_wav(d / "a.wav", seconds=0.02), ("a.wav", 1, 5, 1.2, "test"),
     "are shorter than one window (signals.window: 512)"),
    (lambda d: write_wav(d / "a.wav"), ("a.wav", 1, 5, 1.2, "training"), "unknown split 'training'"),
    (lambda d: write_wav(d / "a.wav"), ("a.wav", 1, "five", 1.2, "test"), "x, y, z must be numbers"),
    (lambda d: (d / "a.wav").write_text("not audio"), ("a.wav", 1, 5, 1.2, "test"), "cannot be read as a sound"),
])
def test_a_bad_row_fails_naming_the_line_and_the_file(tmp_path, make, row, message):
    write_wav(tmp_path / "ok.wav")
    make(tmp_path)
    manifest = write_manifest(tmp_path, [("ok.wav", 1, 5, 1.2, "test"), row])
    with pytest.raises(recordings.RecordingsError) as err:
        read(manifest)
    text = str(err.value)
    assert f"{manifest}, line 3 ({tmp_path / row[0]})" in text and message in text, text


def test_a_file_listed_twice_fails_naming_both_lines(tmp_path):
    write_wav(tmp_path / "a.wav")
    manifest = write_manifest(tmp_path, [("a.wav", 1, 5, 1.2, "test"), ("a.wav", 2, 5, 1.2, "test")])
    with pytest.raises(recordings.RecordingsError, match=r"line 3 .*listed twice \(also on line 2\)"):
        read(manifest)


def test_a_manifest_without_the_columns_or_rows_fails(tmp_path):
    (tmp_path / "m.csv").write_text("path,x,y\n")
    with pytest.raises(recordings.RecordingsError, match=r"missing \['file', 'z'\], unknown \['path'\]"):
        read(tmp_path / "m.csv")
    (tmp_path / "m.csv").write_text("file,x,y,z\n")
    with pytest.raises(recordings.RecordingsError, match="lists no recordings"):
        read(tmp_path / "m.csv")
    with pytest.raises(recordings.RecordingsError, match="cannot read the manifest"):
        read(tmp_path / "absent.csv")


def test_a_manifest_error_fails_config_validation_naming_the_condition(tmp_path):
    write_wav(tmp_path / "a.wav", n_channels=2)
    manifest = write_manifest(tmp_path, [("a.wav", 1.5, 5, 1.2, "test")])
    with pytest.raises(configuration.ConfigError, match=r"conditions\[1\]\.recordings: .*line 2 .*a\.wav.*2 channel"):
        configuration.validate(circle_config(manifest))


def test_non_finite_samples_fail_when_read_naming_the_line_and_the_file(tmp_path):
    samples = np.random.default_rng(0).normal(size=(FS // 5, 6))
    samples[100, 2] = np.nan
    sf.write(tmp_path / "a.wav", samples, FS, subtype="DOUBLE")
    manifest = write_manifest(tmp_path, [("a.wav", 1.5, 5, 1.2, "test")])
    (row,) = read(manifest)  # the header is fine: the samples are checked when they are read
    with pytest.raises(recordings.RecordingsError, match=r"line 2 \(.*a\.wav\): 1 sample\(s\) hold NaN or infinite "
                                                         r"values \(first at sample 100\)"):
        recordings.load(manifest, row, 6, FS, WINDOW)


def test_a_recording_is_resampled_with_resample_poly(tmp_path):
    written = write_wav(tmp_path / "a.wav", rate=44100, seconds=0.1, dtype="float64")
    (row,) = read(write_manifest(tmp_path, [("a.wav", 1.5, 5, 1.2, "test")]))
    samples, rate = recordings.load(tmp_path / "manifest.csv", row, 6, FS, WINDOW)
    assert rate == 44100
    np.testing.assert_allclose(samples, scipy.signal.resample_poly(written, 160, 441, axis=0).T)
    assert samples.shape[1] == recordings.resampled_length(len(written), 44100, FS)


# --- the gather step -----------------------------------------------------------------------------------------------

def test_gather_writes_the_recordings_into_the_dataset_layout(tmp_path, good, step_script):
    config = configuration.validate(circle_config(good))
    out = tmp_path / "lab_a.h5"
    step_script("gather_recordings").run([], str(out), **_settings(config))
    test = dataset.read_split(out, "test")
    assert len(dataset.read_split(out, "train", windows=False).position) == 0
    np.testing.assert_allclose(test.position, [[1.5 + 0.1 * i, 5.0, 1.2] for i in range(3)])
    # Independently: the third file at 48 kHz, resampled to 16 kHz, cut into non-overlapping windows.
    raw, _ = sf.read(good.parent / "r2.wav", dtype="float64", always_2d=True)
    signal = scipy.signal.resample_poly(raw, 1, 3, axis=0).T
    n = signal.shape[1] // WINDOW
    expected = signal[:, : n * WINDOW].reshape(6, n, WINDOW).transpose(1, 0, 2).astype(np.float32)
    np.testing.assert_array_equal(test.windows[test.source == 2], expected)
    np.testing.assert_array_equal(test.window[test.source == 2], np.arange(n))
    attrs = dataset.read_attrs(out)
    assert attrs["condition"] == "lab_a" and attrs["n_mics"] == 6 and attrs["recorded_rates"] == "[16000, 48000]"
    np.testing.assert_array_equal(attrs["mics"], CIRCLE)
    simulated = geometry.sources(config["geometry"], config["seed"])
    np.testing.assert_allclose(dataset.baseline_position(out), simulated.positions[simulated.train].mean(axis=0))
    with h5py.File(out) as f:
        assert f["test/windows"].fletcher32  # checksummed like a simulation's dataset


def test_gather_writes_nothing_when_a_recording_holds_nan(tmp_path, good, step_script):
    config = configuration.validate(circle_config(good))
    samples = np.random.default_rng(0).normal(size=(FS // 5, 6))
    samples[-1, 0] = np.inf
    sf.write(good.parent / "r1.wav", samples, FS, subtype="DOUBLE")  # after validation, as a later edit would
    out = tmp_path / "out" / "lab_a.h5"
    with pytest.raises(recordings.RecordingsError, match=r"line 3 \(.*r1\.wav\): 1 sample"):
        step_script("gather_recordings").run([], str(out), **_settings(config))
    assert not out.parent.exists() or not any(out.parent.iterdir())


def _settings(config):
    from sslrp import step_settings

    return step_settings.gather_recordings(config, "lab_a")


# --- the page ------------------------------------------------------------------------------------------------------

def test_the_page_says_where_a_recorded_condition_came_from_and_whether_it_was_resampled():
    from sslrp.report import page

    base = {"name": "lab_a", "manifest": "data/m.csv", "n_recordings": 3, "fs": 16000, "models_from": "SNR_20_T60_0.3"}
    note = page.recording_note({**base, "rates": [16000, 48000]})
    assert note == ("Recorded condition lab_a: 3 recordings listed in data/m.csv, recorded at 16000, 48000 Hz and "
                    "resampled to 16000 Hz with scipy.signal.resample_poly; explained with the models trained on "
                    "SNR_20_T60_0.3. Its T60 and SNR are not known (no row in the reverberation table).")
    note = page.recording_note({**base, "rates": [16000], "models_from": None})
    assert "used as recorded (no resampling); its models trained on its own train split." in note
