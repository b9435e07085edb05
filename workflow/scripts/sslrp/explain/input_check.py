"""Do a condition's windows look like the data a checkpoint was trained on? The batch norms say.

A batch norm keeps, from training, the mean and variance of its input per channel (`running_mean`,
`running_var`); in evaluation it normalizes with them. Where a condition's windows give a batch norm an input whose
statistics differ from those, the network runs outside its training distribution from that layer on, whatever its
localization error says about why. This module runs a set of windows through the model in evaluation mode,
measures each batch norm's input per channel (mean, unbiased variance: the estimator `running_var` holds) and
compares them with the stored statistics:

- `variance_ratio`: the geometric mean over channels of (data variance + eps) / (running_var + eps), eps the
  layer's own: how much wider (> 1) or narrower (< 1) the data are than training. Scaling the input by k makes the
  first layer's ratio k² (the conv before it is linear; its bias shifts the mean, not the variance).
- `mean_shift`: the median over channels of |data mean - running_mean| / sqrt(running_var + eps), in training
  standard deviations.

Dropout stays active during the measurement (seeded), as it was when the running statistics were gathered:
in evaluation mode a batch norm after a dropout sees less variance than in training (the "variance shift" of
dropout before batch norm, Li et al. 2019), which would read as data outside the training distribution on the
very data the model was trained on. Batch norms run in evaluation mode, with their stored statistics, as at
inference.

The first layer whose ratio lies outside [1/tolerance, tolerance], or whose mean shift exceeds `MEAN_SHIFT_LIMIT`,
is where the data leave the training distribution; the report names it and its factor. Batch norms without running
statistics (`track_running_stats=False`) are listed and skipped; a model without batch norms gets a report saying
that the check does not apply. Used by the `input_check` step (workflow/scripts/input_check.py) and by
dev/published_study.py.
"""

import math

import numpy as np
import torch
from torch import nn

MEAN_SHIFT_LIMIT = 1.0  # training standard deviations: a mean further off is outside the training distribution
NOT_APPLICABLE = "the model has no batch norm with running statistics: the input check does not apply"


def batch_norms(model):
    """The model's batch norms (any dimension) as (name, module), in registration order (input to output for
    models that register layers in forward order, as the built-ins do)."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


class _Moments:
    """Per-channel running sums of one batch norm's input in float64 (channel axis 1, every other axis pooled)."""

    def __init__(self):
        self.count, self.total, self.squares = 0, None, None

    def add(self, x):
        x = x.detach().to(torch.float64).transpose(0, 1).reshape(x.shape[1], -1)
        total, squares = x.sum(dim=1), (x * x).sum(dim=1)
        if self.total is None:
            self.total, self.squares = total, squares
        else:
            self.total, self.squares = self.total + total, self.squares + squares
        self.count += x.shape[1]

    def mean_var(self):
        """Mean and unbiased variance per channel (the estimator a batch norm's running_var averages)."""
        mean = self.total / self.count
        var = (self.squares - self.count * mean * mean) / max(self.count - 1, 1)
        return mean.numpy(), np.maximum(var.numpy(), 0.0)


def input_statistics(model, windows, batch_size=32, device="cpu", dropout=True, seed=0):
    """Per batch norm with running statistics: (mean [C], unbiased variance [C], values per channel) of its input
    over `windows` [N, M, W] (numpy or tensor), the batch norms in evaluation mode; the dropouts active as in
    training (`dropout=True`, masks drawn from `seed`) or off as at inference."""
    layers = [(name, bn) for name, bn in batch_norms(model) if bn.track_running_stats and bn.running_var is not None]
    moments = {name: _Moments() for name, _ in layers}
    hooks = [bn.register_forward_pre_hook(lambda _m, args, name=name: moments[name].add(args[0]))
             for name, bn in layers]
    modes = {m: m.training for m in model.modules()}
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd) and dropout:
            m.train()
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            data = torch.as_tensor(np.asarray(windows), dtype=torch.float32)
            for start in range(0, len(data), batch_size):
                model(data[start:start + batch_size].to(device))
    finally:
        for hook in hooks:
            hook.remove()
        for m, training in modes.items():
            m.training = training
    return {name: (*moments[name].mean_var(), moments[name].count) for name, _ in layers if moments[name].count}


def compare(model, statistics):
    """One row per measured batch norm: its name, channel count, `variance_ratio` (geometric mean over channels),
    the channels' lowest and highest ratio, and `mean_shift` (median over channels, in training std)."""
    rows = []
    for name, bn in batch_norms(model):
        if name not in statistics:
            continue
        mean, var, count = statistics[name]
        running_mean = bn.running_mean.detach().double().cpu().numpy()
        running_var = bn.running_var.detach().double().cpu().numpy()
        ratio = (var + bn.eps) / (running_var + bn.eps)
        shift = np.abs(mean - running_mean) / np.sqrt(running_var + bn.eps)
        rows.append({"layer": name, "channels": int(len(ratio)), "values_per_channel": int(count),
                     "variance_ratio": float(np.exp(np.mean(np.log(ratio)))),
                     "variance_ratio_min": float(ratio.min()), "variance_ratio_max": float(ratio.max()),
                     "mean_shift": float(np.median(shift))})
    return rows


def outside(row, tolerance):
    """Whether a layer's input lies outside the training distribution: variance off by more than `tolerance`
    either way, or mean more than MEAN_SHIFT_LIMIT training standard deviations off."""
    return abs(math.log(row["variance_ratio"])) > math.log(tolerance) or row["mean_shift"] > MEAN_SHIFT_LIMIT


def summarize(rows, tolerance):
    """The verdict over the layers: `in_distribution`, and where not, the first layer outside it (`first_layer`,
    its 1-based `first_index`), its variance ratio and mean shift, and a `sentence` for the page."""
    if not rows:
        return {"applies": False, "in_distribution": None, "sentence": NOT_APPLICABLE}
    first = next((i for i, row in enumerate(rows) if outside(row, tolerance)), None)
    if first is None:
        return {"applies": True, "in_distribution": True, "first_layer": None, "first_index": None,
                "factor": None, "mean_shift": None,
                "sentence": (f"the inputs look like this checkpoint's training data: every batch norm's input "
                             f"variance within a factor {tolerance:g} of its training statistics and its mean "
                             f"within {MEAN_SHIFT_LIMIT:g} training standard deviation")}
    row = rows[first]
    return {"applies": True, "in_distribution": False, "first_layer": row["layer"], "first_index": first + 1,
            "factor": row["variance_ratio"], "mean_shift": row["mean_shift"],
            "sentence": (f"they do not, from layer {first + 1} of {len(rows)} ({row['layer']}) on: input variance "
                         f"{describe_factor(row['variance_ratio'])} the training statistics', mean "
                         f"{row['mean_shift']:.2g} training standard deviations off")}


def describe_factor(ratio):
    """'12x above' / '3.1x below' / 'equal to' for a variance ratio."""
    if ratio >= 1:
        return f"{ratio:.3g}x above" if ratio > 1.0005 else "equal to"
    return f"{1 / ratio:.3g}x below"


def check(model, windows, tolerance=2.0, batch_size=32, device="cpu", dropout=True, seed=0):
    """The input check of `model` on `windows` [N, M, W]: {"layers": compare(...) with each layer's `outside`,
    **summarize(...)}, with the number of windows and the limits used. `dropout`, `seed`: see input_statistics."""
    if tolerance <= 1:
        raise ValueError(f"tolerance must be above 1 (a factor on the variance), got {tolerance}")
    stats = input_statistics(model, windows, batch_size, device, dropout, seed)
    rows = [{**row, "outside": outside(row, tolerance)} for row in compare(model, stats)]
    skipped = [name for name, bn in batch_norms(model) if not bn.track_running_stats or bn.running_var is None]
    return {"windows": int(len(windows)), "tolerance": float(tolerance), "mean_shift_limit": MEAN_SHIFT_LIMIT,
            "dropout": bool(dropout),
            "skipped_layers": skipped, "layers": rows, **summarize(rows, tolerance)}
