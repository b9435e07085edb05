"""The quick default's whole job plan, by `snakemake -n` from an empty folder: as many jobs as README.md says,
each rule as often as the config implies, and each model trained as one warm-start chain over the conditions in
config/config.yaml's order."""

import re
import subprocess
import sys
from collections import Counter

import pytest
import yaml

from conftest import REPO
from sslrp import config as configuration

JOB = re.compile(r"^(?:local)?rule (\w+):\n((?:    .*\n)*)", re.M)


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    """(rule, {field: value}) of every job the quick default plans, fields as the dry run prints them."""
    workdir = tmp_path_factory.mktemp("quick")
    done = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "2", "-s", str(REPO / "Snakefile"),
                           "--directory", str(workdir), "--configfile", str(REPO / "config" / "config.yaml")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    output = done.stdout + done.stderr
    jobs = [(rule, dict(re.findall(r"^    (\w+): (.*)$", body, re.M))) for rule, body in JOB.findall(output)]
    assert int(re.search(r"^total\s+(\d+)$", output, re.M).group(1)) == len(jobs)
    return jobs


def test_quick_default_plans_the_readmes_job_count_rule_by_rule(plan):
    readme_count = int(re.search(r"from a fresh clone: [\d:]+ wall, (\d+) jobs", (REPO / "README.md").read_text())[1])
    assert len(plan) == readme_count == 126
    quick = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    c, m, shards = len(quick["conditions"]), 2, quick["simulation"]["shards"]  # 4 conditions, both models
    per_model_and_cond = {"train", "evaluate", "relevance", "manipulation", "sanity", "select_sources", "explanations",
                          "input_check"}
    expected = {"corpus": 1, "simulate_shard": c * shards, "gather_dataset": c, "srp_baseline": c, "tdoa": c,
                "components": c, "explanations_figure": m, "components_figure": m, "input_table": 1,
                **{rule: c * m for rule in per_model_and_cond}, "render_source": c * m * 2,  # best and worst source
                "manipulation_figure": m, "randomization_figure": m, "page": 1, "all": 1,
                **{f"{t}_table": 1 for t in ("localization", "aopc", "conservation", "manipulation", "randomization",
                                             "sanity", "srg", "tdoa", "explanations", "components")}}
    assert Counter(rule for rule, _ in plan) == expected


def test_quick_default_trains_each_model_warm_from_the_previous_condition(plan):
    conds = list(configuration.conditions(configuration.load(REPO / "config" / "config.yaml")))
    inputs = {}
    for rule, fields in plan:
        if rule == "train":
            wildcards = dict(item.split("=", 1) for item in fields["wildcards"].split(", "))
            inputs[wildcards["model"], wildcards["cond"]] = fields["input"].split(", ")
    assert len(inputs) == 2 * len(conds) == 8
    for model in ("loc_cnn", "sample_cnn"):
        assert inputs[model, conds[0]] == [f"results/data/{conds[0]}.h5"]  # the chain's root: seeded weights
        for previous, cond in zip(conds, conds[1:]):
            assert inputs[model, cond] == [f"results/data/{cond}.h5", f"results/models/{model}/{previous}.pth"]
