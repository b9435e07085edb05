"""Input manipulation of one model x condition: zero the top P % of each test window's samples by
relevance, energy or at random and measure the localization MAE per P."""

import functools

import numpy as np
import torch

from sslrp import dataset, metrics, models, seeding, steps, training
from sslrp.io import write_json


def run(data, checkpoint, relevance_path, out, model_name, cond, window, n_mics, percents, orderings,
        batch_size, seed, device, threads, log=None):
    log = steps.logger(log)
    torch.set_num_threads(threads)
    device = training.pick_device(device)
    model = models.load(model_name, checkpoint, window, n_mics)
    test = dataset.read_split(data, "test")
    relevance = dataset.read_relevance(relevance_path, test)
    predict = functools.partial(training.predict, model, batch_size=batch_size, device=device)
    with torch.no_grad():
        curve = metrics.manipulation_curve(
            predict, test.windows, test.position[test.source], relevance,
            seeding.rng(seed, f"manipulation/{model_name}/{cond}"), orderings=orderings, percents=percents,
            batch_size=batch_size,
        )
    for ordering, values in curve["mae"].items():
        log.info(f"{ordering:>9}: " + " ".join(f"{p:g}%={v:.3f}" for p, v in zip(percents, values)))
    write_json(out, {"model": model_name, "condition": cond, **curve})


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--model", required=True, choices=models.MODEL_NAMES)
    p.add_argument("--cond", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--relevance", required=True)
    p.add_argument("--out", required=True, help="curve (JSON)")
    args = p.parse_args()
    config = steps.load_config(args.config)
    m = config["manipulation"]
    run(args.data, args.checkpoint, args.relevance, args.out, args.model, args.cond,
        config["signals"]["window"], config["geometry"]["array"]["n_mics"], m["percents"], m["orderings"],
        config["explain"]["batch_size"], config["seed"], config["training"]["device"], 2, args.log)


if "snakemake" in globals():
    run(snakemake.input.data, snakemake.input.checkpoint, snakemake.input.relevance, snakemake.output[0],
        **snakemake.params, threads=snakemake.threads, log=snakemake.log[0])
elif __name__ == "__main__":
    cli()
