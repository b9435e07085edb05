"""LRP relevance (zennit) of one model for every test window of its condition, computed in batches."""

import numpy as np

from sslrp import step_settings, steps
from sslrp.data import dataset
from sslrp.explain import lrp
from sslrp.localize import inference


def run(data, checkpoint, relevance, model_name, window, n_mics, target, gate, batch_size, device, threads,
        log=None):
    """Write the LRP `relevance` of the `checkpoint` of `model_name` for every test window of `data`."""
    log = steps.logger(log)
    loaded = inference.load_for_test(model_name, checkpoint, data, window, n_mics, device, threads)
    test = loaded.test
    if target == "prediction":
        targets = inference.predict(loaded.model, test.windows, device=loaded.device)
    else:
        targets = test.position[test.source].astype(np.float32)
    maps = lrp.relevance(loaded.model, model_name, test.windows, targets, batch_size, gate, loaded.device)
    log.info(f"{len(maps)} windows, output relevance = {target}, SE gate = {gate}; "
             f"relevance sum per window: mean {maps.sum(axis=(1, 2)).mean():.4g}")
    dataset.write_relevance(relevance, maps, targets, test, {"model": model_name, "target": target, "gate": gate})


def cli():
    p = steps.model_parser(__doc__, cond=False)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    config = steps.load_config(args.config)
    run(args.data, args.checkpoint, args.out, **step_settings.relevance(config, args.model), threads=2, log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake), threads=snakemake.threads)
elif __name__ == "__main__":
    cli()
