"""The input_check step through Snakemake on a copy of the tiny workflow run (whose default targets include the
checks: forced again there, only the checks run), and its command line on the same files."""

import json
import shutil
import subprocess
import sys

import pytest

from conftest import REPO
from tiny_workflow import TINY, snakemake

CONDITIONS = ["SNR_20_T60_0.2", "SNR_10_T60_0.4"]


@pytest.fixture(scope="module")
def checked(tiny_workflow_run, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("input_check")
    shutil.copytree(tiny_workflow_run, workdir, dirs_exist_ok=True, symlinks=True)
    targets = [f"results/checks/{m}/{c}_inputs.json" for m in ("loc_cnn", "sample_cnn") for c in CONDITIONS]
    done = snakemake(workdir, "--forcerun", "input_check", *targets)
    assert done.returncode == 0, done.stderr[-4000:]
    return workdir


def report(workdir, model, cond):
    return json.loads((workdir / "results" / "checks" / model / f"{cond}_inputs.json").read_text())


def logs(workdir):
    """{log path: its bytes}: a job that ran again rewrote its log (timestamps)."""
    return {p.relative_to(workdir / "logs").as_posix(): p.read_bytes() for p in (workdir / "logs").rglob("*.log")}


def test_only_the_checks_run_on_the_trained_models(checked, tiny_workflow_run):
    before, after = logs(tiny_workflow_run), logs(checked)
    assert {f"input_check/{m}/{c}.log" for m in ("loc_cnn", "sample_cnn") for c in CONDITIONS} <= set(before)
    checks = {f"input_check/{m}/{c}.log" for m in ("loc_cnn", "sample_cnn") for c in CONDITIONS}
    # the checks ran again, and at most what reads them (the inputs table, the page); no model job
    assert checks <= {name for name in after if after[name] != before.get(name)} <= checks | {
        "tables/inputs.log", "render/page.log"}


@pytest.mark.parametrize("cond", CONDITIONS)
def test_samplecnn_reports_every_batch_norm_and_loccnn_that_the_check_does_not_apply(checked, cond):
    sample = report(checked, "sample_cnn", cond)
    assert sample["applies"] is True and sample["model"] == "sample_cnn" and sample["condition"] == cond
    assert len(sample["layers"]) == 12 and sample["layers"][0]["layer"] == "BasicBlock1.bn"
    assert sample["windows"] == min(256, sample["windows"]) > 0
    assert sample["tolerance"] == 2.0
    assert all(row["variance_ratio"] > 0 for row in sample["layers"])
    loc = report(checked, "loc_cnn", cond)
    assert loc["applies"] is False and loc["layers"] == [] and "does not apply" in loc["sentence"]


def test_command_line_writes_the_same_report(checked, tmp_path):
    cond = CONDITIONS[0]
    out = tmp_path / "inputs.json"
    subprocess.run([sys.executable, str(REPO / "workflow" / "scripts" / "input_check.py"),
                    "--config", str(checked / "config" / "config.yaml"), "--model", "sample_cnn", "--cond", cond,
                    "--data", str(checked / "results" / "data" / f"{cond}.h5"),
                    "--checkpoint", str(checked / "results" / "models" / "sample_cnn" / f"{cond}.pth"),
                    "--out", str(out)], check=True, cwd=checked)
    mine, workflow = json.loads(out.read_text()), report(checked, "sample_cnn", cond)
    assert {k: v for k, v in mine.items() if k != "checkpoint"} == {
        k: v for k, v in workflow.items() if k != "checkpoint"}


def test_tiny_config_has_the_conditions_checked():
    assert [f"SNR_{c['snr']}_T60_{c['t60']}" for c in TINY["conditions"]] == CONDITIONS
