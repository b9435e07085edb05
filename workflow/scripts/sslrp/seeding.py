"""Deterministic random streams: every random choice derives from (config seed, purpose, index).

Deriving each source's generator from its own index (not from a shared stream consumed in order) is
what makes a dataset independent of how its sources are split into shards.
"""

import zlib

import numpy as np


def _tag(purpose):
    # A stable integer for a purpose name (Python's hash() is salted per process).
    return zlib.crc32(purpose.encode())


def rng(seed, purpose, *indices):
    """A numpy Generator for `purpose` (e.g. "noise") and optional integer indices."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), _tag(purpose), *map(int, indices)]))


def replicate_seed(seed, replicate):
    """The seed of seed replicate `replicate` (training.replicates): the config's own seed for replicate 0, so
    that a single-replicate run is the run it always was, and for the others a seed derived from (seed,
    replicate) alone, so that adding replicates leaves the existing ones as they are."""
    if int(replicate) == 0:
        return int(seed)
    return int(rng(seed, "replicate", replicate).integers(2**31))


def subset(n_windows, n_total, seed, purpose="randomization/subset"):
    """A fixed subset of rows: `n_windows` of `n_total` row indices, drawn once from (seed, purpose) and sorted
    (all of them when there are fewer). The sanity checks, the explanation report card and the sound components
    explain the same test windows this way, so their numbers are of one set of windows."""
    if n_windows >= n_total:
        return np.arange(n_total)
    return np.sort(rng(seed, purpose).choice(n_total, n_windows, replace=False))
