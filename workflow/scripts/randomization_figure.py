"""Draw one model's cascading parameter randomization figure: similarity to the trained model's relevance and
TDoA anomalies on the relevance against the layers re-initialized, one line per condition."""

import json

from sslrp import names, plots, step_settings, steps


def run(results, figure, model_name, log=None):
    """Write the `figure` (PNG) of the sanity `results` (sanity.py JSON files, one per condition)."""
    log = steps.logger(log)
    by_condition = {}
    for path in results:
        r = json.loads(open(path).read())
        if r["model"] != model_name:
            raise ValueError(f"{path}: a result of {r['model']}, not of {model_name}")
        by_condition[r["condition"]] = r
    plots.save_figure(plots.randomization_figure(by_condition, names.MODEL_LABELS[model_name]), figure)
    log.info(f"{model_name}: {len(by_condition)} conditions -> {figure}")


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--model", required=True, choices=names.MODELS)
    p.add_argument("--out", required=True, help="figure (PNG)")
    p.add_argument("results", nargs="+", help="sanity.py result JSON files, one per condition")
    args = p.parse_args()
    run(args.results, args.out, **step_settings.randomization_figure(steps.load_config(args.config), args.model),
        log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
