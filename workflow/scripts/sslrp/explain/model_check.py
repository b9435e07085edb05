"""The check of a localization model before any job trains or explains it: does it build, does it keep the contract
(float32 [batch, mics, window] in, [batch, 3] positions in metres out), and what does LRP make of it.

The check builds the model of a `models:` entry for the config's window and array, runs one seeded batch of noise
through it and through its LRP composite (sslrp.explain.lrp), and reports the layer types the composite has no rule
for, the conservation of the relevance (input relevance / output relevance, as the `conservation` table) and the
groups the randomization cascade will re-initialize. What goes wrong fails with a ModelError that names the config
key, the file and what to do: an import error, a constructor error, a window too short for the model, a forward
pass that fails or returns the wrong shape.
"""

import numpy as np
import torch

from ..localize import models
from ..localize.models import ModelError
from ..localize.training import manual_seed
from ..seeding import rng
from . import conservation, lrp, randomization

BATCH = 4  # windows in the check's batch


def _where(spec):
    """The entry's key and file, for error messages."""
    return f"{spec.key} ({spec.class_path or 'built-in'})"


def _fits_longer_window(spec, window, n_mics):
    """Whether the model builds and runs on windows four times as long: then `window` is too short for it."""
    try:
        with torch.no_grad():
            spec.build(window * 4, n_mics).eval()(torch.zeros(1, n_mics, window * 4))
    except Exception:  # noqa: BLE001  (any failure means: not only the window)
        return False
    return True


def _fail(spec, window, n_mics, what, err):
    too_short = _fits_longer_window(spec, window, n_mics)
    advice = (f"the window is too short for the model (it works with {4 * window} samples): raise signals.window or "
              "pool less" if too_short else "fix the model and run again")
    raise ModelError(f"{_where(spec)}: {what} failed for windows of {window} samples from {n_mics} microphones "
                     f"({type(err).__name__}: {err}); {advice}") from err


def build(spec, window, n_mics):
    """The model of `spec`, built, in eval mode; ModelError naming the key, the file and the error otherwise."""
    try:
        return spec.build(window, n_mics).eval()
    except ModelError:
        raise
    except Exception as err:  # noqa: BLE001  (a user's constructor may raise anything)
        _fail(spec, window, n_mics, f"building {spec.factory.__name__}(**{spec.arguments(window, n_mics)})", err)


def forward(spec, module, batch):
    """The model's output for `batch`, checked against the contract: [batch, 3], floating point, finite."""
    try:
        with torch.no_grad():
            out = module(torch.from_numpy(batch))
    except Exception as err:  # noqa: BLE001
        _fail(spec, batch.shape[2], batch.shape[1], "the forward pass", err)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (len(batch), 3):
        shape = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ModelError(f"{_where(spec)}: forward returned {shape} for a batch of {list(batch.shape)}; the contract "
                         f"is a tensor [batch, 3] (x, y, z in metres), here [{len(batch)}, 3]")
    if not out.is_floating_point() or not torch.isfinite(out).all():
        raise ModelError(f"{_where(spec)}: forward returned {out.dtype} values that are not all finite; the contract "
                         "is float positions in metres")
    return out.float().numpy()


def check(entry, window, n_mics, seed, gate="signal", index=None):
    """The check report (a JSON-ready dict) of one `models:` entry; ModelError when the model breaks the contract.

    The weights and the batch of noise are drawn from (seed, "check/<name>"), so the report is reproducible. LRP
    starts from an output relevance of 1 per coordinate (positive, as the workflow's positions in metres; the
    model's own outputs on noise may sum to about zero, which would make the ratio meaningless)."""
    spec = models.spec(entry, index)
    with torch.random.fork_rng(devices=[]):  # seeded weights, the caller's random state untouched
        manual_seed(seed, f"check/{spec.name}")
        module = build(spec, window, n_mics)
    batch = rng(seed, f"check/{spec.name}").standard_normal((BATCH, n_mics, window)).astype(np.float32)
    out = forward(spec, module, batch)
    localizer = spec.wrap(module)
    targets = np.ones_like(out)
    relevance = lrp.relevance(localizer, batch, targets, BATCH, gate)
    groups = randomization.cascade(module, spec.groups)
    for label, members in groups:
        if spec.groups == "modules" and not all(hasattr(m, "reset_parameters") for m in members):
            raise ModelError(f"{_where(spec)}: the module {label} owns parameters but has no reset_parameters(), so "
                             "the randomization cascade cannot re-initialize it; give its class a reset_parameters")
    return {
        "model": spec.name, "class_path": spec.class_path, "init_args": dict(spec.init_args), "window": window,
        "n_mics": n_mics, "output_shape": list(out.shape), "parameters": sum(p.numel() for p in module.parameters()),
        "lrp": dict(spec.lrp), "canonizers": spec.canonizers, "unknown_layers": lrp.unknown_layers(localizer, gate),
        "conservation": conservation.summary(conservation.ratios(relevance, targets)),
        "randomization_groups": [label for label, _ in groups],
    }
