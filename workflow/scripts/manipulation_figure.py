"""Draw one model's manipulation figure: one panel per condition, MAE vs. removed samples per ordering."""

import json

from sslrp import page, plots, steps


def run(curve_paths, out, model_name, log=None):
    log = steps.logger(log)
    curves = {}
    for path in curve_paths:
        c = json.loads(open(path).read())
        curves[c["condition"]] = {o: (c["percents"], values) for o, values in c["mae"].items()}
    plots.save_figure(plots.manipulation_figure(curves, page.MODEL_LABELS[model_name]), out)
    log.info(f"{model_name}: {len(curves)} panels -> {out}")


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("curves", nargs="+", help="curve JSON files from manipulation.py, one per condition")
    args = p.parse_args()
    run(args.curves, args.out, args.model, args.log)


if "snakemake" in globals():
    run(snakemake.input, snakemake.output[0], **snakemake.params, log=snakemake.log[0])
elif __name__ == "__main__":
    cli()
