"""The input-manipulation test (sslrp.explain.manipulation): removal orders, perturbation, the batched curve against the
plain reference loop (tests/reference.py), pooling and AOPC."""

import numpy as np
import pytest

from reference import manipulation_curve_reference
from sslrp import metrics
from sslrp.explain import manipulation
from sslrp.names import PAPER_ORDERINGS

N, M, W = 7, 3, 37  # M * W = 111: percentages of it are not whole numbers


@pytest.fixture
def data():
    """Windows with no zero entries, relevance, true positions and a linear 'model'."""
    rng = np.random.default_rng(5)
    windows = rng.normal(size=(N, M, W)).astype(np.float32)
    relevance = rng.normal(size=(N, M, W)).astype(np.float32)
    weights = rng.normal(size=(M * W, 3))
    true = rng.normal(size=(N, 3))

    def predict(batch):
        return batch.reshape(len(batch), -1).astype(float) @ weights

    return windows, relevance, true, predict


def test_perturb_zeroes_exactly_rounded_share_of_each_window(data):
    windows, relevance, _, _ = data
    for ordering in PAPER_ORDERINGS:
        order = manipulation.removal_order(windows, relevance, ordering, np.random.default_rng(0))
        for percent in manipulation.PERCENTS:
            zeros = (manipulation.perturb(windows, order, percent) == 0).reshape(N, -1).sum(axis=1)
            assert np.all(zeros == round(percent / 100 * M * W))
    assert manipulation.n_removed(10, M * W) == 11 and manipulation.n_removed(70, M * W) == 78


def test_removal_order_equals_stable_argsort_with_ties_and_signed_zeros(data):
    windows, relevance, _, _ = data
    tied = np.round(relevance, 1)  # many ties, including -0.0 against +0.0
    tied[:, 0, :4] = [-0.0, 0.0, np.inf, -np.inf]
    expected = np.argsort(-tied.reshape(N, -1), axis=1, kind="stable")
    np.testing.assert_array_equal(manipulation.removal_order(windows, tied, "relevance"), expected)


def test_relevance_ordering_removes_highest_signed_relevance_first(data):
    windows, relevance, _, _ = data
    relevance = relevance.copy()
    relevance[:, 0, 0] = -100.0  # large magnitude but negative: must stay
    order = manipulation.removal_order(windows, relevance, "relevance")
    removed = manipulation.perturb(windows, order, 30).reshape(N, -1) == 0
    flat = relevance.reshape(N, -1)
    for w in range(N):
        assert flat[w][removed[w]].min() > flat[w][~removed[w]].max()
    assert not removed[:, 0].any()


def test_energy_ordering_removes_largest_magnitudes_first(data):
    windows, relevance, _, _ = data
    order = manipulation.removal_order(windows, relevance, "energy")
    removed = manipulation.perturb(windows, order, 40).reshape(N, -1) == 0
    mag = np.abs(windows.reshape(N, -1))
    for w in range(N):
        assert mag[w][removed[w]].min() >= mag[w][~removed[w]].max()


def test_zero_percent_reproduces_unperturbed_mae(data):
    windows, relevance, true, predict = data
    curve = manipulation.manipulation_curve(predict, windows, true, relevance, np.random.default_rng(0),
                                       batch_size=3)
    for ordering in PAPER_ORDERINGS:
        assert curve["mae"][ordering][0] == pytest.approx(metrics.mae(predict(windows), true))
        assert curve["mae"][ordering][3] != pytest.approx(curve["mae"][ordering][0])
    assert curve["percents"] == list(manipulation.PERCENTS) and curve["n_windows"] == N


def test_vectorized_curve_equals_reference_loop(data):
    windows, relevance, true, predict = data
    fast = manipulation.manipulation_curve(predict, windows, true, relevance, np.random.default_rng(9),
                                      batch_size=3)
    slow = manipulation_curve_reference(predict, windows, true, relevance,
                                                np.random.default_rng(9), batch_size=3)
    assert fast["percents"] == slow["percents"]
    for ordering in PAPER_ORDERINGS:
        np.testing.assert_allclose(fast["mae"][ordering], slow["mae"][ordering], rtol=1e-12)


def test_random_ordering_is_deterministic_for_a_seed(data):
    windows, relevance, true, predict = data

    def random_curve(seed):
        return manipulation.manipulation_curve(predict, windows, true, relevance, np.random.default_rng(seed),
                                          orderings=("random",), batch_size=3)["mae"]["random"]

    assert random_curve(1) == random_curve(1)
    assert random_curve(1) != random_curve(2)


def test_pooled_curve_equals_curve_over_all_windows(data):
    windows, relevance, true, predict = data
    args = dict(orderings=("relevance", "energy"), rng=None)
    parts = [manipulation.manipulation_curve(predict, windows[s], true[s], relevance[s], **args)
             for s in (slice(0, 2), slice(2, None))]
    whole = manipulation.manipulation_curve(predict, windows, true, relevance, **args)
    pooled = manipulation.pooled(parts)
    assert pooled["n_windows"] == N
    for ordering in args["orderings"]:
        np.testing.assert_allclose(pooled["mae"][ordering], whole["mae"][ordering], rtol=1e-12)


def test_curve_takes_a_dict_of_attribution_maps_per_ordering(data):
    windows, relevance, true, predict = data
    maps = {"relevance": relevance, "gradient": -relevance, "integrated_gradients": relevance}
    orderings = ("relevance", "gradient", "integrated_gradients", "energy", "random")
    curve = manipulation.manipulation_curve(predict, windows, true, maps, np.random.default_rng(0),
                                       orderings=orderings, batch_size=3)
    plain = manipulation.manipulation_curve(predict, windows, true, relevance, np.random.default_rng(0),
                                       batch_size=3)
    assert list(curve["mae"]) == list(orderings)
    for ordering in PAPER_ORDERINGS:  # the paper's three are unchanged by the extra orderings
        assert curve["mae"][ordering] == plain["mae"][ordering]
    assert curve["mae"]["integrated_gradients"] == curve["mae"]["relevance"]  # same map, same curve
    assert curve["mae"]["gradient"] != curve["mae"]["relevance"]
    slow = manipulation_curve_reference(predict, windows, true, maps, np.random.default_rng(0),
                                                orderings=orderings, batch_size=3)
    for ordering in orderings:
        np.testing.assert_allclose(curve["mae"][ordering], slow["mae"][ordering], rtol=1e-12)


def test_attribution_ordering_without_its_map_is_refused(data):
    windows, relevance, true, predict = data
    with pytest.raises(ValueError, match="'smoothgrad' needs an attribution map"):
        manipulation.manipulation_curve(predict, windows, true, relevance, None, orderings=("smoothgrad",))
    with pytest.raises(ValueError, match="'relevance' needs an attribution map"):
        manipulation.removal_order(windows, {"gradient": relevance}, "relevance")
    with pytest.raises(ValueError, match="unknown ordering"):
        manipulation.removal_order(windows, relevance, "saliency")


# --- AOPC ----------------------------------------------------------------------------------------

def test_aopc_is_the_mean_increase_over_positive_percents():
    assert manipulation.aopc([0, 10, 20], [0.1, 0.2, 0.4]) == pytest.approx((0.1 + 0.3) / 2)
    assert manipulation.aopc([10, 0, 30, 20], [0.3, 0.1, 0.1, 0.5]) == pytest.approx((0.2 + 0.0 + 0.4) / 3)
    assert manipulation.aopc([0, 50], [0.2, 0.2]) == 0.0
    assert manipulation.aopc([0, 10, 20], [0.3, 0.2, 0.1]) == pytest.approx(-0.15)  # removal helped


def test_aopc_needs_zero_and_a_positive_percent():
    for percents, values in (([10, 20], [0.1, 0.2]), ([0], [0.1])):
        with pytest.raises(ValueError, match="P = 0"):
            manipulation.aopc(percents, values)
    with pytest.raises(ValueError, match="percents"):
        manipulation.aopc([0, 10], [0.1])


@pytest.mark.parametrize("imputation", ["zeros", "mean", "noise"])
def test_vectorized_curve_equals_reference_loop_for_lerf_and_imputations(data, imputation):
    windows, relevance, true, predict = data
    fast = manipulation.manipulation_curve(predict, windows, true, relevance, np.random.default_rng(9), batch_size=3,
                                           lerf=True, imputation=imputation, fill_rng=np.random.default_rng(4))
    assert list(fast["lerf"]) == ["relevance", "energy"]  # random has no least relevant end
    for least_first, orderings, curves in ((False, PAPER_ORDERINGS, fast["mae"]),
                                           (True, ("relevance", "energy"), fast["lerf"])):
        slow = manipulation_curve_reference(predict, windows, true, relevance, np.random.default_rng(9),
                                            orderings=orderings, batch_size=3, least_first=least_first,
                                            imputation=imputation, fill_rng=np.random.default_rng(4))
        # The reference takes the means and deviations in float64, the package in float32 (the input's
        # precision): imputed values differ by ~1e-7 relative, the MAEs by < 1e-8 (measured 6e-9); a wrong
        # statistic (median, variance, another axis) moves them by > 1e-3.
        rtol = 1e-12 if imputation == "zeros" else 1e-7
        for ordering in orderings:
            np.testing.assert_allclose(curves[ordering], slow["mae"][ordering], rtol=rtol)


def test_least_relevant_first_is_the_reverse_order(data):
    windows, relevance, _, _ = data
    for ordering in ("relevance", "energy"):
        morf = manipulation.removal_order(windows, relevance, ordering)
        lerf = manipulation.removal_order(windows, relevance, ordering, least_first=True)
        np.testing.assert_array_equal(lerf, morf[:, ::-1])  # no ties in the normal draws
    with pytest.raises(ValueError, match="random ordering has no least relevant first"):
        manipulation.removal_order(windows, relevance, "random", np.random.default_rng(0), least_first=True)


def test_imputed_values_are_the_window_mean_or_noise_at_its_level():
    rng = np.random.default_rng(3)
    windows = (rng.normal(size=(4, 2, 5000)) * np.array([1.0, 3.0])[None, :, None] + 0.5).astype(np.float32)
    assert manipulation.fill_values(windows, "zeros") is None
    mean = manipulation.fill_values(windows, "mean").reshape(windows.shape)
    np.testing.assert_allclose(mean, np.broadcast_to(windows.mean(axis=2, keepdims=True), windows.shape), rtol=1e-6)
    noise = manipulation.fill_values(windows, "noise", np.random.default_rng(0)).reshape(windows.shape)
    np.testing.assert_allclose(noise.std(axis=2), windows.std(axis=2), rtol=0.05)
    assert abs(noise.mean()) < 0.05
    with pytest.raises(ValueError, match="unknown imputation 'median'"):
        manipulation.fill_values(windows, "median")
    order = manipulation.removal_order(windows, None, "energy")
    perturbed = manipulation.perturb(windows, order, 10, fill=mean.reshape(4, -1)).reshape(4, -1)
    removed = np.take_along_axis(perturbed, order[:, :1000], axis=1)
    np.testing.assert_array_equal(removed, np.take_along_axis(mean.reshape(4, -1), order[:, :1000], axis=1))


def test_srg_is_positive_when_the_ordering_finds_what_the_model_uses(data):
    windows, _, true, predict = data
    weights = np.zeros((M * W, 3))
    weights[:20] = 1.0  # the model reads the first 20 samples only; an oracle relevance ranks them top
    oracle = np.zeros((N, M * W), np.float32)
    oracle[:, :20] = 1.0 + np.arange(20)

    def model(batch):
        return batch.reshape(len(batch), -1).astype(float) @ weights

    truth = model(windows)
    args = dict(orderings=("relevance",), percents=(0, 10, 30))
    rel = oracle.reshape(windows.shape)
    curve = manipulation.manipulation_curve(model, windows, truth, rel, None, lerf=True, **args)
    morf, lerf = curve["mae"]["relevance"], curve["lerf"]["relevance"]
    assert lerf == [0.0, 0.0, 0.0] and morf[1] > 0
    gain = manipulation.srg((0, 10, 30), morf, lerf)
    assert gain == pytest.approx(manipulation.aopc((0, 10, 30), morf)) and gain > 0
    assert manipulation.srg((0, 10, 30), lerf, morf) == pytest.approx(-gain)


def test_pooled_curves_pool_lerf_too(data):
    windows, relevance, true, predict = data
    args = dict(orderings=("relevance",), rng=None, lerf=True)
    parts = [manipulation.manipulation_curve(predict, windows[s], true[s], relevance[s], **args)
             for s in (slice(0, 2), slice(2, None))]
    whole = manipulation.manipulation_curve(predict, windows, true, relevance, **args)
    pooled = manipulation.pooled(parts)
    np.testing.assert_allclose(pooled["lerf"]["relevance"], whole["lerf"]["relevance"], rtol=1e-12)
