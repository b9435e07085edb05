# Settings and helpers shared by all rules: config validation (schema + defaults), the condition table,
# wildcard constraints and the list of final outputs.
import sys

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from sslrp import config as configuration  # noqa: E402  (needs the path above)

config = configuration.validate(config)
conditions = configuration.conditions(config)
models = config["models"]
shards = range(config["simulation"]["shards"])


wildcard_constraints:
    cond="|".join(map(re.escape, conditions)),
    model="|".join(models),
    shard=r"\d+",


def all_outputs():
    """What `snakemake` builds by default."""
    return expand("results/data/{cond}.h5", cond=conditions)
