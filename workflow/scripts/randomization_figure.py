"""Draw one model's cascading parameter randomization figure: similarity to the trained model's relevance and
TDoA anomalies on the relevance against the layers re-initialized, one line per condition (with several seed
replicates, their mean with their range shaded)."""

import json

from sslrp import names, step_settings, steps
from sslrp.report import plots
from sslrp.report.replicates import split


def run(results, figure, model_name, replicates=1, log=None):
    """Write the `figure` (PNG) of the sanity `results` (sanity.py JSON files, one per condition and seed
    replicate, replicate 0's first)."""
    log = steps.logger(log)
    by_condition = {}
    for share in split(results, replicates):
        for path in share:
            r = json.loads(open(path).read())
            if r["model"] != model_name:
                raise ValueError(f"{path}: a result of {r['model']}, not of {model_name}")
            by_condition.setdefault(r["condition"], []).append(r)
    plots.save_figure(plots.randomization_figure(by_condition, names.model_label(model_name)), figure)
    log.info(f"{model_name}: {len(by_condition)} conditions, {replicates} replicate(s) -> {figure}")


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--model", required=True, help="a model named in the config's `models:`")
    p.add_argument("--out", required=True, help="figure (PNG)")
    steps.replicates_argument(p)
    p.add_argument("results", nargs="+", help="sanity.py result JSON files, one per condition (and replicate)")
    args = p.parse_args()
    settings = step_settings.randomization_figure(steps.load_config(args.config), args.model)
    settings |= steps.given(args, "replicates")
    run(args.results, args.out, **settings, log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
