"""Findings beside the baselines that could explain them (issue 23), on cases whose answer is known by construction:
magnitude vs signed rankings on a linear model, GCC-PHAT against a constant delay guess, the correlation column by
hand, and the verdict telling interpolation from extrapolation."""

import math

import numpy as np
import pytest

from reference import manipulation_curve_reference
from sslrp import metrics
from sslrp.explain import manipulation
from sslrp.report import page, tables, verdict

PERCENTS = (0, 10, 20, 30, 40, 50)


@pytest.fixture
def linear_case():
    """A linear model whose weights make 40 % of the inputs matter and the rest not, inputs of both signs, and its
    exact relevance w * x (LRP-0 = gradient x input for a linear map): the true importance of every sample."""
    rng = np.random.default_rng(3)
    n, m, w = 24, 2, 50
    weights = np.zeros((3, m * w))
    important = rng.permutation(m * w)[: int(0.4 * m * w)]
    weights[:, important] = rng.normal(size=(3, important.size))
    windows = rng.normal(size=(n, m, w)).astype(np.float32)

    def predict(batch):
        return np.asarray(batch, float).reshape(len(batch), -1) @ weights.T

    relevance = (windows.reshape(n, -1) * weights.sum(axis=0)).reshape(n, m, w).astype(np.float32)
    return windows, predict(windows), relevance, predict


def test_magnitude_lerf_leaves_the_output_while_signed_lerf_does_not(linear_case):
    windows, true, relevance, predict = linear_case
    curve = manipulation.manipulation_curve(predict, windows, true, relevance, np.random.default_rng(0),
                                            orderings=("relevance", "random"), percents=PERCENTS, lerf=True,
                                            magnitude=("relevance",))
    # the model is exact on its own outputs, so every MAE is the damage done by the removal
    assert curve["mae"]["relevance"][0] == curve["lerf_magnitude"]["relevance"][0] == 0
    # 60 % of the samples have zero weight: ranked by |relevance| up to 50 % of them go first, and nothing changes
    np.testing.assert_allclose(curve["lerf_magnitude"]["relevance"], 0, atol=1e-9)
    # signed LeRF removes the most negative contributions first, which matter as much as the positive ones
    assert min(curve["lerf"]["relevance"][1:]) > 0.1
    assert curve["lerf"]["relevance"][1] > curve["mae"]["random"][1]
    signed = manipulation.srg(PERCENTS, curve["mae"]["relevance"], curve["lerf"]["relevance"])
    by_magnitude = manipulation.srg(PERCENTS, curve["mae_magnitude"]["relevance"], curve["lerf_magnitude"]["relevance"])
    assert by_magnitude > 0.5 and by_magnitude > signed + 0.3
    # magnitude MoRF hurts at least as much as random at every P
    assert all(a >= b for a, b in zip(curve["mae_magnitude"]["relevance"], curve["mae"]["random"]))


def test_magnitude_curves_equal_the_plain_reference_loop(linear_case):
    windows, true, relevance, predict = linear_case
    maps = {"relevance": relevance, "gradient": np.flip(relevance, axis=2).copy()}
    fast = manipulation.manipulation_curve(predict, windows, true, maps, np.random.default_rng(1),
                                           orderings=("relevance", "gradient", "energy", "random"),
                                           percents=PERCENTS, batch_size=5, lerf=True, imputation="mean",
                                           magnitude=("relevance", "gradient"))
    for least_first, key in ((False, "mae_magnitude"), (True, "lerf_magnitude")):
        slow = manipulation_curve_reference(predict, windows, true, maps, None, orderings=("relevance", "gradient"),
                                            percents=PERCENTS, batch_size=5, least_first=least_first,
                                            imputation="mean", magnitude=True)
        for ordering in ("relevance", "gradient"):  # the reference's float64 window mean rounds apart at ~1e-9
            np.testing.assert_allclose(fast[key][ordering], slow["mae"][ordering], rtol=1e-7)
    # adding magnitude rankings leaves the signed curves and the random stream as they were
    plain = manipulation.manipulation_curve(predict, windows, true, maps, np.random.default_rng(1),
                                            orderings=("relevance", "gradient", "energy", "random"),
                                            percents=PERCENTS, batch_size=5, lerf=True, imputation="mean")
    assert plain["mae"] == fast["mae"] and plain["lerf"] == fast["lerf"]


def test_magnitude_ranking_is_refused_where_it_means_nothing(linear_case):
    windows, true, relevance, predict = linear_case
    for ordering in ("energy", "random"):
        with pytest.raises(ValueError, match="no magnitude ranking"):
            manipulation.removal_keys(windows, relevance, ordering, magnitude=True)
    with pytest.raises(ValueError, match="not among the orderings"):
        manipulation.manipulation_curve(predict, windows, true, relevance, None, orderings=("energy",),
                                        magnitude=("relevance",))


def test_srg_table_sets_both_rankings_side_by_side_and_pools_them():
    curve = {"model": "loc_cnn", "condition": "c", "percents": [0, 50], "n_windows": 2, "imputation": "zeros",
             "mae": {"relevance": [0.1, 0.3], "energy": [0.1, 0.2], "random": [0.1, 0.15]},
             "lerf": {"relevance": [0.1, 0.4], "energy": [0.1, 0.12]},
             "mae_magnitude": {"relevance": [0.1, 0.35]}, "lerf_magnitude": {"relevance": [0.1, 0.11]}}
    rows = tables.srg_rows([curve])
    assert [(r["condition"], r["ordering"], r["ranked by"]) for r in rows] == [
        ("c", "relevance", "signed"), ("c", "relevance", "magnitude"), ("c", "energy", "magnitude"),
        ("pooled", "relevance", "signed"), ("pooled", "relevance", "magnitude"), ("pooled", "energy", "magnitude")]
    assert rows[0]["SRG [m]"] == pytest.approx(0.2 - 0.3) and rows[1]["SRG [m]"] == pytest.approx(0.25 - 0.01)
    aopc = tables.aopc_rows([curve])[0]
    assert aopc["AOPC relevance [m]"] == pytest.approx(0.2)
    assert aopc["AOPC relevance, magnitude [m]"] == pytest.approx(0.25)
    assert "AOPC energy, magnitude [m]" not in aopc  # energy ranks by |x| already
    ranked = {(r["ordering"], r["ranked by"]) for r in tables.manipulation_rows([curve])}
    assert ranked == {("relevance", "signed"), ("relevance", "magnitude"), ("energy", "magnitude"), ("random", "–")}


def test_page_states_the_magnitude_srg_and_why_signed_lerf_tests_nothing():
    curves = [{"model": "loc_cnn", "condition": c, "percents": [0, 50], "n_windows": 1, "imputation": "zeros",
               "mae": {"relevance": [0.1, 0.3], "random": [0.1, 0.15]}, "lerf": {"relevance": [0.1, 0.4]},
               "mae_magnitude": {"relevance": [0.1, 0.35]}, "lerf_magnitude": {"relevance": [0.1, lerf]}}
              for c, lerf in (("a", 0.11), ("b", 0.5))]
    text = page.manipulation_finding("LocCNN", curves)
    # pooled: MoRF |.| AOPC 0.25, LeRF |.| AOPC (0.01 + 0.4) / 2 = 0.205, SRG +0.045; random 0.05; signed -0.1
    assert "changes the MAE by +0.200 m on average over P > 0, more than random removal (+0.050 m)" in text
    assert "SRG +0.045 m, positive in 1 of 2 conditions" in text
    assert "hurts no less than random removal" in text and "Ranked by signed value, SRG is -0.100 m" in text
    assert "signed LeRF removes first" in page.SIGNED_LERF


# --- TDoA against its baselines ---------------------------------------------------------------------------------

def delayed_pairs(delays, length=512, seed=0):
    """Windows [N, 2, length] of white noise whose second channel is the first delayed by delays[i] samples."""
    rng = np.random.default_rng(seed)
    source = rng.normal(size=(len(delays), length + 64))
    return np.stack([np.stack([s[32:32 + length], s[32 - d:32 - d + length]]) for s, d in zip(source, delays)])


def test_gcc_phat_recovers_a_known_delay_where_the_constant_does_not():
    delays = np.array([-6, -3, 0, 2, 5, 7])
    windows = delayed_pairs(delays)
    estimate = metrics.tdoa_gcc_phat(windows[:, 0], windows[:, 1])
    np.testing.assert_array_equal(estimate, delays)
    gcc = metrics.tdoa_estimator_summary(estimate, delays, thresholds=1.0)
    constant = metrics.tdoa_estimator_summary(0.0, delays, thresholds=1.0)
    assert gcc["anomaly_percent"] == 0 and gcc["correlation"] == pytest.approx(1.0)
    assert constant["anomaly_percent"] == pytest.approx(100 * 5 / 6)  # only the 0-sample source is within 1
    assert math.isnan(constant["correlation"])


def test_gcc_phat_takes_the_peak_of_the_absolute_correlation_as_the_paper():
    windows = delayed_pairs([4, -2])
    windows[:, 1] *= -1  # a polarity flip between the channels, as a signed relevance can have
    np.testing.assert_array_equal(metrics.tdoa_gcc_phat(windows[:, 0], windows[:, 1]), [4, -2])


def test_correlation_column_by_hand():
    # mean 2.75 each; deviations a = (-1.75, -0.75, 0.25, 2.25), b = (-1.75, -0.75, 1.25, 1.25):
    # sum ab = 6.75, sum a^2 = 8.75, sum b^2 = 6.75, r = 6.75 / sqrt(8.75 * 6.75) = sqrt(6.75 / 8.75)
    assert metrics.delay_correlation([1, 2, 3, 5], [1, 2, 4, 4]) == pytest.approx(math.sqrt(6.75 / 8.75))
    assert math.isnan(metrics.delay_correlation([0.3] * 4, [1, 2, 4, 4]))


def test_tdoa_table_has_a_row_per_pair_with_the_constant_and_the_correlations():
    def signal(a, mae, r):
        return {"anomaly_percent": a, "mae": mae, "n_windows": 10, "correlation": r}

    result = {"condition": "SNR_25_T60_0.15", "pairs": [
        {"pair": [7, 8], "largest_true_delay": 1.3, "constant_delay": 0.01,
         "signals": {"microphone": signal(0.0, 0.2, 0.9), "loc_cnn": signal(10.0, 0.4, 0.05),
                     "constant": signal(0.0, 0.6, None)}},
        {"pair": [0, 15], "largest_true_delay": 14.2, "constant_delay": 0.1,
         "signals": {"microphone": signal(8.7, 0.3, 0.95), "loc_cnn": signal(89.3, None, 0.02),
                     "constant": signal(88.9, 2.0, None)}}]}
    rows = tables.tdoa_rows([result])
    assert [r["pair"] for r in rows] == ["7-8", "0-15"]
    assert [k.split()[0] for k in rows[0] if k.endswith("anomalies [%]")] == ["Mic", "LocCNN", "Constant"]
    assert rows[1]["LocCNN anomalies [%]"] == 89.3 and math.isnan(rows[1]["LocCNN MAE [samples]"])
    assert rows[0]["Constant anomalies [%]"] == 0.0 and "Constant r" not in rows[0] and rows[0]["Mic r"] == 0.9
    sentences = page.tdoa_finding(result, ["loc_cnn"])
    assert "LocCNN's relevance does no better than the constant" in sentences[0]
    assert "cannot tell an estimate that follows the delay from one that does not" in sentences[0]
    assert "LocCNN's relevance does no better than the constant" in sentences[1]
    assert "cannot tell" not in sentences[1]
    tally = page.tdoa_tally([result], "loc_cnn")
    assert "fewer anomalies than the microphones on the paper's pair (7-8) in 0 of 1 conditions" in tally
    assert "fewer than the constant guess in 0 of 2 condition x pair cases" in tally
    assert "correlate 0.02 to 0.05 with the true delay (microphones 0.90 to 0.95)" in tally


# --- interpolation vs extrapolation ---------------------------------------------------------------------------------

def summary(mae, x, val_mae, val_x):
    return {"mae": mae, "mae_xyz": [x, 0.2, 0.1], "baseline_mae": 0.12, "baseline_mae_xyz": [0.1, 0.12, 0.14],
            "val": {"mae": val_mae, "mae_xyz": [val_x, 0.2, 0.1], "baseline_mae": 0.38,
                    "baseline_mae_xyz": [0.48, 0.55, 0.12]}}


def test_verdict_tells_interpolation_from_extrapolation():
    between_only = verdict.judge(summary(0.15, 0.05, 0.13, 0.2))
    assert (between_only.status, between_only.val.status) == (verdict.PARTLY, verdict.LOCALIZES)
    text = verdict.sentence("LocCNN", between_only)
    assert text.startswith("LocCNN localizes between its training positions (validation MAE 0.130 m vs 0.380 m "
                           "for the mean position (0.34x)")
    assert "but localizes only partly in the unseen test square (test MAE 0.150 m" in text
    assert "interpolates between its training positions but does not extrapolate" in text
    neither = verdict.sentence("SampleCNN", verdict.judge(summary(0.15, 0.12, 0.5, 0.5)))
    assert "does not localize between its training positions" in neither and "has not learned" in neither
    both = verdict.sentence("LocCNN", verdict.judge(summary(0.09, 0.05, 0.1, 0.1)))
    assert "localizes between its training positions" in both and "and localizes in the unseen test square" in both
    assert "Read these" not in both


def test_localization_table_gives_validation_beside_test():
    rows = tables.localization_rows([{"model": "loc_cnn", "condition": "c", "n_windows": 4, **summary(0.15, 0.05,
                                                                                                       0.13, 0.2)}])
    assert rows[0]["verdict"] == verdict.PARTLY and rows[0]["val verdict"] == verdict.LOCALIZES
    assert rows[0]["val MAE / baseline"] == pytest.approx(0.13 / 0.38)
    assert rows[0]["val x / baseline x"] == pytest.approx(0.2 / 0.48)
