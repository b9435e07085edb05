"""LRP relevance (zennit) of one model for every test window of its condition, computed in batches."""

import numpy as np

from sslrp import step_settings, steps
from sslrp.data import dataset
from sslrp.explain import lrp
from sslrp.localize import inference


def run(data, checkpoint, relevance, model, window, n_mics, target, gate, batch_size, device, threads,
        log=None):
    """Write the LRP `relevance` of the `checkpoint` of `model` (a `models:` entry) for every test window of `data`."""
    log = steps.logger(log)
    loaded = inference.load_for_test(model, checkpoint, data, window, n_mics, device, threads)
    test = loaded.test
    log.info(f"{loaded.localizer.name} on {loaded.device}: {len(test.windows)} test windows")  # training.device
    if target == "prediction":
        targets = inference.predict(loaded.model, test.windows, device=loaded.device)
    else:
        targets = test.position[test.source].astype(np.float32)
    maps = lrp.relevance(loaded.localizer, test.windows, targets, batch_size, gate, loaded.device)
    log.info(f"{len(maps)} windows, output relevance = {target}, SE gate = {gate}; "
             f"relevance sum per window: mean {maps.sum(axis=(1, 2)).mean():.4g}")
    attrs = {"model": loaded.localizer.name, "target": target, "gate": gate}
    dataset.write_relevance(relevance, maps, targets, test, attrs)


def cli():
    p = steps.model_parser(__doc__, cond=False)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    config = steps.load_config(args.config)
    run(args.data, args.checkpoint, args.out, **step_settings.relevance(config, args.model),
        threads=config["explain"]["threads"], log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake), threads=snakemake.threads)
elif __name__ == "__main__":
    cli()
