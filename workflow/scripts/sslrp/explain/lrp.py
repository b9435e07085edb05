"""Layer-wise relevance propagation for any localization model, with zennit (SPEC "LRP (zennit)").

One generic composite chooses the rule by layer type: the model's `lrp` rules (default the paper's: WSquare on the
first layer, Gamma on all other convolutions, Epsilon on linear layers), Norm on pools (and on the residual sums),
Pass on activations, batch norms and dropout. For LocCNN this is exactly the per-name map of the published code.
Every model gets the same canonizers, which act only where their module types occur, plus the ones its own hook
(`canonizers:` of its `models:` entry) returns. SampleCNN needs them because LRP rules act on modules and SampleCNN
has operations that are not modules or not linear:
- every BatchNorm is merged into the layer before it (zennit `SequentialMergeBatchNorm`);
- the residual add becomes a zennit `Sum` module, so the Norm rule splits relevance in proportion to the
  two summands;
- the squeeze-and-excitation product x * gate becomes one-sided: "signal" (default) passes relevance to x
  and none to the gate, "published" does the reverse, as the authors' code does (its gate function gets its
  arguments swapped).
Only these two canonizers are written here; rules, attributor and BN merging are zennit's. A module type the
composite has no rule for is named by `unknown_layers` (the check step reports it), never passed over silently.
"""

import torch
from torch import nn
from zennit.attribution import Gradient
from zennit.canonizers import AttributeCanonizer, Canonizer, SequentialMergeBatchNorm
from zennit.composites import SpecialFirstLayerMapComposite
from zennit.core import collect_leaves
from zennit.layer import Sum
from zennit.rules import AlphaBeta, Epsilon, Flat, Gamma, Norm, Pass, WSquare, ZPlus
from zennit.types import Activation, AvgPool, BatchNorm, Convolution, Linear, MaxPool

from ..localize.models import ModelError, ReSE, SEBlock, import_object
from . import batched
from .rules import LEAN

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


# The rules a `models:` entry's `lrp:` may name, as zennit rules and their arguments (keys: sslrp.names.LRP_RULES, in
# its order).
RULES = {"wsquare": (WSquare, {}), "flat": (Flat, {}), "gamma": (Gamma, {}), "epsilon": (Epsilon, {"epsilon": 1e-6}),
         "zplus": (ZPlus, {}), "alpha2beta1": (AlphaBeta, {"alpha": 2, "beta": 1})}
# Parameter-free modules that only reshape or pass their input: their gradient is the relevance's identity, so they
# need no rule and are known.
RESHAPES = (nn.Flatten, nn.Unflatten, nn.Identity)


def _make(rule, lean, **kwargs):
    """A fresh `rule` (a zennit rule class), or its lean equivalent (explain.rules.LEAN: the same relevance, fewer
    passes) where there is one and `lean`."""
    return (LEAN.get(rule, rule) if lean else rule)(**kwargs)


def _rule(name, key, lean=True):
    if name not in RULES:
        raise ValueError(f"{key}: unknown LRP rule {name!r}; valid: {', '.join(RULES)}")
    rule, kwargs = RULES[name]
    return _make(rule, lean, **kwargs)


def _layer_map(rules, lean=True):
    """The generic rule map by layer type. Order matters: zennit's `Linear` type includes convolutions, so the
    convolution rule comes first. The first four entries are zennit's `layer_map_base`: Pass on activations and
    batch norms, Norm on Sum and average pools."""
    return [
        (Activation, _make(Pass, lean)),
        (Sum, _make(Norm, lean)),
        (AvgPool, _make(Norm, lean)),
        (BatchNorm, _make(Pass, lean)),
        ((nn.Dropout, nn.Dropout1d, nn.Dropout2d), _make(Pass, lean)),
        (MaxPool, _make(Norm, lean)),
        (Convolution, _rule(rules["conv"], "lrp.conv", lean)),
        (Linear, _rule(rules["linear"], "lrp.linear", lean)),
    ]


def user_canonizers(spec):
    """The canonizers the spec's hook returns (a list of zennit canonizers), or none without a hook."""
    if not spec.canonizers:
        return []
    hook = import_object(spec.canonizers, f"{spec.key}.canonizers")
    found = hook()
    if not isinstance(found, (list, tuple)) or not all(isinstance(c, Canonizer) for c in found):
        raise ModelError(f"{spec.key}.canonizers: {spec.canonizers!r} must return a list of zennit canonizers, got "
                         f"{found!r}")
    return list(found)


def canonizers(localizer, gate="signal"):
    """Fresh canonizers every LRP composite of `localizer` needs: zennit's BatchNorm merging (a batch norm right
    after a linear layer in registration order), the residual `Sum` and the one-sided gate of this package's
    `ReSE` / `SEBlock` blocks (nothing for models without them), and the model's own canonizer hook."""
    _check_gate(gate)
    return [SequentialMergeBatchNorm(), residual_canonizer(), gate_canonizer(gate), *user_canonizers(localizer.spec)]


def rules_of(localizer, first=None):
    """The LRP rules {first, conv, linear} of `localizer`: its spec's (`lrp:`; the paper's for the built-ins), with
    the first layer's replaced by `first` (a name of sslrp.names.LRP_RULES) where given."""
    rules = dict(localizer.spec.lrp)
    if first is not None:
        rules["first"] = first
    return rules


def input_proportional(rule):
    """Whether the first-layer `rule` makes each input sample's relevance its value times a backward signal
    (R = x * G, per sample): Epsilon, Gamma, ZPlus and AlphaBeta multiply the (sign-split) input by the gradient of
    the normalized output relevance. WSquare and Flat redistribute by the weights alone, ignoring the input's
    values, so their maps are not x * G."""
    return rule not in ("wsquare", "flat")


def composite(localizer, gate="signal", lean=True, first=None):
    """The zennit composite (rules by layer type + canonizers) for `localizer`: its `lrp` rules on the first layer,
    the convolutions and the dense layers (the paper's WSquare / Gamma / Epsilon by default), Norm on pools, Pass on
    activations and dropout. A fresh composite per call: a zennit composite may be registered to one model at a time.
    `lean`: the rules of explain.rules where they exist (the same relevance up to float rounding, in fewer passes);
    False: zennit's own rule classes throughout. `first`: another first-layer rule (`rules_of`).
    """
    rules = rules_of(localizer, first)
    first_map = [(Linear, _rule(rules["first"], "lrp.first", lean))]
    return SpecialFirstLayerMapComposite(_layer_map(rules, lean), first_map, canonizers=canonizers(localizer, gate))


def unknown_layers(localizer, gate="signal"):
    """The modules the composite has no rule for, as {type name: [module names]}: every leaf module (and every
    module owning parameters of its own) after the canonizers are applied whose type is neither in the rule map nor
    a reshape, plus every batch norm that is not merged (no linear layer right before it in registration order:
    it gets Pass, which ignores its scaling). Relevance passes such a module by its plain gradient."""
    module, found = localizer.module, {}
    layer_types = tuple(types for types, _ in _layer_map(localizer.spec.lrp))
    leaves = list(collect_leaves(module))  # as SequentialMergeBatchNorm pairs them
    merged = {id(b) for a, b in zip(leaves, leaves[1:]) if isinstance(a, Linear) and isinstance(b, BatchNorm)}
    with composite(localizer, gate).context(module):
        for name, sub in module.named_modules():
            owns = any(True for _ in sub.parameters(recurse=False))
            is_leaf = not any(True for _ in sub.children())
            if not (is_leaf or owns) or isinstance(sub, RESHAPES):
                continue
            if isinstance(sub, BatchNorm) and id(sub) not in merged:
                found.setdefault(f"{type(sub).__name__} (not merged)", []).append(name)
            elif not any(isinstance(sub, types) for types in layer_types):
                found.setdefault(type(sub).__name__, []).append(name or "(the model itself)")
    return found


def relevance(localizer, windows, targets, batch_size=64, gate="signal", device="cpu", lean=True, first=None):
    """LRP relevance of every input sample: float32 array shaped like `windows` [N, mics, W].

    The output relevance of window n is `targets[n]` (x, y, z) — the ground truth or the prediction, as the
    caller chooses — i.e. zennit `Gradient(model, composite)(x, target)`. The model runs in eval mode on
    `device` (it is moved there); the composite's hooks and canonizers are removed afterwards and the
    training/eval mode is restored, so the model computes exactly what it did before. `lean`, `first`: see
    `composite`.
    """
    model = localizer.module
    lrp = composite(localizer, gate, lean, first)
    return batched.attribute(model, lambda: Gradient(model, lrp), windows, targets, batch_size, device)
