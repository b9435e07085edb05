"""Shared plumbing of the step scripts: logging to the rule's log file and the common CLI options."""

import argparse
import logging
import sys

from . import config as configuration
from . import names


def logger(log_path=None, name="sslrp"):
    """A logger writing to the rule's log file (or stderr), one timestamped line per message."""
    log = logging.getLogger(name)
    log.handlers.clear()
    handler = logging.FileHandler(log_path) if log_path else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    if log_path:  # an uncaught error lands in the rule's log too, not only in Snakemake's output
        sys.excepthook = lambda *exc: log.error("step failed", exc_info=exc)
    return log


class StepParser(argparse.ArgumentParser):
    """An argparse parser that also checks a `--cond` option against the conditions of `--config`, so that
    no step runs (or trains) for a condition the configuration does not have."""

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        if getattr(parsed, "cond", None) is not None:
            try:
                condition(load_config(parsed.config), parsed.cond)
            except configuration.ConfigError as err:
                self.error(str(err))
        return parsed


def parser(description):
    """An argparse parser with the options every step's command line shares."""
    p = StepParser(description=description)
    p.add_argument("--config", default="config/config.yaml", help="workflow config (YAML)")
    p.add_argument("--log", default=None, help="log file (default: stderr)")
    return p


def model_parser(description, cond=True, checkpoint=True):
    """A parser for a step on one model (and condition): --model, --cond, --data and --checkpoint."""
    p = parser(description)
    p.add_argument("--model", required=True, choices=names.MODELS)
    if cond:
        p.add_argument("--cond", required=True, help="condition name, e.g. SNR_25_T60_0.15")
    p.add_argument("--data", required=True, help="dataset HDF5 of the condition")
    if checkpoint:
        p.add_argument("--checkpoint", required=True, help="model checkpoint (.pth)")
    return p


def load_config(path):
    """The validated config for a command-line run."""
    return configuration.load(path)


def condition(config, name):
    """The settings of the condition called `name`, with a clear error for an unknown name."""
    conditions = configuration.conditions(config)
    if name not in conditions:
        raise configuration.ConfigError(f"--cond: unknown condition {name!r}; known: {', '.join(conditions)}")
    return conditions[name]


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
