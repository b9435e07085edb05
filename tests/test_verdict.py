"""Does a model localize (sslrp.report.verdict): the verdict's rule and the words it generates."""

import pytest

from sslrp.report import verdict


def _summary(mae, mae_x, model="loc_cnn"):
    return {"model": model, "condition": "SNR_25_T60_0.15", "mae": mae, "mae_xyz": [mae_x, 0.12, 0.11],
            "baseline_mae": 0.100, "baseline_mae_xyz": [0.100, 0.12, 0.11]}


@pytest.mark.parametrize("mae, mae_x, status", [
    (0.080, 0.050, verdict.LOCALIZES),
    (0.080, 0.060, verdict.LOCALIZES),  # x exactly at X_RATIO of the baseline's
    (0.080, 0.070, verdict.PARTLY),  # beats the baseline overall, x not resolved well enough
    (0.100, 0.050, verdict.PARTLY),  # x resolved, overall MAE equal to the baseline's: not below
    (0.130, 0.090, verdict.NOT),
])
def test_status_needs_both_an_mae_below_the_baseline_and_a_resolved_x(mae, mae_x, status):
    assert verdict.judge(_summary(mae, mae_x)).status == status


def test_sentences_name_the_shortfall_of_a_partly_localizing_model():
    x_short = verdict.sentence("LocCNN", verdict.judge(_summary(0.080, 0.070)))
    assert x_short.startswith("LocCNN localizes only partly: test MAE 0.080 m vs 0.100 m for the mean position "
                              "(0.80x), x 0.070 m vs 0.100 m (0.70x); its x-MAE is above 0.6x the baseline's.")
    overall_short = verdict.sentence("LocCNN", verdict.judge(_summary(0.110, 0.050)))
    assert "(1.10x)" in overall_short and "its overall MAE is not below the mean position's" in overall_short


def test_srp_phat_is_quoted_when_its_summary_is_given():
    v = verdict.judge(_summary(0.080, 0.050), _summary(0.040, 0.020, model="srp_phat"))
    assert v.srp_mae == 0.040 and verdict.sentence("LocCNN", v).endswith("(0.50x); SRP-PHAT 0.040 m.")
