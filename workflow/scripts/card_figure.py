"""Draw one model's report-card figure (sslrp.report.card_plots): `kind` "explanations" (the three tests of every
method, pooled over the conditions) or "components" (the sound components' shares and the causal test, over the
simulated conditions), from replicate 0's report cards."""

import json

from sslrp import step_settings, steps
from sslrp.report import card, card_plots, plots

KINDS = ("explanations", "components")


def run(results, figure, model_name, kind, log=None):
    """Write the `kind` `figure` (PNG) of `model_name` from its `results` (explanations.py JSON, one per
    condition)."""
    log = steps.logger(log)
    cards = [json.loads(open(path).read()) for path in results]
    wrong = [path for path, c in zip(results, cards) if c["model"] != model_name]
    if wrong:
        raise ValueError(f"{wrong[0]}: a report card of another model than {model_name}")
    if kind == "explanations":
        fig = card_plots.explanations_figure(card.pooled(cards)[0], model_name)
    elif kind == "components":
        simulated = [c for c in cards if c.get("components")]
        if not simulated:
            raise ValueError(f"{model_name}: no report card has sound components (every condition is recorded)")
        fig = card_plots.components_figure(simulated, model_name)
    else:
        raise ValueError(f"unknown figure kind {kind!r}; valid: {', '.join(KINDS)}")
    plots.save_figure(fig, figure)
    log.info(f"{model_name}: {kind} figure of {len(cards)} condition(s) -> {figure}")


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--model", required=True, help="a model named in the config's `models:`")
    p.add_argument("--kind", required=True, choices=KINDS)
    p.add_argument("--out", required=True, help="figure (PNG)")
    p.add_argument("results", nargs="+", help="explanations.py result JSON files, one per condition")
    args = p.parse_args()
    step_settings.model_entry(steps.load_config(args.config), args.model)
    run(args.results, args.out, args.model, args.kind, log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
