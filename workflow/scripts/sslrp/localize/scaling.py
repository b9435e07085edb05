"""Training-time scaling of inputs and targets, folded into the model's first and last layer afterwards.

Raw windows are small (peak-normalised speech, attenuated with distance: RMS around 1e-2) and the three
coordinates have different spreads (z varies by a few centimetres, y by metres). Training the network on
`gain * x` and on per-axis standardized coordinates `(y - mean) / std` lets one learning rate suit every
layer and every axis. Both maps are affine and sit next to a linear layer, so after training they are
written into the weights (`Scaling.fold`): the saved checkpoint is an ordinary LocCNN / SampleCNN that maps
raw windows to metres, exactly what evaluation, LRP and the published checkpoints use.

One gain for all microphones and all windows keeps every level difference between microphones and between
sources (the attenuation with distance is a range cue).
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class Scaling:
    """x -> gain * x on the input; model output o -> mean + std * o in metres."""

    gain: float = 1.0
    mean: tuple = (0.0, 0.0, 0.0)
    std: tuple = (1.0, 1.0, 1.0)

    @classmethod
    def for_training(cls, windows, positions, input_gain, standardize_targets, rows=4096):
        """The scaling that `training.fit` uses: unit input RMS over (up to `rows` evenly spaced) training
        windows when `input_gain`; mean and std per axis of the training positions when
        `standardize_targets`."""
        gain, mean, std = 1.0, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
        if input_gain:
            picked = np.linspace(0, len(windows) - 1, min(rows, len(windows))).round().astype(int)
            rms = float(np.sqrt(np.mean(np.square(np.asarray(windows[np.unique(picked)], dtype=np.float64)))))
            if not rms > 0:
                raise ValueError("input_gain: the training windows are silent (RMS 0); nothing to scale")
            gain = 1.0 / rms
        if standardize_targets:
            positions = np.asarray(positions, dtype=np.float64)
            mean = tuple(positions.mean(axis=0))
            spread = positions.std(axis=0)
            std = tuple(np.where(spread > 0, spread, 1.0))
        return cls(gain, mean, std)

    def standardize(self, positions):
        """Positions in metres -> the coordinates the network is trained on (a tensor like `positions`)."""
        mean, std = (positions.new_tensor(v) for v in (self.mean, self.std))
        return (positions - mean) / std

    def fold(self, model):
        """Write the scaling into `model`'s first Conv1d (input gain) and last Linear (output map), in place:
        afterwards model(x) equals mean + std * model_before(gain * x)."""
        first, last = _ends(model)
        with torch.no_grad():
            first.weight.mul_(self.gain)
            mean, std = (last.weight.new_tensor(v) for v in (self.mean, self.std))
            last.weight.mul_(std[:, None])
            last.bias.mul_(std).add_(mean)
        return model

    def unfold(self, model):
        """The inverse of `fold`, in place: turn weights that map raw windows to metres (a checkpoint) into
        the training coordinates of this scaling, e.g. to warm-start training from another condition."""
        return self.inverse().fold(model)

    def inverse(self):
        """The scaling whose `fold` undoes this one's: gain 1 / gain, output map o -> (o - mean) / std."""
        std = np.asarray(self.std, dtype=np.float64)
        return Scaling(1.0 / self.gain, tuple(-np.asarray(self.mean) / std), tuple(1.0 / std))


def _ends(model):
    """The first Conv1d (the first layer LocCNN and SampleCNN apply) and the last Linear (the output)."""
    first = next(m for m in model.modules() if isinstance(m, nn.Conv1d))
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    return first, last


class TrainingView(nn.Module):
    """`model` as training sees it: `standardized(x)` is the network's output on gain-scaled input (what
    the loss compares with standardized targets), `forward(x)` the same prediction in metres."""

    def __init__(self, model, scaling):
        super().__init__()
        self.model, self.scaling = model, scaling

    def standardized(self, x):
        return self.model(x * self.scaling.gain)

    def forward(self, x):
        out = self.standardized(x).float()
        mean, std = (out.new_tensor(v) for v in (self.scaling.mean, self.scaling.std))
        return mean + std * out
