"""Shared plumbing of the step scripts: logging to the rule's log file, the common CLI options, and run()'s
arguments in a Snakemake job (files by name)."""

import argparse
import logging
import sys

from . import config as configuration
from . import step_settings


def logger(log_path=None, name="sslrp"):
    """A logger writing to the rule's log file (or stderr), one timestamped line per message.

    With a log file, an uncaught error is also written to it (Snakemake shows only the log's path), and then
    handed on to the interpreter's previous excepthook, which still prints it to stderr.
    """
    log = logging.getLogger(name)
    log.handlers.clear()
    handler = logging.FileHandler(log_path) if log_path else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    if log_path:
        _log_uncaught_errors(log)
    return log


def _log_uncaught_errors(log):
    """Chain an excepthook that logs an uncaught error before the previous hook reports it (once per process:
    a second logger replaces only our own hook, never stacks on it)."""
    previous = getattr(sys.excepthook, "chained_to", sys.excepthook)

    def hook(*exc):
        log.error("step failed", exc_info=exc)
        previous(*exc)

    hook.chained_to = previous
    sys.excepthook = hook


class StepParser(argparse.ArgumentParser):
    """An argparse parser that also checks a `--cond` and a `--model` option against the conditions and models of
    `--config`, so that no step runs (or trains) for a condition or model the configuration does not have."""

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        for option, check in (("cond", step_settings.condition), ("model", step_settings.model_entry)):
            if getattr(parsed, option, None) is not None:
                try:
                    check(load_config(parsed.config), getattr(parsed, option))
                except configuration.ConfigError as err:
                    self.error(str(err))
        return parsed


def parser(description):
    """An argparse parser with the options every step's command line shares."""
    p = StepParser(description=description)
    p.add_argument("--config", default="config/config.yaml", help="workflow config (YAML)")
    p.add_argument("--log", default=None, help="log file (default: stderr)")
    return p


def model_parser(description, cond=True, checkpoint=True, replicate=False):
    """A parser for a step on one model (and condition): --model, --cond, --data and --checkpoint, and
    --replicate for a step whose seed depends on the seed replicate."""
    p = parser(description)
    p.add_argument("--model", required=True, help="a model named in the config's `models:`")
    if cond:
        p.add_argument("--cond", required=True, help="condition name, e.g. SNR_25_T60_0.15")
    p.add_argument("--data", required=True, help="dataset HDF5 of the condition")
    if checkpoint:
        p.add_argument("--checkpoint", required=True, help="model checkpoint (.pth)")
    if replicate:
        p.add_argument("--replicate", type=int, default=0,
                       help="seed replicate (training.replicates) whose seed to use; default 0, the config's seed")
    return p


def replicates_argument(p):
    """--replicates, for a step over the seed replicates' result files (a table or a figure)."""
    p.add_argument("--replicates", type=int, default=None,
                   help="seed replicates the result files are of, replicate 0's first (default: training.replicates)")


def given(args, *names):
    """The options among `names` given on the command line (not None), as settings that override the config's."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def load_config(path):
    """The validated config for a command-line run; a file that cannot be read or is invalid ends the run with
    the error (which names the file and the key or line) and exit status 2, as a usage error does."""
    try:
        return configuration.load(path)
    except configuration.ConfigError as err:
        print(f"error: --config {err}", file=sys.stderr)
        raise SystemExit(2) from err


def snakemake_args(smk):
    """run()'s keyword arguments in a Snakemake job `smk`: every input and output file under its name in the
    rule, the step's settings (`params: settings=`, see sslrp.step_settings) and the log file.

    Files are passed by name, never by position, so reordering a rule's files cannot swap them; a rule with an
    unnamed file, or an input and an output of the same name, is refused.
    """
    files = {}
    for kind, items in (("input", smk.input), ("output", smk.output)):
        named = dict(items.items())
        if sum(1 if isinstance(v, str) else len(v) for v in named.values()) != len(items):
            raise ValueError(f"rule {smk.rule}: every {kind} file needs a name (the step script takes its files "
                             f"by name); named: {', '.join(named) or 'none'}")
        clash = files.keys() & named.keys()
        if clash:
            raise ValueError(f"rule {smk.rule}: {', '.join(sorted(clash))} names both an input and an output")
        files |= {k: str(v) if isinstance(v, str) else [str(f) for f in v] for k, v in named.items()}
    return {**files, **smk.params.get("settings", {}), "log": smk.log[0] if smk.log else None}


class TqdmLog:
    """A file-like target for tqdm that writes progress lines into a logger (rule logs stay readable)."""

    def __init__(self, log):
        self.log = log

    def write(self, text):
        text = text.strip("\r\n ")
        if text:
            self.log.info(text)

    def flush(self):
        pass
