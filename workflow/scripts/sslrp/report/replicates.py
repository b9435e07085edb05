"""Seed replicates (training.replicates): the result tables of several training seeds combined into one, every
number as the mean over the replicates with a 95 % confidence interval.

A saliency metric from a single training run is not reliable (Tomsett et al. 2020), and the differences between
conditions are of the size of the differences between seeds, so the tables say how large the latter are. The
interval is Student's t interval of the mean (scipy.stats.t), which assumes the replicates' values scatter roughly
normally; with two replicates it is wide (t = 12.7), as two draws warrant.
"""

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95
CI_LABEL = f"{LEVEL:.0%} CI"  # "95% CI": the tables' name for the interval
# What identifies a row of a table: it must be the same in every replicate's table (same config, same order).
KEYS = ("model", "condition", "pair", "ordering", "ranked by", "imputation", "depth", "method", "measure", "input")


@dataclass(frozen=True)
class Estimate:
    """The mean of one number over `n` replicates and the half-width of its confidence interval (NaN for n < 2)."""

    mean: float
    half_width: float
    n: int

    @property
    def interval(self):
        """(low, high): mean -/+ half-width."""
        return self.mean - self.half_width, self.mean + self.half_width

    def format(self, digits):
        """`0.123 ± 0.004` (`–` for what is undefined), as the markdown tables show it."""
        mean, half = (("–" if math.isnan(v) else f"{v:.{digits}f}") for v in (self.mean, self.half_width))
        return f"{mean} ± {half}"


def estimate(values, level=LEVEL):
    """The Estimate of `values` (one per replicate); NaN values (a number a replicate could not compute, e.g. a
    TDoA MAE without any non-anomalous window) are left out, and `n` counts the others."""
    finite = np.array([v for v in map(float, values) if not math.isnan(v)])
    n = len(finite)
    if n == 0:
        return Estimate(math.nan, math.nan, 0)
    mean = float(finite.mean())
    if n == 1:
        return Estimate(mean, math.nan, 1)
    # imported where used: every job imports this module through the step settings, few average replicates, and
    # scipy.stats takes 1-1.5 s to import
    from scipy import stats

    sem = float(stats.sem(finite))
    if sem == 0:  # identical values (e.g. SRP-PHAT, which no seed changes): t.interval refuses a zero scale
        return Estimate(mean, 0.0, n)
    low, high = stats.t.interval(level, n - 1, loc=mean, scale=sem)
    return Estimate(mean, float(high - low) / 2, n)


def combine(tables):
    """One table from the replicates' `tables` (lists of row dicts, replicate 0's first, rows in the same order):
    every number becomes an Estimate over the replicates, a text that differs between them (e.g. a verdict)
    their tally ("does not localize 2/3, localizes 1/3"), and a last column says how many replicates there are.
    A single table is returned as it is, so that a single-replicate run's tables do not change."""
    if len(tables) == 1:
        return tables[0]
    lengths = [len(t) for t in tables]
    if len(set(lengths)) != 1:
        raise ValueError(f"the replicates' tables have {lengths} rows: every replicate must cover the same models, "
                         "conditions and orderings (re-run the workflow so that all replicates' results are current)")
    combined = []
    for rows in zip(*tables):
        for key in (k for k in KEYS if k in rows[0]):
            values = [row.get(key) for row in rows]
            if len(set(map(str, values))) != 1:
                raise ValueError(f"the replicates' rows do not match: {key} is {values} in replicates "
                                 f"0..{len(rows) - 1}")
        combined.append({key: _combine_column([row[key] for row in rows]) for key in rows[0]}
                        | {"replicates": len(rows)})
    return combined


def _combine_column(values):
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numbers and (any(isinstance(v, float) for v in values) or len(set(values)) > 1):
        return estimate(values)
    if all(v == values[0] for v in values):
        return values[0]
    return ", ".join(f"{value} {count}/{len(values)}" for value, count in Counter(values).most_common())


def split(paths, replicates):
    """`paths` (every replicate's files, replicate 0's first; sslrp.step_settings.every_replicate) as one list
    per replicate."""
    if replicates < 1 or len(paths) % replicates:
        raise ValueError(f"{len(paths)} result files cannot be {replicates} replicates' equal shares: give every "
                         "replicate's files, replicate 0's first")
    size = len(paths) // replicates
    return [list(paths[r * size:(r + 1) * size]) for r in range(replicates)]
