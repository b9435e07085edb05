# Settings and helpers shared by all rules: config validation (schema + defaults), the condition table,
# wildcard constraints and the lists of files the rules gather. What each step is given from the config is
# built by sslrp.step_settings (one function per step, shared with the step scripts' command lines); names and
# file names come from sslrp.names.
import sys

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from sslrp import config as configuration  # noqa: E402  (needs the path above)
from sslrp import names, step_settings  # noqa: E402

config = configuration.validate(config)
conditions = configuration.conditions(config)
recorded = [c for c, settings in conditions.items() if names.is_recorded(settings)]
simulated = [c for c in conditions if c not in recorded]
models = configuration.model_names(config)
shards = range(config["simulation"]["shards"])


def one_of(values):
    """A wildcard regex matching exactly `values` (one that matches nothing when there are none)."""
    return "|".join(map(re.escape, values)) or "(?!)"


wildcard_constraints:
    cond=one_of(conditions),
    model="|".join(models),
    shard=r"\d+",
    extreme="|".join(names.EXTREMES),
    rep=names.REPLICATE_PREFIX_RE,


def checkpoint(wildcards):
    """The checkpoint a step on (model, cond, rep) uses: the condition's own, or that of its `models_from`."""
    source = step_settings.models_condition(config, wildcards.cond)
    return f"results/{wildcards.rep}models/{wildcards.model}/{source}.pth"


def pretrained_checkpoint(model, cond):
    """The user's checkpoint for (model, cond) from `pretrained:`, or nothing (train it)."""
    return step_settings.pretrained_checkpoint(config, model, cond) or []


def warm_start_checkpoint(model, cond, rep):
    """The checkpoint (same model and replicate, another condition) that `training.warm_start` starts
    (model, cond) from, or nothing (train from seeded random weights)."""
    source = step_settings.warm_start_source(config, cond)
    return f"results/{rep}models/{model}/{source}.pth" if source else []


def model_check(model):
    """The check step's report on a user model (an input of its training), or nothing for a built-in."""
    return [] if model in names.MODELS else names.model_check(model)


def replicate(wildcards):
    """The replicate number of a job on one replicate (its `{rep}` wildcard: "" or "replicates/<r>/")."""
    return names.parse_replicate(wildcards.rep)


def every_replicate(files, **kwargs):
    """The paths `files` (an sslrp.step_settings function) gives for every seed replicate, replicate 0's
    first: the inputs of a table or figure over the replicates."""
    return step_settings.every_replicate(files, config, **kwargs)


def page_file(name):
    """A file of the results page, `name` relative to it (see sslrp.names)."""
    return f"results/page/{name}"


def all_outputs():
    """What `snakemake` builds by default: the results page, every figure and sound it shows, and every table (each
    rule's fixed outputs under results/tables/, md and csv).

    Each is a target of its own, not only an input of the page, so that a plain re-run rebuilds any that is missing:
    Snakemake rebuilds a missing file only where a target needs it, and a run killed during `--forcerun` of the
    tables has deleted their outputs while the page, written before, is still there."""
    outputs = {str(f) for r in workflow.rules for f in r.output}
    tables = sorted(
        f for f in outputs if "{" not in f and f.startswith("results/tables/")
    )
    figures = sorted(
        page_file(f)
        for f in names.page_files(models, conditions, components=bool(simulated))
    )
    return ["results/page/index.md", "results/page/index.html", *figures, *tables]
