"""Running a trained model: the device, the arithmetic of forward passes, batched prediction, and loading a
model with the test split it is evaluated or explained on (the evaluate, relevance and manipulation steps)."""

from dataclasses import dataclass

import numpy as np
import torch

from ..data import dataset
from . import models

PRECISIONS = ("fp32", "bf16")


def pick_device(prefer="auto"):
    """The torch device to run on: "auto" means CUDA when available, else CPU."""
    if prefer == "auto":
        prefer = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(prefer)


@torch.no_grad()
def predict(model, windows, batch_size=256, device="cpu", precision="fp32"):
    """Positions [N, 3] (float32, metres) for `windows` [N, M, W]; leaves `model` on `device` in eval mode."""
    model.to(device).eval()
    out = []
    for i in range(0, len(windows), batch_size):
        x = torch.from_numpy(np.asarray(windows[i : i + batch_size], dtype=np.float32)).to(device)
        with autocast(device, precision):
            out.append(model(x).float().cpu())
    return torch.cat(out).numpy()


def autocast(device, precision):
    """The arithmetic of forward passes: "fp32" (plain float32) or "bf16" (torch autocast to bfloat16 for
    convolutions and matrix products, float32 elsewhere). bf16 pays off only on hardware with bf16
    arithmetic (AVX-512 BF16 / AMX CPUs, recent GPUs); elsewhere torch emulates it and it is slower."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=precision == "bf16")


@dataclass
class ModelAndTest:
    """A model ready to run on its condition's test split: `localizer` (its module in eval mode, on CPU until
    moved), `test` (the dataset's test split, windows included) and the torch `device` to run on."""

    localizer: models.Localizer
    test: dataset.Split
    device: torch.device

    @property
    def model(self):
        """The torch module."""
        return self.localizer.module


def load_for_test(model, checkpoint, data, window, n_mics, device="auto", threads=None):
    """The checkpoint's model (`model`: a `models:` entry, see sslrp.localize.models.spec) and the dataset's test
    split, with torch set to `threads` intra-op threads
    (the step's Snakemake threads) and the device picked (see `pick_device`)."""
    if threads is not None:
        torch.set_num_threads(threads)
    device = pick_device(device)
    spec = models.spec(model)
    return ModelAndTest(spec.wrap(models.load(spec, checkpoint, window, n_mics)), dataset.read_split(data, "test"),
                        device)
