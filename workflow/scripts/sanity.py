"""Sanity checks of one model's LRP relevance in one condition: cascading model-parameter randomization
(Adebayo et al. 2018) on a fixed subset of test windows, and conservation over every test window."""

import numpy as np
import torch

from sslrp import conservation, dataset, geometry, lrp, metrics, models, randomization, steps, training
from sslrp.io import write_json


def run(data, checkpoint, relevance, out, model_name, cond, window, n_mics, gate, batch_size, device, n_windows,
        seed, pair, max_lag, sound_speed, threads, log=None):
    log = steps.logger(log)
    torch.set_num_threads(threads)
    device = training.pick_device(device)
    model = models.load(model_name, checkpoint, window, n_mics)
    test = dataset.read_split(data, "test")
    full_relevance, targets = dataset.read_relevance(relevance, test, targets=True)
    rows = randomization.subset(n_windows, len(test.windows), seed)
    windows, true = test.windows[rows], test.position[test.source[rows]]
    attrs = dataset.read_attrs(data)
    true_delay = geometry.direct_path_tdoa(true, np.asarray(attrs["mics"]), pair, attrs["fs"], sound_speed)
    thresholds = test.correlation_time[test.source[rows]] / 2

    def explain(m):  # the same output relevance as the trained model's LRP, so only the network changes
        return lrp.relevance(m, model_name, windows, targets[rows], batch_size, gate, device)

    def localize(m):
        return metrics.mae(training.predict(m, windows, device=device), true)

    def tdoa(signals):
        delay = metrics.tdoa_gcc_phat(signals[:, pair[0]], signals[:, pair[1]], max_lag)
        return metrics.tdoa_summary(delay - true_delay, thresholds)

    cascade = randomization.check(model, explain, localize, tdoa, seed, f"randomization/{model_name}")
    for r in cascade:
        log.info(f"depth {r['depth']} ({r['layer']}): spearman {r['spearman']:.3f}, model MAE "
                 f"{r['model_mae']:.3f} m, TDoA anomalies {r['tdoa_anomaly_percent']:.1f} %")
    ratios = conservation.ratios(full_relevance, targets)
    write_json(out, {"model": model_name, "condition": cond, "n_windows": len(rows), "randomization": cascade,
                     "microphone_tdoa": tdoa(windows), "conservation": conservation.summary(ratios)})
    log.info(f"conservation: median ratio {np.median(ratios):.3f} over {len(ratios)} windows -> {out}")


def cli():
    p = steps.model_parser(__doc__)
    p.add_argument("--relevance", required=True, help="the model's relevance HDF5 (relevance.py)")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    config = steps.load_config(args.config)
    explain, tdoa = config["explain"], config["tdoa"]
    run(args.data, args.checkpoint, args.relevance, args.out, args.model, args.cond, config["signals"]["window"],
        config["geometry"]["array"]["n_mics"], explain["gate"], explain["batch_size"], config["training"]["device"],
        config["sanity"]["windows"], config["seed"], tdoa["pair"], tdoa["max_lag"],
        config["geometry"]["sound_speed"], 2, args.log)


if "snakemake" in globals():
    run(snakemake.input.data, snakemake.input.checkpoint, snakemake.input.relevance, snakemake.output[0],
        **snakemake.params, threads=snakemake.threads, log=snakemake.log[0])
elif __name__ == "__main__":
    cli()
