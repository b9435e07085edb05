"""What a map says of the sound components (sslrp.explain.components) on inputs whose answers are known by hand: a
model that reads only the first microphone's direct sound, shares worked out sample by sample, the paper's claim
and the causal test's verdict from hand-made numbers."""

import numpy as np
import pytest
import torch
from torch import nn

from sslrp.explain import attribution, components
from sslrp.localize import models
from sslrp.names import COMPONENTS

N, M, W = 4, 3, 64


class FirstMicReader(nn.Module):
    """f(x) = (w . x[mic 0]) for each of the three outputs: linear, and it reads microphone 0 only."""

    def __init__(self, w):
        super().__init__()
        self.fc = nn.Linear(W, 3, bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.as_tensor(np.tile(w, (3, 1)), dtype=torch.float32))

    def forward(self, x):
        return self.fc(x[:, 0])


def parts_the_reader_hears_only_the_direct_sound_of(w, seed=0):
    """Random components on every mic and sample, except that on mic 0 the early, late and noise parts of every
    window are made orthogonal to `w` (their projection on w removed by hand): w . x[mic 0] is then w . direct."""
    rng = np.random.default_rng(seed)
    parts = {c: rng.normal(size=(N, M, W)) for c in COMPONENTS}
    for c in ("early", "late", "noise"):
        on_mic0 = parts[c][:, 0]
        on_mic0 -= (on_mic0 @ w)[:, None] * w[None] / (w @ w)
    return {c: p.astype(np.float32) for c, p in parts.items()}


def test_a_model_that_reads_only_the_first_microphones_direct_sound_gets_an_exact_direct_share_of_one():
    w = np.random.default_rng(1).normal(size=W)
    parts = parts_the_reader_hears_only_the_direct_sound_of(w)
    for c in ("early", "late", "noise"):  # the construction holds: the reader hears nothing of these on mic 0
        assert np.abs(parts[c][:, 0].astype(np.float64) @ w).max() < 1e-5
    window = sum(parts[c].astype(np.float64) for c in COMPONENTS).astype(np.float32)
    module = FirstMicReader(w).eval()
    localizer = models.ModelSpec("first_mic", lambda: module, "first mic", groups="modules").wrap(module)
    attribution_map = attribution.attribute("gradient_x_input", localizer, window, np.ones((N, 3), np.float32))
    assert np.all(attribution_map[:, 1:] == 0)  # nothing on the microphones it does not read
    shares = components.shares(attribution_map, window, parts, exact=True)
    assert shares["measure"] == "exact"
    assert shares["direct"] == pytest.approx(1, abs=1e-4)
    for c in ("early", "late", "noise"):
        assert shares[c] == pytest.approx(0, abs=1e-4)
    # the energy-weighted measure says where the map's weight lies, not what each part contributes: not 1 here
    assert components.shares(attribution_map, window, parts, exact=False)["direct"] < 0.5


def test_energy_weighted_shares_split_each_samples_magnitude_by_the_components_energy_there():
    # one window, one mic, two samples. Sample 0: direct 1, early 1 (energies 1 and 1: half each); sample 1: early
    # 2 only. |map| = (2, 1), total 3: direct 2 * 1/2 / 3 = 1/3, early (2 * 1/2 + 1) / 3 = 2/3.
    parts = {"direct": [[[1.0, 0.0]]], "early": [[[1.0, 2.0]]], "late": [[[0.0, 0.0]]], "noise": [[[0.0, 0.0]]]}
    parts = {c: np.array(v) for c, v in parts.items()}
    shares = components.energy_weighted_shares(np.array([[[2.0, -1.0]]]), parts)
    assert shares == pytest.approx({"direct": 1 / 3, "early": 2 / 3, "late": 0.0, "noise": 0.0})
    assert np.isnan(components.energy_weighted_shares(np.zeros((1, 1, 2)), parts)["direct"])  # a map of zeros


def test_input_energy_shares_are_each_components_energy_over_the_sum():
    # energies: direct 3^2 = 9, early 4^2 = 16, late 0, noise 1^2 = 1; total 26
    parts = {"direct": [[[3.0, 0.0]]], "early": [[[0.0, 4.0]]], "late": [[[0.0, 0.0]]], "noise": [[[1.0, 0.0]]]}
    shares = components.energy_shares({c: np.array(v) for c, v in parts.items()})
    assert shares == pytest.approx({"direct": 9 / 26, "early": 16 / 26, "late": 0.0, "noise": 1 / 26})


def test_the_claim_holds_only_with_direct_above_and_noise_and_late_below_their_input_shares():
    energy = {"direct": 0.2, "early": 0.3, "late": 0.3, "noise": 0.2}
    assert components.denoises({"direct": 0.5, "early": 0.3, "late": 0.1, "noise": 0.1}, energy) is True
    assert components.denoises({"direct": 0.5, "early": 0.0, "late": 0.4, "noise": 0.1}, energy) is False  # late
    assert components.denoises({"direct": 0.5, "early": 0.1, "late": 0.1, "noise": 0.3}, energy) is False  # noise
    assert components.denoises({"direct": 0.1, "early": 0.7, "late": 0.1, "noise": 0.1}, energy) is False  # direct
    assert components.denoises({"direct": float("nan"), "early": 0, "late": 0, "noise": 0}, energy) is None


def test_the_causal_test_feeds_each_sum_of_components_and_agrees_when_the_direct_sound_matters_most():
    rng = np.random.default_rng(2)
    parts = {c: rng.normal(size=(2, 2, 8)).astype(np.float32) for c in COMPONENTS}
    window = sum(parts[c].astype(np.float64) for c in COMPONENTS).astype(np.float32)
    variants = components.variants(window, parts)
    assert list(variants) == list(components.VARIANTS)
    assert np.array_equal(variants["full"], window)  # the stored window itself
    np.testing.assert_allclose(variants["direct+early"], parts["direct"] + parts["early"], rtol=1e-6)
    np.testing.assert_allclose(variants["full-noise"], window - parts["noise"], rtol=1e-5, atol=1e-6)
    # a "localizer" whose position is the mean input sample: its MAE (true position 0) is mean |mean sample|
    maes, baseline = components.causal(lambda x: np.repeat(x.mean(axis=(1, 2))[:, None], 3, axis=1), window, parts,
                                       np.zeros((2, 3)), np.array([1.0, 2.0, 3.0]))
    by_hand = np.mean(np.abs((window.astype(np.float64) - parts["late"]).mean(axis=(1, 2))))
    assert maes["full-late"]["model"] == pytest.approx(by_hand, rel=1e-5)
    assert maes["full"]["srp_phat"] is None and baseline == pytest.approx(2.0)  # mean |(1, 2, 3) - 0|
    # the verdict from hand-made MAEs: removing the direct sound raises the MAE by 0.4 m, the late part by 0.1 m,
    # the noise by -0.05 m
    made = {"full": {"model": 0.1}, "full-direct": {"model": 0.5}, "full-late": {"model": 0.2},
            "full-noise": {"model": 0.05}}
    assert components.rises(made) == pytest.approx({"direct": 0.4, "late": 0.1, "noise": -0.05})
    assert components.causal_agrees(made) is True
    made["full-late"]["model"] = 0.6  # the late reverberation now matters more than the direct sound
    assert components.causal_agrees(made) is False
