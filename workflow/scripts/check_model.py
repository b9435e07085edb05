"""Check one model of the config before anything trains or explains it: build it for the config's window and
array, run one batch through it and its LRP composite, and report its unknown layer types, the conservation of its
relevance and its randomization groups (sslrp.explain.model_check). Fails naming the config key, the file and what
is wrong."""

from sslrp import step_settings, steps
from sslrp.explain import model_check
from sslrp.io import write_json


def run(result, model, window, n_mics, seed, gate, index=None, device=None, files=(), log=None):
    """Write the check `result` (JSON) of the `models:` entry `model`; `files` (its source files) are read only
    through the import."""
    log = steps.logger(log)
    found = model_check.check(model, window, n_mics, seed, gate, index)
    for layer_type, where in found["unknown_layers"].items():
        log.warning(f"no LRP rule for {layer_type}: {', '.join(where)} (relevance passes it by its gradient)")
    log.info(f"{found['model']}: output {found['output_shape']}, {found['parameters']} parameters, conservation "
             f"median {found['conservation']['median']:.3g}, randomization groups {found['randomization_groups']}")
    write_json(result, found)


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--model", required=True, help="a model named in the config's `models:`")
    p.add_argument("--out", required=True, help="check report (JSON)")
    args = p.parse_args()
    config = steps.load_config(args.config)
    run(args.out, **step_settings.check_model(config, args.model), log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
