"""LRP relevance (zennit) of one model for every test window of its condition, computed in batches."""

import numpy as np
import torch

from sslrp import dataset, inference, lrp, models, steps


def run(data, checkpoint, out, model_name, window, n_mics, target, gate, batch_size, device, threads,
        log=None):
    log = steps.logger(log)
    torch.set_num_threads(threads)
    device = inference.pick_device(device)
    model = models.load(model_name, checkpoint, window, n_mics)
    test = dataset.read_split(data, "test")
    if target == "prediction":
        targets = inference.predict(model, test.windows, device=device)
    else:
        targets = test.position[test.source].astype(np.float32)
    relevance = lrp.relevance(model, model_name, test.windows, targets, batch_size, gate, device)
    log.info(f"{len(relevance)} windows, output relevance = {target}, SE gate = {gate}; "
             f"relevance sum per window: mean {relevance.sum(axis=(1, 2)).mean():.4g}")
    dataset.write_relevance(out, relevance, targets, test, {"model": model_name, "target": target, "gate": gate})


def cli():
    p = steps.model_parser(__doc__, cond=False)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    config = steps.load_config(args.config)
    explain = config["explain"]
    run(args.data, args.checkpoint, args.out, args.model, config["signals"]["window"],
        config["geometry"]["array"]["n_mics"], explain["target"], explain["gate"], explain["batch_size"],
        config["training"]["device"], 2, args.log)


if "snakemake" in globals():
    run(snakemake.input.data, snakemake.input.checkpoint, snakemake.output[0], **snakemake.params,
        threads=snakemake.threads, log=snakemake.log[0])
elif __name__ == "__main__":
    cli()
