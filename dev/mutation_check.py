"""Mutation check: does the test suite catch deliberate faults? (issue 24)

Copies the repository's working tree (tracked and untracked, not ignored, files; the .venv as a link) to a
temporary folder, then applies one deliberate break at a time to that copy, runs the test files that should
catch it, puts the code back and reports which tests failed. The repository itself is never written to; the copy
is removed at the end, also after an error or Ctrl-C. A break whose code is not found (the code has changed
since it was written) is reported as such, not silently skipped.

    .venv/bin/python dev/mutation_check.py            # every break
    .venv/bin/python dev/mutation_check.py resample   # the breaks whose name contains "resample"

Exit status 1 when some break is caught by no test (or could not be applied).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "workflow/scripts/sslrp"


@dataclass(frozen=True)
class Break:
    """Replace `old` (exactly one occurrence) by `new` in `path`; `tests` are pytest arguments (files, -k)."""

    name: str
    path: str
    old: str
    new: str
    tests: tuple


BREAKS = (
    Break("espeak audio not resampled (left at 22.05 kHz)", f"{PACKAGE}/data/corpus.py",
          "prepare(raw / 32768.0, engine.fs, fs,", "prepare(raw / 32768.0, fs, fs,",
          ("tests/test_corpus.py",)),
    Break("wrong sign of the true TDoA delay in the error", f"{PACKAGE}/metrics.py",
          "signals[:, pair[1]], max_lag) - true_delay", "signals[:, pair[1]], max_lag) + true_delay",
          ("tests/test_metrics.py", "tests/test_model_steps.py", "-k", "tdoa")),
    Break("wrong sign of the direct-path delay", f"{PACKAGE}/data/geometry.py",
          "return (dist[..., 1] - dist[..., 0]) * fs / sound_speed",
          "return (dist[..., 0] - dist[..., 1]) * fs / sound_speed",
          ("tests/test_geometry.py", "tests/test_model_steps.py", "-k", "tdoa")),
    Break("off-by-one in the removal count", f"{PACKAGE}/explain/manipulation.py",
          "return int(round(percent / 100 * size))", "return int(round(percent / 100 * size)) + 1",
          ("tests/test_manipulation.py",)),
    Break("warm start dropped (the init checkpoint is not loaded)", "workflow/scripts/train.py",
          "model = models.load(spec, init, window, n_mics) if init else",
          "model = spec.build(window, n_mics) if init else",
          ("tests/test_model_steps.py", "-k", "warm_start")),
    Break("warm start trained as a cold start (warm=False)", "workflow/scripts/train.py",
          "warm=bool(init))", "warm=False)",
          ("tests/test_model_steps.py", "-k", "warm_start")),
    Break("mean imputation by the median", f"{PACKAGE}/explain/manipulation.py",
          "np.broadcast_to(windows.mean(axis=2, keepdims=True), windows.shape)",
          "np.broadcast_to(np.median(windows, axis=2, keepdims=True), windows.shape)",
          ("tests/test_manipulation.py",)),
    Break("noise imputation scaled by the variance instead of the deviation", f"{PACKAGE}/explain/manipulation.py",
          "* windows.std(axis=2, keepdims=True)", "* windows.var(axis=2, keepdims=True)",
          ("tests/test_manipulation.py",)),
    Break("LRP Epsilon stabilizer 1e-1 instead of 1e-6", f"{PACKAGE}/explain/lrp.py",
          '"epsilon": lambda: Epsilon(epsilon=1e-6)', '"epsilon": lambda: Epsilon(epsilon=1e-1)',
          ("tests/test_lrp.py",)),
    Break("Integrated Gradients with one step whatever the setting", f"{PACKAGE}/explain/attribution.py",
          'IntegratedGradients(model, n_iter=settings["integrated_gradients"]["steps"])',
          "IntegratedGradients(model, n_iter=1)",
          ("tests/test_attribution.py", "-k", "integrated_gradients or riemann")),
)


def copy_of_repo(into):
    """Copy the files git sees in the working tree (not ignored) to `into`; link the virtual environment."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    if (REPO / ".venv").exists():
        os.symlink(os.path.realpath(REPO / ".venv"), into / ".venv")


def run_tests(copy, tests, timeout):
    """Run pytest in the copy; return (exit code, ids of the failed or erroring tests, seconds)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", *tests],
                          cwd=copy, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", done.stdout, re.M)
    return done.returncode, failed, time.perf_counter() - start, done.stdout[-1500:]


def check(brk, copy, timeout):
    """Apply one break to the copy, run its tests, restore the file (always); return the failed test ids or
    None when the break's code is not there."""
    path = copy / brk.path
    original = path.read_text()
    if original.count(brk.old) != 1:
        return None, 0.0, ""
    try:
        path.write_text(original.replace(brk.old, brk.new))
        code, failed, seconds, tail = run_tests(copy, brk.tests, timeout)
    finally:
        path.write_text(original)
    if code not in (0, 1):  # collection error, usage error: say so instead of calling it caught
        failed = failed or [f"(pytest exit {code})"]
    return failed, seconds, tail


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("only", nargs="*", help="run only the breaks whose name contains one of these words")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per break's test run (default 1800)")
    p.add_argument("--baseline", action="store_true", help="first run every break's tests unbroken (must pass)")
    args = p.parse_args()
    chosen = [b for b in BREAKS if not args.only or any(word in b.name for word in args.only)]
    uncaught = []
    with tempfile.TemporaryDirectory(prefix="sslrp-mutation-") as folder:
        copy = Path(folder)
        copy_of_repo(copy)
        if args.baseline:
            tests = sorted({t for b in chosen for t in b.tests if t.startswith("tests/")})
            code, failed, seconds, tail = run_tests(copy, tests, args.timeout)
            print(f"baseline (no break), {', '.join(tests)}: exit {code}, {seconds:.0f} s, failed: {failed}")
            if code != 0:
                print(tail)
                return 1
        for brk in chosen:
            failed, seconds, tail = check(brk, copy, args.timeout)
            print(f"\n## {brk.name}\n   {brk.path}: {brk.old!r} -> {brk.new!r}\n   tests: {' '.join(brk.tests)}"
                  f" ({seconds:.0f} s)")
            if failed is None:
                print("   NOT APPLIED: the code to break is not there (changed since this script was written)")
                uncaught.append(brk.name)
            elif not failed:
                print("   NOT CAUGHT: every test passed")
                uncaught.append(brk.name)
            else:
                print(f"   caught by {len(failed)} test(s):")
                for test in failed:
                    print(f"     {test}")
    print(f"\n{len(chosen) - len(uncaught)} of {len(chosen)} breaks caught" +
          (f"; not caught or not applied: {uncaught}" if uncaught else ""))
    return 1 if uncaught else 0


if __name__ == "__main__":
    sys.exit(main())
