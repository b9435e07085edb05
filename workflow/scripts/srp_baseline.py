"""SRP-PHAT on one condition's test windows: the classical, training-free localization baseline. Writes a
summary in evaluate.py's format (MAE overall and per coordinate, next to the mean-training-position
baseline) under the model name "srp_phat"."""

import time

import numpy as np

from sslrp import metrics, step_settings, steps
from sslrp.data import dataset
from sslrp.io import write_json
from sslrp.localize import srp

MODEL_NAME = srp.NAME


def run(data, summary, cond, geometry, settings, log=None):
    """Write the SRP-PHAT `summary` (JSON) of the test windows of `data`."""
    log = steps.logger(log)
    attrs = dataset.read_attrs(data)
    mics = np.asarray(attrs["mics"], float)
    test = dataset.read_split(data, "test")
    candidates, pairs = srp.configured(geometry, settings, len(mics))
    start = time.perf_counter()
    pred = srp.srp_phat_localize(test.windows, mics, float(attrs["fs"]), geometry["sound_speed"], candidates,
                                 pairs)
    seconds = time.perf_counter() - start
    result = {"model": MODEL_NAME, "condition": cond,
              **metrics.localization_summary(pred, test.position[test.source], dataset.baseline_position(data)),
              "candidates": list(settings["grid"]), "height": float(candidates[0, 2]), "n_pairs": len(pairs)}
    write_json(summary, result)
    log.info(f"SRP-PHAT over {len(candidates)} candidates at z = {candidates[0, 2]:.3f} m, {len(pairs)} pairs: "
             f"{1000 * seconds / max(len(pred), 1):.1f} ms per window; test MAE {result['mae']:.3f} m "
             f"(x/y/z {np.round(result['mae_xyz'], 3).tolist()}), baseline {result['baseline_mae']:.3f} m")


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--cond", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True, help="summary (JSON)")
    args = p.parse_args()
    config = steps.load_config(args.config)
    run(args.data, args.out, **step_settings.srp_baseline(config, args.cond), log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
