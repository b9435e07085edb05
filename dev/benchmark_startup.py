"""What one workflow job pays before it computes anything: a fresh interpreter importing its step script.

Every Snakemake job of the workflow runs one step script of workflow/scripts in a new Python process, so each job
pays the interpreter's start and the script's imports (torch, zennit, scipy, matplotlib, ...) before its own work.
This times, for each step script, a fresh `python -c "import <script>"` (the scripts only import at module level;
their work starts under `if "snakemake" in globals()` or `__main__`), best of `--repeats`, next to a bare interpreter,
and names the heaviest top-level packages each script pulls in (from `python -X importtime`). Multiply by the
number of jobs per rule (`snakemake -n`) for what the fixed costs add up to in a run.
"""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "workflow" / "scripts"
HEAVY = ("torch", "zennit", "torchvision", "scipy", "matplotlib", "pyroomacoustics", "h5py", "pandas", "jsonschema",
         "soundfile", "numpy")
IMPORT_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| \s*(\S+)")


def step_scripts():
    """The step scripts (one per rule kind), by name."""
    return sorted(p.stem for p in SCRIPTS.glob("*.py"))


def _run(code, importtime=False):
    env = {**os.environ, "PYTHONPATH": str(SCRIPTS)}
    args = [sys.executable] + (["-X", "importtime"] if importtime else []) + ["-c", code]
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=REPO, check=True)
    return time.perf_counter() - start, done.stderr


def startup_seconds(code, repeats):
    """Best wall time of a fresh interpreter running `code`, after one untimed run (warm file cache)."""
    _run(code)
    return min(_run(code)[0] for _ in range(repeats))


def heavy_packages(module):
    """{package: import seconds} of the HEAVY packages `module` pulls in, directly or not (the cumulative time of the
    package's own import line, i.e. with what it imports that was not imported before)."""
    _, stderr = _run(f"import {module}", importtime=True)
    return {name: int(cumulative) / 1e6 for cumulative, name in IMPORT_LINE.findall(stderr) if name in HEAVY}


def run(scripts, repeats):
    bare = startup_seconds("pass", repeats)
    print(f"python {sys.version.split()[0]}, best of {repeats}; bare interpreter {bare:.2f} s")
    print(f"{'step script':<22}{'start + imports [s]':>20}  heaviest imports [s]")
    for name in scripts:
        seconds = startup_seconds(f"import {name}", repeats)
        heavy = heavy_packages(name)
        top = ", ".join(f"{p} {s:.2f}" for p, s in sorted(heavy.items(), key=lambda kv: -kv[1])[:4])
        print(f"{name:<22}{seconds:>20.2f}  {top}")


def cli():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scripts", nargs="+", default=step_scripts(), help="step scripts (default: all)")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    run(args.scripts, args.repeats)


if __name__ == "__main__":
    cli()
