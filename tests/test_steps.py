"""The step scripts' plumbing (sslrp.steps) and settings (sslrp.step_settings): a Snakemake job hands run() its
files by name, every step's settings fit its run(), and an uncaught error is logged without hiding it."""

import inspect
import subprocess
import sys
from types import SimpleNamespace

import pytest

from conftest import SCRIPTS, load_step_script
from sslrp import names, step_settings, steps


class Files(list):
    """Stands in for Snakemake's Namedlist: the files in order, `names` maps a name to a file or a list."""

    def __init__(self, files, names):
        super().__init__(files)
        self.names = names

    def items(self):
        return self.names.items()


def job(inputs, outputs, settings=None, unnamed_input=False):
    files_in = [f for v in inputs.values() for f in ([v] if isinstance(v, str) else v)]
    return SimpleNamespace(rule="demo", input=Files(files_in + (["extra.h5"] if unnamed_input else []), inputs),
                           output=Files(list(outputs.values()), outputs),
                           params={"settings": settings or {}}, log=["logs/demo.log"])


def test_snakemake_args_pass_files_by_name_with_the_settings_and_log():
    args = steps.snakemake_args(job({"data": "d.h5", "shards": ["s0.h5", "s1.h5"]}, {"summary": "s.json"},
                                    {"cond": "SNR_20_T60_0.3"}))
    assert args == {"data": "d.h5", "shards": ["s0.h5", "s1.h5"], "summary": "s.json", "cond": "SNR_20_T60_0.3",
                    "log": "logs/demo.log"}


def test_snakemake_args_refuse_an_unnamed_file_or_a_name_used_twice():
    with pytest.raises(ValueError, match="rule demo: every input file needs a name"):
        steps.snakemake_args(job({"data": "d.h5"}, {"summary": "s.json"}, unnamed_input=True))
    with pytest.raises(ValueError, match="rule demo: data names both an input and an output"):
        steps.snakemake_args(job({"data": "d.h5"}, {"data": "e.h5"}))


def with_recorded(config, cond):
    """The config with a recorded condition "rec" explained by `cond`'s models (not re-validated: no manifest)."""
    recorded = {"name": "rec", "recordings": "m.csv", "models_from": cond}
    return {**config, "conditions": [*config["conditions"], recorded]}


STEPS = {  # step script -> its settings for the tiny config's condition
    "corpus": lambda c, cond: step_settings.corpus(c),
    "simulate_shard": lambda c, cond: step_settings.simulate_shard(c, cond, 0),
    "gather_dataset": lambda c, cond: step_settings.gather_dataset(c, cond),
    "gather_recordings": lambda c, cond: step_settings.gather_recordings(with_recorded(c, cond), "rec"),
    "components": lambda c, cond: step_settings.components(c, cond),
    "train": lambda c, cond: step_settings.train(c, "loc_cnn", cond),
    "evaluate": lambda c, cond: step_settings.evaluate(c, "loc_cnn", cond),
    "srp_baseline": lambda c, cond: step_settings.srp_baseline(c, cond),
    "relevance": lambda c, cond: step_settings.relevance(c, "loc_cnn"),
    "select_sources": lambda c, cond: step_settings.select_sources(c),
    "manipulation": lambda c, cond: step_settings.manipulation(c, "loc_cnn", cond),
    "tdoa": lambda c, cond: step_settings.tdoa(c, cond),
    "sanity": lambda c, cond: step_settings.sanity(c, "loc_cnn", cond),
    "explanations": lambda c, cond: step_settings.explanations(c, "loc_cnn", cond),
    "card_figure": lambda c, cond: step_settings.card_figure(c, "loc_cnn", "explanations"),
    "table": lambda c, cond: step_settings.table(c, "tdoa"),
    "manipulation_figure": lambda c, cond: step_settings.manipulation_figure(c, "loc_cnn"),
    "randomization_figure": lambda c, cond: step_settings.randomization_figure(c, "loc_cnn"),
    "render_source": lambda c, cond: step_settings.render_source(c, "loc_cnn", cond, names.EXTREMES[0]),
    "build_page": lambda c, cond: step_settings.page(c),
    "check_model": lambda c, cond: step_settings.check_model(c, "loc_cnn"),
    "input_check": lambda c, cond: step_settings.input_check(c, "loc_cnn", cond),
}


def test_input_check_reads_the_checkpoint_of_the_condition_or_of_its_models_from(tiny_config, tiny_cond):
    config, trained = with_recorded(tiny_config, tiny_cond), f"results/models/loc_cnn/{tiny_cond}.pth"
    assert step_settings.input_check_checkpoint(config, "loc_cnn", tiny_cond) == trained
    assert step_settings.input_check_checkpoint(config, "loc_cnn", "rec") == trained
    assert step_settings.input_check_results(tiny_config) == [f"results/checks/loc_cnn/{tiny_cond}_inputs.json"]


def test_every_step_script_has_its_settings_function():
    assert set(STEPS) == {p.stem for p in SCRIPTS.glob("*.py")}


@pytest.mark.parametrize("name", sorted(STEPS))
def test_step_settings_are_keyword_arguments_of_the_steps_run(name, tiny_config, tiny_cond):
    parameters = inspect.signature(load_step_script(name).run).parameters
    settings = STEPS[name](tiny_config, tiny_cond)
    assert set(settings) <= set(parameters) - {"log", "threads"}
    # what is neither a setting nor the log/threads is a file, which the rule and the CLI pass by name
    files = [p for p in parameters if p not in settings and p not in ("log", "threads")]
    assert files and all(parameters[p].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in files)


def test_unknown_condition_names_the_known_ones(tiny_config, tiny_cond):
    with pytest.raises(ValueError, match=f"unknown condition 'SNR_1_T60_9'; known: {tiny_cond}"):
        step_settings.gather_dataset(tiny_config, "SNR_1_T60_9")


def test_an_uncaught_error_is_logged_and_still_reported(tmp_path):
    log = tmp_path / "step.log"
    code = (f"import sys; sys.path.insert(0, {str(SCRIPTS)!r}); from sslrp import steps; "
            f"steps.logger({str(log)!r}); steps.logger({str(log)!r}); raise RuntimeError('boom')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "RuntimeError: boom" in done.stderr  # the interpreter's own report is kept
    assert log.read_text().count("step failed") == 1  # logged once, however many loggers were made
