"""The tiny workflow with `training.replicates: 2`, run on a copy of the finished single-replicate run: only the
second replicate's jobs and the tables, figures and page over the replicates run; replicate 0's results stay as
they were; every table gives a mean and a 95 % confidence interval computed from the two replicates' results; and
going back to one replicate re-runs only the tables, figures and page."""

import copy
import csv
import hashlib
import json
import shutil

import pytest
import yaml
from scipy import stats

from test_rerun import DATA_RULES, by, dry_run
from tiny_workflow import TINY, snakemake

REPLICATE_1 = "replicates/1/"
MODEL_RULES = {"train", "evaluate", "relevance", "manipulation", "sanity", "tdoa", "explanations"}
# the report card's and components' figures and the input check are replicate 0's: a second replicate does not
# re-run them
AGGREGATES = {"localization_table", "manipulation_table", "aopc_table", "srg_table", "tdoa_table",
              "randomization_table", "sanity_table", "conservation_table", "explanations_table", "components_table",
              "manipulation_figure", "randomization_figure", "page", "all"}
TABLES = ("localization", "manipulation", "aopc", "srg", "tdoa", "randomization", "sanity", "conservation")


def with_replicates(n):
    config = copy.deepcopy(TINY)
    config["training"]["replicates"] = n
    return config


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def replicate_zero_files(workdir):
    """Every result file of replicate 0 a model job writes (checkpoints, evaluations, relevance, curves, sanity)."""
    results = workdir / "results"
    return {p.relative_to(results): digest(p) for folder in ("models", "evaluation", "relevance", "manipulation",
                                                             "sanity", "tdoa") for p in (results / folder).rglob("*")
            if p.is_file() and p.suffix != ".png"}  # a PNG's bytes depend on the matplotlib run, not the model


@pytest.fixture(scope="module")
def two_replicates(tiny_workflow_run, tmp_path_factory):
    """(planned jobs, workdir): a copy of the single-replicate run, the jobs a dry run with two replicates plans
    there, then the run itself."""
    workdir = tmp_path_factory.mktemp("replicates") / "run"
    shutil.copytree(tiny_workflow_run, workdir, symlinks=True)
    config = workdir / "two.yaml"
    config.write_text(yaml.safe_dump(with_replicates(2)))
    jobs = dry_run(workdir, with_replicates(2), tmp_path_factory.mktemp("dry"))
    done = snakemake(workdir, config=config)
    assert done.returncode == 0, done.stderr[-4000:]
    return jobs, workdir


def test_a_second_replicate_adds_only_its_jobs_and_the_aggregates(two_replicates):
    jobs, _ = two_replicates
    per_rep = by(jobs, "rep")
    assert set(per_rep) == {REPLICATE_1, None}
    assert per_rep[REPLICATE_1] == MODEL_RULES
    assert per_rep[None] == AGGREGATES  # no data, no choice of sources, no source figures, no SRP-PHAT again
    assert not {rule for rule, _, _ in jobs} & (DATA_RULES | {"select_sources", "render_source", "srp_baseline"})
    assert sum(rule == "train" for rule, _, _ in jobs) == 2 * 2  # two models x two conditions


def test_replicate_zero_is_left_as_it_was_and_replicate_one_is_another_model(two_replicates, tiny_workflow_run):
    _, workdir = two_replicates
    assert replicate_zero_files(workdir) == replicate_zero_files(tiny_workflow_run)
    zero = workdir / "results" / "models" / "loc_cnn" / "SNR_20_T60_0.2.pth"
    one = workdir / "results" / REPLICATE_1 / "models" / "loc_cnn" / "SNR_20_T60_0.2.pth"
    assert digest(zero) != digest(one)  # trained from another seed
    for folder in ("evaluation/loc_cnn/SNR_20_T60_0.2/summary.json", "relevance/sample_cnn/SNR_10_T60_0.4.h5",
                   "manipulation/sample_cnn/SNR_10_T60_0.4.json", "sanity/loc_cnn/SNR_10_T60_0.4.json",
                   "tdoa/SNR_10_T60_0.4.json"):
        assert (workdir / "results" / REPLICATE_1 / folder).stat().st_size > 0, folder
    assert (workdir / "logs" / REPLICATE_1 / "train" / "loc_cnn" / "SNR_20_T60_0.2.log").exists()


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_localization_table_gives_mean_and_confidence_interval_of_the_two_replicates(two_replicates):
    _, workdir = two_replicates
    rows = {(r["model"], r["condition"]): r for r in read_csv(workdir / "results/tables/localization.csv")}
    t = stats.t.ppf(0.975, 1)
    for model in ("loc_cnn", "sample_cnn"):
        for cond in ("SNR_20_T60_0.2", "SNR_10_T60_0.4"):
            maes = [json.loads((workdir / "results" / prefix / "evaluation" / model / cond / "summary.json")
                               .read_text())["mae"] for prefix in ("", REPLICATE_1)]
            row = rows[model, cond]
            assert float(row["MAE [m]"]) == pytest.approx(sum(maes) / 2)
            assert float(row["MAE [m] ±95% CI"]) == pytest.approx(t * abs(maes[0] - maes[1]) / 2)
            assert row["replicates"] == "2"
    srp = rows["srp_phat", "SNR_20_T60_0.2"]  # no seed changes it: the same summary in both replicates
    assert float(srp["MAE [m] ±95% CI"]) == 0.0


@pytest.mark.parametrize("table", TABLES)
def test_every_table_reports_confidence_intervals(two_replicates, table):
    _, workdir = two_replicates
    rows = read_csv(workdir / "results" / "tables" / f"{table}.csv")
    ranged = [k for k in rows[0] if k.endswith("±95% CI")]
    assert ranged and all(r["replicates"] == "2" for r in rows)
    half_widths = [float(r[k]) for r in rows for k in ranged if r[k] not in ("", "nan")]
    assert half_widths and all(h >= 0 for h in half_widths) and any(h > 0 for h in half_widths)
    md = (workdir / "results" / "tables" / f"{table}.md").read_text()
    assert " ± " in md and md.splitlines()[0].endswith("| replicates |")


def test_page_and_figures_say_they_cover_the_replicates(two_replicates, tiny_workflow_run):
    _, workdir = two_replicates
    page = (workdir / "results" / "page" / "index.md").read_text()
    assert "Every model was trained from 2 seeds (training.replicates)." in page
    assert "Replicate 0's verdict holds for every replicate in " in page
    assert " ± " in page.split("## Localization error")[1]
    figures = workdir / "results" / "page" / "figures"
    before = tiny_workflow_run / "results" / "page" / "figures"
    for name in ("manipulation__loc_cnn_.png", "randomization_sample_cnn.png"):
        assert digest(figures / name) != digest(before / name), name  # redrawn with the replicates' spread
    stem = "loc_cnn_SNR_20_T60_0.2_error_min"  # the sources stay replicate 0's: not redrawn
    assert digest(figures / f"ex_gcc_relevance_{stem}.png") == digest(before / f"ex_gcc_relevance_{stem}.png")


def test_back_to_one_replicate_reruns_only_the_aggregates(two_replicates, tmp_path):
    _, workdir = two_replicates
    jobs = dry_run(workdir, with_replicates(1), tmp_path)
    assert {rule for rule, _, _ in jobs} <= AGGREGATES
    assert {"localization_table", "page"} <= {rule for rule, _, _ in jobs}


def test_report_lists_each_replicates_training(two_replicates):
    _, workdir = two_replicates
    done = snakemake(workdir, "--report", "report.html", config=workdir / "two.yaml")
    assert done.returncode == 0, done.stderr[-3000:]
    report = (workdir / "report.html").read_text()
    assert "replicates/1/models/loc_cnn/SNR_20_T60_0.2.png" in report  # replicate 1's loss curve is in it
    assert "results/models/loc_cnn/SNR_20_T60_0.2.png" in report
