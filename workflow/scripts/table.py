"""Collect per-job JSON results into one table (markdown + CSV): localization, manipulation, AOPC or TDoA."""

import json

from sslrp import step_settings, steps, tables


def run(results, md, csv, kind, digits=3, log=None):
    """Write the `kind` table of the JSON `results` files as markdown (`md`) and CSV (`csv`)."""
    log = steps.logger(log)
    rows = tables.ROWS[kind]([json.loads(open(path).read()) for path in results])
    tables.write(rows, md, csv, digits)
    log.info(f"{kind} table: {len(rows)} rows from {len(results)} files")


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--kind", required=True, choices=sorted(tables.ROWS))
    p.add_argument("--md", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("results", nargs="+",
                   help="JSON files from evaluate.py / srp_baseline.py, manipulation.py or tdoa.py")
    args = p.parse_args()
    run(args.results, args.md, args.csv, **step_settings.table(args.kind), log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
