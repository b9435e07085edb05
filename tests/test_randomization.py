"""Cascading model-parameter randomization: the groups, cumulative seeded re-initialization, the rank
similarity (against scipy's Spearman), and the rows of a check."""

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from sslrp import names, seeding
from sslrp.explain import randomization
from sslrp.localize import models

WINDOW = 1280
CASCADES = {
    "loc_cnn": ["fc2", "fc1", "conv5", "conv4", "conv3", "conv2", "conv1"],
    "sample_cnn": ["output_dense", "dense1+bn1", "ReSE5", "ReSE4", "ReSE3", "ReSE2", "ReSE1", "BasicBlock1"],
}


def _trained_like(name):
    """A model whose every parameter and running statistic is off its initial value (as after training)."""
    torch.manual_seed(0)
    model = models.build(name, WINDOW)
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if value.is_floating_point():
                value.add_(0.1 * torch.rand_like(value) + 0.05)
    return model


def _params(model):
    return {name: p.detach().clone() for name, p in model.state_dict().items()}


@pytest.mark.parametrize("name", names.MODELS)
def test_cascade_goes_from_output_to_input_over_every_parameter(name):
    model = models.build(name, WINDOW)
    groups = randomization.cascade(model)
    assert [label for label, _ in groups] == CASCADES[name]
    covered = {id(p) for _, modules in groups for m in modules for p in m.parameters()}
    assert covered == {id(p) for p in model.parameters()}


@pytest.mark.parametrize("name", names.MODELS)
def test_randomization_is_cumulative_seeded_and_leaves_the_model_alone(name):
    model = _trained_like(name)
    original = _params(model)
    prefixes = [label.split("+") for label in CASCADES[name]]
    steps = list(randomization.randomized(models.spec(name).wrap(model), seed=3, purpose=f"randomization/{name}"))
    assert [d for d, _, _ in steps] == list(range(1, len(prefixes) + 1))
    for depth, label, randomized in steps:
        done = [p for group in prefixes[:depth] for p in group]
        for key, value in _params(randomized.module).items():
            if key.endswith("num_batches_tracked"):
                continue
            assert (not torch.equal(value, original[key])) == (key.split(".")[0] in done), (depth, label, key)
    for key, value in _params(model).items():
        assert torch.equal(value, original[key])
    again = list(randomization.randomized(models.spec(name).wrap(model), seed=3, purpose=f"randomization/{name}"))
    for (_, _, a), (_, _, b) in zip(steps, again):
        assert all(torch.equal(x, y) for x, y in zip(a.module.state_dict().values(), b.module.state_dict().values()))


def test_rank_similarity_is_the_mean_spearman_of_absolute_values():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 3, 20))
    b = a + rng.standard_normal((6, 3, 20))
    expected = np.mean([spearmanr(np.abs(a[n]).ravel(), np.abs(b[n]).ravel())[0] for n in range(6)])
    assert randomization.rank_similarity(a, b) == pytest.approx(expected, abs=1e-12)
    assert randomization.rank_similarity(a, -a) == pytest.approx(1.0)
    assert randomization.rank_similarity(a, np.zeros_like(a)) == 0.0


def test_subset_is_fixed_sorted_and_capped():
    rows = seeding.subset(10, 50, seed=4)
    assert len(rows) == 10 and np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(rows, seeding.subset(10, 50, seed=4))
    np.testing.assert_array_equal(seeding.subset(80, 50, seed=4), np.arange(50))


def test_check_rows_start_from_the_trained_model():
    torch.manual_seed(0)
    model = models.build("loc_cnn", WINDOW).eval()
    windows = torch.randn(3, 16, WINDOW).numpy()

    def explain(m):
        with torch.no_grad():
            return windows * m.module(torch.as_tensor(windows)).sum().item()  # rank-identical for any model

    rows = randomization.check(models.spec("loc_cnn").wrap(model), explain, localize=lambda m: 0.5,
                               tdoa=lambda s: {"anomaly_percent": 10.0, "mae": float("nan")},
                               seed=0, purpose="randomization/loc_cnn")
    assert [r["depth"] for r in rows] == list(range(8))
    assert [r["layer"] for r in rows] == ["none", *CASCADES["loc_cnn"]]
    assert all(r["spearman"] == pytest.approx(1.0) for r in rows)
    assert rows[0]["tdoa_mae"] is None and rows[3]["tdoa_anomaly_percent"] == 10.0


def test_check_compares_with_the_trained_relevance_it_is_given():
    torch.manual_seed(0)
    model = models.build("loc_cnn", WINDOW).eval()
    windows = torch.randn(2, 16, WINDOW).numpy()
    calls = []

    def explain(m):
        calls.append(m)
        return np.random.default_rng(len(calls)).standard_normal(windows.shape)

    given = np.abs(windows)
    rows = randomization.check(models.spec("loc_cnn").wrap(model), explain, localize=lambda m: 0.5,
                               tdoa=lambda s: {"anomaly_percent": 0.0, "mae": 0.1}, seed=0,
                               purpose="randomization/loc_cnn", trained=given)
    assert len(calls) == 7  # the randomized models only
    assert rows[0]["spearman"] == pytest.approx(1.0)
    assert rows[1]["spearman"] == pytest.approx(randomization.rank_similarity(
        given, np.random.default_rng(1).standard_normal(windows.shape)))
