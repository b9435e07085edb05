"""Do a condition's test windows look like the data a checkpoint was trained on? Compare each batch norm's input
mean and variance per channel, on a seeded subset of the windows, with the statistics the checkpoint stored in
training (sslrp.explain.input_check), and report the first layer where the data leave them. For a `pretrained:`
checkpoint, a model of your own, and a recorded condition explained with a simulation's models (`models_from`)."""

from sslrp import seeding, step_settings, steps
from sslrp.explain import input_check
from sslrp.io import write_json
from sslrp.localize import inference

SUBSET = "input_check/subset"  # the seeded subset's purpose (sslrp.seeding.subset)


def run(data, checkpoint, result, model, cond, window, n_mics, device, n_windows, tolerance, seed, threads=None,
        log=None):
    """Write the input check `result` (JSON) of `checkpoint` (a `models:` entry `model`) on `n_windows` of the test
    windows of `data` (condition `cond`)."""
    log = steps.logger(log)
    loaded = inference.load_for_test(model, checkpoint, data, window, n_mics, device, threads)
    log.info(f"{loaded.localizer.name} on {loaded.device}")  # training.device
    rows = seeding.subset(n_windows, len(loaded.test.windows), seed, SUBSET)
    found = input_check.check(loaded.model.to(loaded.device), loaded.test.windows[rows], tolerance,
                              device=loaded.device, seed=seed)
    write_json(result, {"model": loaded.localizer.name, "condition": cond, "checkpoint": str(checkpoint), **found})
    log.info(f"{loaded.localizer.name} on {cond} ({len(rows)} windows): {found['sentence']}")


def cli():
    p = steps.model_parser(__doc__)
    p.add_argument("--out", required=True, help="input check report (JSON)")
    args = p.parse_args()
    config = steps.load_config(args.config)
    run(args.data, args.checkpoint, args.out, **step_settings.input_check(config, args.model, args.cond),
        threads=config["explain"]["threads"], log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake), threads=snakemake.threads)
elif __name__ == "__main__":
    cli()
