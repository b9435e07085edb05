"""Write the results page (index.md + standalone index.html) beside its figures and audio; the evaluation
summaries (models and SRP-PHAT) give each model x condition its verdict: does it localize?"""

import json
from pathlib import Path

import yaml

from sslrp import step_settings, steps
from sslrp.data import dataset
from sslrp.report import page
from sslrp.report.replicates import split as split_replicates


def run(datasets, localization, summaries, tdoa, md, conditions, models, config, sanity_table=None, sanity=(),
        manipulation=(), tdoa_results=(), explanations=(), explanations_table=None, components_table=None,
        input_checks=(), figures=(), html=None, replicates=1, log=None):
    """Write the page `md` (index.md) and `html` (index.html, beside it) from the `datasets`, the `localization`,
    `tdoa`, `sanity_table`, `explanations_table` and `components_table` tables (markdown), the evaluation
    `summaries` and the report cards `explanations` (of every seed replicate, replicate 0's first) and replicate 0's
    `sanity`, `manipulation` and `tdoa_results` (sanity.py, manipulation.py, tdoa.py results, which the page's
    sentences are made from) and the `input_checks` (input_check.py reports); the page links the `figures` beside
    them."""
    log = steps.logger(log)
    summaries = [[json.loads(Path(path).read_text()) for path in share]
                 for share in split_replicates(summaries, replicates)]
    cards = tuple(_read_all(share) for share in split_replicates(explanations, replicates)) if explanations else ()
    if html is not None and Path(html) != Path(md).with_suffix(".html"):
        raise ValueError(f"{html}: the HTML page is written beside {md}, as {Path(md).with_suffix('.html')}")
    t60_rows, recorded = [], []
    for path in datasets:
        attrs = dataset.read_attrs(path)
        t60_rows.append((attrs["condition"], float(attrs["t60"]), float(attrs["t60_measured"])))
        if "recordings" in attrs:  # a recorded condition (gather_recordings.py)
            recorded.append({"name": attrs["condition"], "manifest": attrs["recordings"],
                             "n_recordings": int(attrs["n_recordings"]), "rates": json.loads(attrs["recorded_rates"]),
                             "fs": int(attrs["fs"]), "models_from": step_settings.condition(
                                 config, attrs["condition"]).get("models_from")})
    spec = page.PageSpec(
        conditions=list(conditions),
        models=list(models),
        localization_table=Path(localization).read_text(),
        tdoa_table=Path(tdoa).read_text(),
        t60_rows=t60_rows,
        config_yaml=yaml.safe_dump(config, sort_keys=False),
        summaries=summaries[0],
        replicate_summaries=tuple(summaries[1:]),
        sanity_table=Path(sanity_table).read_text() if sanity_table else "",
        sanity_results=_read_all(sanity),
        manipulation_results=_read_all(manipulation),
        tdoa_results=_read_all(tdoa_results),
        max_similarity=config["sanity"]["max_similarity"],
        recordings=tuple(recorded),
        explanation_results=cards,
        explanations_table=Path(explanations_table).read_text() if explanations_table else "",
        components_table=Path(components_table).read_text() if components_table else "",
        early_ms=config["components"]["early_ms"],
        input_results=_read_all(input_checks),
    )
    written = page.write_page(Path(md).parent, spec)
    log.info(f"wrote {written[0]} and {written[1]}")


def _read_all(paths):
    return tuple(json.loads(Path(path).read_text()) for path in paths)


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--results", default="results", help="the workflow's results folder")
    args = p.parse_args()
    config = steps.load_config(args.config)
    settings = step_settings.page(config)
    r = args.results
    run([f"{r}/data/{c}.h5" for c in settings["conditions"]], f"{r}/tables/localization.md",
        step_settings.every_replicate(step_settings.summaries, config, results=r), f"{r}/tables/tdoa.md",
        f"{r}/page/index.md", **settings, sanity_table=f"{r}/tables/sanity.md",
        sanity=step_settings.sanity_results(config, r), manipulation=step_settings.manipulation_results(config, r),
        tdoa_results=step_settings.tdoa_results(config, r),
        explanations=step_settings.every_replicate(step_settings.explanation_results, config, results=r),
        explanations_table=f"{r}/tables/explanations.md", components_table=f"{r}/tables/components.md",
        input_checks=[f"{r}/{p.removeprefix('results/')}" for p in step_settings.input_check_results(config)],
        log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
