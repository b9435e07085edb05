"""Cascading model-parameter randomization (Adebayo et al. 2018, "Sanity checks for saliency maps").

An explanation that says something about a trained network must change when the network's weights are
destroyed. The check re-initializes the layers from the output towards the input, one group at a time and
cumulatively, and after each step compares the relevance of a fixed set of windows with the trained
model's: by the Spearman rank correlation of |relevance| (per window, then averaged), and, for this
workflow's second finding, by how well GCC-PHAT recovers the time difference of arrival from the
relevance signals. If the randomized model's relevance is as similar to the trained one's as a second
trained model's would be, or its TDoA is as good, the relevance reflects the input (or the rules), not what
the network learned.

For the built-ins a group is a top-level parametric module (LocCNN: `fc2`, `fc1`, `conv5` ... `conv1`; SampleCNN:
`output_dense`, `dense1` with its batch norm `bn1`, `ReSE5` ... `ReSE1`, `BasicBlock1`); for any other model
(spec `groups: "modules"`) it is every module that owns parameters itself, at any depth, in the reverse of the
order the model registers them (a batch norm again joins the layer before it). Re-initializing
uses each layer's own `reset_parameters` (PyTorch's default initialization, batch-norm running statistics
included), seeded per step from the config's seed, so the check is reproducible.
"""

import copy

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from ..localize.training import manual_seed


def cascade(model, by="children"):
    """The layer groups to re-initialize, from the output towards the input: a list of (label, [modules]).

    by="children": top-level children with parameters; by="modules": every module owning parameters itself (not
    through its children), at any depth. In reverse order of registration; a batch norm joins the group of the
    layer registered before it (it normalizes that layer's output). The labels are the module names.
    """
    if by not in ("children", "modules"):
        raise ValueError(f"unknown grouping {by!r}; valid: children, modules")
    candidates = model.named_children() if by == "children" else model.named_modules()
    recurse = by == "children"
    groups = []
    for name, module in candidates:
        if not any(True for _ in module.parameters(recurse=recurse)):
            continue
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and groups:
            groups[-1][1].append(module)
            groups[-1] = (f"{groups[-1][0]}+{name}", groups[-1][1])
        else:
            groups.append((name, [module]))
    return groups[::-1]


def _reinitialize(module):
    for layer in module.modules():
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters()


def _reinitialize_own(module, by):
    """Re-initialize a group's module: all of it (children grouping), or only its own parameters (modules grouping:
    its children are groups of their own)."""
    if by == "children":
        _reinitialize(module)
    elif hasattr(module, "reset_parameters"):
        module.reset_parameters()
    else:
        raise ValueError(f"{type(module).__name__} owns parameters but has no reset_parameters(): the randomization "
                         "cascade cannot re-initialize it; give the class a reset_parameters method")


def randomized(localizer, seed, purpose):
    """Yield (depth, label, localizer) for depth 1..len(cascade): a copy of `localizer` (sslrp.localize.models
    .Localizer) with its top `depth` groups re-initialized (cumulative: depth 2 re-initializes the groups of depth 1
    and 2), grouped as its spec says (`groups`). `localizer` is untouched.

    Each step's initialization is seeded from (seed, purpose, depth), e.g. purpose "randomization/loc_cnn";
    torch's global random state is restored after each step, so the caller's draws do not depend on the check.
    """
    by = localizer.spec.groups
    current = copy.deepcopy(localizer.module)
    for depth, (label, modules) in enumerate(cascade(current, by), start=1):
        with torch.random.fork_rng(devices=[]):
            manual_seed(seed, purpose, depth)
            for module in modules:
                _reinitialize_own(module, by)
        yield depth, label, localizer.with_module(copy.deepcopy(current))


def rank_similarity(a, b):
    """Mean over windows of Spearman's rank correlation between |a| and |b| ([N, ...] arrays; each window's
    values flattened). Ranks are scipy's (ties get their average rank); a window whose |a| or |b| is constant
    has no defined correlation and counts as 0 (no similarity)."""
    ra = rankdata(np.abs(a).reshape(len(a), -1), axis=1)
    rb = rankdata(np.abs(b).reshape(len(b), -1), axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    norm = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
    rho = np.divide((ra * rb).sum(axis=1), norm, out=np.zeros(len(ra)), where=norm > 0)
    return float(rho.mean())


def check(localizer, explain, localize, tdoa, seed, purpose, trained=None):
    """Run the cascade on `localizer` (sslrp.localize.models.Localizer): one row per step, depth 0 being the trained
    model.

    explain(localizer) -> relevance [N, M, W] of the fixed windows; localize(localizer) -> the model's MAE (m) on
    them; tdoa(signals) -> a `metrics.tdoa_summary` dict for signals [N, M, W]. Each row holds depth, layer
    (the group re-initialized at that step; "none" at depth 0), spearman (|relevance| against the trained
    model's), model_mae, tdoa_anomaly_percent and tdoa_mae (samples over the non-anomalous windows; None
    when every window is an anomaly). `trained`: the trained model's relevance of the windows when the caller
    has it already (e.g. from the relevance step), else explain(localizer).
    """
    trained = explain(localizer) if trained is None else trained
    rows = [_row(0, "none", trained, trained, localize(localizer), tdoa(trained))]
    for depth, label, randomized_model in randomized(localizer, seed, purpose):
        relevance = explain(randomized_model)
        rows.append(_row(depth, label, trained, relevance, localize(randomized_model), tdoa(relevance)))
    return rows


def _row(depth, label, trained, relevance, model_mae, tdoa_summary):
    return {
        "depth": depth,
        "layer": label,
        "spearman": rank_similarity(trained, relevance),
        "model_mae": float(model_mae),
        "tdoa_anomaly_percent": tdoa_summary["anomaly_percent"],
        "tdoa_mae": None if np.isnan(tdoa_summary["mae"]) else tdoa_summary["mae"],
    }

