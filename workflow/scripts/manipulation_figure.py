"""Draw one model's manipulation figure: one panel per condition, MAE vs. removed samples per ordering (with
several seed replicates, their mean with their range shaded)."""

import json

from sslrp import names, step_settings, steps
from sslrp.report import plots
from sslrp.report.replicates import split


def run(curves, figure, model_name, orderings=None, replicates=1, log=None):
    """Draw the manipulation `curves` (JSON files from manipulation.py, one per condition and seed replicate,
    replicate 0's first) of `model_name` into `figure`. `orderings`: the curves to draw, in this order (None: every
    computed one); those not computed are skipped with a note in the log."""
    log = steps.logger(log)
    panels = {}
    for share in split(curves, replicates):
        for path in share:
            c = json.loads(open(path).read())
            shown = list(c["mae"]) if orderings is None else [o for o in orderings if o in c["mae"]]
            missing = [] if orderings is None else [o for o in orderings if o not in c["mae"]]
            if missing:
                log.info(f"{path}: not computed, not drawn: {', '.join(missing)}")
            if not shown:
                raise ValueError(f"{path}: none of the orderings {orderings} was computed")
            panel = panels.setdefault(c["condition"], {})
            for o in shown:
                panel.setdefault(o, (c["percents"], []))[1].append(c["mae"][o])
    plots.save_figure(plots.manipulation_figure(panels, names.model_label(model_name)), figure)
    log.info(f"{model_name}: {len(panels)} panels, {replicates} replicate(s) -> {figure}")


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--model", required=True, help="a model named in the config's `models:`")
    p.add_argument("--out", required=True)
    p.add_argument("--orderings", nargs="+", default=None,
                   help="curves to draw (default: the config's manipulation.figure_orderings)")
    steps.replicates_argument(p)
    p.add_argument("curves", nargs="+", help="curve JSON files from manipulation.py, one per condition (and replicate)")
    args = p.parse_args()
    settings = step_settings.manipulation_figure(steps.load_config(args.config), args.model)
    settings |= steps.given(args, "orderings", "replicates")
    run(args.curves, args.out, **settings, log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
