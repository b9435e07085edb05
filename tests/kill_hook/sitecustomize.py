"""Kills a training from its own log line, for tests/test_rerun.py (put this folder on PYTHONPATH).

With SSLRP_KILL_AT set (a log-line prefix such as "epoch 3/"), the first `sslrp.localize.training.fit` of the
process gets its `log` wrapped: when the line with that prefix is logged (after the epoch has run, before its
resume state is saved, so the previous epoch's state is the last on disk) the process SIGKILLs itself
(SSLRP_KILL=job) or its whole process group, Snakemake included (SSLRP_KILL=run). No polling, no timing: the
kill happens at the same point of the training on any machine and under any load. Without SSLRP_KILL_AT
nothing is changed.
"""

import importlib.abc
import importlib.util
import os
import signal
import sys

TARGET = "sslrp.localize.training"


def _kill():
    if os.environ.get("SSLRP_KILL") == "run":
        os.killpg(os.getpgid(0), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def _wrap(module):
    fit, prefix = module.fit, os.environ["SSLRP_KILL_AT"]

    def killing_fit(*args, log=print, **kwargs):
        def hooked(line):
            log(line)
            if line.startswith(prefix):
                _kill()
        return fit(*args, log=hooked, **kwargs)

    module.fit = killing_fit


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself; when the training module is imported it wraps the module's loader to patch `fit`."""

    def find_spec(self, name, path, target=None):
        if name != TARGET:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            _wrap(module)

        spec.loader.exec_module = exec_module
        return spec


if os.environ.get("SSLRP_KILL_AT"):
    sys.meta_path.insert(0, _Finder())
