"""TDoA of one condition's test windows by GCC-PHAT on each configured mic pair, from the microphone signals and
from each model's relevance, next to a constant estimator that always answers the training sources' mean delay;
error against the direct-path geometry, anomaly when |error| exceeds half the source's correlation time (the
paper's TDoA table), and the correlation of every estimate with the true delay."""

import numpy as np

from sslrp import metrics, step_settings, steps
from sslrp.data import dataset, geometry
from sslrp.io import write_json

CONSTANT = "constant"  # the estimator that ignores the signals: the training sources' mean direct-path delay
# (for recordings explained with another condition's models, which have no train split of their own: the delay at
# the mean training position those models learned from, dataset.trained_positions)


def run(data, relevance, result, cond, model_names, pairs, max_lag, sound_speed, log=None):
    """Write the TDoA `result` (JSON) of the test windows of `data` and of each model's `relevance` file (one
    per name of `model_names`, in that order), for every mic pair of `pairs`."""
    log = steps.logger(log)
    if len(relevance) != len(model_names):
        raise ValueError(f"{len(relevance)} relevance files for the {len(model_names)} models {list(model_names)}")
    attrs = dataset.read_attrs(data)
    test = dataset.read_split(data, "test")
    trained_on = dataset.trained_positions(data)
    mics = np.asarray(attrs["mics"])
    thresholds = test.correlation_time[test.source] / 2
    signals = {"microphone": test.windows}
    for name, path in zip(model_names, relevance):
        signals[name] = dataset.read_relevance(path, test)
    out = {"condition": cond, "max_lag": max_lag, "mean_threshold": float(thresholds.mean()),
           "constant": "training sources' mean direct-path delay", "pairs": []}
    for pair in pairs:
        def delay(positions):
            return geometry.direct_path_tdoa(positions, mics, pair, attrs["fs"], sound_speed)

        true_delay = delay(test.position[test.source])
        constant = float(np.mean(delay(trained_on)))
        estimates = {name: metrics.tdoa_gcc_phat(x[:, pair[0]], x[:, pair[1]], max_lag) for name, x in signals.items()}
        estimates[CONSTANT] = np.full(len(true_delay), constant)
        entry = {"pair": list(pair), "largest_true_delay": float(np.max(np.abs(true_delay))),
                 "constant_delay": constant, "signals": {}}
        for name, estimate in estimates.items():
            summary = metrics.tdoa_estimator_summary(estimate, true_delay, thresholds)
            log.info(f"pair {pair}, {name:>10}: anomalies {summary['anomaly_percent']:.1f} %, MAE {summary['mae']:.2f} "
                     f"samples, r {summary['correlation']:.2f}")
            # JSON has no NaN: an MAE without a non-anomalous window, or the r of a constant, is null
            entry["signals"][name] = {k: None if np.isnan(v) else v for k, v in summary.items()}
        out["pairs"].append(entry)
    write_json(result, out)


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--cond", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--relevance", nargs="*", default=[], metavar="MODEL=PATH",
                   help="relevance files, e.g. loc_cnn=results/relevance/loc_cnn/COND.h5")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    config = steps.load_config(args.config)
    names, paths = zip(*(item.split("=", 1) for item in args.relevance)) if args.relevance else ((), ())
    settings = step_settings.tdoa(config, args.cond) | {"model_names": names}  # the models named here
    run(args.data, paths, args.out, **settings, log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
