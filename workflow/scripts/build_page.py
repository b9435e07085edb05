"""Write the results page (index.md + standalone index.html) beside its figures and audio; the evaluation
summaries (models and SRP-PHAT) give each model x condition its verdict: does it localize?"""

import json
from pathlib import Path

import yaml

from sslrp import dataset, page, srp, steps


def run(datasets, localization_md, summaries, tdoa_md, out_md, conditions, models, config, log=None):
    log = steps.logger(log)
    t60_rows = []
    for path in datasets:
        attrs = dataset.read_attrs(path)
        t60_rows.append((attrs["condition"], float(attrs["t60"]), float(attrs["t60_measured"])))
    spec = page.PageSpec(
        conditions=list(conditions),
        models=list(models),
        localization_table=Path(localization_md).read_text(),
        tdoa_table=Path(tdoa_md).read_text(),
        t60_rows=t60_rows,
        config_yaml=yaml.safe_dump(config, sort_keys=False),
        summaries=[json.loads(Path(path).read_text()) for path in summaries],
    )
    md, html = page.write_page(Path(out_md).parent, spec)
    log.info(f"wrote {md} and {html}")


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--results", default="results", help="the workflow's results folder")
    args = p.parse_args()
    config = steps.load_config(args.config)
    conditions = list(steps.configuration.conditions(config))
    r = args.results
    summaries = [f"{r}/evaluation/{m}/{c}/summary.json" for m in config["models"] for c in conditions]
    if config["srp"]["enabled"]:
        summaries += [f"{r}/evaluation/{srp.NAME}/{c}/summary.json" for c in conditions]
    run([f"{r}/data/{c}.h5" for c in conditions], f"{r}/tables/localization.md", summaries,
        f"{r}/tables/tdoa.md", f"{r}/page/index.md", conditions, config["models"], config, args.log)


if "snakemake" in globals():
    run(snakemake.input.datasets, snakemake.input.localization, snakemake.input.summaries, snakemake.input.tdoa,
        snakemake.output.md, **snakemake.params, log=snakemake.log[0])
elif __name__ == "__main__":
    cli()
