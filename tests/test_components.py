"""Tests for sslrp.data.components and the components step: the direct, early and late parts of pyroomacoustics'
RIRs and the sensor noise sum to the RIR and to the stored window, each part holds the images it should, and the
components file is checked like the dataset. Expected values come from the geometry by hand, from
acoustics.room_rirs / simulate_source (the dataset's own code) or from the stored dataset, never from the code
under test."""

import subprocess
import sys

import h5py
import numpy as np
import pytest

from sslrp import config as configuration
from sslrp import seeding, step_settings
from sslrp.data import acoustics, components, dataset
from sslrp.names import COMPONENTS

FS = 16000
C = 343.0  # pyroomacoustics' speed of sound (its constant "c")
LEAD = 40  # pyroomacoustics delays every RIR by half its 81-tap fractional-delay filter
ROOM = [3.6, 8.2, 2.4]
SOURCE = np.array([1.7, 5.5, 1.3])
MICS = np.array([[1.7, 7.0, 1.2], [1.0, 7.0, 1.2], [2.45, 7.0, 1.2]])
HALF_ULP = 2.0**-24  # float32's relative rounding error


def float32_bound(parts, windows):
    """Per sample: how far the sum of float32 parts may be from the float32 window, each of the five values being a
    float64 rounded once to float32 (half an ulp of its own magnitude), plus a float64 margin."""
    magnitude = sum(np.abs(parts[name].astype(np.float64)) for name in COMPONENTS) + np.abs(windows)
    return HALF_ULP * magnitude * 1.0001 + 1e-30


@pytest.fixture
def no_highpass():
    """pyroomacoustics without its RIR high-pass filter (a zero-phase IIR filter that spreads every image a little
    over the whole RIR), so that a part is exactly zero where none of its images reaches."""
    import pyroomacoustics as pra

    before = pra.constants.get("rir_hpf_enable")
    pra.constants.set("rir_hpf_enable", False)
    yield
    pra.constants.set("rir_hpf_enable", before)


# --- the RIR split ------------------------------------------------------------------------------

@pytest.mark.parametrize("t60, max_order", [(0.3, 8), (0.6, 4)])
def test_rir_parts_sum_to_the_full_rir(t60, max_order):
    full = acoustics.room_rirs(SOURCE, MICS, ROOM, FS, t60, max_order)
    parts = components.split_rirs(SOURCE, MICS, ROOM, FS, t60, max_order, early_ms=20)
    assert set(parts) == {"direct", "early", "late"}
    for name, part in parts.items():
        assert part.shape == full.shape, name
        assert np.sum(part**2) > 1e-3 * np.sum(full**2), f"{name} is (nearly) empty in a reverberant room"
    total = parts["direct"] + parts["early"] + parts["late"]
    assert np.abs(total - full).max() <= 1e-15 * np.abs(full).max()


def test_one_image_room_has_only_a_direct_part():
    full = acoustics.room_rirs(SOURCE, MICS, ROOM, FS, 0.3, max_order=0)
    parts = components.split_rirs(SOURCE, MICS, ROOM, FS, 0.3, max_order=0)
    # Bit-equal: the direct part is built from the same image by the same builder and filtered as compute_rir does.
    np.testing.assert_array_equal(parts["direct"], full)
    assert not parts["early"].any()
    assert not parts["late"].any()


def test_direct_part_peaks_at_the_propagation_delay():
    distance = np.linalg.norm(MICS - SOURCE, axis=1)
    expected = distance / C * FS + LEAD  # fractional sample of the direct sound's arrival
    parts = components.split_rirs(SOURCE, MICS, ROOM, FS, 0.3, max_order=10)
    for m in range(len(MICS)):
        direct = parts["direct"][m]
        peak = int(np.argmax(np.abs(direct)))
        assert abs(peak - expected[m]) <= 0.5, (m, peak, expected[m])
        # pyroomacoustics scales an image by 1/d; the fractional-delay filter's peak sample keeps >= 0.6 of it.
        assert 0.6 / distance[m] <= direct[peak] <= 1.0 / distance[m]
        # Away from its 81-tap filter, the direct part holds only the high-pass filter's faint spread.
        far = np.r_[direct[: peak - 41], direct[peak + 41 :]]
        assert np.abs(far).max() < 0.01 * direct[peak]


def test_late_images_are_in_the_late_part_only(no_highpass):
    """Mic 0 (1.7, 7.0, 1.2), source (1.7, 5.5, 1.3), first-order images only: the floor, ceiling, side and back
    walls' images arrive 3.6 to 7.5 ms after the direct sound, the front wall's (y = 0, image at y = -5.5) 32 ms
    after it. With early_ms 20 that one image is late, the others early."""
    import pyroomacoustics as pra

    mic = MICS[:1]
    absorption, _ = pra.inverse_sabine(0.3, ROOM)
    x, y, z = SOURCE
    images = np.array([[-x, y, z], [2 * ROOM[0] - x, y, z], [x, -y, z], [x, 2 * ROOM[1] - y, z], [x, y, -z],
                       [x, y, 2 * ROOM[2] - z]])
    d0 = np.linalg.norm(mic[0] - SOURCE)
    d = np.linalg.norm(images - mic[0], axis=1)
    delay_ms = (d - d0) / C * 1000
    is_late = delay_ms > 20
    assert is_late.sum() == 1 and delay_ms[is_late][0] > 30 and delay_ms[~is_late].max() < 8  # the setup above
    late_arrival = d[is_late][0] / C * FS + LEAD
    last_early = d[~is_late].max() / C * FS + LEAD

    parts = components.split_rirs(SOURCE, mic, ROOM, FS, 0.3, max_order=1, early_ms=20)
    early, late = parts["early"][0], parts["late"][0]
    # The early part ends with its last image's 81-tap filter; the late part starts with its image's.
    assert np.any(early[: int(last_early) + 1])
    assert not early[int(last_early) + 42 :].any()
    scale = np.abs(parts["direct"]).max()
    assert np.abs(late[: int(late_arrival) - 41]).max() <= 1e-6 * scale  # float32 rounding of the full RIR only
    # The late part is that image: at its arrival, scaled by the wall's reflection sqrt(1 - absorption) / d.
    peak = int(np.argmax(np.abs(late)))
    assert abs(peak - late_arrival) <= 0.5
    amplitude = np.sqrt(1 - absorption) / d[is_late][0]
    assert 0.6 * amplitude <= late[peak] <= 1.0001 * amplitude


def test_early_ms_moves_images_between_early_and_late():
    short = components.split_rirs(SOURCE, MICS, ROOM, FS, 0.3, max_order=8, early_ms=5)
    long = components.split_rirs(SOURCE, MICS, ROOM, FS, 0.3, max_order=8, early_ms=60)
    energy = {name: (np.sum(short[name] ** 2), np.sum(long[name] ** 2)) for name in ("early", "late")}
    assert energy["early"][0] < energy["early"][1]
    assert energy["late"][0] > energy["late"][1]
    np.testing.assert_array_equal(short["direct"], long["direct"])


# --- one source's windows -----------------------------------------------------------------------

def test_source_components_sum_to_the_simulated_windows():
    condition = {"t60": 0.3, "snr": 10, "max_order": 6}
    geometry_settings = {"room": ROOM, "fs": FS}
    speech = np.random.default_rng(4).normal(size=3000) * np.hanning(3000)
    seed, index, window = 11, 5, 512
    stored = acoustics.simulate_source(index, SOURCE, speech, 0, MICS, condition, geometry_settings, window,
                                       seed).windows
    parts = components.source_components(index, SOURCE, speech, MICS, condition, geometry_settings, window, seed)
    assert list(parts) == list(COMPONENTS)
    for name, values in parts.items():
        assert values.dtype == np.float32 and values.shape == stored.shape, name
    total = sum(parts[name].astype(np.float64) for name in COMPONENTS)
    assert np.all(np.abs(total - stored) <= float32_bound(parts, stored))
    # The noise is simulate_source's draw: the same generator, its power set by the full reverberant signal.
    reverberant = acoustics.reverberant(speech, acoustics.room_rirs(SOURCE, MICS, ROOM, FS, 0.3, 6))
    noisy = acoustics.add_noise(reverberant, 10, seeding.rng(seed, "noise", index))
    expected_noise = acoustics.windows(noisy - reverberant, window)
    np.testing.assert_allclose(parts["noise"], expected_noise, rtol=1e-6, atol=1e-9 * np.abs(expected_noise).max())
    speech_parts = parts["direct"].astype(np.float64) + parts["early"] + parts["late"]
    np.testing.assert_allclose(speech_parts, acoustics.windows(reverberant, window),
                               atol=4 * HALF_ULP * np.abs(reverberant).max())


# --- the step on the tiny dataset ---------------------------------------------------------------

N_WINDOWS = 8


@pytest.fixture(scope="module")
def tiny_components(tmp_path_factory, step_script, tiny_config, tiny_dataset, tiny_corpus, tiny_cond):
    out = tmp_path_factory.mktemp("components") / f"{tiny_cond}.h5"
    settings = step_settings.components(tiny_config, tiny_cond)
    step_script("components").run(str(tiny_dataset), str(tiny_corpus), str(out),
                                   **{**settings, "n_windows": N_WINDOWS})
    return out


def test_step_components_sum_to_every_stored_test_window(tiny_components, tiny_dataset, tiny_config):
    test = dataset.read_split(tiny_dataset, "test")
    read = components.read_components(tiny_components)
    assert len(test.source) > N_WINDOWS  # a subset, not every window
    assert read.test_row.tolist() == seeding.subset(N_WINDOWS, len(test.source), tiny_config["seed"]).tolist()
    assert read.early_ms == tiny_config["components"]["early_ms"] == 50
    assert read.seed == tiny_config["seed"] and read.n_windows == N_WINDOWS
    windows = test.windows[read.test_row]
    total = sum(read.parts[name].astype(np.float64) for name in COMPONENTS)
    assert np.all(np.abs(total - windows) <= float32_bound(read.parts, windows))
    for name in COMPONENTS:
        assert read.parts[name].shape == windows.shape
        energy = np.sum(read.parts[name].astype(np.float64) ** 2, axis=(1, 2))
        assert np.all(energy > 0), f"{name} is silent in some window"
    # The direct sound is the loudest part of speech windows at T60 0.3 s with the image order capped at 2.
    assert np.sum(read.parts["direct"].astype(np.float64) ** 2) > np.sum(read.parts["late"].astype(np.float64) ** 2)


def test_step_command_line_writes_the_same_file(tiny_components, tiny_config_file, tiny_dataset, tiny_corpus,
                                                  tiny_cond, tiny_config, tmp_path):
    out = tmp_path / "cli.h5"
    script = configuration.__file__.rsplit("/sslrp/", 1)[0] + "/components.py"
    subprocess.run([sys.executable, script, "--config", str(tiny_config_file), "--cond", tiny_cond,
                    "--data", str(tiny_dataset), "--corpus", str(tiny_corpus), "--out", str(out)], check=True)
    read = components.read_components(out)
    n_test = len(dataset.read_split(tiny_dataset, "test", windows=False).source)
    assert len(read.test_row) == min(tiny_config["explanations"]["windows"], n_test)
    assert components.check_against_dataset(out, tiny_dataset) <= components.TOLERANCE
    ours = components.read_components(tiny_components)
    shared = np.flatnonzero(np.isin(read.test_row, ours.test_row))
    for name in COMPONENTS:  # deterministic: the same test rows give the same parts
        np.testing.assert_array_equal(read.parts[name][shared], ours.parts[name])


def test_check_names_the_file_and_row_of_a_part_that_does_not_sum(tiny_components, tiny_dataset, tmp_path):
    read = components.read_components(tiny_components)
    parts = {name: values.copy() for name, values in read.parts.items()}
    parts["late"][2, 5, 100] += 1e-3 * np.abs(parts["direct"][2]).max()
    bad = tmp_path / "bad.h5"
    components.write_components(bad, read.condition, read.test_row, parts, read.early_ms, read.seed, read.n_windows)
    with pytest.raises(dataset.DatasetError) as err:
        components.check_against_dataset(bad, tiny_dataset)
    assert str(bad) in str(err.value) and f"row {int(read.test_row[2])}" in str(err.value)


def test_corrupt_or_missing_components_file_is_refused_by_name(tiny_components, tmp_path):
    missing = tmp_path / "missing.h5"
    with pytest.raises(dataset.DatasetError, match=str(missing)):
        components.read_components(missing)
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(tiny_components.read_bytes())
    with h5py.File(corrupt, "r") as f:
        offset = f["early"].id.get_chunk_info(0).byte_offset
    with open(corrupt, "r+b") as f:
        f.seek(offset + 100)
        byte = f.read(1)
        f.seek(offset + 100)
        f.write(bytes([byte[0] ^ 0x10]))
    with pytest.raises(dataset.DatasetError, match="early") as err:
        components.read_components(corrupt)
    assert str(corrupt) in str(err.value)
    non_finite = tmp_path / "nan.h5"
    read = components.read_components(tiny_components)
    parts = {**read.parts, "noise": read.parts["noise"].copy()}
    parts["noise"][1, 0, 0] = np.nan
    components.write_components(non_finite, read.condition, read.test_row, parts, read.early_ms, read.seed,
                                read.n_windows)
    with pytest.raises(dataset.DatasetError, match=f"noise of test row window\\(s\\) {int(read.test_row[1])} "):
        components.read_components(non_finite)
    with h5py.File(non_finite, "a") as f:
        del f["late"]
    with pytest.raises(dataset.DatasetError, match="'late'") as err:
        components.read_components(non_finite)
    assert str(non_finite) in str(err.value)


# --- settings -----------------------------------------------------------------------------------

def test_config_keys_have_their_defaults_and_bounds():
    config = configuration.validate({"conditions": [{"t60": 0.3, "snr": 20}]})
    assert config["components"]["early_ms"] == 50 and config["explanations"]["windows"] == 32
    assert list(configuration.validate({"conditions": [{"t60": 0.3, "snr": 20}]})["explanations"]) == ["windows"]
    for bad in ({"components": {"early_ms": 0}}, {"explanations": {"windows": 0}}):
        with pytest.raises(configuration.ConfigError):
            configuration.validate({"conditions": [{"t60": 0.3, "snr": 20}], **bad})


def test_a_recorded_condition_has_no_components(tmp_path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,x,y,z\n")
    config = {"conditions": [{"t60": 0.3, "snr": 20}, {"name": "lab", "recordings": str(manifest)}]}
    with pytest.raises(configuration.ConfigError, match="recorded"):
        step_settings.components(configuration.validate(config), "lab")



def test_read_windows_reads_the_given_rows_and_names_the_file_for_a_missing_one(tiny_dataset):
    test = dataset.read_split(tiny_dataset, "test")
    rows = np.array([0, 3, len(test.source) - 1])
    np.testing.assert_array_equal(dataset.read_windows(tiny_dataset, "test", rows), test.windows[rows])
    with pytest.raises(dataset.DatasetError, match=f"{tiny_dataset}.*no row {len(test.source)}"):
        dataset.read_windows(tiny_dataset, "test", [len(test.source)])
