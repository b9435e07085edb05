"""The developer scripts in dev/ (benchmarks, the refactoring hash check) stay runnable: each answers --help,
and the manipulation benchmark's batched and reference loops agree on a few windows."""

import subprocess
import sys

import pytest

from conftest import REPO

DEV = sorted((REPO / "dev").glob("*.py"))


@pytest.mark.parametrize("script", DEV, ids=[p.name for p in DEV])
def test_dev_script_answers_help(script):
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert done.returncode == 0 and "usage" in done.stdout, done.stderr[-2000:]


def test_manipulation_benchmark_finds_both_loops_equal():
    done = subprocess.run([sys.executable, str(REPO / "dev" / "benchmark_manipulation.py"), "--n-windows", "3",
                           "--window", "768", "--repeats", "1", "--threads", "1"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "same MAE tables (rtol 1e-12): True" in done.stdout


def test_run_timeline_reads_job_times_from_a_snakemake_log(tmp_path):
    """dev/run_timeline.py on a small log in Snakemake's format: two rules, one job running past a minute boundary
    and one unfinished job (left out)."""
    sys.path.insert(0, str(REPO / "dev"))
    import run_timeline

    log = """Select jobs to execute...
[Tue Dec  1 10:00:00 2026]
localrule simulate_shard:
    output: results/data/a/shard-0.h5
    jobid: 3
[Tue Dec  1 10:00:10 2026]
rule train:
    jobid: 7
[Tue Dec  1 10:00:40 2026]
Finished jobid: 3 (Rule: simulate_shard)
[Tue Dec  1 10:01:30 2026]
Finished jobid: 7 (Rule: train)
[Tue Dec  1 10:01:31 2026]
rule evaluate:
    jobid: 9
"""
    jobs = run_timeline.parse(log.splitlines(keepends=True))
    assert jobs[3][0] == "simulate_shard" and (jobs[3][2] - jobs[3][1]).total_seconds() == 40
    assert jobs[9][2] is None
    assert run_timeline.per_rule(jobs) == {"train": (1, 80.0), "simulate_shard": (1, 40.0)}
    rows = run_timeline.minutes(jobs)
    assert [(m, dict(c)) for m, c in rows] == [(0, {"simulate_shard": 1, "train": 1}), (1, {"train": 1})]
    text = run_timeline.report(jobs)
    assert text.startswith("wall 1.5 min (90 s), 2 jobs finished, 120 job-seconds")
