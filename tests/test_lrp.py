"""LRP with zennit: rule map, conservation, the SampleCNN canonizers, and `relevance` leaving models unchanged."""

import numpy as np
import pytest
import torch
from torch import nn
from zennit.attribution import Gradient
from zennit.canonizers import SequentialMergeBatchNorm
from zennit.core import Composite
from zennit.layer import Sum
from zennit.rules import Epsilon, Gamma, Norm, Pass, WSquare

from sslrp import names
from sslrp.explain import batched, conservation, lrp
from sslrp.explain.rules import LEAN
from sslrp.localize import models

WINDOW = 1280


def _zero_biases(model):
    """Zero every bias, so that LRP must conserve relevance (no relevance is absorbed by biases)."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("bias"):
                param.zero_()
    return model


def _random_batch_norm_stats(model, seed=0):
    """Give every BatchNorm non-trivial running statistics and affine parameters."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm1d)):
            n = bn.num_features
            bn.running_mean.copy_(torch.randn(n, generator=gen))
            bn.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=gen))
            bn.weight.copy_(0.5 + torch.rand(n, generator=gen))
            bn.bias.copy_(torch.randn(n, generator=gen))
    return model


def _stabilized(z, eps=1e-6):
    """zennit's stabilizer: z + eps * sign(z), with sign(0) = +1."""
    return z + eps * np.where(z >= 0, 1.0, -1.0)


def _hand_lrp(x, w1, b1, w2, b2, w3, b3, target, gamma=0.25):
    """LRP by hand (numpy, float64) of y = W3 relu(W2 relu(W1 x + b1) + b2) + b3 with the project's rules:
    WSquare on the first layer, Gamma on the middle one (its inputs are >= 0 after the ReLU), Epsilon on the last,
    Pass on the ReLUs; the output relevance is `target`."""
    z1 = w1 @ x + b1
    a1 = np.maximum(z1, 0)
    z2 = w2 @ a1 + b2
    a2 = np.maximum(z2, 0)
    y = w3 @ a2 + b3
    r_a2 = a2 * (w3.T @ (target / _stabilized(y)))  # Epsilon: R_i = a_i sum_j w_ji R_j / (z_j + eps sign z_j)
    # Gamma: units with z > 0 share by w + gamma w+ (bias b + gamma b+), units with z < 0 by w + gamma w-.
    w_up, w_down = w2 + gamma * np.maximum(w2, 0), w2 + gamma * np.minimum(w2, 0)
    z_up, z_down = w_up @ a1 + b2 + gamma * np.maximum(b2, 0), w_down @ a1 + b2 + gamma * np.minimum(b2, 0)
    r_a1 = a1 * (w_up.T @ np.where(z2 > 0, r_a2 / _stabilized(z_up), 0)
                 + w_down.T @ np.where(z2 < 0, r_a2 / _stabilized(z_down), 0))
    # WSquare: R_i = sum_j w_ji^2 R_j / (sum_k w_jk^2 + b_j^2), whatever the input
    return (w1 ** 2).T @ (r_a1 / _stabilized((w1 ** 2).sum(axis=1) + b1 ** 2)), y


def test_relevance_of_the_rule_map_equals_a_hand_computation():
    """The project's rule map (lrp.composite with the paper's default rules, as for any model) through the project's
    batched loop, on a tiny net whose first convolution spans its whole input (a dense layer in disguise):
    WSquare, Gamma and Epsilon values equal the hand computation of `_hand_lrp` (float32 against float64:
    rtol 1e-4). The output relevance is the target itself (zennit's attr_output), not target * output."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv1d(2, 5, 6), nn.ReLU(), nn.Conv1d(5, 4, 1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4, 3)).eval()
    windows = torch.randn(3, 2, 6).numpy()
    targets = np.array([[1.5, 5.0, 1.2], [0.5, -2.0, 3.0], [1.0, 1.0, -1.0]], np.float32)

    params = [p.detach().double().numpy() for p in net.parameters()]
    w1, b1, w2, b2, w3, b3 = params[0].reshape(5, 12), params[1], params[2][:, :, 0], params[3], *params[4:]
    localizer = models.ModelSpec("net", nn.Sequential, "net").wrap(net)  # default rules: WSquare, Gamma, Epsilon
    rel = batched.attribute(net, lambda: Gradient(net, lrp.composite(localizer)), windows, targets, batch_size=2)
    for n in range(3):
        expected, y = _hand_lrp(windows[n].astype(float).ravel(), w1, b1, w2, b2, w3, b3, targets[n])
        assert (np.abs(y) > 1e-3).all()
        np.testing.assert_allclose(rel[n].ravel(), expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())
    assert np.ptp(rel) > 0.1 * np.abs(rel).max()  # the values differ: not vacuous


# Relevance an explanation may lose without biases. Measured over 4 seeds x 4 windows: LocCNN 0.02-0.3 %,
# SampleCNN 0.8-4.2 % (the Gamma and Epsilon stabilizers at pre-activations near zero). None is created.
CONSERVATION_TOLERANCE = {"loc_cnn": 0.01, "sample_cnn": 0.06}


@pytest.mark.parametrize("name", names.MODELS)
def test_whole_model_relevance_is_conserved_without_biases(name):
    """All rules and canonizers are conservative: without biases (batch norms with zero mean and shift, so
    merging them adds none) the input relevance sums to the output relevance, per window, within the stated
    tolerance, and never exceeds it. A broken residual Sum or gate canonizer would lose or multiply relevance
    (plain gradients through x * gate lose about half, a plain add doubles it)."""
    torch.manual_seed(1)
    model = _zero_biases(_random_batch_norm_stats(models.build(name, WINDOW)).eval())
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm1d)):
            bn.running_mean.zero_()
    windows = torch.randn(4, 16, WINDOW).numpy()
    targets = np.tile([[1.7, 5.5, 1.2]], (4, 1)).astype(np.float32)
    ratio = conservation.ratios(lrp.relevance(models.spec(name).wrap(model), windows, targets), targets)
    assert np.all(ratio <= 1.0 + 1e-4), ratio
    assert np.all(ratio >= 1.0 - CONSERVATION_TOLERANCE[name]), ratio


def _rule_of(composite, model):
    """Rule class per module name, as the composite would assign it (without registering it)."""
    ctx = {}
    rules = {}
    for name, module in model.named_modules():
        hook = composite.module_map(ctx, name, module)
        rules[name] = type(hook) if hook is not None else None
    return rules


def _lean(rule):
    """The rule class the (lean) composite uses for zennit's `rule`."""
    return LEAN.get(rule, rule)


def test_loc_cnn_rules_follow_the_spec_name_map():
    model = models.build("loc_cnn", WINDOW)
    rules = _rule_of(lrp.composite(models.spec("loc_cnn").wrap(model)), model)
    expected = {"conv1": WSquare, "fc1": Epsilon, "fc2": Epsilon, "dr1": Pass}
    expected |= {f"conv{i}": Gamma for i in range(2, 6)}
    expected |= {f"pool{i}": Norm for i in range(1, 4)}
    expected |= {f"activation{i}": Pass for i in range(1, 7)}
    expected = {name: _lean(rule) for name, rule in expected.items()}
    assert {name: rules[name] for name in expected} == expected


def test_sample_cnn_rules_wsquare_first_gamma_other_convs():
    model = models.build("sample_cnn", WINDOW)
    rules = _rule_of(lrp.composite(models.spec("sample_cnn").wrap(model)), model)
    convs = [name for name, m in model.named_modules() if isinstance(m, nn.Conv1d)]
    assert rules[convs[0]] is _lean(WSquare) and convs[0] == "BasicBlock1.conv"
    assert {rules[name] for name in convs[1:]} == {_lean(Gamma)}
    assert rules["ReSE3.SEBlock.dense1"] is _lean(Epsilon) and rules["output_dense"] is _lean(Epsilon)
    assert rules["ReSE3.SEBlock.globalAvgPooling"] is _lean(Norm) and rules["Avgpool1"] is _lean(Norm)
    assert rules["ReSE3.bn1"] is _lean(Pass) and rules["ReSE3.SEBlock.activation2"] is _lean(Pass)


def test_batch_norm_merge_finds_every_batch_norm_and_keeps_outputs():
    model = _random_batch_norm_stats(models.build("sample_cnn", WINDOW).eval())
    x = torch.randn(2, 16, WINDOW)
    with torch.no_grad():
        before = model(x)
        merges = SequentialMergeBatchNorm().apply(model)
        try:
            merged = model(x)
            identity = all(torch.all(m.batch_norm.running_var == 1) for m in merges)
        finally:
            for merge in merges:
                merge.remove()
        after = model(x)
    assert len(merges) == sum(isinstance(m, nn.BatchNorm1d) for m in model.modules()) == 12
    assert identity
    assert torch.allclose(merged, before, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(before, torch.zeros_like(before), atol=1e-3)  # the comparison is not vacuous
    assert torch.equal(after, before)


def test_full_sample_cnn_composite_keeps_forward_outputs():
    """All canonizers together (BN merge, residual Sum, one-sided gate) change only the backward pass."""
    model = _random_batch_norm_stats(models.build("sample_cnn", WINDOW).eval(), seed=1)
    x = torch.randn(2, 16, WINDOW)
    with torch.no_grad():
        before = model(x)
        with lrp.composite(models.spec("sample_cnn").wrap(model)).context(model):
            sums = [m for m in model.modules() if isinstance(m, Sum)]
            merged = all(
                torch.all(m.running_var == 1) for m in model.modules() if isinstance(m, nn.BatchNorm1d)
            )
            canonized = model(x)
    assert len(sums) == 5
    assert merged
    assert torch.allclose(canonized, before, rtol=1e-4, atol=1e-5)
    assert not any(isinstance(m, Sum) for m in model.modules())
    assert "merge" not in vars(model.ReSE1) and "excite" not in vars(model.ReSE1.SEBlock)


def _excite_grads(gate_variant):
    """Gradients reaching signal and gate of a canonized `SEBlock.excite`, for incoming relevance `r`."""
    block = models.SEBlock(channels=4, length=6)
    signal = torch.randn(2, 4, 6, requires_grad=True)
    gate = torch.rand(2, 4, 1, requires_grad=True)
    r = torch.randn(2, 4, 6)
    with Composite(canonizers=[lrp.gate_canonizer(gate_variant)]).context(block):
        block.excite(signal, gate).backward(r)
    return signal.grad, gate.grad, r


def test_signal_only_gate_sends_all_relevance_to_the_signal():
    signal_grad, gate_grad, r = _excite_grads("signal")
    assert torch.equal(signal_grad, r)
    assert torch.equal(gate_grad, torch.zeros_like(gate_grad))


def test_published_gate_sends_all_relevance_to_the_gate():
    signal_grad, gate_grad, r = _excite_grads("published")
    assert torch.equal(signal_grad, torch.zeros_like(signal_grad))
    assert torch.allclose(gate_grad, r.sum(-1, keepdim=True))


@pytest.mark.parametrize("gate, reaches_dense", [("signal", False), ("published", True)])
def test_gate_variant_decides_whether_relevance_enters_the_se_dense_layers(gate, reaches_dense):
    torch.manual_seed(2)
    block = models.ReSE(in_channels=8, channels=8, length=30).eval()
    seen = {}

    def record(module, inputs, output):  # relevance arriving at dense1's output
        output.register_hook(lambda grad: seen.__setitem__("dense1", grad.abs().sum().item()))

    with Gradient(block, lrp.composite(models.spec("sample_cnn").wrap(block), gate)) as attributor:
        # registered after the composite's hooks: it sees the output the rest of the block gets
        handle = block.SEBlock.dense1.register_forward_hook(record)
        _, rel = attributor(torch.randn(1, 8, 30), torch.ones(1, 8, 10))
    handle.remove()
    assert (seen.get("dense1", 0.0) > 0) == reaches_dense
    assert torch.isfinite(rel).all() and rel.abs().sum() > 0


@pytest.mark.parametrize("name", names.MODELS)
def test_unknown_gate_is_rejected(name):
    with pytest.raises(ValueError, match="signal, published"):
        lrp.composite(models.spec(name).wrap(models.build(name, WINDOW)), gate="both")


@pytest.mark.parametrize("name", names.MODELS)
def test_relevance_has_input_shape_and_leaves_model_unchanged(name):
    torch.manual_seed(3)
    model = _random_batch_norm_stats(models.build(name, WINDOW)).train()
    rng = np.random.default_rng(0)
    windows = rng.standard_normal((3, 16, WINDOW)).astype(np.float32)
    targets = rng.uniform(1, 5, (3, 3)).astype(np.float32)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        before = model.eval()(torch.from_numpy(windows))
    model.train()

    rel = lrp.relevance(models.spec(name).wrap(model), windows, targets, batch_size=2)

    assert rel.shape == windows.shape and rel.dtype == np.float32
    assert np.isfinite(rel).all() and np.abs(rel).sum() > 0
    assert model.training  # mode restored
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    assert all(p.grad is None for p in model.parameters())
    assert not any(m._forward_pre_hooks or m._forward_hooks or m._backward_hooks for m in model.modules())
    with torch.no_grad():
        assert torch.equal(model.eval()(torch.from_numpy(windows)), before)


def test_relevance_is_independent_of_batching():
    model = models.build("loc_cnn", WINDOW)
    windows = np.random.default_rng(1).standard_normal((3, 16, WINDOW)).astype(np.float32)
    targets = np.ones((3, 3), np.float32)
    one_batch = lrp.relevance(models.spec("loc_cnn").wrap(model), windows, targets, batch_size=3)
    per_window = lrp.relevance(models.spec("loc_cnn").wrap(model), windows, targets, batch_size=1)
    np.testing.assert_allclose(per_window, one_batch, rtol=1e-4, atol=1e-6 * np.abs(one_batch).max())
