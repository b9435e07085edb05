"""Result tables (sslrp.report.tables): the AOPC table's rows per model x condition and pooled."""

import numpy as np
import pytest

from sslrp.report import tables


def _curve(model, cond, n, relevance, random):
    return {"model": model, "condition": cond, "percents": [0, 50], "n_windows": n,
            "mae": {"relevance": relevance, "random": random}}


def test_aopc_rows_per_model_condition_and_pooled():
    curves = [_curve("loc_cnn", "A", 10, [0.1, 0.5], [0.1, 0.2]), _curve("loc_cnn", "B", 30, [0.2, 0.2], [0.2, 0.4]),
              _curve("sample_cnn", "A", 5, [0.1, 0.3], [0.1, 0.1])]
    rows = tables.aopc_rows(curves)
    assert [(r["model"], r["condition"]) for r in rows] == [
        ("loc_cnn", "A"), ("loc_cnn", "B"), ("loc_cnn", "pooled"), ("sample_cnn", "A"), ("sample_cnn", "pooled")]
    assert rows[0]["AOPC relevance [m]"] == pytest.approx(0.4) and rows[0]["AOPC random [m]"] == pytest.approx(0.1)
    pooled = rows[2]  # the curves pooled by window count: relevance 0.175 -> 0.275, random 0.175 -> 0.35
    assert pooled["windows"] == 40
    assert pooled["AOPC relevance [m]"] == pytest.approx(0.1) and pooled["AOPC random [m]"] == pytest.approx(0.175)
    assert "| AOPC relevance [m] |" in tables.markdown(rows)


def test_aopc_rows_mark_an_ordering_a_file_lacks():
    curves = [_curve("loc_cnn", "A", 10, [0.1, 0.5], [0.1, 0.2]),
              {**_curve("loc_cnn", "B", 10, [0.1, 0.5], [0.1, 0.2]), "model": "sample_cnn"}]
    curves[1]["mae"]["gradient"] = [0.1, 0.3]
    rows = tables.aopc_rows(curves)
    assert np.isnan(rows[0]["AOPC gradient [m]"]) and rows[2]["AOPC gradient [m]"] == pytest.approx(0.2)


def test_aopc_columns_follow_the_orderings_canonical_order():
    curve = _curve("loc_cnn", "A", 10, [0.1, 0.5], [0.1, 0.2])
    curve["mae"] = {o: [0.1, 0.2] for o in ("smoothgrad", "energy", "random", "relevance", "gradient")}
    assert list(tables.aopc_rows([curve])[0])[4:] == [
        f"AOPC {o} [m]" for o in ("relevance", "energy", "random", "gradient", "smoothgrad")]


def _summary(model, mae, mae_x):
    return {"model": model, "condition": "SNR_25_T60_0.15", "n_windows": 40, "mae": mae,
            "mae_xyz": [mae_x, 0.12, 0.11], "baseline_mae": 0.110, "baseline_mae_xyz": [0.105, 0.121, 0.104]}


def test_localization_rows_show_mae_against_the_baseline_and_the_verdict():
    rows = tables.localization_rows([_summary("loc_cnn", 0.081, 0.050), _summary("sample_cnn", 0.150, 0.120),
                                     _summary("srp_phat", 0.050, 0.030)])
    assert [r["verdict"] for r in rows] == ["localizes", "does not localize", "localizes"]
    assert rows[0]["MAE / baseline"] == pytest.approx(0.081 / 0.110)
    assert rows[1]["x / baseline x"] == pytest.approx(0.120 / 0.105)
    text = tables.markdown(rows)
    assert "| MAE / baseline | x / baseline x | verdict |" in text
    assert "| 0.736 | 0.476 | localizes |" in text and "| 1.364 | 1.143 | does not localize |" in text


def test_srg_rows_are_aopc_morf_minus_lerf_with_the_imputation():
    a = {**_curve("loc_cnn", "A", 10, [0.1, 0.5], [0.1, 0.2]), "imputation": "noise",
         "lerf": {"relevance": [0.1, 0.15]}}
    b = {**_curve("loc_cnn", "B", 30, [0.2, 0.2], [0.2, 0.4]), "imputation": "noise",
         "lerf": {"relevance": [0.2, 0.3]}}
    rows = tables.srg_rows([a, b])
    assert [(r["condition"], r["ordering"], r["imputation"]) for r in rows] == [
        ("A", "relevance", "noise"), ("B", "relevance", "noise"), ("pooled", "relevance", "noise")]
    assert rows[0]["AOPC MoRF [m]"] == pytest.approx(0.4) and rows[0]["AOPC LeRF [m]"] == pytest.approx(0.05)
    assert rows[0]["SRG [m]"] == pytest.approx(0.35) and rows[1]["SRG [m]"] == pytest.approx(-0.1)
    # pooled by window count: MoRF 0.175 -> 0.275, LeRF 0.175 -> 0.2625
    assert rows[2]["SRG [m]"] == pytest.approx(0.1 - 0.0875)
    assert tables.aopc_rows([a])[0]["imputation"] == "noise"
    assert tables.aopc_rows([_curve("loc_cnn", "A", 10, [0.1, 0.5], [0.1, 0.2])])[0]["imputation"] == "zeros"


def _sanity(model, cond, spearman, anomalies, mic, median):
    steps = [{"depth": d, "layer": layer, "spearman": s, "model_mae": 0.1 * (d + 1), "tdoa_anomaly_percent": a,
              "tdoa_mae": None if d else 0.5}
             for d, (layer, s, a) in enumerate(zip(("none", "fc2"), spearman, anomalies))]
    return {"model": model, "condition": cond, "n_windows": 16, "randomization": steps,
            "microphone_tdoa": {"anomaly_percent": mic, "mae": 0.3, "n_windows": 16},
            "conservation": {"mean": median, "q05": 0.1, "median": median, "q95": 0.9, "min": 0.0, "max": 1.0,
                             "n_windows": 40}}


def test_sanity_randomization_and_conservation_rows():
    results = [_sanity("loc_cnn", "A", [1.0, 0.3], [10.0, 25.0], 5.0, 0.2),
               _sanity("sample_cnn", "A", [1.0, 0.8], [12.0, 6.0], 5.0, 0.4)]
    summary = tables.sanity_rows(results)
    assert [r["model"] for r in summary] == ["LocCNN", "SampleCNN"]
    assert summary[0]["Spearman, all layers randomized"] == 0.3
    assert (summary[1]["TDoA anomalies, trained [%]"], summary[1]["TDoA anomalies, randomized [%]"],
            summary[1]["TDoA anomalies, microphones [%]"]) == (12.0, 6.0, 5.0)
    every = tables.randomization_rows(results)
    assert [(r["model"], r["depth"]) for r in every] == [("loc_cnn", 0), ("loc_cnn", 1), ("sample_cnn", 0),
                                                          ("sample_cnn", 1)]
    assert every[0]["TDoA MAE [samples]"] == 0.5 and np.isnan(every[1]["TDoA MAE [samples]"])
    conservation = tables.conservation_rows(results)
    assert conservation[1]["median"] == 0.4 and conservation[0]["windows"] == 40


def test_manipulation_rows_give_each_curve_and_the_window_weighted_pool():
    a = {**_curve("loc_cnn", "A", 10, [0.1, 0.5], [0.1, 0.2]), "imputation": "mean"}
    b = {**_curve("loc_cnn", "B", 30, [0.2, 0.2], [0.2, 0.4]), "imputation": "zeros"}
    rows = tables.manipulation_rows([a, b])
    assert [(r["model"], r["condition"], r["ordering"]) for r in rows] == [
        ("loc_cnn", "A", "relevance"), ("loc_cnn", "A", "random"), ("loc_cnn", "B", "relevance"),
        ("loc_cnn", "B", "random"), ("loc_cnn", "pooled", "relevance"), ("loc_cnn", "pooled", "random")]
    assert rows[0] == {"model": "loc_cnn", "condition": "A", "ordering": "relevance", "ranked by": "signed",
                       "imputation": "mean", "P=0%": 0.1, "P=50%": 0.5}
    assert rows[1]["ranked by"] == "–"  # random ranks by nothing
    assert rows[3]["P=0%"] == 0.2 and rows[3]["P=50%"] == 0.4 and rows[3]["imputation"] == "zeros"
    # pooled by window count (10 and 30): relevance (0.1 + 3 * 0.2) / 4, (0.5 + 3 * 0.2) / 4; random likewise
    assert rows[4]["P=0%"] == pytest.approx(0.175) and rows[4]["P=50%"] == pytest.approx(0.275)
    assert rows[5]["P=0%"] == pytest.approx(0.175) and rows[5]["P=50%"] == pytest.approx(0.35)
    assert rows[4]["imputation"] == "mean/zeros"


def test_tdoa_rows_put_each_signals_anomalies_and_mae_under_its_label():
    result = {"condition": "SNR_25_T60_0.15", "pairs": [{"pair": [7, 8], "largest_true_delay": 1.3, "signals": {
        "microphone": {"anomaly_percent": 12.5, "mae": 0.75, "n_windows": 40, "correlation": 0.9},
        "loc_cnn": {"anomaly_percent": 50.0, "mae": 1.25, "n_windows": 40, "correlation": 0.1},
        "sample_cnn": {"anomaly_percent": 100.0, "mae": None, "n_windows": 40, "correlation": None}}}]}
    row, = tables.tdoa_rows([result])
    assert list(row)[:8] == ["condition", "pair", "largest true delay [samples]", "Mic anomalies [%]",
                             "Mic MAE [samples]", "Mic r", "LocCNN anomalies [%]", "LocCNN MAE [samples]"]
    assert row["condition"] == "SNR_25_T60_0.15"
    assert row["Mic anomalies [%]"] == 12.5 and row["Mic MAE [samples]"] == 0.75
    assert row["LocCNN anomalies [%]"] == 50.0 and row["LocCNN MAE [samples]"] == 1.25
    assert row["SampleCNN anomalies [%]"] == 100.0 and np.isnan(row["SampleCNN MAE [samples]"])
