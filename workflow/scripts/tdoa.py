"""TDoA of one condition's test windows by GCC-PHAT on a mic pair, from the microphone signals and from
each model's relevance; error against the direct-path geometry, anomaly when |error| exceeds half the
source's correlation time (the paper's TDoA table)."""

import numpy as np

from sslrp import metrics, step_settings, steps
from sslrp.data import dataset, geometry
from sslrp.io import write_json


def run(data, relevance, result, cond, model_names, pair, max_lag, sound_speed, log=None):
    """Write the TDoA `result` (JSON) of the test windows of `data` and of each model's `relevance` file (one
    per name of `model_names`, in that order)."""
    log = steps.logger(log)
    if len(relevance) != len(model_names):
        raise ValueError(f"{len(relevance)} relevance files for the {len(model_names)} models {list(model_names)}")
    attrs = dataset.read_attrs(data)
    test = dataset.read_split(data, "test")
    mics = np.asarray(attrs["mics"])
    true_delay = geometry.direct_path_tdoa(test.position[test.source], mics, pair, attrs["fs"], sound_speed)
    thresholds = test.correlation_time[test.source] / 2
    signals = {"microphone": test.windows}
    for name, path in zip(model_names, relevance):
        signals[name] = dataset.read_relevance(path, test)
    out = {"condition": cond, "pair": list(pair), "max_lag": max_lag,
           "mean_threshold": float(thresholds.mean()), "signals": {}}
    for name, x in signals.items():
        summary = metrics.tdoa_summary(metrics.tdoa_errors(x, true_delay, pair, max_lag), thresholds)
        out["signals"][name] = summary
        log.info(f"{name:>10}: anomalies {summary['anomaly_percent']:.1f} %, MAE {summary['mae']:.2f} samples")
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
