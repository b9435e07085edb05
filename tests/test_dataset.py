"""Tests for sslrp.data.dataset (and the simulate/gather steps behind it): layout, independence from the shard
count, clear errors for broken files, atomic writes."""

import copy
import json
import os
import shutil

import h5py
import numpy as np
import pytest

from sslrp import config as configuration
from sslrp import io
from sslrp.data import acoustics, corpus, dataset, geometry


def all_contents(path):
    """{name: array} of every dataset and {name: attrs} of every object in an HDF5 file."""
    arrays, attrs = {}, {}
    with h5py.File(path, "r") as f:
        attrs["/"] = dict(f.attrs)

        def visit(name, obj):
            attrs[name] = dict(obj.attrs)
            if isinstance(obj, h5py.Dataset):
                arrays[name] = obj[()]

        f.visititems(visit)
    return arrays, attrs


def test_dataset_does_not_depend_on_the_shard_count(tiny_dataset, tiny_corpus, tiny_config, tiny_dataset_builder,
                                                    tmp_path):
    three = tiny_dataset_builder(tiny_corpus, tmp_path, tiny_config, 3)
    arrays1, attrs1 = all_contents(tiny_dataset)
    arrays3, attrs3 = all_contents(three)
    assert sorted(arrays1) == sorted(arrays3)
    assert {"train/windows", "val/source", "test/position"} <= set(arrays1)
    for name in arrays1:
        assert arrays1[name].dtype == arrays3[name].dtype, name
        np.testing.assert_array_equal(arrays1[name], arrays3[name], err_msg=name)
    assert attrs1.keys() == attrs3.keys()
    for name in attrs1:
        assert attrs1[name].keys() == attrs3[name].keys(), name
        for key in attrs1[name]:
            np.testing.assert_array_equal(attrs1[name][key], attrs3[name][key], err_msg=f"{name}.{key}")


@pytest.fixture(scope="module")
def splits(tiny_dataset):
    return {split: dataset.read_split(tiny_dataset, split) for split in geometry.SPLITS}


def test_splits_partition_the_grid_as_the_geometry_does(splits, tiny_config):
    sources = geometry.sources(tiny_config["geometry"], tiny_config["seed"])
    assert (len(sources.train), len(sources.val), len(sources.test)) == (62, 16, 3)
    for split in geometry.SPLITS:
        part = splits[split]
        np.testing.assert_array_equal(part.source_index, getattr(sources, split))  # grid order
        np.testing.assert_array_equal(part.position, sources.positions[part.source_index])
    joined = np.concatenate([splits[s].source_index for s in geometry.SPLITS])
    np.testing.assert_array_equal(np.sort(joined), np.arange(81))


def test_per_window_arrays_index_the_per_source_arrays(splits, tiny_config, tiny_corpus, step_script):
    window = tiny_config["signals"]["window"]
    max_samples = int(tiny_config["signals"]["max_seconds"] * tiny_config["geometry"]["fs"])
    utterances = corpus.read(tiny_corpus)
    utterance_for = step_script("simulate_shard").utterance_for
    for split, part in splits.items():
        n_sources = len(part.position)
        assert part.windows.dtype == np.float32
        assert part.windows.shape == (len(part.source), 16, window)
        assert part.source.min() == 0 and part.source.max() == n_sources - 1
        assert np.all(np.diff(part.source) >= 0)  # a source's windows are consecutive
        for row in range(n_sources):
            mine = part.window[part.source == row]
            speech = utterances[part.utterance[row]].signal[:max_samples]
            np.testing.assert_array_equal(mine, np.arange(len(speech) // window))
            assert part.utterance[row] == utterance_for(part.source_index[row], len(utterances), tiny_config["seed"])
            assert part.signal(row, 3).shape == (len(mine) * window,)
        assert np.all(np.isfinite(part.correlation_time)) and np.all(part.correlation_time > 0)
        assert np.all((part.rt60 > 0) & (part.rt60 < 1))
        assert np.all(np.abs(part.windows).max(axis=(1, 2)) > 0)
    # Several utterances are used, and every source's windows differ (position and noise differ).
    assert len(np.unique(splits["train"].utterance)) > 1
    firsts = splits["train"].windows[splits["train"].window == 0]
    assert len(np.unique(firsts[:, 0, 100])) == len(firsts)


def test_windows_hold_the_simulated_source(splits, tiny_config, tiny_corpus):
    # Re-simulate one test source from scratch: the stored windows are exactly its recording.
    part, row = splits["test"], 1
    config = tiny_config
    (condition,) = configuration.conditions(config).values()
    speech = corpus.read(tiny_corpus)[part.utterance[row]].signal[: int(0.3 * 16000)]
    rec = acoustics.simulate_source(
        part.source_index[row], part.position[row], speech, part.utterance[row],
        geometry.mic_positions(config["geometry"]), condition, config["geometry"], 512, config["seed"],
    )
    np.testing.assert_array_equal(part.windows[part.source == row], rec.windows)
    assert part.correlation_time[row] == rec.correlation_time


def test_attributes_describe_the_dataset(tiny_dataset, tiny_config):
    attrs = dataset.read_attrs(tiny_dataset)
    assert attrs["condition"] == "SNR_20_T60_0.3"
    assert (attrs["fs"], attrs["t60"], attrs["snr"], attrs["window"], attrs["n_mics"]) == (16000, 0.3, 20, 512, 16)
    assert attrs["max_order"] == 2 and attrs["seed"] == 7
    assert attrs["room"] == [3.6, 8.2, 2.4]
    np.testing.assert_allclose(attrs["mics"], geometry.mic_positions(tiny_config["geometry"]))
    # max_order 2 cuts the decay short: measured, not assumed. The seeded image-source RIRs give 0.1276 s; the
    # bound (4 %) allows a pyroomacoustics update's rounding, a wrong order, absorption or fit moves it further.
    assert attrs["t60_measured"] == pytest.approx(0.128, abs=0.005)
    assert {"numpy", "pyroomacoustics", "h5py"} <= set(attrs["versions"])
    assert len(attrs["config_hash"]) == 16


def test_config_hash_follows_the_recipe_not_the_shard_count(step_script, tiny_config):
    gather = step_script("gather_dataset")
    (name, condition), = configuration.conditions(tiny_config).items()
    base = gather.dataset_attrs(name, condition, tiny_config["geometry"], tiny_config["signals"],
                                tiny_config["corpus"], 7)
    other = copy.deepcopy(tiny_config)
    other["simulation"]["shards"] = 5
    assert gather.dataset_attrs(name, condition, other["geometry"], other["signals"], other["corpus"],
                                7)["config_hash"] == base["config_hash"]
    assert gather.dataset_attrs(name, condition, tiny_config["geometry"], tiny_config["signals"],
                                tiny_config["corpus"], 8)["config_hash"] != base["config_hash"]


# --- broken files -------------------------------------------------------------------------------

@pytest.mark.parametrize("keep", [0.5, 0.95, 2048])
def test_truncated_dataset_raises_dataset_error_naming_the_file(tiny_dataset, tmp_path, keep):
    broken = tmp_path / "truncated.h5"
    shutil.copy(tiny_dataset, broken)
    size = broken.stat().st_size
    with open(broken, "r+b") as f:
        f.truncate(int(size * keep) if keep < 1 else keep)
    with pytest.raises(dataset.DatasetError) as err:
        dataset.read_split(broken, "train")
    assert str(broken) in str(err.value)
    with pytest.raises(dataset.DatasetError, match="truncated.h5"):
        dataset.read_attrs(broken)


def test_missing_file_or_group_raises_dataset_error(tmp_path, tiny_dataset):
    with pytest.raises(dataset.DatasetError, match="absent.h5"):
        dataset.read_split(tmp_path / "absent.h5", "test")
    partial = tmp_path / "partial.h5"
    with h5py.File(partial, "w") as f:
        f.create_group("train")["position"] = np.zeros((1, 3))
    with pytest.raises(dataset.DatasetError, match="partial.h5.*'test'"):
        dataset.read_split(partial, "test")
    with pytest.raises(dataset.DatasetError, match="partial.h5.*'train'"):
        dataset.read_split(partial, "train")
    with pytest.raises(ValueError, match="split"):
        dataset.read_split(tiny_dataset, "validation")


def test_read_split_can_skip_the_windows(tiny_dataset):
    part = dataset.read_split(tiny_dataset, "val", windows=False)
    assert part.windows is None and len(part.source) > 0


def test_gather_names_a_broken_shard_and_writes_nothing(tmp_path):
    bad = tmp_path / "shard-0.h5"
    bad.write_bytes(b"\x89HDF\r\n" + b"\0" * 100)
    out = tmp_path / "data.h5"
    with pytest.raises(dataset.DatasetError, match="shard-0.h5"):
        dataset.gather([bad], out, np.array(["train"], dtype=object), {})
    assert not out.exists()


# --- atomic writes ------------------------------------------------------------------------------

def recording(index, n_windows, width=8):
    return acoustics.SourceRecording(
        index=index, position=np.array([1.0, 5.0, 1.2]), utterance=0,
        windows=np.ones((n_windows, 2, width), np.float32), correlation_time=3.0, rt60=0.2,
    )


def test_failed_shard_write_leaves_no_file(tmp_path):
    out = tmp_path / "shards" / "shard-0.h5"
    with pytest.raises(ValueError):
        dataset.write_shard(out, [recording(0, 2), recording(1, 2, width=9)], {})  # windows do not stack
    assert list(out.parent.iterdir()) == []


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "result.json"
    io.write_json(path, {"version": 1})
    with pytest.raises(RuntimeError):
        with io.atomic_path(path) as tmp:
            tmp.write_text("half written")
            raise RuntimeError("killed")
    assert json.loads(path.read_text()) == {"version": 1}
    assert os.listdir(tmp_path) == ["result.json"]


def test_gather_and_read_round_trip_with_an_empty_split(tmp_path):
    # A 4 x 4 grid has no point inside the test square: the split is empty but well formed.
    shard = tmp_path / "shard-0.h5"
    dataset.write_shard(shard, [recording(0, 2), recording(1, 3), recording(2, 1)], {"shard": 0})
    split_of = np.array(["train", "val", "train"], dtype=object)
    out = tmp_path / "data.h5"
    dataset.gather([shard], out, split_of, {"condition": "x"})
    train, test = dataset.read_split(out, "train"), dataset.read_split(out, "test")
    np.testing.assert_array_equal(train.source_index, [0, 2])
    np.testing.assert_array_equal(train.source, [0, 0, 1])
    np.testing.assert_array_equal(train.window, [0, 1, 0])
    assert test.windows.shape == (0, 2, 8) and test.position.shape == (0, 3)
    assert dataset.read_attrs(out)["t60_measured"] == pytest.approx(0.2)
    assert sorted(os.listdir(tmp_path)) == ["data.h5", "shard-0.h5"]
