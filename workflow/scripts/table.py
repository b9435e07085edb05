"""Collect per-job JSON results into one table (markdown + CSV), over the seed replicates if there are several."""

import json

from sslrp import step_settings, steps
from sslrp.report import tables
from sslrp.report.replicates import combine, split


def run(results, md, csv, kind, digits=3, replicates=1, log=None):
    """Write the `kind` table of the JSON `results` files as markdown (`md`) and CSV (`csv`). With several seed
    `replicates`, `results` holds every replicate's files (replicate 0's first) and every number of the table is
    their mean with a 95 % confidence interval (sslrp.report.replicates)."""
    log = steps.logger(log)
    rows = combine([tables.ROWS[kind]([json.loads(open(path).read()) for path in share])
                    for share in split(results, replicates)])
    tables.write(rows, md, csv, digits)
    log.info(f"{kind} table: {len(rows)} rows from {len(results)} files ({replicates} replicate(s))")


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--kind", required=True, choices=sorted(tables.ROWS))
    p.add_argument("--md", required=True)
    p.add_argument("--csv", required=True)
    steps.replicates_argument(p)
    p.add_argument("results", nargs="+",
                   help="JSON files from evaluate.py / srp_baseline.py, manipulation.py, tdoa.py or sanity.py")
    args = p.parse_args()
    settings = step_settings.table(steps.load_config(args.config), args.kind) | steps.given(args, "replicates")
    run(args.results, args.md, args.csv, **settings, log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
