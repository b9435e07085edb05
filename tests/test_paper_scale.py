"""Paper scale through Snakemake itself: the README's command for one paper-scale condition, dry-run, plans
exactly that condition's jobs at the paper's size (both models, 32 simulation shards), locally and through
the SLURM profile; and config files on the command line replace the quick default instead of inheriting
its settings."""

import copy
import shlex
import subprocess
import sys
from collections import Counter

import yaml
from snakemake.utils import update_config

from conftest import REPO
from sslrp import config as configuration
from test_rerun import planned_jobs

# The command README.md documents for one paper-scale condition (on a GPU box), and its SLURM twin.
ONE_CONDITION = "snakemake --cores 16 --configfile config/paper.yaml config/one_condition.yaml"
ONE_CONDITION_SLURM = "snakemake --profile profiles/slurm --configfile config/paper.yaml config/one_condition.yaml"
COND = "SNR_25_T60_0.15"
# Jobs of one condition and two models: 32 shards, per model one of each model step and two rendered sources,
# the eight tables, the two manipulation and two randomization figures and the page.
EXPECTED = {
    "corpus": 1, "simulate_shard": 32, "gather_dataset": 1, "srp_baseline": 1,
    "train": 2, "evaluate": 2, "relevance": 2, "select_sources": 2, "manipulation": 2, "tdoa": 1, "sanity": 2,
    "render_source": 4, "manipulation_figure": 2, "randomization_figure": 2,
    "localization_table": 1, "manipulation_table": 1, "aopc_table": 1, "srg_table": 1, "tdoa_table": 1,
    "randomization_table": 1, "sanity_table": 1, "conservation_table": 1, "page": 1, "all": 1,
    "components": 1, "explanations": 2, "explanations_figure": 2, "components_figure": 2, "explanations_table": 1,
    "components_table": 1, "input_check": 2, "input_table": 1,
}


def dry_run(command, workdir):
    """`command` (a README command line) as a dry run of the repo's Snakefile with results in `workdir`; the
    config files are read from the repository, as when the command is typed in its root."""
    args = shlex.split(command)
    assert args[0] == "snakemake"
    cmd = [sys.executable, "-m", "snakemake", *args[1:], "-n", "-s", str(REPO / "Snakefile"),
           "--directory", str(workdir)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return planned_jobs(done.stdout + done.stderr)


def test_readme_documents_the_one_condition_commands():
    readme = (REPO / "README.md").read_text()
    assert f"`{ONE_CONDITION}`" in readme and ONE_CONDITION_SLURM in readme


def test_one_paper_condition_plans_its_jobs_and_not_the_quick_defaults(tmp_path):
    # The workdir's own quick default (one model, no SRP-PHAT) must not leak into the paper-scale run.
    quick = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump({**quick, "models": ["loc_cnn"],
                                                                     "srp": {"enabled": False}}))
    jobs = dry_run(ONE_CONDITION, tmp_path)
    assert Counter(rule for rule, _, _ in jobs) == EXPECTED
    assert {w.get("cond") for _, w, _ in jobs} - {None} == {COND}
    assert {w.get("model") for rule, w, _ in jobs if rule == "train"} == {"loc_cnn", "sample_cnn"}
    assert sorted(int(w["shard"]) for rule, w, _ in jobs if rule == "simulate_shard") == list(range(32))


def test_one_paper_condition_through_the_slurm_profile_asks_gpus_for_training(tmp_path):
    jobs = dry_run(ONE_CONDITION_SLURM, tmp_path)
    assert Counter(rule for rule, _, _ in jobs) == EXPECTED
    assert all(res.get("gpu") == "1" for rule, _, res in jobs if rule in ("train", "relevance"))


def test_the_overlay_replaces_only_the_conditions_of_paper_yaml():
    # Snakemake merges --configfile files in order with update_config: dicts recursively, lists replaced.
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    overlay = yaml.safe_load((REPO / "config" / "one_condition.yaml").read_text())
    assert list(overlay) == ["conditions"]
    merged = copy.deepcopy(paper)
    update_config(merged, overlay)
    assert configuration.validate(merged) == configuration.validate({**paper, "conditions": overlay["conditions"]})
    assert list(configuration.conditions(configuration.validate(merged))) == [COND]


def _pop(config, path):
    """Remove and return the value at `path` (a tuple of keys) of a nested config."""
    *parents, key = path
    for k in parents:
        config = config[k]
    return config.pop(key)


def test_the_capped_check_overlay_changes_only_utterances_corpus_and_epochs():
    paper = configuration.validate(yaml.safe_load((REPO / "config" / "paper.yaml").read_text()))
    capped = copy.deepcopy(paper)
    update_config(capped, yaml.safe_load((REPO / "checks" / "capped.yaml").read_text()))
    capped = configuration.validate(capped)
    changed = {("signals", "max_seconds"): 1.3, ("corpus", "n_utterances"): 400,
               ("training", "loc_cnn", "max_epochs"): 120, ("training", "sample_cnn", "max_epochs"): 80}
    assert {path: _pop(capped, path) for path in changed} == changed
    for path in changed:
        _pop(paper, path)
    assert capped == paper
