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


def step_device(prefer="auto"):
    """The device a torch step (train, evaluate, relevance, manipulation, sanity) runs on, from `training.device`:
    `pick_device`'s choice, checked to exist, so that `cuda` on a machine where torch sees no CUDA device fails
    here, naming the key, and not at the first tensor copy with torch's own message."""
    device = pick_device(prefer)
    if device.type == "cuda" and not torch.cuda.is_available():
        build = f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise RuntimeError(f"training.device is {prefer!r}, but torch ({torch.__version__}, {build}) sees no CUDA "
                           "device here; set training.device to auto (CUDA where there is one) or cpu")
    return device


@torch.no_grad()
def predict(model, windows, batch_size=256, device="cpu", precision="fp32"):
    """Positions [N, 3] (float32, metres) for `windows` [N, M, W] (a numpy array, or a tensor, e.g. one already in
    the device's memory); leaves `model` on `device` in eval mode. The batches' outputs stay on the device until
    the end (one copy back, not one wait per batch)."""
    model.to(device).eval()
    out = []
    for i in range(0, len(windows), batch_size):
        x = as_batch(windows[i : i + batch_size], device)
        with autocast(device, precision):
            out.append(model(x).float())
    return torch.cat(out).cpu().numpy()


def as_batch(windows, device):
    """A batch of windows as a float32 tensor on `device`: numpy is copied there, a tensor moved (a no-op when it
    is already there as float32)."""
    if isinstance(windows, torch.Tensor):
        return windows.to(device=device, dtype=torch.float32)
    return torch.from_numpy(np.asarray(windows, dtype=np.float32)).to(device)


def autocast(device, precision):
    """The arithmetic of forward passes: "fp32" (plain float32) or "bf16" (torch autocast to bfloat16 for
    convolutions and matrix products, float32 elsewhere), on `device`'s type (`cpu` or `cuda`).

    bf16 pays off only on hardware with bf16 arithmetic: recent GPUs (an H200's bf16 tensor cores) and AVX-512
    BF16 / AMX CPUs. Elsewhere torch emulates it: on an AVX2-only CPU a bf16 epoch is about 10x slower than fp32
    (dev/benchmark_training.py measures it). On CUDA, fp32 convolutions already run in TF32 (torch's default,
    torch.backends.cudnn.allow_tf32)."""
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
    split, with torch set to `threads` intra-op threads (the step's Snakemake threads) and the device picked from
    `device` (`training.device`, see `step_device`) before anything is read."""
    if threads is not None:
        torch.set_num_threads(threads)
    device = step_device(device)
    spec = models.spec(model)
    return ModelAndTest(spec.wrap(models.load(spec, checkpoint, window, n_mics)), dataset.read_split(data, "test"),
                        device)
