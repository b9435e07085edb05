"""The whole workflow on a tiny config (tests/tiny_workflow.py): every rule and condition from an empty
results folder, the page in a browser, the report, and the CLIs and linters (ruff, snakemake --lint, snakefmt).
(What a second run re-does: tests/test_rerun.py.)"""

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import soundfile

from conftest import REPO
from tiny_workflow import snakemake


def test_every_page_file_is_produced_with_the_seed_names(tiny_workflow_run):
    figures = tiny_workflow_run / "results" / "page" / "figures"
    conds = ["SNR_20_T60_0.2", "SNR_10_T60_0.4"]
    for model in ("loc_cnn", "sample_cnn"):
        for name in (f"manipulation__{model}_.png", f"randomization_{model}.png"):
            assert (figures / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        for cond in conds:
            for extreme in ("min", "max"):
                stem = f"{model}_{cond}_error_{extreme}"
                assert (figures / f"ex_gcc_relevance_{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
                for name in (f"audio_microphone_{stem}.wav", f"audio_relevance_{stem}.wav"):
                    info = soundfile.info(figures / name)  # the source's test windows, played at 16 kHz
                    assert info.samplerate == 16000 and info.frames > 0.2 * 16000, (name, info)
    page = (tiny_workflow_run / "results" / "page" / "index.md").read_text()
    assert all(cond in page for cond in conds)
    # Rows: 2 models x 2 conditions (+ SRP-PHAT's 2) for localization; manipulation per model x (2 conditions and
    # their pool) x (3 orderings + relevance ranked by magnitude); TDoA one per condition x mic pair (the default
    # three); the cascades have 1 + 7 (LocCNN) and 1 + 8 (SampleCNN) steps per condition.
    expected = {"localization": 6, "manipulation": 2 * 3 * (3 + 1), "tdoa": 2 * 3, "sanity": 4, "conservation": 4,
                "randomization": 2 * (1 + 7) + 2 * (1 + 8)}
    for table, count in expected.items():
        with open(tiny_workflow_run / "results" / "tables" / f"{table}.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == count, (table, len(rows))
        assert {r["condition"] for r in rows} - {"pooled"} == set(conds), table


def test_page_and_table_say_whether_each_model_localizes(tiny_workflow_run):
    from sslrp.report import verdict

    page = (tiny_workflow_run / "results" / "page" / "index.md").read_text()
    feature = page.split("## Localization error")[0]
    for label in ("LocCNN", "SampleCNN"):  # one verdict per condition under each model's name
        said = re.findall(rf"^{label} (localizes|localizes only partly|does not localize) between its training "
                          r"positions \(validation MAE .*\) (and|but) (localizes|localizes only partly|does not "
                          r"localize) in the unseen test square \(test MAE ", feature, re.M)
        assert len(said) == 2, (label, said)
    with open(tiny_workflow_run / "results" / "tables" / "localization.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["verdict"] for r in rows} <= {verdict.LOCALIZES, verdict.PARTLY, verdict.NOT}
    assert len(rows) == 2 * 2 + 2  # two models and SRP-PHAT, two conditions


def test_page_says_what_the_sanity_checks_found(tiny_workflow_run):
    page = (tiny_workflow_run / "results" / "page" / "index.md").read_text()
    section = page.split("## Sanity checks of the explanations")[1].split("\n## ")[0]
    findings = re.findall(r"^- (LocCNN|SampleCNN), T60 .*: with every layer re-initialized, .* "
                          r"(does not depend|depends) on what the network learned\.$", section, re.M)
    assert len(findings) == 2 * 2, section
    assert "figures/randomization_loc_cnn.png" in section and "Summed over the input, the relevance is" in section
    with open(tiny_workflow_run / "results" / "tables" / "randomization.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * (1 + 7) + 2 * (1 + 8)  # per condition: LocCNN's and SampleCNN's cascades from depth 0


def test_relevance_matches_the_test_windows(tiny_workflow_run):
    """The stored relevance is the LRP of the trained SampleCNN for each test window, started from the window's
    true position (explain.target: ground_truth): recomputed here for a few windows from the checkpoint."""
    from sslrp.data import dataset
    from sslrp.explain import lrp
    from sslrp.localize import models

    data = tiny_workflow_run / "results" / "data" / "SNR_20_T60_0.2.h5"
    rel = tiny_workflow_run / "results" / "relevance" / "sample_cnn" / "SNR_20_T60_0.2.h5"
    with h5py.File(data) as d, h5py.File(rel) as r:
        assert r["relevance"].shape == d["test/windows"].shape
        assert (r["source"][:] == d["test/source"][:]).all()
    test = dataset.read_split(data, "test")
    stored, targets = dataset.read_relevance(rel, test, targets=True)
    rows = [0, len(test.windows) // 2, len(test.windows) - 1]
    np.testing.assert_array_equal(targets[rows], test.position[test.source[rows]].astype(np.float32))
    model = models.load("sample_cnn", tiny_workflow_run / "results" / "models" / "sample_cnn" / "SNR_20_T60_0.2.pth",
                        test.windows.shape[2])
    again = lrp.relevance(models.spec("sample_cnn").wrap(model), test.windows[rows], targets[rows])
    np.testing.assert_allclose(stored[rows], again, rtol=1e-4, atol=1e-5 * np.abs(again).max())


# What each step's log says when the step did its work (a line every run of it writes).
LOG_LINES = {"corpus": r"6 utterances, ", "simulate": r"measured T60 \(median over the shard's sources\)",
             "gather": r"test: 3 sources, \d+ windows", "train": r"epoch 2/2: .*\n.*done after epoch 2",
             "evaluate": r"test MAE \d", "relevance": r"\d+ windows, output relevance = ground_truth",
             "select": r"error_min: source .*\n.*error_max: source", "manipulation": r"random: 0%=.* AOPC=",
             "tdoa": r"microphone: anomalies .* %, MAE", "sanity": r"conservation: median ratio",
             "render": r"s of audio$|-> results/page/figures/|wrote results/page/index",
             "tables": r" table: \d+ rows from \d+ files"}


def test_every_rule_left_a_log_saying_what_it_did(tiny_workflow_run):
    folder = tiny_workflow_run / "logs"
    logs = {}
    for path in folder.rglob("*.log"):
        logs.setdefault(path.relative_to(folder).parts[0].removesuffix(".log"), []).append(path)
    assert set(LOG_LINES) <= set(logs)
    for step, pattern in LOG_LINES.items():
        for path in logs[step]:
            text = path.read_text()
            assert re.search(pattern, text, re.M), (path, text[-1000:])
    for paths in logs.values():
        for path in paths:
            assert "Traceback" not in path.read_text(), path


@pytest.mark.skipif(not os.environ.get("CI") and not Path("/usr/bin/chromium").exists(),
                    reason="needs Debian's chromium + chromium-driver (CI installs them)")
def test_results_page_loads_in_a_browser(tiny_workflow_run):
    from browser import check_page

    found = check_page(tiny_workflow_run / "results" / "page" / "index.html")
    # Per model the manipulation, randomization, report card and components figures; per model, condition and
    # extreme the rendered source.
    figures = {f"figures/{kind}_{model}.png" for kind in ("randomization", "explanations", "components")
               for model in ("loc_cnn", "sample_cnn")}
    assert figures <= set(found["images"]), sorted(found["images"])
    assert len(found["images"]) == 2 * 4 + 2 * 2 * 2
    assert all(width > 0 for width in found["images"].values()), found["images"]
    assert len(found["audio"]) == 2 * 2 * 2 * 2
    assert all(duration and duration > 0 for duration in found["audio"].values()), found["audio"]


def test_report_bundles_the_results_and_renders_cleanly(tiny_workflow_run):
    done = snakemake(tiny_workflow_run, "--report", "report.html")
    assert done.returncode == 0, done.stderr[-3000:]
    report = (tiny_workflow_run / "report.html").read_text()
    # Every output the rules mark report(...) is in it: per model and condition the training history and curve
    # and the positions figure, per rendered source its figure and both sounds, the figures over conditions, the
    # eight tables and the page.
    runs = [f"{model}/{cond}" for model in ("loc_cnn", "sample_cnn") for cond in ("SNR_20_T60_0.2", "SNR_10_T60_0.4")]
    sources = [f"{run.replace('/', '_')}_error_{extreme}" for run in runs for extreme in ("min", "max")]
    per_source = (("ex_gcc_relevance", "png"), ("audio_microphone", "wav"), ("audio_relevance", "wav"))
    expected = {*(f"results/models/{run}.{ext}" for run in runs for ext in ("csv", "png")),
                *(f"results/evaluation/{run}/positions.png" for run in runs),
                *(f"results/page/figures/{kind}_{s}.{ext}" for s in sources for kind, ext in per_source),
                *(f"results/page/figures/{name}.png" for name in ("manipulation__loc_cnn_", "manipulation__sample_cnn_",
                                                                  "randomization_loc_cnn", "randomization_sample_cnn")),
                *(f"results/tables/{t}.csv" for t in ("localization", "manipulation", "aopc", "srg", "tdoa",
                                                      "randomization", "sanity", "conservation")),
                "results/page/index.html"}
    found = set(re.findall(r"results/[\w./-]+\.(?:png|csv|wav|html)", report))
    assert len(expected) == 49 and expected <= found, sorted(expected - found)
    assert "LRP for end-to-end speech source localization" in report  # the front page (workflow/report/workflow.rst)
    # docutils reports problems in the front page or a caption as "(WARNING/2)", "(ERROR/3)", "(SEVERE/4)"
    messages = re.findall(r".*\((?:WARNING|ERROR|SEVERE)/\d\).*", done.stdout + done.stderr)
    assert not messages, messages


def test_cli_of_each_step_is_reachable():
    # Every step script answers --help (its CLI parses) without running anything.
    for script in sorted((REPO / "workflow" / "scripts").glob("*.py")):
        done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True,
                              cwd=REPO, timeout=120)
        assert done.returncode == 0 and "usage" in done.stdout, (script.name, done.stderr[-2000:])


def test_ruff_finds_nothing():
    # ruff.toml holds the settings; the pinned ruff of requirements.txt
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_snakemake_lint_and_snakefmt_are_clean():
    lint = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert lint.returncode == 0, lint.stdout[-3000:] + lint.stderr[-3000:]
    fmt = subprocess.run([shutil.which("snakefmt") or str(Path(sys.executable).parent / "snakefmt"),
                          "--check", "Snakefile", "workflow/rules"], capture_output=True, text=True, cwd=REPO)
    assert fmt.returncode == 0, fmt.stderr[-3000:]
