"""Data integrity and recovery (issues 12 and 22): corrupt or non-finite data never passes silently, every error names
the file and says what to do, the advised recovery command works, and killed jobs leave nothing behind.

Fault classes covered (each test reproduces the fault and asserts the message; `where` catches it):

| fault                                          | where                  | test_...                             |
|------------------------------------------------|------------------------|--------------------------------------|
| HDF5 array written without a checksum          | io.write_array         | every_written_hdf5_array_carries_... |
| flipped byte in a dataset's windows            | Fletcher-32, _read     | flipped_byte_fails_naming_the_file...|
| random bytes anywhere in a dataset             | checksum, readers      | random_bytes_never_pass_silently     |
| NaN window that training never draws           | read_split, up front   | nan_window_fails_naming_file_split...|
| NaN window in a simulation shard               | dataset.gather         | gather_refuses_a_nan_window_...      |
| NaN test window reaching evaluate              | read_split             | nan_test_window_fails_evaluate_...   |
| `"mae": NaN` written as JSON                   | io.write_json          | json_never_holds_nan                 |
| NaN error in sources.csv (best = worst)        | select_sources         | select_sources_refuses_non_finite... |
| corrupt or NaN relevance file                  | read_relevance         | broken_relevance_file_is_named       |
| "checkpoint" that is not one (pop from empty)  | models.load            | non_checkpoint_fails_naming_the_file |
| checkpoint with NaN weights                    | models.load            | nan_weights_fail_naming_the_check... |
| checkpoints of identical runs differ (PID)     | io.save_torch          | identical_runs_write_byte_identical..|
| audio file that is not audio                   | corpus (wav_dir)       | unreadable_audio_file_is_named       |
| WAV shorter than one window                    | corpus step            | short_wav_is_refused_by_the_corpus...|
| corrupt corpus file                            | corpus.read            | corrupt_corpus_names_the_file_and... |
| short utterance in a corpus built before that  | simulate_shard         | simulation_names_a_short_utterance...|
| test square off the grid, empty train/val      | config.validate        | config_that_cannot_run_fails_at_...  |
| split, shards > sources, window > max_seconds, |                        |                                      |
| grid outside the room                          |                        |                                      |
| step CLI given an unknown --cond               | steps.StepParser       | unknown_condition_is_refused_by_...  |
| temporary left by a killed job                 | io.atomic_path         | killed_job_leaves_no_temporary_...   |
| (and a running job's temporary is kept)        |                        | temporaries_of_running_jobs_are_kept |
| advice that fails ("delete it and re-run")     | io.rebuild_advice      | advised_command_plans_the_rebuild... |
| second round (issue 22):                       |                        |                                      |
| truncated / empty / foreign `.resume.pt`, then | training._read_state   | damaged_resume_state_is_set_aside... |
| the README's recovery (`--rerun-incomplete`)   |                        | rerun_incomplete_recovers_from_a_... |
| `pretrained:` checkpoint with NaN weights      | models.load(user_file) | broken_pretrained_checkpoint_says... |
| (advice `--forcerun` fails: no rule builds it) |                        |                                      |
| `wav_dir` whose WAV files are all silent       | corpus._wav_dir        | silent_wav_dir_names_the_folder_...  |
| NaN or infinite T60/SNR, T60 below the room's  | config._check_finite,  | impossible_condition_fails_at_val... |
| Sabine limit or above 10 s, SNR beyond +-150 dB| _check_conditions      | advised_t60_and_snr_limits_simulate  |
| `.nan` SNR given to `snakemake`                | common.smk validation  | snakemake_refuses_a_nan_snr_befor... |
| duplicate `manipulation.percents`              | config._check_semantics| duplicate_manipulation_percents_a... |
| gather given 1 of 2 shards, another condition's| dataset.check_shards   | gather_refuses_a_partial_or_forei... |
| shard, or a shard twice                        |                        |                                      |
| gather given shards simulated with another     | dataset.check_shards   | gather_refuses_shards_simulated_w... |
| window or seed (any setting the data depend on)|                        |                                      |
| config file not YAML, empty, a list (step CLI, | steps.load_config,     | step_cli_names_a_config_file_it_c... |
| and the README's `python -m sslrp.config`)     | config.load            |                                      |
| ENOSPC while gathering (segfault in h5py close)| dataset._new_hdf5      | write_failure_in_gather_leaves_no... |
|                                                |                        | full_disk_gather_fails_cleanly       |
"""

import csv
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import soundfile
import torch

from conftest import REPO, SCRIPTS
from sslrp import config as configuration
from sslrp import io
from sslrp.data import corpus, dataset
from sslrp.localize import models

FORCERUN = re.compile(r"`snakemake --cores 2 --forcerun (\S+)`")


def copy_of(path, tmp_path, name=None):
    target = tmp_path / (name or path.name)
    shutil.copy(path, target)
    return target


def datasets_in(path):
    """{name: h5py dataset description} of every array in an HDF5 file."""
    found = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: found.__setitem__(name, obj.fletcher32)
                     if isinstance(obj, h5py.Dataset) else None)
    return found


def flip_byte_in_chunk(path, dset_name, chunk=0):
    with h5py.File(path, "r") as f:
        offset = f[dset_name].id.get_chunk_info(chunk).byte_offset
    with open(path, "r+b") as f:
        f.seek(offset + 100)
        byte = f.read(1)
        f.seek(offset + 100)
        f.write(bytes([byte[0] ^ 0x10]))


def assert_names_file_and_command(message, path):
    assert str(path) in message
    assert FORCERUN.search(message), message
    assert FORCERUN.search(message).group(1) == str(path)


# --- checksums ---------------------------------------------------------------------------------

def test_every_written_hdf5_array_carries_a_checksum(tiny_dataset, tiny_corpus, tmp_path, tiny_config):
    from sslrp.data import acoustics

    shard = tmp_path / "shard.h5"
    recording = acoustics.SourceRecording(0, np.zeros(3), 0, np.ones((2, 2, 8), np.float32), 1.0, 0.2)
    dataset.write_shard(shard, [recording], {})
    relevance = tmp_path / "relevance.h5"
    test = dataset.read_split(tiny_dataset, "test")
    dataset.write_relevance(relevance, np.zeros_like(test.windows), np.zeros((len(test.windows), 3)), test, {})
    for path in (tiny_dataset, tiny_corpus, shard, relevance):
        arrays = datasets_in(path)
        assert arrays and all(arrays.values()), (path, arrays)


def test_flipped_byte_fails_naming_the_file_and_the_dataset(tiny_dataset, tmp_path):
    broken = copy_of(tiny_dataset, tmp_path)
    flip_byte_in_chunk(broken, "train/windows", chunk=5)
    with pytest.raises(dataset.DatasetError) as err:
        dataset.read_split(broken, "train")
    message = str(err.value)
    assert "/train/windows" in message and "filter returned failure" in message  # HDF5's own words kept
    assert_names_file_and_command(message, broken)
    assert isinstance(err.value.__cause__, OSError)


def test_random_bytes_never_pass_silently(tiny_dataset, tmp_path):
    """4 KiB of random bytes at many places: every read either gives the original values or a DatasetError
    naming the file; never other values, never an error without the file's name."""
    reference = {split: dataset.read_split(tiny_dataset, split) for split in ("train", "val", "test")}
    size = tiny_dataset.stat().st_size
    rng = np.random.default_rng(12)
    for offset in np.linspace(0, size - 4096, 40).astype(int):
        broken = copy_of(tiny_dataset, tmp_path, "broken.h5")
        with open(broken, "r+b") as f:
            f.seek(offset)
            f.write(rng.bytes(4096))
        try:
            dataset.read_attrs(broken)
            for split, ref in reference.items():
                part = dataset.read_split(broken, split)
                for name in ("windows", "source", "window", "position", "source_index", "utterance"):
                    np.testing.assert_array_equal(getattr(part, name), getattr(ref, name),
                                                  err_msg=f"offset {offset}: {split}/{name} changed silently")
        except dataset.DatasetError as err:
            assert str(broken) in str(err), (offset, err)


# --- finite values -----------------------------------------------------------------------------

def with_nan(path, tmp_path, dset, index, name="nan.h5"):
    broken = copy_of(path, tmp_path, name)
    with h5py.File(broken, "r+") as f:
        values = f[dset][index]
        values[...] = np.nan
        f[dset][index] = values
    return broken


def test_nan_window_fails_naming_file_split_and_window(tiny_dataset, tmp_path):
    broken = with_nan(tiny_dataset, tmp_path, "train/windows", 7)
    with pytest.raises(dataset.DatasetError, match=r"split 'train', window\(s\) 7 hold NaN") as err:
        dataset.read_split(broken, "train")
    assert_names_file_and_command(str(err.value), broken)
    dataset.read_split(broken, "train", windows=False)  # the per-source arrays are intact
    dataset.read_split(broken, "test")


def test_gather_refuses_a_nan_window_naming_the_shard(tmp_path):
    from sslrp.data import acoustics

    windows = np.ones((3, 2, 8), np.float32)
    windows[1, 0, 4] = np.inf
    shard = tmp_path / "shard-0.h5"
    dataset.write_shard(shard, [acoustics.SourceRecording(5, np.ones(3), 0, windows, 1.0, 0.2)], {})
    out = tmp_path / "data.h5"
    with pytest.raises(dataset.DatasetError, match=r"shard-0.h5: source 5's window\(s\) 1 hold NaN or infinite"):
        dataset.gather([shard], out, np.array(["train"] * 6, dtype=object), {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard-0.h5"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """An untrained LocCNN for the tiny dataset's 512-sample windows (evaluation needs no trained model)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "loc_cnn.pth"
    io.save_torch(models.build("loc_cnn", 512).state_dict(), path)
    return path


def test_nan_test_window_fails_evaluate_before_any_output(tiny_dataset, checkpoint, tmp_path, step_script):
    broken = with_nan(tiny_dataset, tmp_path, "test/windows", 2)
    out = tmp_path / "eval"
    with pytest.raises(dataset.DatasetError, match=r"split 'test', window\(s\) 2 hold NaN"):
        step_script("evaluate").run(str(broken), checkpoint, out / "windows.csv", out / "sources.csv",
                                    out / "summary.json", out / "positions.png", "loc_cnn", "tiny", 512, 16, "cpu",
                                    1)
    assert not out.exists()


def test_json_never_holds_nan(tmp_path):
    path = tmp_path / "summary.json"
    with pytest.raises(ValueError, match=r"summary.json: refusing to write non-finite values at mae, mae_xyz\[1\]"):
        io.write_json(path, {"mae": float("nan"), "mae_xyz": [0.1, np.inf, 0.2], "model": "loc_cnn"})
    assert not path.exists()
    io.write_json(path, {"mae": np.float64(0.5)})
    assert json.loads(path.read_text()) == {"mae": 0.5}


def test_select_sources_refuses_non_finite_errors(tmp_path, step_script):
    sources = tmp_path / "sources.csv"
    with open(sources, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["source", "source_index", "x", "y", "z", "n_windows", "euclidean", "absolute"])
        writer.writerow([0, 10, 1, 5, 1.2, 3, 0.2, 0.1])
        writer.writerow([1, 11, 1, 5, 1.2, 3, "nan", "nan"])
    out = tmp_path / "selection.json"
    with pytest.raises(ValueError, match=r"sources.csv: rows \[1\] have no finite error") as err:
        step_script("select_sources").run(sources, out)
    assert_names_file_and_command(str(err.value), sources)
    assert not out.exists()


def test_broken_relevance_file_is_named(tiny_dataset, tmp_path):
    test = dataset.read_split(tiny_dataset, "test")
    path = tmp_path / "relevance.h5"
    relevance = np.ones_like(test.windows)
    relevance[4, 3, 0] = np.nan
    dataset.write_relevance(path, relevance, np.zeros((len(relevance), 3)), test, {})
    with pytest.raises(dataset.DatasetError, match=r"relevance.h5: relevance of test window\(s\) 4 hold NaN") as err:
        dataset.read_relevance(path, test)
    assert_names_file_and_command(str(err.value), path)
    flip_byte_in_chunk(path, "relevance")
    with pytest.raises(dataset.DatasetError, match=r"relevance.h5: dataset /relevance is corrupt"):
        dataset.read_relevance(path, test)
    with pytest.raises(dataset.DatasetError, match="not a relevance file"):
        dataset.read_relevance(tiny_dataset, test)


# --- checkpoints -------------------------------------------------------------------------------

@pytest.mark.parametrize("content, cause", [
    (b"seed: 1\n", "IndexError: pop from empty list"),  # a config file given as the checkpoint
    (b"", "EOFError"),
    (b"PK\x03\x04 cut short", "RuntimeError"),
    ("list", "TypeError: holds a list, not a state dict"),
    ("other model", "RuntimeError: Error(s) in loading state_dict"),
])
def test_non_checkpoint_fails_naming_the_file_and_what_to_do(tmp_path, content, cause):
    path = tmp_path / "pretrained.pth"
    if content == "list":
        torch.save([1, 2], path)
    elif content == "other model":
        torch.save(models.build("loc_cnn", 768).state_dict(), path)
    else:
        path.write_bytes(content)
    with pytest.raises(RuntimeError) as err:
        models.load("loc_cnn", path, 512)
    message = str(err.value)
    assert cause in message and "torch.save(model.state_dict(), path)" in message
    assert_names_file_and_command(message, path)


def test_nan_weights_fail_naming_the_checkpoint(tmp_path):
    state = models.build("loc_cnn", 512).state_dict()
    next(v for v in state.values() if v.is_floating_point())[0] = float("nan")
    path = tmp_path / "diverged.pth"
    io.save_torch(state, path)
    with pytest.raises(RuntimeError, match="diverged.pth: weights .* hold NaN or infinity") as err:
        models.load("loc_cnn", path, 512)
    assert_names_file_and_command(str(err.value), path)


def test_identical_runs_write_byte_identical_checkpoints(tmp_path, tiny_dataset, step_script):
    """Two trainings from scratch (seeded weights, one epoch of the defaults' settings) write byte-identical
    checkpoints, as README.md says: no trace of the temporary file they were written through (a PID), and
    nothing unseeded in the training itself."""
    train = step_script("train")
    settings = {**configuration.validate({"conditions": [{"t60": 0.3, "snr": 20}]})["training"]["loc_cnn"],
                "max_epochs": 1, "batch_size": 16}
    outputs = []
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        train.run(str(tiny_dataset), folder / "model.pth", folder / "history.csv", folder / "curve.png", "loc_cnn",
                  512, 16, settings, 7, "cpu", 1)
        outputs.append((folder / "model.pth").read_bytes())
    assert len((tmp_path / "a" / "history.csv").read_text().splitlines()) == 2  # trained: a header and an epoch
    assert outputs[0] == outputs[1]
    assert b"tmp-" not in outputs[0]


# --- audio and corpus --------------------------------------------------------------------------

def test_unreadable_audio_file_is_named(tmp_path):
    (tmp_path / "good.wav").write_bytes(b"")
    soundfile.write(tmp_path / "good.wav", np.sin(np.arange(8000) / 5), 16000)
    (tmp_path / "notes.wav").write_text("not audio")
    with pytest.raises(corpus.CorpusError, match=r"notes.wav: cannot be read as audio \(.*\); convert it") as err:
        corpus.load({"kind": "wav_dir", "path": str(tmp_path)}, 16000, 0)
    assert err.value.__cause__ is not None


def test_short_wav_is_refused_by_the_corpus_step(tmp_path, step_script):
    folder = tmp_path / "wavs"
    folder.mkdir()
    soundfile.write(folder / "long.wav", np.sin(np.arange(8000) / 5), 16000)
    soundfile.write(folder / "short.wav", np.sin(np.arange(1599) / 5), 16000)
    settings = configuration.validate({"conditions": [{"t60": 0.3, "snr": 20}],
                                       "corpus": {"kind": "wav_dir", "path": str(folder)}})["corpus"]
    out = tmp_path / "speech.h5"
    with pytest.raises(corpus.CorpusError, match=r"signals.window = 2048 .*'short.wav' \(159\d samples\)") as err:
        step_script("corpus").run(str(out), settings, 16000, 0, window=2048)
    assert str(folder) in str(err.value) and "long.wav" not in str(err.value)
    assert not out.exists()


def test_simulation_names_a_short_utterance_of_an_old_corpus(tmp_path, tiny_config, step_script):
    path = tmp_path / "speech.h5"
    corpus.write(path, [corpus.Utterance(np.ones(100, np.float32), "short.wav")], {"fs": 16000})
    (_, condition), = configuration.conditions(tiny_config).items()
    with pytest.raises(corpus.CorpusError, match=r"utterance 0 \('short.wav'\) has 100 samples, fewer than one "
                                                 r"window \(512\)") as err:
        step_script("simulate_shard").run(str(path), tmp_path / "shard.h5", condition, tiny_config["geometry"],
                                          tiny_config["signals"], 0, 2, tiny_config["seed"], tiny_config["corpus"])
    assert_names_file_and_command(str(err.value), path)


def test_corrupt_corpus_names_the_file_and_the_command(tiny_corpus, tmp_path):
    broken = copy_of(tiny_corpus, tmp_path)
    flip_byte_in_chunk(broken, "signal")
    with pytest.raises(corpus.CorpusError) as err:
        corpus.read(broken)
    assert "filter returned failure" in str(err.value)
    assert_names_file_and_command(str(err.value), broken)


# --- configuration -----------------------------------------------------------------------------

def minimal(**extra):
    return {"conditions": [{"t60": 0.3, "snr": 20}], **extra}


@pytest.mark.parametrize("raw, message", [
    (minimal(geometry={"test_square": {"x": [5, 6], "y": [5, 6]}}), "geometry.test_square: x [5, 6], y [5, 6] holds "
                                                                     "no grid point"),
    (minimal(geometry={"val_fraction": 0.9999}), "geometry.val_fraction: 0.9999 of the 3940 sources outside the test "
                                                 "square leaves the train split empty"),
    (minimal(geometry={"val_fraction": 0.0001}), "leaves the val split empty"),
    (minimal(geometry={"grid": {"nx": 9, "ny": 9}}, simulation={"shards": 82}),
     "simulation.shards: 82 shards for 81 sources"),
    (minimal(signals={"window": 5120, "max_seconds": 0.3}), "signals.max_seconds: utterances cut to 0.3 s (4800 "
                                                            "samples at 16000 Hz) are shorter than one window"),
    (minimal(geometry={"grid": {"y": [4.5, 9.0]}}), "geometry.grid: positions such as"),
    (minimal(geometry={"grid": {"height": [1.0, 2.5]}}), "geometry.grid: positions such as"),
])
def test_config_that_cannot_run_fails_at_validation(raw, message):
    with pytest.raises(configuration.ConfigError) as err:
        configuration.validate(raw)
    assert message in str(err.value)


def test_unknown_condition_is_refused_by_the_train_cli(tmp_path, tiny_config_file, tiny_dataset, tiny_cond):
    out = tmp_path / "model.pth"
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "train.py"), "--config", str(tiny_config_file), "--model", "loc_cnn",
         "--cond", "SNR_99_T60_9", "--data", str(tiny_dataset), "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2
    assert "--cond: unknown condition 'SNR_99_T60_9'" in result.stderr and tiny_cond in result.stderr
    assert not out.exists()


# --- killed jobs and recovery ------------------------------------------------------------------

def test_killed_job_leaves_no_temporary_once_rerun(tmp_path):
    """A job killed while writing (SIGKILL: no cleanup runs) leaves `.{name}.tmp-PID.h5` behind; the next
    write of the same output (here: gather_dataset's) removes it."""
    from sslrp.data import acoustics

    out = tmp_path / "SNR_20_T60_0.3.h5"
    kill = ("import os, signal, sys; sys.path.insert(0, sys.argv[1]); from sslrp import io\n"
            "with io.atomic_path(sys.argv[2]) as tmp:\n"
            "    tmp.write_bytes(b'half written')\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n")
    killed = subprocess.run([sys.executable, "-c", kill, str(SCRIPTS), str(out)], timeout=60)
    assert killed.returncode == -signal.SIGKILL
    assert [p.name for p in tmp_path.glob(".SNR_20_T60_0.3.tmp-*.h5")], "the kill left no temporary"
    shard = tmp_path / "shards" / "shard-0.h5"
    windows = np.ones((2, 2, 8), np.float32)
    dataset.write_shard(shard, [acoustics.SourceRecording(i, np.ones(3), 0, windows, 1.0, 0.2) for i in range(3)], {})
    dataset.gather([shard], out, np.array(["train", "val", "test"], dtype=object), {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SNR_20_T60_0.3.h5", "shards"]


def test_temporaries_of_running_jobs_are_kept(tmp_path):
    out = tmp_path / "x.json"
    running = tmp_path / ".x.tmp-1.json"  # PID 1 always runs
    running.write_text("{}")
    io.write_json(out, {"a": 1})
    assert running.exists()


def test_advised_command_plans_the_rebuild_of_a_broken_dataset(tiny_workflow_run, tmp_path):
    """After a complete run, a corrupt dataset fails its reader with a command; plain `snakemake` after
    deleting it (the old advice) plans nothing for it, the advised command plans the dataset and everything
    made from it. (`--rerun-triggers mtime` in the plain run keeps edits of rules or scripts made since the
    run from planning jobs of their own.) A dry run: really rebuilding the dataset costs minutes on 2 cores."""
    from test_rerun import planned_jobs
    from tiny_workflow import snakemake

    workdir = tmp_path / "workflow"
    shutil.copytree(tiny_workflow_run, workdir, symlinks=True)
    cond = "SNR_20_T60_0.2"
    data = f"results/data/{cond}.h5"
    flip_byte_in_chunk(workdir / data, "test/windows", chunk=1)
    with pytest.raises(dataset.DatasetError) as err:
        dataset.read_split(workdir / data, "test")
    (workdir / data).unlink()

    plain = snakemake(workdir, "-n", "--rerun-triggers", "mtime")
    assert plain.returncode == 0, plain.stderr[-3000:]
    assert "Nothing to be done" in plain.stdout + plain.stderr

    advised = FORCERUN.search(str(err.value)).group(1).replace(str(workdir) + "/", "")
    assert advised == data
    done = snakemake(workdir, "-n", "--forcerun", advised)
    assert done.returncode == 0, done.stderr[-3000:]
    rules = {(rule, w.get("cond")) for rule, w, _ in planned_jobs(done.stdout + done.stderr)}
    for rule in ("simulate_shard", "gather_dataset", "train", "evaluate", "relevance", "manipulation", "tdoa"):
        assert (rule, cond) in rules, (rule, sorted(rules))
    assert ("gather_dataset", "SNR_10_T60_0.4") not in rules


# --- second round (issue 22) -------------------------------------------------------------------

TRAIN_SETTINGS = {**configuration.validate(minimal())["training"]["loc_cnn"], "lr": 1e-3, "batch_size": 16,
                  "max_epochs": 1, "windows_per_source": 1}


def train_tiny(step_script, tiny_dataset, folder, log=None, pretrained=None):
    """Train (or adopt `pretrained`) a LocCNN for one epoch on the tiny dataset into `folder`/model.pth."""
    folder.mkdir(exist_ok=True)
    step_script("train").run(str(tiny_dataset), folder / "model.pth", folder / "history.csv", folder / "curve.png",
                             "loc_cnn", 512, 16, TRAIN_SETTINGS, 7, "cpu", 1, pretrained=pretrained,
                             log=log and str(log))
    return (folder / "model.pth").read_bytes()


@pytest.fixture(scope="module")
def clean_training(tmp_path_factory, step_script, tiny_dataset):
    """The checkpoint bytes of an uninterrupted one-epoch run (also the torch file the tests damage)."""
    folder = tmp_path_factory.mktemp("clean")
    weights = train_tiny(step_script, tiny_dataset, folder)
    return weights, weights


@pytest.mark.parametrize("damage", ["truncated", "empty", "not a state"])
def test_damaged_resume_state_is_set_aside_and_training_starts_afresh(damage, clean_training, tmp_path,
                                                                        step_script, tiny_dataset):
    """The README's recovery for a killed run (the same command again) must not fail on the resume state the
    kill (or a full disk) damaged: the state is set aside, named in the log, and the run ends as a clean one."""
    weights, saved = clean_training
    folder = tmp_path / "run"
    folder.mkdir()
    state = folder / "model.resume.pt"
    damaged = {"truncated": saved[: len(saved) // 2], "empty": b"",
               "not a state": saved}[damage]  # a plain state dict lacks the resume keys
    state.write_bytes(damaged)
    log = tmp_path / "train.log"
    assert train_tiny(step_script, tiny_dataset, folder, log=log) == weights
    text = log.read_text()
    assert f"resume state {state} is damaged" in text and f"set aside as {state}.damaged" in text, text
    assert "training starts afresh" in text
    assert (folder / "model.resume.pt.damaged").read_bytes() == damaged  # kept as it was, for inspection
    assert not state.exists()


def test_broken_pretrained_checkpoint_says_to_replace_the_file(tmp_path, step_script, tiny_dataset):
    """A user's checkpoint has no rule, so `--forcerun` cannot rebuild it: the advice is to replace the file
    (or drop the `pretrained` entry), and doing so works."""
    state = models.build("loc_cnn", 512).state_dict()
    next(v for v in state.values() if v.is_floating_point())[0] = float("nan")
    mine = tmp_path / "mine.pth"
    io.save_torch(state, mine)
    with pytest.raises(RuntimeError, match=r"mine.pth: weights .* hold NaN or infinity") as err:
        train_tiny(step_script, tiny_dataset, tmp_path / "a", pretrained=mine)
    message = str(err.value)
    assert "--forcerun" not in message
    assert "replace the file with a good loc_cnn state dict for 512-sample windows" in message
    assert "remove its entry from `pretrained.loc_cnn`" in message
    assert not (tmp_path / "a" / "model.pth").exists()
    good = models.build("loc_cnn", 512).state_dict()
    io.save_torch(good, mine)  # the advice followed: a good state dict in its place
    train_tiny(step_script, tiny_dataset, tmp_path / "a", pretrained=mine)
    loaded = torch.load(tmp_path / "a" / "model.pth", weights_only=True)
    assert all(torch.equal(loaded[k], v) for k, v in good.items())


def test_silent_wav_dir_names_the_folder_and_the_reason(tmp_path):
    folder = tmp_path / "wavs"
    folder.mkdir()
    for name in ("a.wav", "b.wav"):
        soundfile.write(folder / name, np.zeros(8000), 16000)
    with pytest.raises(corpus.CorpusError) as err:
        corpus.load({"kind": "wav_dir", "path": str(folder)}, 16000, 0)
    message = str(err.value)
    assert f"all 2 audio files under {str(folder)!r} are silent" in message and "put recordings of speech" in message
    soundfile.write(folder / "speech.wav", np.sin(np.arange(8000) / 5), 16000)  # the advice followed
    assert [u.label for u in corpus.load({"kind": "wav_dir", "path": str(folder)}, 16000, 0)] == ["speech.wav"]


@pytest.mark.parametrize("conditions, key, message", [
    ([{"t60": 0.2, "snr": float("nan")}], "conditions[0].snr", "not a finite number"),
    ([{"t60": 0.2, "snr": 20}, {"t60": float("inf"), "snr": 20}], "conditions[1].t60", "not a finite number"),
    ([{"t60": 0.05, "snr": 20}], "conditions[0].t60", "0.05 s is shorter than the room [3.6, 8.2, 2.4]"),
    ([{"t60": 30, "snr": 20}], "conditions[0].t60", "30 s is beyond the 10 s the simulation supports"),
    ([{"t60": 0.3, "snr": 400}], "conditions[0].snr", "400 dB is outside -150..150 dB"),
    ([{"t60": 0.3, "snr": -1e300}], "conditions[0].snr", "-1e+300 dB is outside -150..150 dB"),
])
def test_impossible_condition_fails_at_validation_naming_the_key(conditions, key, message):
    with pytest.raises(configuration.ConfigError) as err:
        configuration.validate({"conditions": conditions})
    assert str(err.value).startswith(f"{key}: ") and message in str(err.value), str(err.value)


def test_advised_t60_and_snr_limits_simulate():
    """The limits the errors advise are ones the simulator takes: pyroomacoustics accepts the shortest T60
    advised (and refuses one just below the room's Sabine limit), and noise at +-150 dB SNR gives finite
    float32 windows at the requested level."""
    import pyroomacoustics as pra

    from sslrp.data import acoustics, geometry

    room = [3.6, 8.2, 2.4]
    with pytest.raises(configuration.ConfigError) as err:
        configuration.validate({"conditions": [{"t60": 0.01, "snr": 20}]})
    shortest = float(re.search(r"use at least ([\d.]+) s", str(err.value)).group(1))
    configuration.validate({"conditions": [{"t60": shortest, "snr": 20}]})
    absorption, _ = pra.inverse_sabine(shortest, room)
    assert 0.99 < absorption <= 1
    with pytest.raises(ValueError, match="room may be too large"):
        pra.inverse_sabine(geometry.shortest_t60(room) * 0.999, room)
    speech = np.sin(np.arange(2 * 4096) / 5)[None].repeat(2, axis=0)
    for snr in configuration.SNR_RANGE:
        configuration.validate({"conditions": [{"t60": 0.3, "snr": snr}]})
        noisy = acoustics.add_noise(speech, snr, np.random.default_rng(0))
        assert np.isfinite(noisy.astype(np.float32)).all()
        noise = noisy[0] - speech[0]
        assert 10 * np.log10(np.mean(speech[0] ** 2) / np.mean(noise ** 2)) == pytest.approx(snr, abs=0.5)


def test_duplicate_manipulation_percents_are_refused():
    with pytest.raises(configuration.ConfigError, match=r"manipulation.percents: \[0, 20, 20, 50\] lists 20 more "
                                                        r"than once.*list each percentage once"):
        configuration.validate(minimal(manipulation={"percents": [0, 20, 20, 50]}))
    configuration.validate(minimal(manipulation={"percents": [0, 20, 50]}))  # the advice followed


@pytest.mark.skipif(not Path(sys.executable).with_name("snakemake").exists(), reason="snakemake is not installed")
def test_snakemake_refuses_a_nan_snr_before_any_job(tmp_path):
    """YAML's `.nan` passes the schema's bounds (NaN compares false); the run must stop at validation, naming the
    key, not simulate all-NaN windows."""
    from tiny_workflow import snakemake

    shutil.copytree(REPO / "config", tmp_path / "config")
    bad = tmp_path / "nan.yaml"
    bad.write_text("conditions:\n  - {t60: 0.2, snr: .nan}\n")
    result = snakemake(tmp_path, "-n", config=bad)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "conditions[0].snr: not a finite number" in output, output[-3000:]
    assert "simulate_shard" not in output and not (tmp_path / "results").exists()


SIMULATE_ADVICE = re.compile(r"`(python workflow/scripts/simulate_shard.py --cond \S+ --shard K --corpus <corpus.h5> "
                             r"--out <shard-K.h5>)` for K in ([\d, ]+) ")


def test_gather_refuses_a_partial_or_foreign_shard_set_and_the_advice_completes_it(
        tmp_path, tiny_corpus, tiny_config, tiny_config_file, tiny_cond, tiny_dataset, step_script):
    """Given 1 of 2 shards the gather names the missing one and the command that simulates it; run as advised,
    that command completes the set, and the gather then writes the dataset a one-shard simulation gives. A shard
    of another condition, or one given twice, is refused by name."""
    from sslrp import step_settings

    shard0 = tmp_path / "shard-0.h5"
    step_script("simulate_shard").run(str(tiny_corpus), str(shard0),
                                      **step_settings.simulate_shard(tiny_config, tiny_cond, 0))
    out = tmp_path / f"{tiny_cond}.h5"
    gather = [sys.executable, str(SCRIPTS / "gather_dataset.py"), "--config", str(tiny_config_file), "--cond",
              tiny_cond, "--out", str(out)]
    partial = subprocess.run([*gather, str(shard0)], capture_output=True, text=True, timeout=300)
    assert partial.returncode != 0 and not out.exists()
    assert f"{tiny_cond}: the gather was given 1 of the 2 shards; missing shard(s) 1" in partial.stderr
    command, shards = SIMULATE_ADVICE.search(partial.stderr).groups()
    assert shards == "1"
    shard1 = tmp_path / "shard-1.h5"
    filled = command.replace("K", shards).replace("<corpus.h5>", str(tiny_corpus))
    advised = filled.replace("<shard-1.h5>", str(shard1)).split()[1:] + ["--config", str(tiny_config_file)]
    simulated = subprocess.run([sys.executable, *advised], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert simulated.returncode == 0, simulated.stderr[-3000:]
    complete = subprocess.run([*gather, str(shard0), str(shard1)], capture_output=True, text=True, timeout=300)
    assert complete.returncode == 0, complete.stderr[-3000:]
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(dataset.read_split(out, split).windows,
                                      dataset.read_split(tiny_dataset, split).windows)

    other = dict(step_settings.condition(tiny_config, tiny_cond), t60=0.2)
    with pytest.raises(dataset.DatasetError, match=rf"{shard0}: shard 0 of condition {tiny_cond} .*, not of "
                                                   r"SNR_20_T60_0.2 .*give the gather SNR_20_T60_0.2's shards"):
        step_script("gather_dataset").run([str(shard0), str(shard1)], str(tmp_path / "other.h5"), "SNR_20_T60_0.2",
                                          other, tiny_config["geometry"], tiny_config["signals"],
                                          tiny_config["corpus"], tiny_config["seed"])
    with pytest.raises(dataset.DatasetError, match=rf"{shard0}: shard 0 of {tiny_cond} is given twice"):
        dataset.check_shards([shard0, shard0, shard1], _recipe(tiny_config, tiny_cond))
    assert not (tmp_path / "other.h5").exists()


def _recipe(config, cond):
    """The settings a gather of `cond` under `config` expects its shards to record."""
    from sslrp import step_settings

    s = step_settings.gather_dataset(config, cond)
    return dataset.simulation_recipe(s["condition"], s["geometry_settings"], s["signals"], s["corpus_settings"],
                                     s["seed"])


@pytest.mark.parametrize("change, key, theirs, ours", [
    ({"signals": {"window": 640, "max_seconds": 0.3}}, "signals.window", "640", "512"),
    ({"seed": 8}, "seed", "8", "7"),
])
def test_gather_refuses_shards_simulated_with_other_settings(tmp_path, tiny_corpus, tiny_config, tiny_cond,
                                                             step_script, change, key, theirs, ours):
    """A shard left from a run with another window made h5py fail (`Can't broadcast`), one with another seed was
    gathered without a word into a dataset of two seeds: each is refused naming the shard, the setting, both
    values and the command that rebuilds it, before anything is written."""
    from sslrp import step_settings

    other = configuration.validate({**configuration.validate(tiny_config), **change})
    shards = [tmp_path / "shard-0.h5", tmp_path / "shard-1.h5"]
    step_script("simulate_shard").run(str(tiny_corpus), str(shards[0]),
                                      **step_settings.simulate_shard(tiny_config, tiny_cond, 0))
    step_script("simulate_shard").run(str(tiny_corpus), str(shards[1]),
                                      **step_settings.simulate_shard(other, tiny_cond, 1))
    out = tmp_path / f"{tiny_cond}.h5"
    with pytest.raises(dataset.DatasetError) as err:
        step_script("gather_dataset").run([str(p) for p in shards], str(out),
                                          **step_settings.gather_dataset(tiny_config, tiny_cond))
    message = str(err.value)
    assert message.startswith(f"{shards[1]}: shard 1 of {tiny_cond} was simulated with {key} = {theirs}, but the "
                              f"gather's settings have {key} = {ours}")
    assert f"--forcerun {shards[1]}" in message
    assert not out.exists()
    # the shard's own record: the readable settings and one hash of them
    with h5py.File(shards[1], "r") as f:
        recorded = json.loads(f.attrs["settings"])
        assert f.attrs["settings_hash"] == hashlib.sha256(
            f.attrs["settings"].encode()).hexdigest()[:16]
    assert recorded == json.loads(json.dumps({**_recipe(other, tiny_cond), "n_shards": 2}))


@pytest.mark.parametrize("content, reason", [
    ("conditions: [\n", "line 2"),
    ("", "the configuration is empty"),
    ("- t60: 0.3\n- snr: 20\n", "the configuration holds a list, not a mapping of keys"),
])
def test_step_cli_names_a_config_file_it_cannot_use(tmp_path, content, reason):
    """Snakemake's own message for such a file names neither file nor line; the step CLIs and the checker the
    README advises (`python -m sslrp.config FILE`) name both, and the fix they describe passes."""
    path = tmp_path / "mine.yaml"
    path.write_text(content)
    step = subprocess.run([sys.executable, str(SCRIPTS / "gather_dataset.py"), "--config", str(path), "--cond", "x",
                           "--out", str(tmp_path / "x.h5"), "shard.h5"], capture_output=True, text=True, timeout=300)
    assert step.returncode == 2 and f"error: --config {path}: " in step.stderr and reason in step.stderr, step.stderr
    assert "Traceback" not in step.stderr
    check = [sys.executable, "-m", "sslrp.config", str(path)]
    env = {**os.environ, "PYTHONPATH": str(SCRIPTS)}
    checked = subprocess.run(check, capture_output=True, text=True, timeout=300, env=env)
    assert checked.returncode == 1 and str(path) in checked.stderr and reason in checked.stderr
    path.write_text("conditions:\n  - {t60: 0.3, snr: 20}\n")  # the advice followed
    checked = subprocess.run(check, capture_output=True, text=True, timeout=300, env=env)
    assert checked.returncode == 0 and f"{path}: a valid configuration" in checked.stdout


def disk_full_shard(path):
    """A shard of 3 sources x 40 windows of 16 x 512 random samples (about 4 MB gathered)."""
    from sslrp.data import acoustics

    rng = np.random.default_rng(0)
    dataset.write_shard(path, [acoustics.SourceRecording(i, np.ones(3), 0, rng.standard_normal((40, 16, 512)).astype(
        np.float32), 1.0, 0.2) for i in range(3)], {})


def test_write_failure_in_gather_leaves_no_temporary(tmp_path, monkeypatch):
    """A write that fails with ENOSPC ends the gather with that error, and no temporary file stays behind."""
    shard = tmp_path / "shards" / "shard-0.h5"
    disk_full_shard(shard)
    written = dataset.write_array

    def full(group, name, *args, **kwargs):
        if name == "windows":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), group.file.filename)
        return written(group, name, *args, **kwargs)

    monkeypatch.setattr(dataset, "write_array", full)
    with pytest.raises(OSError, match="No space left on device") as err:
        dataset.gather([shard], tmp_path / "data.h5", np.array(["train", "val", "test"], dtype=object), {})
    assert err.value.errno == errno.ENOSPC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shards"]


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs (needs root, and a kernel that lets this process mount); skipped otherwise."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2M", "tmpfs", str(mount)],
                                           capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


@pytest.mark.parametrize("left_kib", [2048, 1024, 64])
def test_full_disk_gather_fails_cleanly(small_disk, tmp_path, left_kib):
    """On a really full disk (HDF5's own writes fail, also the flush when it closes the file): the gather ends
    with `No space left on device` and exit status 1, no segmentation fault in h5py's close, no temporary."""
    shard = tmp_path / "shard-0.h5"
    disk_full_shard(shard)
    if left_kib < 2048:
        (small_disk / "filler").write_bytes(bytes((2048 - left_kib) * 1024))
    code = ("import sys, numpy as np; sys.path.insert(0, sys.argv[1]); from sslrp.data import dataset\n"
            "dataset.gather([sys.argv[2]], sys.argv[3], np.array(['train', 'val', 'test'], dtype=object), {})\n")
    result = subprocess.run([sys.executable, "-c", code, str(SCRIPTS), str(shard), str(small_disk / "data.h5")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, (result.returncode, result.stderr[-3000:])
    assert "No space left on device" in result.stderr
    assert sorted(p.name for p in small_disk.iterdir()) == (["filler"] if left_kib < 2048 else [])


def test_rerun_incomplete_recovers_from_a_damaged_resume_state(tmp_path):
    """The probe as a user meets it: a training job's resume state cut short beside its missing checkpoint; the
    README's recovery (`--rerun-incomplete`) sets it aside and ends with the checkpoint an uninterrupted run
    wrote. (Only the jobs the checkpoint needs run: a tiny workflow run of its own is cheaper than a copy of the
    complete one when this test runs alone.)"""
    from tiny_workflow import TINY, snakemake, write_config

    workdir = tmp_path
    write_config(workdir, TINY)
    target = "results/models/loc_cnn/SNR_20_T60_0.2.pth"
    first = snakemake(workdir, target)
    assert first.returncode == 0, first.stderr[-3000:]
    checkpoint = workdir / target
    reference = checkpoint.read_bytes()
    checkpoint.unlink()
    checkpoint.with_suffix(".resume.pt").write_bytes(reference[: len(reference) // 2])
    done = snakemake(workdir, "--rerun-incomplete", target)
    assert done.returncode == 0, done.stderr[-3000:]
    log = (workdir / "logs/train/loc_cnn/SNR_20_T60_0.2.log").read_text()
    assert re.search(r"resume state \S*SNR_20_T60_0.2.resume.pt is damaged \(.*\); set aside as "
                     r"\S*SNR_20_T60_0.2.resume.pt.damaged, training starts afresh", log), log
    assert checkpoint.read_bytes() == reference
    assert not checkpoint.with_suffix(".resume.pt").exists()
