"""Collect per-job JSON results into one table (markdown + CSV): localization, manipulation, AOPC or TDoA."""

import json

from sslrp import steps, tables


def run(results, table_md, table_csv, kind, digits=3, log=None):
    log = steps.logger(log)
    rows = tables.ROWS[kind]([json.loads(open(path).read()) for path in results])
    tables.write(rows, table_md, table_csv, digits)
    log.info(f"{kind} table: {len(rows)} rows from {len(results)} files")


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--kind", required=True, choices=sorted(tables.ROWS))
    p.add_argument("--md", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--digits", type=int, default=3)
    p.add_argument("results", nargs="+", help="JSON files from evaluate.py / srp_baseline.py, manipulation.py or tdoa.py")
    args = p.parse_args()
    run(args.results, args.md, args.csv, args.kind, args.digits, args.log)


if "snakemake" in globals():
    run(snakemake.input, snakemake.output.md, snakemake.output.csv, **snakemake.params, log=snakemake.log[0])
elif __name__ == "__main__":
    cli()
