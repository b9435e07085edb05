"""The data steps as command lines on a tiny config: corpus.py -> simulate_shard.py (2 shards) ->
gather_dataset.py, each in its own process, as a user (or a cluster job) would run them."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from sslrp.data import corpus, dataset, geometry

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"


def step(name, *args, cwd):
    return subprocess.run(
        [sys.executable, str(SCRIPTS / f"{name}.py"), *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )


def ok(result):
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, tiny_config_file, tiny_cond):
    """Run the three steps once; returns the folder with their outputs and logs."""
    work = tmp_path_factory.mktemp("cli")
    cfg = ("--config", tiny_config_file)
    ok(step("corpus", *cfg, "--out", work / "speech.h5", "--log", work / "corpus.log", cwd=work))
    for shard in (0, 1):
        ok(step("simulate_shard", *cfg, "--corpus", work / "speech.h5", "--cond", tiny_cond, "--shard", shard,
                "--out", work / f"shard-{shard}.h5", "--log", work / f"shard-{shard}.log", cwd=work))
    ok(step("gather_dataset", *cfg, "--cond", tiny_cond, "--out", work / f"{tiny_cond}.h5",
            "--log", work / "gather.log", work / "shard-0.h5", work / "shard-1.h5", cwd=work))
    return work


def test_corpus_cli_writes_the_configured_corpus(pipeline, tiny_corpus):
    utterances = corpus.read(pipeline / "speech.h5")
    assert len(utterances) == 4
    # Built in another process, yet identical to the in-process build of the same config.
    for a, b in zip(utterances, corpus.read(tiny_corpus)):
        assert a.label == b.label
        np.testing.assert_array_equal(a.signal, b.signal)
    assert "4 utterances" in (pipeline / "corpus.log").read_text()


def test_simulate_shard_cli_writes_its_half_of_the_sources(pipeline):
    import h5py

    seen = []
    for shard in (0, 1):
        with h5py.File(pipeline / f"shard-{shard}.h5", "r") as f:
            index = f["source_index"][:]
            np.testing.assert_array_equal(index, geometry.shard_indices(81, shard, 2))
            assert f["windows"].shape == (f["n_windows"][:].sum(), 16, 512)
            seen.extend(index)
        assert "shard %d/2: %d sources" % (shard + 1, len(index)) in (pipeline / f"shard-{shard}.log").read_text()
    assert sorted(seen) == list(range(81))


def test_gathered_cli_dataset_opens_and_equals_the_in_process_one(pipeline, tiny_dataset, tiny_cond):
    out = pipeline / f"{tiny_cond}.h5"
    for split in geometry.SPLITS:
        cli, ref = dataset.read_split(out, split), dataset.read_split(tiny_dataset, split)
        assert len(cli.position) > 0
        for name in ("windows", "source", "window", "position", "source_index", "utterance", "correlation_time"):
            np.testing.assert_array_equal(getattr(cli, name), getattr(ref, name), err_msg=f"{split}/{name}")
    cli_attrs, ref_attrs = dataset.read_attrs(out), dataset.read_attrs(tiny_dataset)
    assert cli_attrs["config_hash"] == ref_attrs["config_hash"]
    log = (pipeline / "gather.log").read_text()
    assert "test: 3 sources" in log and "measured T60" in log


@pytest.mark.parametrize("name", ["corpus", "simulate_shard", "gather_dataset"])
def test_each_step_has_a_help_text(name, tmp_path):
    result = ok(step(name, "--help", cwd=tmp_path))
    assert "--config" in result.stdout and "--out" in result.stdout


def test_unknown_condition_is_refused_with_the_known_ones(pipeline, tiny_config_file, tiny_cond):
    result = step("simulate_shard", "--config", tiny_config_file, "--corpus", pipeline / "speech.h5",
                  "--cond", "SNR_99_T60_9", "--out", pipeline / "nope.h5", cwd=pipeline)
    assert result.returncode != 0
    assert "--cond" in result.stderr and tiny_cond in result.stderr
    assert not (pipeline / "nope.h5").exists()


def test_bad_config_is_refused_naming_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"conditions": [{"t60": -0.1, "snr": 20}]}))
    result = step("corpus", "--config", bad, "--out", tmp_path / "speech.h5", cwd=tmp_path)
    assert result.returncode != 0
    assert "conditions[0].t60" in result.stderr
    assert not (tmp_path / "speech.h5").exists()


def test_missing_corpus_file_is_named(tmp_path, tiny_config_file, tiny_cond):
    result = step("simulate_shard", "--config", tiny_config_file, "--corpus", tmp_path / "no-corpus.h5",
                  "--cond", tiny_cond, "--out", tmp_path / "shard.h5", cwd=tmp_path)
    assert result.returncode != 0
    assert "no-corpus.h5" in result.stderr and "CorpusError" in result.stderr
    assert not (tmp_path / "shard.h5").exists()
