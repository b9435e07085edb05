# Settings and helpers shared by all rules: config validation (schema + defaults), the condition table,
# wildcard constraints and the list of final outputs.
import sys

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from sslrp import config as configuration  # noqa: E402  (needs the path above)

config = configuration.validate(config)
conditions = configuration.conditions(config)
models = config["models"]
shards = range(config["simulation"]["shards"])
extremes = ("min", "max")


wildcard_constraints:
    cond="|".join(map(re.escape, conditions)),
    model="|".join(models),
    shard=r"\d+",
    extreme="min|max",


def pretrained_checkpoint(model, cond):
    """The user's checkpoint for (model, cond) from `pretrained:`, or nothing (train it)."""
    return config["pretrained"].get(model, {}).get(cond, [])


def warm_start_checkpoint(model, cond):
    """The checkpoint (same model, another condition) that `training.warm_start` starts (model, cond)
    from, or nothing (train from seeded random weights)."""
    source = config["training"]["warm_start"].get(cond)
    return f"results/models/{model}/{source}.pth" if source else []


def page_figures():
    """Every figure and audio file the results page links."""
    stems = expand(
        "{model}_{cond}_error_{extreme}",
        model=models,
        cond=conditions,
        extreme=extremes,
    )
    return (
        expand("results/page/figures/manipulation__{model}_.png", model=models)
        + [f"results/page/figures/ex_gcc_relevance_{s}.png" for s in stems]
        + [
            f"results/page/figures/audio_{kind}_{s}.wav"
            for s in stems
            for kind in ("microphone", "relevance")
        ]
    )


def srp_summaries():
    """The SRP-PHAT baseline's summaries, one per condition, when `srp.enabled`."""
    if not config["srp"]["enabled"]:
        return []
    return expand("results/evaluation/srp_phat/{cond}/summary.json", cond=conditions)


def localization_summaries():
    """Every model x condition's evaluation summary, then SRP-PHAT's (see `srp_summaries`)."""
    return (
        expand(
            "results/evaluation/{model}/{cond}/summary.json",
            model=models,
            cond=conditions,
        )
        + srp_summaries()
    )


def all_outputs():
    """What `snakemake` builds by default: the results page and everything on it, and the tables."""
    return [
        "results/page/index.html",
        "results/tables/manipulation.md",
        "results/tables/aopc.md",
    ]
