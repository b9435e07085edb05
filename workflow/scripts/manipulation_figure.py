"""Draw one model's manipulation figure: one panel per condition, MAE vs. removed samples per ordering."""

import json

from sslrp import names, plots, step_settings, steps


def run(curves, figure, model_name, orderings=None, log=None):
    """Draw the manipulation `curves` (JSON files from manipulation.py, one per condition) of `model_name` into
    `figure`. `orderings`: the curves to draw, in this order (None: every computed one); those not computed are
    skipped with a note in the log."""
    log = steps.logger(log)
    panels = {}
    for path in curves:
        c = json.loads(open(path).read())
        shown = list(c["mae"]) if orderings is None else [o for o in orderings if o in c["mae"]]
        missing = [] if orderings is None else [o for o in orderings if o not in c["mae"]]
        if missing:
            log.info(f"{c['condition']}: not computed, not drawn: {', '.join(missing)}")
        if not shown:
            raise ValueError(f"{path}: none of the orderings {orderings} was computed")
        panels[c["condition"]] = {o: (c["percents"], c["mae"][o]) for o in shown}
    plots.save_figure(plots.manipulation_figure(panels, names.MODEL_LABELS[model_name]), figure)
    log.info(f"{model_name}: {len(panels)} panels -> {figure}")


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--model", required=True, choices=names.MODELS)
    p.add_argument("--out", required=True)
    p.add_argument("--orderings", nargs="+", default=None,
                   help="curves to draw (default: the config's manipulation.figure_orderings)")
    p.add_argument("curves", nargs="+", help="curve JSON files from manipulation.py, one per condition")
    args = p.parse_args()
    settings = step_settings.manipulation_figure(steps.load_config(args.config), args.model)
    run(args.curves, args.out, **settings | ({"orderings": args.orderings} if args.orderings else {}), log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
