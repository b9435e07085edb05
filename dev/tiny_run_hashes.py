"""Run the workflow on the tests' tiny config in a scratch folder and write the sha256 of every output.

A refactoring check: run it before and after a change and diff the two listings; every file under
results/ should hash the same except those that record code versions or timings.

    python dev/tiny_run_hashes.py /tmp/before > before.sha256
    python dev/tiny_run_hashes.py /tmp/after > after.sha256
    diff before.sha256 after.sha256
"""

import argparse
import hashlib
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from tiny_workflow import TINY, snakemake, write_config  # noqa: E402  (tests/ is put on the path above)


def sha256(path):
    """The hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("workdir", type=Path, help="scratch folder (created; must not hold a previous run)")
    workdir = p.parse_args().workdir
    workdir.mkdir(parents=True, exist_ok=True)
    config = write_config(workdir, TINY)
    done = snakemake(workdir, config=config)
    if done.returncode:
        sys.exit(f"snakemake failed:\n{done.stderr[-4000:]}")
    for path in sorted((workdir / "results").rglob("*")):
        if path.is_file():
            print(f"{sha256(path)}  {path.relative_to(workdir)}")


if __name__ == "__main__":
    main()
