"""Seed replicates (training.replicates): the path scheme and seeds of the replicates, the mean and 95 % confidence
interval the tables report (against an independent computation), the tables, figures and page over replicates,
and the config check. (The workflow with two replicates: tests/test_replicates_workflow.py.)"""

import csv
import math

import matplotlib.image
import numpy as np
import pytest
from scipy import stats

from sslrp import config as configuration
from sslrp import names, seeding, step_settings
from sslrp.report import page, plots, replicates, tables
from test_page import make_spec, summary

# --- paths and seeds -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("replicate, prefix", [(0, ""), (1, "replicates/1/"), (12, "replicates/12/")])
def test_replicate_prefix_round_trips(replicate, prefix):
    assert names.replicate_prefix(replicate) == prefix
    assert names.parse_replicate(prefix) == replicate


@pytest.mark.parametrize("bad", ["replicates/0/", "replicates/1", "replicates/x/", "rep1/"])
def test_parse_replicate_refuses_what_no_rule_writes(bad):
    with pytest.raises(ValueError, match="not a replicate prefix"):
        names.parse_replicate(bad)


def test_replicate_zero_keeps_the_configs_seed_and_the_others_differ():
    assert seeding.replicate_seed(7, 0) == 7
    seeds = [seeding.replicate_seed(7, r) for r in range(1, 6)]
    assert len(set(seeds + [7])) == 6 and all(0 <= s < 2**31 for s in seeds)
    assert seeding.replicate_seed(7, 3) == seeds[2]  # from (seed, replicate) alone, whatever N is
    assert seeding.replicate_seed(8, 1) != seeds[0]


def test_step_settings_give_each_replicate_its_seed_and_folders(tiny_config):
    config = {**tiny_config, "training": {**tiny_config["training"], "replicates": 3}}
    cond = next(iter(configuration.conditions(config)))
    assert step_settings.train(config, "loc_cnn", cond) == step_settings.train(tiny_config, "loc_cnn", cond)
    assert step_settings.train(config, "loc_cnn", cond, 2)["seed"] == seeding.replicate_seed(config["seed"], 2)
    assert step_settings.manipulation(config, "loc_cnn", cond, 1)["seed"] == seeding.replicate_seed(config["seed"], 1)
    assert step_settings.sanity(config, "loc_cnn", cond, 1)["seed"] == seeding.replicate_seed(config["seed"], 1)
    paths = step_settings.every_replicate(step_settings.sanity_results, config)
    assert paths == [f"results/{p}sanity/loc_cnn/{cond}.json" for p in ("", "replicates/1/", "replicates/2/")]
    assert replicates.split(paths, 3) == [[p] for p in paths]
    with pytest.raises(ValueError, match="equal shares"):
        replicates.split(paths, 2)


def test_summaries_of_every_replicate_share_srp_phat(tiny_config):
    config = {**tiny_config, "training": {**tiny_config["training"], "replicates": 2},
              "srp": {**tiny_config["srp"], "enabled": True}}
    cond = next(iter(configuration.conditions(config)))
    first, second = replicates.split(step_settings.every_replicate(step_settings.summaries, config), 2)
    assert first == [f"results/evaluation/loc_cnn/{cond}/summary.json",
                     f"results/evaluation/srp_phat/{cond}/summary.json"]
    assert second == [f"results/replicates/1/evaluation/loc_cnn/{cond}/summary.json", first[1]]


def test_pretrained_checkpoint_and_several_replicates_is_a_config_error(tmp_path):
    from conftest import TINY_COND, TINY_RAW_CONFIG

    checkpoint = tmp_path / "model.pth"
    checkpoint.write_bytes(b"")
    raw = {**TINY_RAW_CONFIG, "pretrained": {"loc_cnn": {TINY_COND: str(checkpoint)}}}
    configuration.validate(raw)  # one replicate: fine
    with pytest.raises(configuration.ConfigError, match=r"pretrained\.loc_cnn\..*training\.replicates is 2"):
        configuration.validate({**raw, "training": {"replicates": 2}})
    with pytest.raises(configuration.ConfigError, match="replicates"):
        configuration.validate({**TINY_RAW_CONFIG, "training": {"replicates": 0}})


# --- mean and confidence interval ---------------------------------------------------------------------------

def test_estimate_is_students_t_interval():
    e = replicates.estimate([1.0, 2.0, 4.0])
    # by hand: mean 7/3, sample sd sqrt(7/3), t(0.975, 2) = 4.302653
    assert e.mean == pytest.approx(7 / 3) and e.n == 3
    assert e.half_width == pytest.approx(4.302653 * math.sqrt(7 / 3) / math.sqrt(3), rel=1e-6)
    two = replicates.estimate([0.10, 0.14])
    assert two.half_width == pytest.approx(12.7062 * 0.02, rel=1e-4)  # t(0.975, 1) * |a - b| / 2
    assert two.interval == pytest.approx((0.12 - two.half_width, 0.12 + two.half_width))


def test_estimate_of_equal_one_or_missing_values():
    assert replicates.estimate([0.05, 0.05]) == replicates.Estimate(0.05, 0.0, 2)
    one = replicates.estimate([0.3])
    assert one.mean == 0.3 and math.isnan(one.half_width) and one.n == 1
    skipped = replicates.estimate([1.0, float("nan"), 3.0])
    assert skipped.n == 2 and skipped.mean == 2.0
    assert replicates.estimate([float("nan")]).n == 0
    assert replicates.Estimate(0.1234, 0.0051, 2).format(3) == "0.123 ± 0.005"
    assert replicates.Estimate(0.1234, float("nan"), 1).format(2) == "0.12 ± –"


def _rows(mae, status, windows=40):
    return [{"model": "loc_cnn", "condition": "SNR_25_T60_0.15", "windows": windows, "MAE [m]": mae,
             "verdict": status}]


def test_combine_averages_numbers_tallies_texts_and_keeps_one_table_as_is():
    single = _rows(0.1, "localizes")
    assert replicates.combine([single]) is single
    (row,) = replicates.combine([_rows(0.10, "localizes"), _rows(0.14, "does not localize"),
                                 _rows(0.12, "does not localize")])
    assert row["model"] == "loc_cnn" and row["windows"] == 40 and row["replicates"] == 3
    expected = np.mean([0.10, 0.14, 0.12]), stats.t.ppf(0.975, 2) * np.std([0.10, 0.14, 0.12], ddof=1) / math.sqrt(3)
    assert (row["MAE [m]"].mean, row["MAE [m]"].half_width) == pytest.approx(expected)
    assert row["verdict"] == "does not localize 2/3, localizes 1/3"


def test_combine_refuses_tables_that_do_not_match():
    with pytest.raises(ValueError, match=r"\[1, 2\] rows"):
        replicates.combine([_rows(0.1, "x"), _rows(0.1, "x") * 2])
    other = [dict(_rows(0.1, "x")[0], condition="SNR_10_T60_0.6")]
    with pytest.raises(ValueError, match="condition"):
        replicates.combine([_rows(0.1, "x"), other])


def test_table_over_replicates_writes_mean_and_half_width(tmp_path):
    rows = replicates.combine([_rows(0.10, "localizes"), _rows(0.14, "localizes")])
    tables.write(rows, tmp_path / "t.md", tmp_path / "t.csv", digits=3)
    md = (tmp_path / "t.md").read_text().splitlines()
    assert md[0] == "| model | condition | windows | MAE [m] | verdict | replicates |"
    assert md[2] == "| loc_cnn | SNR_25_T60_0.15 | 40 | 0.120 ± 0.254 | localizes | 2 |"
    with open(tmp_path / "t.csv") as f:
        (record,) = list(csv.DictReader(f))
    assert float(record["MAE [m]"]) == pytest.approx(0.12)
    assert float(record["MAE [m] ±95% CI"]) == pytest.approx(stats.t.ppf(0.975, 1) * 0.02)


# --- figures and page ----------------------------------------------------------------------------------------

def test_manipulation_figure_shades_the_replicates_range(tmp_path):
    single = {"SNR_25_T60_0.15": {"relevance": ([0, 50], [0.1, 0.3])}}
    fig = plots.manipulation_figure(single, "LocCNN")
    assert not fig.axes[0].collections and "replicates" not in fig._suptitle.get_text()
    spread = {"SNR_25_T60_0.15": {"relevance": ([0, 50], [[0.1, 0.3], [0.1, 0.5]])}}
    fig = plots.manipulation_figure(spread, "LocCNN")
    (line,), (band,) = fig.axes[0].lines, fig.axes[0].collections
    assert list(line.get_ydata()) == pytest.approx([0.1, 0.4])
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(0.1) and ys.max() == pytest.approx(0.5)
    assert "mean of 2 seed replicates, range shaded" in fig._suptitle.get_text()
    plots.save_figure(fig, tmp_path / "f.png")
    assert matplotlib.image.imread(tmp_path / "f.png").shape[2] == 4


def _sanity(spearman, anomalies, mic=10.0):
    return {"randomization": [{"depth": d, "layer": layer, "spearman": s, "tdoa_anomaly_percent": a}
                              for d, (layer, s, a) in enumerate(zip(["trained", "fc2"], spearman, anomalies))],
            "microphone_tdoa": {"anomaly_percent": mic}}


def test_randomization_figure_over_replicates_draws_their_mean():
    results = {"SNR_25_T60_0.15": [_sanity([1.0, 0.2], [5.0, 0.0], 10.0), _sanity([1.0, 0.4], [15.0, 0.0], 20.0)]}
    fig = plots.randomization_figure(results, "LocCNN")
    left, right = fig.axes[:2]
    assert list(left.lines[0].get_ydata()) == pytest.approx([1.0, 0.3])
    assert list(right.lines[0].get_ydata()) == pytest.approx([10.0, 0.0])
    assert right.lines[1].get_ydata()[0] == pytest.approx(15.0)  # the microphones' mean
    assert len(left.collections) == len(right.collections) == 1


def test_page_says_whether_replicate_zeros_verdicts_hold():
    cond = "SNR_25_T60_0.15"
    zero = [summary("loc_cnn", cond, 0.081, 0.050), summary("sample_cnn", cond, 0.150, 0.120)]
    other = [summary("loc_cnn", cond, 0.150, 0.120), summary("sample_cnn", cond, 0.160, 0.120)]
    spec = make_spec([cond], summaries=zero)
    assert "training.replicates" not in page.build_markdown(spec)  # one replicate: no note
    spec = page.PageSpec(**{**spec.__dict__, "replicate_summaries": (other,)})
    markdown = page.build_markdown(spec)
    assert "Every model was trained from 2 seeds (training.replicates)." in markdown
    assert ("Replicate 0's verdict holds for every replicate in 1 of 2 model x condition pairs; it differs between "
            "seeds for LocCNN (T60 0.15 s, SNR 25 dB): localizes in 1, does not localize in 1.") in markdown
    # the page's own verdict sentences stay replicate 0's
    assert "LocCNN localizes: test MAE 0.081 m" in markdown


def test_table_cli_combines_the_replicates_it_is_told_of(tmp_path):
    import json
    import subprocess
    import sys

    from conftest import REPO

    files = []
    for r, mae in enumerate((0.10, 0.14)):
        files.append(tmp_path / f"summary{r}.json")
        files[-1].write_text(json.dumps({**summary("loc_cnn", "SNR_25_T60_0.15", mae, 0.05), "model": "loc_cnn"}))
    cmd = [sys.executable, str(REPO / "workflow" / "scripts" / "table.py"), "--kind", "localization",
           "--md", str(tmp_path / "t.md"), "--csv", str(tmp_path / "t.csv"), "--replicates", "2", *map(str, files)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    with open(tmp_path / "t.csv") as f:
        (record,) = list(csv.DictReader(f))
    assert float(record["MAE [m]"]) == pytest.approx(0.12) and record["replicates"] == "2"
