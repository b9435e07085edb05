"""Layer-wise relevance propagation for the localization CNNs, with zennit (SPEC "LRP (zennit)").

Both models get the same rules: WSquare on the first convolution, Gamma on all other convolutions, Epsilon on
linear layers, Norm on pools (and on the residual sums), Pass on activations, batch norms and dropout. For LocCNN
this is exactly the per-name map of the published code. SampleCNN also needs canonizers, because LRP rules act
on modules and SampleCNN has operations that are not modules or not linear:
- every BatchNorm is merged into the layer before it (zennit `SequentialMergeBatchNorm`);
- the residual add becomes a zennit `Sum` module, so the Norm rule splits relevance in proportion to the
  two summands;
- the squeeze-and-excitation product x * gate becomes one-sided: "signal" (default) passes relevance to x
  and none to the gate, "published" does the reverse, as the authors' code does (its gate function gets its
  arguments swapped).
Only these two SampleCNN canonizers are written here; rules, attributor and BN merging are zennit's.
"""

import torch
from torch import nn
from zennit.attribution import Gradient
from zennit.canonizers import AttributeCanonizer, SequentialMergeBatchNorm
from zennit.composites import SpecialFirstLayerMapComposite, layer_map_base
from zennit.layer import Sum
from zennit.rules import Epsilon, Gamma, Norm, Pass, WSquare
from zennit.types import Convolution, Linear, MaxPool

from ..localize.models import ReSE, SEBlock, architecture
from . import batched

GATES = ("signal", "published")


class _OneSidedProduct(torch.autograd.Function):
    """signal * gate whose backward sends the incoming relevance to one factor only.

    to_signal=True: x's relevance is the product's (the gate is a constant per-channel weight, x -> x * gate is
    one-to-one, so this conserves relevance) and the gate gets none. to_signal=False: the gate gets it, summed
    over the time axis it was broadcast along, and the signal gets none.
    """

    @staticmethod
    def forward(ctx, signal, gate, to_signal):
        ctx.to_signal = to_signal
        ctx.gate_shape = gate.shape
        return signal * gate

    @staticmethod
    def backward(ctx, relevance):
        if ctx.to_signal:
            return relevance, relevance.new_zeros(ctx.gate_shape), None
        return torch.zeros_like(relevance), relevance.sum_to_size(ctx.gate_shape), None


def _check_gate(gate):
    if gate not in GATES:
        raise ValueError(f"unknown gate {gate!r}; valid: {', '.join(GATES)}")


def gate_canonizer(gate="signal"):
    """Canonizer that makes every `SEBlock.excite` (x * gate) one-sided, towards the signal or the gate."""
    _check_gate(gate)
    to_signal = gate == "signal"

    def attributes(name, module):
        if not isinstance(module, SEBlock):
            return None
        return {"excite": lambda x, g: _OneSidedProduct.apply(x, g, to_signal)}

    return AttributeCanonizer(attributes)


def residual_canonizer():
    """Canonizer that routes every `ReSE.merge` (x + SE(x)) through a zennit `Sum` module, which the composite
    maps to the Norm rule. The `Sum` is a new, parameter-free attribute: state-dict keys are untouched."""

    def attributes(name, module):
        if not isinstance(module, ReSE):
            return None
        summation = Sum()
        return {
            "canonizer_sum": summation,
            "merge": lambda x, excited: summation(torch.stack([x, excited], dim=-1)),
        }

    return AttributeCanonizer(attributes)


def _composite(canonizers=()):
    """The shared rule map. Order matters: zennit's `Linear` type includes convolutions, so Gamma comes first."""
    layer_map = layer_map_base() + [  # Pass: activations, batch norms; Norm: Sum, average pools
        ((nn.Dropout, nn.Dropout1d), Pass()),
        (MaxPool, Norm()),
        (Convolution, Gamma()),
        (Linear, Epsilon(epsilon=1e-6)),
    ]
    first_map = [(Convolution, WSquare())]
    return SpecialFirstLayerMapComposite(layer_map, first_map, canonizers=list(canonizers))


def check_model(model_name, model):
    """Raise TypeError unless `model` is the architecture `model_name` names."""
    expected = architecture(model_name)
    if not isinstance(model, expected):
        raise TypeError(
            f"model_name {model_name!r} expects a {expected.__name__}, got {type(model).__name__}"
        )


def canonizers_for(model_name, gate="signal"):
    """Fresh canonizers a zennit composite needs for `model_name`: none for LocCNN; for SampleCNN BatchNorm
    merging, the residual `Sum` and the one-sided SE gate. Any LRP composite (also zennit's built-in ones)
    must get them for SampleCNN."""
    _check_gate(gate)
    if model_name == "loc_cnn":
        return []
    return [SequentialMergeBatchNorm(), residual_canonizer(), gate_canonizer(gate)]


def composite_for(model_name, model, gate="signal"):
    """The zennit composite (rules + canonizers) for `model`, built as `model_name`.

    A fresh composite per call: a zennit composite may be registered to one model at a time.
    """
    _check_gate(gate)
    check_model(model_name, model)
    return _composite(canonizers_for(model_name, gate))


def relevance(model, model_name, windows, targets, batch_size=64, gate="signal", device="cpu"):
    """LRP relevance of every input sample: float32 array shaped like `windows` [N, mics, W].

    The output relevance of window n is `targets[n]` (x, y, z) — the ground truth or the prediction, as the
    caller chooses — i.e. zennit `Gradient(model, composite)(x, target)`. The model runs in eval mode on
    `device` (it is moved there); the composite's hooks and canonizers are removed afterwards and the
    training/eval mode is restored, so the model computes exactly what it did before.
    """
    composite = composite_for(model_name, model, gate)
    return batched.attribute(model, lambda: Gradient(model, composite), windows, targets, batch_size, device)
