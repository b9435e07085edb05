"""Conservation: how much of the explained output the input relevance adds up to.

LRP starts from an output relevance (here the target position (x, y, z), as `explain.target` chooses) and
redistributes it layer by layer. Rules without a bias term conserve it exactly (the input relevance sums to
the output relevance); the Epsilon stabilizer, biases (and batch norms merged into them) absorb part of it
or add to it. The ratio per window says how faithful to its promise the explanation is; a ratio far from 1
means a large part of the output is explained by biases, not by the input.
"""

import numpy as np

QUANTILES = (0.05, 0.5, 0.95)


def ratios(relevance, targets):
    """Per window: the sum of the input relevance over mics and samples divided by the sum of the output
    relevance it started from (targets [N, 3]); float64 [N]. Raises ValueError when a target sums to 0."""
    total_out = np.asarray(targets, np.float64).sum(axis=1)
    if np.any(total_out == 0):
        raise ValueError("a window's output relevance sums to 0: its conservation ratio is undefined")
    return np.asarray(relevance, np.float64).reshape(len(relevance), -1).sum(axis=1) / total_out


def summary(values):
    """Distribution of conservation ratios: mean, the 5 %, 50 % and 95 % quantiles, min, max, n_windows."""
    values = np.asarray(values, np.float64)
    q = np.quantile(values, QUANTILES)
    return {"mean": float(values.mean()), "q05": float(q[0]), "median": float(q[1]), "q95": float(q[2]),
            "min": float(values.min()), "max": float(values.max()), "n_windows": int(values.size)}


def sentence(medians):
    """What the page says of conservation, from the median ratio of each model x condition."""
    low, high = min(medians), max(medians)
    span = f"{low:.2g}" if f"{low:.2g}" == f"{high:.2g}" else f"between {low:.2g} and {high:.2g}"
    verdict = ("it conserves the output (within 10 %)" if low >= 0.9 and high <= 1.1 else
               "the rest of the output is credited to the biases (and batch norms), not to the input samples, so "
               "the relevance explains only part of the prediction")
    return (f"Summed over the input, the relevance is {span} times the output relevance LRP started from "
            f"(median over the test windows, per model x condition; 1 = conserved): {verdict}.")
