"""Pick the best and the worst localized test source of one model (smallest / largest mean Euclidean
error over the source's windows)."""

import csv

import numpy as np

from sslrp import metrics, names, steps
from sslrp.io import rebuild_advice, write_json


def run(sources, selection, log=None):
    """Write the `selection` (JSON) of the best and worst source from evaluate.py's `sources` CSV."""
    log = steps.logger(log)
    with open(sources, newline="") as f:
        rows = list(csv.DictReader(f))
    errors = np.array([float(r["euclidean"]) for r in rows])
    bad = np.flatnonzero(~np.isfinite(errors))
    if not rows or len(bad):
        what = f"rows {bad[:5].tolist()} have no finite error" if rows else "it lists no source"
        raise ValueError(f"{sources}: {what}, so no best or worst source can be picked; "
                         f"{rebuild_advice(sources)}")
    picks = {}
    for extreme, index in zip(names.EXTREMES, metrics.best_worst(errors)):
        row = rows[index]
        picks[extreme] = {
            "source": int(row["source"]),  # row in the test split's per-source arrays
            "source_index": int(row["source_index"]),  # grid index
            "position": [float(row[k]) for k in "xyz"],
            "euclidean_error": float(row["euclidean"]),
            "absolute_error": float(row["absolute"]),
        }
        log.info(f"error_{extreme}: source {row['source']} at {picks[extreme]['position']}, "
                 f"mean Euclidean error {float(row['euclidean']):.3f} m")
    write_json(selection, {"criterion": "mean Euclidean error over the source's windows", **picks})


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--sources", required=True, help="sources.csv from evaluate.py")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    run(args.sources, args.out, log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
