"""The explanation report card (sslrp.explain.card, sslrp.report.card) on models whose answers are known by hand:
a linear model over two channels with a known delay, a model that ignores one microphone, a re-initialized
model."""

import numpy as np
import pytest
import torch
from torch import nn

from sslrp.explain import attribution, card, manipulation
from sslrp.localize import models
from sslrp.report import card as report_card

W = 256
DELAY = 5  # samples: channel 1 is channel 0 delayed by this much


class TwoChannelLinear(nn.Module):
    """f(x) = Linear(mean over time of Conv1d(x)): linear in x, so gradient x input is x times a fixed weight."""

    def __init__(self, n_mics=2, ignore=None):
        super().__init__()
        self.conv = nn.Conv1d(n_mics, 4, 9, padding=4, bias=False)
        self.fc = nn.Linear(4, 3, bias=False)
        self.ignore = ignore
        torch.manual_seed(1)
        with torch.no_grad():
            self.conv.weight.uniform_(0.5, 1.5)  # positive weights: the output grows with every sample's level
            self.fc.weight.uniform_(0.5, 1.5)

    def forward(self, x):
        if self.ignore is not None:  # the output does not depend on this microphone at all
            x = torch.cat([x[:, :self.ignore], torch.zeros_like(x[:, self.ignore:self.ignore + 1]),
                           x[:, self.ignore + 1:]], dim=1)
        return self.fc(self.conv(x).mean(-1))


def localizer(module):
    return models.ModelSpec("two_channel", lambda: module, "two_channel", groups="modules").wrap(module.eval())


def delayed_windows(n=6, seed=0):
    """Noise on channel 0 and the same noise `DELAY` samples later on channel 1: [n, 2, W] float32."""
    rng = np.random.default_rng(seed)
    source = rng.normal(size=(n, W + DELAY))
    return np.stack([source[:, DELAY:], source[:, :W]], axis=1).astype(np.float32)


def windows_of(x):
    n = len(x)
    return card.Windows(x, np.arange(n), np.ones((n, 3), np.float32), np.zeros((n, 3)), [[0, 1]],
                        {"0-1": np.full(n, float(DELAY))}, {"0-1": 0.0}, np.full(n, 1.0), None)


@pytest.mark.parametrize("method, keeps", [("gradient_x_input", True), ("integrated_gradients", True),
                                           ("lrp_flat", False), ("lrp_wsquare", False)])
def test_a_map_keeps_the_delay_only_where_it_is_the_input_times_a_backward_signal(method, keeps):
    x = delayed_windows()
    windows = windows_of(x)
    settings = card.Settings(percents=(0, 50), attribution={"integrated_gradients": {"steps": 8}})
    attribution_map, _ = card.method_map(method, localizer(TwoChannelLinear()), windows, settings, seed=0)
    estimates = card.delays(attribution_map, windows)["0-1"]
    physics = card.physics({"0-1": estimates}, windows)["0-1"]
    if keeps:  # channel 1 lags channel 0 by DELAY samples, built so by hand
        np.testing.assert_array_equal(estimates, DELAY)
        assert physics["anomaly_percent"] == 0
    else:  # Flat and WSquare spread each neuron's relevance by the weights alone, on both channels alike
        np.testing.assert_array_equal(estimates, 0)
        assert physics["anomaly_percent"] == 100
    # the microphones themselves give the delay (the physics test's baseline)
    np.testing.assert_array_equal(card.delays(x, windows)["0-1"], DELAY)


def test_input_proportional_methods_are_the_ones_whose_maps_are_x_times_g():
    loc = localizer(TwoChannelLinear())
    assert attribution.input_proportional("gradient_x_input", loc)
    assert attribution.input_proportional("integrated_gradients", loc)
    assert attribution.input_proportional("lrp_epsilon", loc) and attribution.input_proportional("lrp_zplus", loc)
    assert not attribution.input_proportional("lrp_flat", loc)
    assert not attribution.input_proportional("lrp_wsquare", loc)
    assert not attribution.input_proportional("relevance", loc)  # its own rules: WSquare first (the paper's)
    assert not attribution.input_proportional("gradient", loc) and not attribution.input_proportional("smoothgrad", loc)


def test_a_model_that_ignores_a_microphone_is_explained_faithfully_and_energy_is_not():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 2, W)).astype(np.float32)  # both microphones equally loud
    model = TwoChannelLinear(ignore=1)
    loc = localizer(model)
    def predict(inputs):
        with torch.no_grad():
            return model(torch.as_tensor(inputs)).numpy()

    # the truth is the model's own answer on the whole windows: any change of the prediction is an error
    windows = card.Windows(x, np.arange(8), np.ones((8, 3), np.float32), predict(x), [[0, 1]],
                           {"0-1": np.zeros(8)}, {"0-1": 0.0}, np.ones(8), None)
    settings = card.Settings(percents=(0, 25, 50), batch_size=4)

    results = {}
    for method in ("gradient_x_input", "integrated_gradients", "lrp_epsilon", "energy"):
        attribution_map, _ = card.method_map(method, loc, windows, settings, seed=0)
        if attribution_map is not None:  # the ignored microphone gets nothing
            assert np.all(attribution_map[:, 1] == 0)
            # ranked by magnitude, all of its samples come last (the bottom half of every window)
            order = manipulation.removal_order(x, {method: attribution_map}, method, magnitude=True)
            assert np.all(order[:, W:] >= W)
        curves = card.faithfulness(predict, windows, method, attribution_map, settings, rng=None)
        results[method] = manipulation.gains(curves)
    # LeRF of a faithful map removes only the ignored microphone up to 50 %: the prediction never moves
    for method in ("gradient_x_input", "integrated_gradients", "lrp_epsilon"):
        assert results[method]["aopc_lerf"] == 0 and results[method]["aopc_morf"] > 0
    # energy removes the loudest samples of both microphones alike: its LeRF hurts, so its SRG is smaller
    energy_order = manipulation.removal_order(x, None, "energy", least_first=True)
    share_ignored = np.mean(energy_order[:, :W] >= W)
    assert 0.3 < share_ignored < 0.7  # about half of what energy calls least important is on the used microphone
    assert results["energy"]["aopc_lerf"] > 0
    cards = {"max_similarity": 0.5, "methods": {m: {**g, "spearman_randomized": None, "physics": None}
                                                for m, g in results.items()}}
    # x * gradient of a linear model ranks every used sample by its exact contribution: it beats energy
    for method in ("gradient_x_input", "integrated_gradients"):
        assert report_card.verdicts([cards], method)["faithful"] == report_card.YES


def test_randomization_of_a_reinitialized_model_gives_a_rank_correlation_near_zero():
    torch.manual_seed(0)
    module = models.build("loc_cnn", 768).eval()
    loc = models.spec("loc_cnn").wrap(module)
    rng = np.random.default_rng(0)
    x = (0.1 * rng.normal(size=(4, 16, 768))).astype(np.float32)
    windows = card.Windows(x, np.arange(4), np.tile(np.float32([1.7, 5.5, 1.2]), (4, 1)), np.zeros((4, 3)),
                           [[7, 8]], {"7-8": np.zeros(4)}, {"7-8": 0.0}, np.ones(4), None)
    settings = card.Settings(percents=(0, 50))
    randomized = card.randomized_model(loc, seed=5, purpose="randomization/loc_cnn")
    # every parameter is new
    for (name, a), (_, b) in zip(module.named_parameters(), randomized.module.named_parameters()):
        assert not torch.equal(a, b), name
    from sslrp.explain import randomization

    trained, _ = card.method_map("gradient", loc, windows, settings, seed=0)
    again, _ = card.method_map("gradient", randomized, windows, settings, seed=0)
    rho = randomization.rank_similarity(trained, again)
    assert abs(rho) < 0.2
    assert randomization.rank_similarity(trained, trained) == pytest.approx(1.0)


def test_judging_over_replicates_says_yes_or_no_only_when_the_interval_excludes_zero():
    assert report_card.judge([0.1]) == "yes" and report_card.judge([-0.1]) == "no" and report_card.judge([None]) is None
    # mean 0.1, spread 0.01: t interval (3 replicates) well above 0
    assert report_card.judge([0.09, 0.10, 0.11]) == "yes"
    assert report_card.judge([-0.09, -0.10, -0.11]) == "no"
    assert report_card.judge([0.2, -0.1, 0.05]) == "cannot tell"
