"""Conservation ratios and their summary, against direct computations."""

import numpy as np
import pytest

from sslrp.explain import conservation


def test_ratio_is_input_sum_over_output_relevance_per_window():
    rng = np.random.default_rng(0)
    relevance = rng.standard_normal((5, 4, 10)).astype(np.float32)
    targets = rng.uniform(0.5, 6.0, (5, 3))
    expected = [relevance[n].astype(np.float64).sum() / targets[n].sum() for n in range(5)]
    np.testing.assert_allclose(conservation.ratios(relevance, targets), expected, rtol=1e-12)


def test_relevance_that_conserves_gives_ratio_one():
    targets = np.array([[1.7, 5.5, 1.2], [0.5, -2.0, 3.0]])
    relevance = np.zeros((2, 16, 8))
    relevance[:, 3, 2] = targets.sum(axis=1)
    np.testing.assert_allclose(conservation.ratios(relevance, targets), [1.0, 1.0])


def test_zero_output_relevance_is_refused():
    with pytest.raises(ValueError, match="sums to 0"):
        conservation.ratios(np.ones((1, 2, 2)), np.array([[1.0, -1.0, 0.0]]))


def test_summary_quantiles_match_numpy():
    values = np.linspace(0.0, 2.0, 101)
    s = conservation.summary(values)
    assert s["n_windows"] == 101 and s["min"] == 0.0 and s["max"] == 2.0
    assert s["mean"] == pytest.approx(1.0)
    assert s["median"] == pytest.approx(1.0)
    assert s["q05"] == pytest.approx(0.1) and s["q95"] == pytest.approx(1.9)


def test_sentence_states_the_span_and_whether_the_output_is_conserved():
    assert "between 0.0028 and 0.91 times" in conservation.sentence([0.91, 0.0028, 0.5])
    assert "credited to the biases" in conservation.sentence([0.91, 0.0028])
    assert "is 0.97 times" in conservation.sentence([0.97, 0.971])
    assert "conserves the output" in conservation.sentence([0.97])
