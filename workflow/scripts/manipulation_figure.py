"""Draw one model's manipulation figure: one panel per condition, MAE vs. removed samples per ordering."""

import json

from sslrp import names, plots, steps


def run(curve_paths, out, model_name, orderings=None, log=None):
    """`orderings`: the curves to draw, in this order (None: every computed one); those not computed are
    skipped with a note in the log."""
    log = steps.logger(log)
    curves = {}
    for path in curve_paths:
        c = json.loads(open(path).read())
        shown = list(c["mae"]) if orderings is None else [o for o in orderings if o in c["mae"]]
        missing = [] if orderings is None else [o for o in orderings if o not in c["mae"]]
        if missing:
            log.info(f"{c['condition']}: not computed, not drawn: {', '.join(missing)}")
        if not shown:
            raise ValueError(f"{path}: none of the orderings {orderings} was computed")
        curves[c["condition"]] = {o: (c["percents"], c["mae"][o]) for o in shown}
    plots.save_figure(plots.manipulation_figure(curves, names.MODEL_LABELS[model_name]), out)
    log.info(f"{model_name}: {len(curves)} panels -> {out}")


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--orderings", nargs="+", default=None, help="curves to draw (default: all computed)")
    p.add_argument("curves", nargs="+", help="curve JSON files from manipulation.py, one per condition")
    args = p.parse_args()
    run(args.curves, args.out, args.model, args.orderings, args.log)


if "snakemake" in globals():
    run(snakemake.input, snakemake.output[0], **snakemake.params, log=snakemake.log[0])
elif __name__ == "__main__":
    cli()
