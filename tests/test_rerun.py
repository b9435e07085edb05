"""What Snakemake re-does after a complete run of the tiny config: nothing on a second run; after a change of
one condition, only that condition's jobs (and the aggregates reading them); after a change of one model's
training settings, only that model's chain. And a training job killed mid-run resumes, with
`--rerun-incomplete`, to exactly the result of a run that never stopped."""

import copy
import csv
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from conftest import REPO
from tiny_workflow import TINY, snakemake

CONDS = ("SNR_20_T60_0.2", "SNR_10_T60_0.4")  # TINY's conditions, in order
MODELS = ("loc_cnn", "sample_cnn")
DATA_RULES = {"corpus", "simulate_shard", "gather_dataset"}

JOB = re.compile(r"^(?:local)?rule (\w+):\n((?:    .*\n)*)", re.M)


def key_values(line):
    """`a=1, b=x` (a job's wildcards or resources line) as {"a": "1", "b": "x"}."""
    return dict(item.split("=", 1) for item in line.split(", ")) if line else {}


def planned_jobs(output):
    """The jobs of a dry run's output: a list of (rule, wildcards dict, resources dict)."""
    jobs = []
    for rule, body in JOB.findall(output):
        fields = dict(re.findall(r"^    (\w+): (.*)$", body, re.M))
        jobs.append((rule, key_values(fields.get("wildcards")), key_values(fields.get("resources"))))
    total = re.search(r"^total\s+(\d+)$", output, re.M)
    assert total and int(total.group(1)) == len(jobs), output[-3000:]
    return jobs


def dry_run(workdir, config, folder):
    """The jobs `snakemake -n` plans in `workdir` under `config` (given as --configfile; the workdir's own
    config and results stay untouched)."""
    path = folder / "changed.yaml"
    path.write_text(yaml.safe_dump(config))
    done = snakemake(workdir, "-n", config=path)
    assert done.returncode == 0, done.stderr[-4000:]
    return planned_jobs(done.stdout + done.stderr)


def by(jobs, key):
    """{wildcard value: set of rules} over the jobs that have wildcard `key` (None: the jobs without it)."""
    found = {}
    for rule, wildcards, _ in jobs:
        found.setdefault(wildcards.get(key), set()).add(rule)
    return found


def test_second_run_has_nothing_to_do(tiny_workflow_run):
    done = snakemake(tiny_workflow_run, "-n")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Nothing to be done" in done.stdout + done.stderr


def test_new_snr_of_one_condition_runs_only_that_condition_and_the_aggregates(tiny_workflow_run, tmp_path):
    config = copy.deepcopy(TINY)
    config["conditions"][0]["snr"] = 25  # SNR_20_T60_0.2 becomes SNR_25_T60_0.2
    jobs = dry_run(tiny_workflow_run, config, tmp_path)
    per_cond = by(jobs, "cond")
    assert set(per_cond) - {None} == {"SNR_25_T60_0.2"}  # nothing of SNR_10_T60_0.4 runs again
    assert {"simulate_shard", "gather_dataset", "train", "evaluate", "relevance"} <= per_cond["SNR_25_T60_0.2"]
    for model in MODELS:
        assert ("train", {"rep": "", "model": model, "cond": "SNR_25_T60_0.2"}) in [(r, w) for r, w, _ in jobs]
    aggregates = per_cond.get(None, set())
    assert {"localization_table", "page"} <= aggregates
    assert "corpus" not in aggregates  # the corpus does not depend on the condition


def test_other_image_order_of_one_condition_reruns_only_that_condition(tiny_workflow_run, tmp_path):
    # Same condition name, new simulation parameter: Snakemake sees changed params of that condition only.
    config = copy.deepcopy(TINY)
    config["conditions"][1]["max_order"] = 3  # TINY's simulation.max_order is 4
    jobs = dry_run(tiny_workflow_run, config, tmp_path)
    per_cond = by(jobs, "cond")
    assert set(per_cond) - {None} == {"SNR_10_T60_0.4"}
    assert {"simulate_shard", "gather_dataset", "train", "evaluate", "relevance"} <= per_cond["SNR_10_T60_0.4"]
    assert "corpus" not in per_cond.get(None, set())


def test_new_learning_rate_of_one_model_reruns_only_that_models_chain(tiny_workflow_run, tmp_path):
    config = copy.deepcopy(TINY)
    config["training"]["loc_cnn"]["lr"] = 2e-3
    jobs = dry_run(tiny_workflow_run, config, tmp_path)
    rules = {rule for rule, _, _ in jobs}
    assert not rules & DATA_RULES  # no simulation
    per_model = by(jobs, "model")
    assert set(per_model) - {None} == {"loc_cnn"}  # nothing of sample_cnn runs again
    chain = {"train", "evaluate", "relevance", "select_sources", "manipulation", "render_source"}
    assert chain <= per_model["loc_cnn"]
    assert {w["cond"] for r, w, _ in jobs if r == "train"} == set(CONDS)
    assert {"localization_table", "page"} <= per_model.get(None, set())


def test_a_rerun_rebuilds_tables_and_figures_a_killed_forcerun_deleted(tiny_workflow_run, tmp_path):
    """`--forcerun` deletes a job's outputs as it starts; a run killed then (kill -9 while the table steps write)
    leaves the tables and figures missing beside the page written before. The plain re-run must rebuild them (and
    the page from them); it found nothing to do while only the page and five tables were targets."""
    work = tmp_path / "run"
    shutil.copytree(tiny_workflow_run, work, symlinks=True)  # keeps the modification times
    gone = ["results/tables/localization.md", "results/tables/localization.csv", "results/tables/tdoa.csv",
            "results/tables/sanity.md", "results/page/figures/manipulation__loc_cnn_.png"]
    for name in gone:
        (work / name).unlink()
    done = snakemake(work, "-n", "--rerun-incomplete")
    assert done.returncode == 0, done.stderr[-3000:]
    rules = {rule for rule, _, _ in planned_jobs(done.stdout + done.stderr)}
    assert rules == {"localization_table", "tdoa_table", "sanity_table", "manipulation_figure", "page", "all"}


# --- a training job killed mid-run ----------------------------------------------------------------------

KILL_COND = CONDS[0]
CHECKPOINT = f"results/models/loc_cnn/{KILL_COND}.pth"
TRAIN_LOG = f"logs/train/loc_cnn/{KILL_COND}.log"
LONG_EPOCHS = 10


@pytest.fixture(scope="module")
def long_training_config(tmp_path_factory):
    """TINY with LocCNN training long enough (10 epochs, no early stop) to be killed in the middle."""
    config = copy.deepcopy(TINY)
    config["training"]["loc_cnn"].update(max_epochs=LONG_EPOCHS, early_stopping_patience=LONG_EPOCHS)
    path = tmp_path_factory.mktemp("long") / "long.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def trained(workdir):
    """The checkpoint's tensors and the per-epoch history (without the wall-clock column)."""
    state = torch.load(workdir / CHECKPOINT, map_location="cpu", weights_only=True)
    with open((workdir / CHECKPOINT).with_suffix(".csv")) as f:
        history = [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]
    return state, history


@pytest.fixture(scope="module")
def uninterrupted(tiny_workflow_run, long_training_config, tmp_path_factory):
    """The long LocCNN training of one condition, run without interruption (in a copy of the finished run)."""
    workdir = tmp_path_factory.mktemp("uninterrupted") / "run"
    shutil.copytree(tiny_workflow_run, workdir, symlinks=True)
    done = snakemake(workdir, CHECKPOINT, config=long_training_config)
    assert done.returncode == 0, done.stderr[-4000:]
    return trained(workdir)


KILL_HOOK = Path(__file__).resolve().parent / "kill_hook"  # its sitecustomize.py kills at a log line
KILL_AT = 3  # killed when epoch 3's line is logged: epoch 2's resume state is the last one written


def start_and_kill_mid_training(workdir, config, what):
    """Run Snakemake on the checkpoint in its own session with the kill hook (tests/kill_hook): when the training
    logs epoch 3's line it SIGKILLs either itself (`job`) or its whole process group (`run`: Snakemake and its
    jobs, as when the machine goes down). The kill is triggered by the line itself, so it falls at the same point
    of the training however fast or loaded the machine is."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--cores", "2", CHECKPOINT, "--configfile", str(config)]
    (workdir / TRAIN_LOG).unlink(missing_ok=True)
    path = os.pathsep.join(p for p in (str(KILL_HOOK), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": path, "SSLRP_KILL_AT": f"epoch {KILL_AT}/",
           "SSLRP_KILL": what}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env=env)
    try:
        code = proc.wait(timeout=900)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if what == "job":
        assert code == 1  # Snakemake saw its job die and stopped with an error
    else:
        assert code == -signal.SIGKILL  # Snakemake itself went down with the job
    logged = (workdir / TRAIN_LOG).read_text()
    assert f"epoch {KILL_AT}/" in logged and f"epoch {KILL_AT + 1}/" not in logged, logged[-2000:]


@pytest.mark.parametrize("what", ["job", "run"])
def test_killed_training_resumes_to_the_uninterrupted_result(what, tiny_workflow_run, long_training_config,
                                                             uninterrupted, tmp_path):
    workdir = tmp_path / "run"
    shutil.copytree(tiny_workflow_run, workdir, symlinks=True)
    start_and_kill_mid_training(workdir, long_training_config, what)
    assert not (workdir / CHECKPOINT).exists()
    assert (workdir / CHECKPOINT).with_suffix(".resume.pt").exists()
    if what == "run":  # a killed Snakemake leaves its lock behind
        assert snakemake(workdir, "--unlock", config=long_training_config).returncode == 0
    done = snakemake(workdir, "--rerun-incomplete", CHECKPOINT, config=long_training_config)
    assert done.returncode == 0, done.stderr[-4000:]
    resumed = re.search(r"resuming from .* after epoch (\d+)", (workdir / TRAIN_LOG).read_text())
    assert resumed and int(resumed.group(1)) == KILL_AT - 1
    assert not (workdir / CHECKPOINT).with_suffix(".resume.pt").exists()  # removed once the checkpoint is in

    state, history = trained(workdir)
    reference_state, reference_history = uninterrupted
    assert history == reference_history
    assert state.keys() == reference_state.keys()
    for name, tensor in state.items():
        assert torch.equal(tensor, reference_state[name]), name
