"""The whole workflow on a tiny config: every rule and condition from an empty results folder, the page in a
browser, and what a second run re-does."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest
import yaml

from conftest import REPO

TINY = {
    "seed": 3,
    "conditions": [{"t60": 0.2, "snr": 20}, {"t60": 0.4, "snr": 10}],
    "geometry": {"grid": {"nx": 9, "ny": 9}},
    "corpus": {"n_utterances": 6, "espeak": {"sentences_per_utterance": 1}},
    "signals": {"window": 768, "max_seconds": 0.25},
    "simulation": {"shards": 2, "max_order": 4},
    "training": {m: {"max_epochs": 2, "batch_size": 16, "early_stopping_patience": 2, "lr_patience": 1}
                 for m in ("loc_cnn", "sample_cnn")},
    "explain": {"batch_size": 16},
    "manipulation": {"percents": [0, 20, 50]},
}


def snakemake(workdir, *args, config=None):
    """Run the repo's Snakefile in `workdir` (which holds config/config.yaml); return the finished process."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--cores", "2", *args]
    if config:
        cmd += ["--configfile", str(config)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)


def write_config(workdir, config):
    (workdir / "config").mkdir(exist_ok=True)
    path = workdir / "config" / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One complete run of the tiny config from an empty results folder."""
    workdir = tmp_path_factory.mktemp("workflow")
    write_config(workdir, TINY)
    done = snakemake(workdir)
    assert done.returncode == 0, done.stderr[-4000:]
    return workdir


def test_every_page_file_is_produced_with_the_seed_names(tiny_run):
    figures = tiny_run / "results" / "page" / "figures"
    conds = ["SNR_20_T60_0.2", "SNR_10_T60_0.4"]
    for model in ("loc_cnn", "sample_cnn"):
        assert (figures / f"manipulation__{model}_.png").stat().st_size > 0
        for cond in conds:
            for extreme in ("min", "max"):
                stem = f"{model}_{cond}_error_{extreme}"
                for name in (f"ex_gcc_relevance_{stem}.png", f"audio_microphone_{stem}.wav",
                             f"audio_relevance_{stem}.wav"):
                    assert (figures / name).stat().st_size > 0, name
    page = (tiny_run / "results" / "page" / "index.md").read_text()
    assert all(cond in page for cond in conds)
    for table in ("localization", "manipulation", "tdoa"):
        rows = (tiny_run / "results" / "tables" / f"{table}.csv").read_text().splitlines()
        assert len(rows) > 1 + len(conds) - 1


def test_relevance_matches_the_test_windows(tiny_run):
    data = tiny_run / "results" / "data" / "SNR_20_T60_0.2.h5"
    rel = tiny_run / "results" / "relevance" / "sample_cnn" / "SNR_20_T60_0.2.h5"
    with h5py.File(data) as d, h5py.File(rel) as r:
        assert r["relevance"].shape == d["test/windows"].shape
        assert (r["source"][:] == d["test/source"][:]).all()


def test_every_rule_left_a_log(tiny_run):
    logs = {p.relative_to(tiny_run / "logs").parts[0].removesuffix(".log") for p in (tiny_run / "logs").rglob("*.log")}
    assert {"corpus", "simulate", "gather", "train", "evaluate", "relevance", "select", "manipulation",
            "tdoa", "tables", "render"} <= logs


def test_second_dry_run_has_nothing_to_do(tiny_run):
    done = snakemake(tiny_run, "-n")
    assert done.returncode == 0
    assert "Nothing to be done" in done.stdout + done.stderr


@pytest.mark.skipif(not os.environ.get("CI") and not Path("/usr/bin/chromium").exists(),
                    reason="needs Debian's chromium + chromium-driver (CI installs them)")
def test_results_page_loads_in_a_browser(tiny_run):
    from browser import check_page

    found = check_page(tiny_run / "results" / "page" / "index.html")
    assert len(found["images"]) == 2 + 2 * 2 * 2
    assert all(width > 0 for width in found["images"].values()), found["images"]
    assert len(found["audio"]) == 2 * 2 * 2 * 2
    assert all(duration and duration > 0 for duration in found["audio"].values()), found["audio"]


def test_report_bundles_the_results(tiny_run):
    done = snakemake(tiny_run, "--report", "report.html")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tiny_run / "report.html").stat().st_size > 100_000


def test_cli_of_each_step_is_reachable():
    # Every step script answers --help (its CLI parses) without running anything.
    for script in sorted((REPO / "workflow" / "scripts").glob("*.py")):
        done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True,
                              cwd=REPO, timeout=120)
        assert done.returncode == 0 and "usage" in done.stdout, (script.name, done.stderr[-2000:])


def test_snakemake_lint_and_snakefmt_are_clean():
    lint = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert lint.returncode == 0, lint.stdout[-3000:] + lint.stderr[-3000:]
    fmt = subprocess.run([shutil.which("snakefmt") or str(Path(sys.executable).parent / "snakefmt"),
                          "--check", "Snakefile", "workflow/rules"], capture_output=True, text=True, cwd=REPO)
    assert fmt.returncode == 0, fmt.stderr[-3000:]
