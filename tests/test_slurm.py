"""The SLURM profile: its resources as Snakemake plans them (no cluster needed), and a tiny run through it on a
real one-node SLURM cluster (tests/slurm/start.sh), every job an sbatch job.

The cluster: the one that SLURM_CONF points to if it answers (CI starts one in .ci/run), else a private one
started here (needs root and Debian's slurmctld slurmd slurm-client munge). Without either the cluster test
is skipped, except under CI, where it fails.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import REPO
from test_rerun import planned_jobs
from tiny_workflow import TINY, write_config

PROFILE = REPO / "profiles" / "slurm"
TEST_PROFILE = REPO / "tests" / "slurm" / "profile"
START, STOP = REPO / "tests" / "slurm" / "start.sh", REPO / "tests" / "slurm" / "stop.sh"
SLURM_TOOLS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "srun")

COND = "SNR_20_T60_0.2"
TARGETS = (f"results/data/{COND}.h5", f"results/models/loc_cnn/{COND}.pth")
RULES = ("corpus", "simulate_shard", "gather_dataset", "train")  # the jobs behind TARGETS


def test_profile_asks_a_gpu_for_training_and_relevance_and_cpus_and_memory_for_simulation(tmp_path):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(tmp_path),
           "--profile", str(PROFILE), "--configfile", str(REPO / "config" / "paper.yaml"), "-n"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = planned_jobs(done.stdout + done.stderr)
    resources = {}
    for rule, _, res in jobs:
        resources.setdefault(rule, res)
    for rule in ("train", "relevance"):
        assert resources[rule].get("gpu") == "1", (rule, resources[rule])
    for rule in ("simulate_shard", "gather_dataset", "train", "relevance", "manipulation"):
        assert int(resources[rule]["cpus_per_task"]) >= 1 and int(resources[rule]["mem_mb"]) >= 1000, rule
        assert int(resources[rule]["runtime"]) > 0, rule
    assert sum(rule == "simulate_shard" for rule, _, _ in jobs) == 4 * 32  # paper: 32 shards per condition


def slurm_answers(env):
    try:
        done = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, env=env, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


@pytest.fixture(scope="module")
def slurm_env():
    """The environment for Snakemake and the SLURM clients: the venv first on PATH (jobs inherit it), and
    SLURM_CONF of a running cluster."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONHASHSEED": "0"}
    if env.get("SLURM_CONF") and slurm_answers(env):
        yield env
        return
    missing = [tool for tool in SLURM_TOOLS if not shutil.which(tool)]
    if missing or os.geteuid() != 0:
        why = f"no SLURM: missing {', '.join(missing)}" if missing else "starting SLURM needs root"
        if os.environ.get("CI"):
            pytest.fail(f"{why} (CI must install and start it: .ci/run)")
        pytest.skip(f"{why} (apt-get install slurmctld slurmd slurm-client munge; CI runs this test)")
    folder = Path(tempfile.mkdtemp(prefix="slurm-"))  # short: slurmd puts sockets in its spool dir
    try:
        started = subprocess.run(["bash", str(START), str(folder)], capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, started.stdout + started.stderr
        env["SLURM_CONF"] = str(folder / "slurm.conf")
        yield env
    finally:
        subprocess.run(["bash", str(STOP), str(folder)], timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def job_table(env, ids):
    """{SLURM job id: (state, comment, cpus)} from squeue, which keeps finished jobs for MinJobAge."""
    done = subprocess.run(["squeue", "-h", "-t", "all", "-j", ",".join(ids), "-o", "%i|%T|%k|%C"],
                          capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    rows = [line.split("|") for line in done.stdout.split()]
    return {row[0]: tuple(row[1:]) for row in rows}


def test_tiny_run_on_slurm_makes_every_job_a_slurm_job(slurm_env, tmp_path):
    config = {**TINY, "conditions": TINY["conditions"][:1], "models": ["loc_cnn"]}
    write_config(tmp_path, config)
    cmd = ["timeout", "-k", "10", "240", sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"),
           "--directory", str(tmp_path), "--profile", str(PROFILE), "--profile", str(TEST_PROFILE), *TARGETS]
    done = subprocess.run(cmd, capture_output=True, text=True, env=slurm_env, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    for target in TARGETS:
        assert (tmp_path / target).stat().st_size > 0, target

    # one SLURM job per Snakemake job, each with its SLURM log (<slurm_logs>/rule_<rule>/<wildcards>/<id>.log)
    submitted = dict(re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)", output))
    logs = sorted((tmp_path / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert len(submitted) == len(logs) == 1 + 2 + 1 + 1  # corpus, 2 shards, gather, train
    rule_of = {log.stem: log.relative_to(tmp_path / ".snakemake" / "slurm_logs").parts[0] for log in logs}
    assert set(rule_of) == set(submitted)
    assert sorted(set(rule_of.values())) == sorted(f"rule_{rule}" for rule in RULES)
    for log in logs:
        assert "Finished jobid" in log.read_text() or "steps (100%) done" in log.read_text(), log

    table = job_table(slurm_env, list(submitted))
    assert set(table) == set(submitted)
    for job_id, (state, comment, cpus) in table.items():
        assert state == "COMPLETED" and comment.startswith(rule_of[job_id]), (job_id, state, comment)
        if rule_of[job_id] == "rule_train":
            assert cpus == "2"  # threads/cpus_per_task of the profiles reached sbatch
