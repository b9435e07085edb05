"""Attribution methods beyond the paper's LRP, to compare on the input-manipulation test (all zennit).

Every method explains the same scalar as the LRP relevance: the model output weighted by the window's
target, target . f(x) (zennit's `attr_output` = the target (x, y, z), the ground truth or the prediction as
`explain.target` says). Each returns a map shaped like the input in which a larger value means a more
important sample, because the manipulation test removes the highest values first:

- "gradient": the saliency |d(target . f)/dx| (Simonyan et al. 2014). A gradient is a sensitivity, not a
  contribution: its sign says nothing about what zeroing a sample does (that depends on the sample's sign),
  so its magnitude is the map, as is usual for saliency maps.
- "gradient_x_input": gradient * x, the first-order estimate of how much of target . f zeroing x removes.
- "smoothgrad": |mean gradient| over `n_samples` copies of x with Gaussian noise of std `noise_level` x
  (the window's max - min) (Smilkov et al. 2017, zennit `SmoothGrad`; the last copy is noise-free). Seeded.
- "integrated_gradients": the path integral of the gradient from the all-zero input (the very input the
  manipulation test moves towards) to x, in `steps` steps (Sundararajan et al. 2017, zennit
  `IntegratedGradients`). Signed, like LRP.
- "epsilon_plus_flat": LRP with zennit's `EpsilonPlusFlat` composite (Flat on the first layer, ZPlus on the
  other convolutions, Epsilon on dense layers; with the model's canonizers of `explain.lrp`). Signed.
- "occlusion": zero `window` consecutive samples of one microphone at a time (non-overlapping tiles; zennit
  `Occlusion`) and score the tile by how little target . f is left: the map is -target . f(x with the tile
  zeroed), which ranks the samples of a window exactly as the drop target . f(x) - target . f(occluded) does
  (the first term is the same for all of them). Costs one forward pass per tile: mics x W / window per window.
- "relevance": the model's LRP composite (`explain.lrp.relevance`; the paper's for the built-ins). Signed.
- "lrp_<rule>" (sslrp.names.LRP_VARIANTS): the same composite with <rule> on the first layer (Epsilon, ZPlus,
  Flat, ...), for the built-ins and models of your own alike: the first layer's rule decides whether the map keeps
  the input's timing (`input_proportional`). Signed.

Which maps are the input times a backward signal (map = x * G sample by sample, `input_proportional`): gradient x
input, Integrated Gradients (from the all-zero input: x times the path's mean gradient) and LRP whose first-layer
rule multiplies the input (Epsilon, Gamma, ZPlus, AlphaBeta). For them a map splits exactly over a sum of input
parts (sslrp.explain.components).
"""

from functools import partial

import numpy as np
import torch
from torch import nn
from zennit.attribution import Gradient, IntegratedGradients, Occlusion, SmoothGrad, occlude_independent
from zennit.composites import EpsilonPlusFlat
from zennit.rules import Pass

from ..names import ATTRIBUTIONS, LRP_VARIANTS
from . import batched, lrp

DEFAULTS = {"smoothgrad": {"n_samples": 20, "noise_level": 0.1}, "integrated_gradients": {"steps": 20},
            "occlusion": {"window": 64}}


def settings_with_defaults(settings=None):
    """The methods' settings (`manipulation.attribution` of the config) with the defaults filled in."""
    settings = settings or {}
    return {method: {**values, **settings.get(method, {})} for method, values in DEFAULTS.items()}


def attributor(method, localizer, gate="signal", settings=None):
    """The zennit attributor of `method` (see the module docstring) for `localizer` (sslrp.localize.models.Localizer);
    a fresh composite each call."""
    settings = settings_with_defaults(settings)
    model = localizer.module
    if method in ("gradient", "gradient_x_input"):
        return Gradient(model)
    if method == "smoothgrad":
        s = settings["smoothgrad"]
        return SmoothGrad(model, noise_level=s["noise_level"], n_iter=s["n_samples"])
    if method == "integrated_gradients":
        return IntegratedGradients(model, n_iter=settings["integrated_gradients"]["steps"])
    if method == "epsilon_plus_flat":
        composite = EpsilonPlusFlat(layer_map=[((nn.Dropout, nn.Dropout1d), Pass())],
                                    canonizers=lrp.canonizers(localizer, gate))
        return Gradient(model, composite)
    if method == "occlusion":
        window = settings["occlusion"]["window"]
        return Occlusion(model, occlusion_fn=partial(occlude_independent, fill_fn=torch.zeros_like, invert=True),
                         window=(1, window), stride=(1, window))
    raise ValueError(f"unknown attribution method {method!r}; valid: {', '.join(('relevance',) + ATTRIBUTIONS)}")


def lrp_first_rule(method):
    """The first-layer rule of an "lrp_<rule>" method, None for any other method."""
    return method[len("lrp_"):] if method in LRP_VARIANTS else None


def input_proportional(method, localizer):
    """Whether `method`'s map of `localizer` is x * G sample by sample (see the module docstring)."""
    if method in ("gradient_x_input", "integrated_gradients"):
        return True
    if method == "relevance" or method in LRP_VARIANTS:
        return lrp.input_proportional(lrp.rules_of(localizer, lrp_first_rule(method))["first"])
    return False


def attribute(method, localizer, windows, targets, batch_size=32, device="cpu", gate="signal", seed=0,
              settings=None):
    """Attribution map of every window by `method`: float32, shaped like `windows` [N, mics, W], finite.

    `targets` [N, 3] weight the outputs (see the module docstring); `settings` holds SmoothGrad's
    `n_samples`, `noise_level` and Integrated Gradients' `steps` (`DEFAULTS` where missing); `seed` fixes
    SmoothGrad's noise (torch's global generator is restored afterwards). The model runs in eval mode on
    `device`; hooks and canonizers are removed and the training/eval mode restored afterwards.
    """
    if method == "relevance" or method in LRP_VARIANTS:
        return lrp.relevance(localizer, windows, targets, batch_size, gate, device, first=lrp_first_rule(method))
    model = localizer.module
    # zennit's Occlusion scores an occluded input by its attr_output applied to the output, summed (no product
    # with the output as in the gradient attributors): weighting the output by the target gives target . f.
    output_fn = (lambda target: lambda output: output * target) if method == "occlusion" else None
    out = batched.attribute(model, lambda: attributor(method, localizer, gate, settings), windows, targets,
                            batch_size, device, lambda grad, x: _to_map(method, grad, x), seed, output_fn)
    if not np.isfinite(out).all():
        raise FloatingPointError(f"{method}: attribution has non-finite values")
    return out


def _to_map(method, grad, x):
    """The attributor's output as a map where larger = more important (see the module docstring)."""
    if method in ("gradient", "smoothgrad"):
        return grad.abs()
    if method == "gradient_x_input":
        return grad * x
    if method == "occlusion":
        return -grad
    return grad
