"""Sanity checks of one model's LRP relevance in one condition: cascading model-parameter randomization
(Adebayo et al. 2018) on a fixed subset of test windows, and conservation over every test window."""

import numpy as np

from sslrp import metrics, seeding, step_settings, steps
from sslrp.data import dataset, geometry
from sslrp.explain import conservation, lrp, randomization
from sslrp.io import write_json
from sslrp.localize import inference


def run(data, checkpoint, relevance, result, model, cond, window, n_mics, device, gate, batch_size, n_windows,
        seed, pair, max_lag, sound_speed, threads=None, log=None):
    """Write the sanity `result` (JSON) of the `checkpoint` of `model` (a `models:` entry), whose LRP `relevance` file
    gives the trained model's relevance and the output relevance every step starts from (so that only the network
    changes along the cascade)."""
    log = steps.logger(log)
    loaded = inference.load_for_test(model, checkpoint, data, window, n_mics, device, threads)
    model_name = loaded.localizer.name
    test, device = loaded.test, loaded.device
    log.info(f"{model_name} on {device}")  # training.device
    maps, targets = dataset.read_relevance(relevance, test, targets=True)
    rows = seeding.subset(n_windows, len(test.windows), seed)
    windows, true, start = test.windows[rows], test.position[test.source[rows]], targets[rows]
    attrs = dataset.read_attrs(data)
    true_delay = geometry.direct_path_tdoa(true, np.asarray(attrs["mics"]), pair, attrs["fs"], sound_speed)
    thresholds = test.correlation_time[test.source[rows]] / 2

    def tdoa(signals):
        return metrics.tdoa_summary(metrics.tdoa_errors(signals, true_delay, pair, max_lag), thresholds)

    cascade = randomization.check(
        loaded.localizer,
        explain=lambda m: lrp.relevance(m, windows, start, batch_size, gate, device),
        localize=lambda m: metrics.mae(inference.predict(m.module, windows, device=device), true),
        tdoa=tdoa, seed=seed, purpose=f"randomization/{model_name}", trained=maps[rows])
    for r in cascade:
        log.info(f"depth {r['depth']} ({r['layer']}): spearman {r['spearman']:.3f}, model MAE {r['model_mae']:.3f} m, "
                 f"TDoA anomalies {r['tdoa_anomaly_percent']:.1f} %")
    ratios = conservation.ratios(maps, targets)
    write_json(result, {"model": model_name, "condition": cond, "n_windows": len(rows), "randomization": cascade,
                        "microphone_tdoa": tdoa(windows), "conservation": conservation.summary(ratios)})
    log.info(f"conservation: median ratio {np.median(ratios):.3f} over {len(ratios)} windows -> {result}")


def cli():
    p = steps.model_parser(__doc__, replicate=True)
    p.add_argument("--relevance", required=True, help="the model's relevance HDF5 (relevance.py)")
    p.add_argument("--out", required=True, help="result (JSON)")
    args = p.parse_args()
    config = steps.load_config(args.config)
    settings = step_settings.sanity(config, args.model, args.cond, args.replicate)
    run(args.data, args.checkpoint, args.relevance, args.out, **settings,
        threads=config["explain"]["threads"], log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake), threads=snakemake.threads)
elif __name__ == "__main__":
    cli()
