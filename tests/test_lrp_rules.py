"""The lean rules (sslrp.explain.rules) give zennit's relevance: `FastGamma` zennit's Gamma with fewer passes where
they compute zeros, and every lean rule without the layer's own (discarded) gradient.

Tolerance: the relative L1 difference between the two relevance maps, sum |R_fast - R_zennit| / sum |R_zennit|, is
at most 1e-5 (both float32; they differ only in the order of float additions).
"""

import numpy as np
import pytest
import torch
from torch import nn
from zennit.attribution import Gradient
from zennit.core import Stabilizer
from zennit.rules import Gamma

from sslrp.explain import batched, lrp
from sslrp.explain.rules import LEAN, FastGamma, stabilizer_fn
from sslrp.localize import models
from test_lrp import _random_batch_norm_stats

TOLERANCE = 1e-5


def relative_l1(fast, reference):
    return float(np.abs(fast - reference).sum() / np.abs(reference).sum())


def _relevance(localizer, windows, targets, lean, gate="signal"):
    """The composite's relevance with the lean rules, or with zennit's own."""
    return lrp.relevance(localizer, windows, targets, batch_size=4, gate=gate, lean=lean)


@pytest.mark.parametrize("name, window, gate", [("loc_cnn", 5120, "signal"), ("loc_cnn", 1280, "signal"),
                                                ("sample_cnn", 1280, "signal"), ("sample_cnn", 1280, "published")])
def test_lean_rules_equal_zennit_rules_on_the_builtin_models(name, window, gate):
    """Both built-ins (SampleCNN with non-trivial batch norms, both gate variants: "published" sends relevance to
    the negative outputs of the residual convolutions through the gate): the relevance maps of the lean composite
    and of zennit's own rules agree within 1e-5 relative L1, and they are not zero."""
    torch.manual_seed(1)
    model = _random_batch_norm_stats(models.build(name, window)).eval()
    localizer = models.spec(name).wrap(model)
    rng = np.random.default_rng(0)
    windows = rng.standard_normal((6, 16, window)).astype(np.float32)
    targets = rng.uniform(-2, 6, (6, 3)).astype(np.float32)
    reference = _relevance(localizer, windows, targets, False, gate)
    fast = _relevance(localizer, windows, targets, True, gate)
    assert np.abs(reference).sum() > 0
    assert relative_l1(fast, reference) <= TOLERANCE


class CountingConv(nn.Conv1d):
    """A Conv1d that counts its forward passes (the model's own and every pass a rule runs)."""

    calls = 0

    def forward(self, x):
        type(self).calls += 1
        return super().forward(x)


def _net(middle_input_signed, relu_after_middle):
    """Conv (WSquare) -> [ReLU] -> counted conv (Gamma) -> [ReLU] -> dense (Epsilon)."""
    torch.manual_seed(3)
    layers = [nn.Conv1d(2, 6, 5, padding=2)] + ([] if middle_input_signed else [nn.ReLU()])
    layers += [CountingConv(6, 4, 3, padding=1)] + ([nn.ReLU()] if relu_after_middle else [])
    layers += [nn.Flatten(), nn.Linear(4 * 12, 3)]
    return nn.Sequential(*layers).eval()


@pytest.mark.parametrize("signed_input, relu_after, fast_passes", [
    (False, True, 1),   # non-negative input, negative outputs get no relevance: pass 0 only
    (False, False, 2),  # non-negative input, relevance on outputs of both signs: passes 0 and 2
    (True, True, 5),    # negative inputs: zennit's five passes
])
def test_fast_gamma_runs_only_the_passes_that_contribute(signed_input, relu_after, fast_passes):
    """On a tiny net, the Gamma layer's forward passes during one attribution: zennit runs the model's pass plus five,
    FastGamma the model's pass plus only those that can contribute; the relevance agrees within 1e-5 either way."""
    net = _net(signed_input, relu_after)
    localizer = models.ModelSpec("net", nn.Sequential, "net").wrap(net)
    rng = np.random.default_rng(2)
    windows = rng.standard_normal((3, 2, 12)).astype(np.float32)
    targets = rng.uniform(-1, 1, (3, 3)).astype(np.float32)
    counted = {}
    for lean in (False, True):
        CountingConv.calls = 0
        counted[lean] = batched.attribute(net, lambda: Gradient(net, lrp.composite(localizer, lean=lean)), windows,
                                          targets, batch_size=3), CountingConv.calls
    (reference, zennit_calls), (fast, fast_calls) = counted[False], counted[True]
    assert zennit_calls == 1 + 5
    assert fast_calls == 1 + fast_passes
    assert np.abs(reference).sum() > 0
    assert relative_l1(fast, reference) <= TOLERANCE


def test_fast_gamma_is_copied_with_its_arguments():
    """zennit registers a copy of the rule per module: the copy keeps gamma and the stabilizer."""
    rule = FastGamma(gamma=0.5, stabilizer=1e-3).copy()
    assert isinstance(rule, FastGamma) and (rule.gamma, rule.stabilizer) == (0.5, 1e-3)


def test_lean_composite_uses_the_lean_rules_and_zennit_composite_zennit_rules():
    """`lean` picks the rule classes: every hook of the lean composite on LocCNN is a rule of explain.rules (a subclass
    of the zennit rule it stands for), every hook of the other zennit's own class."""
    model = models.build("loc_cnn", 1280)
    localizer = models.spec("loc_cnn").wrap(model)
    for lean in (True, False):
        composite = lrp.composite(localizer, lean=lean)
        ctx = {}
        hooks = {name: composite.module_map(ctx, name, m) for name, m in model.named_modules()}
        kinds = {type(h) for h in hooks.values() if h is not None}
        assert kinds <= (set(LEAN.values()) if lean else set(LEAN)), kinds
        assert type(hooks["conv2"]) is (FastGamma if lean else Gamma)


def test_lean_rules_equal_zennit_rules_with_in_place_activations():
    """In-place ReLUs change a convolution's and a pool's output after the layer ran: the lean rules notice it (the
    tensor's version) and recompute what they kept, so the relevance still equals zennit's."""
    torch.manual_seed(4)
    net = nn.Sequential(nn.Conv1d(2, 6, 5, padding=2), nn.ReLU(inplace=True), nn.Conv1d(6, 6, 3, padding=1),
                        nn.ReLU(inplace=True), nn.MaxPool1d(2), nn.Conv1d(6, 4, 3, padding=1), nn.ReLU(inplace=True),
                        nn.Flatten(), nn.Linear(4 * 6, 3)).eval()
    localizer = models.ModelSpec("net", nn.Sequential, "net").wrap(net)
    rng = np.random.default_rng(5)
    windows = rng.standard_normal((4, 2, 12)).astype(np.float32)
    targets = rng.uniform(-1, 1, (4, 3)).astype(np.float32)
    reference, fast = (lrp.relevance(localizer, windows, targets, batch_size=4, lean=lean) for lean in (False, True))
    assert np.abs(reference).sum() > 0
    assert relative_l1(fast, reference) <= TOLERANCE


def test_fast_stabilizer_gives_zennits_values_bit_for_bit():
    """The lean rules' stabilizer for a float epsilon: exactly zennit's values, signed zeros, tiny values and NaN
    included; any other stabilizer is zennit's own."""
    z = torch.cat([torch.tensor([0.0, -0.0, 1e-7, -1e-7, 1e-30, -1e-30, float("nan"), float("inf"), -float("inf")]),
                   torch.randn(1000)])
    expected = Stabilizer.ensure(1e-6)(z)
    assert torch.equal(stabilizer_fn(1e-6)(z).nan_to_num(7.0), expected.nan_to_num(7.0))
    clipped = Stabilizer(1e-6, clip=True)
    assert stabilizer_fn(clipped) is clipped
