"""The report card and the sound components in the tiny workflow run (tests/conftest.py `tiny_workflow_run`): the
card's numbers against the steps that compute the same thing independently (the manipulation curves, the TDoA
table, the sanity check, the evaluation's predictions), the components against the stored windows, and the page."""

import csv
import json

import h5py
import numpy as np
import pytest

from sslrp import names

CONDS = ["SNR_20_T60_0.2", "SNR_10_T60_0.4"]
PAIRS = ["7-8", "4-11", "0-15"]  # the default tdoa.pairs on the paper's 16-mic array


def _json(run, path):
    return json.loads((run / "results" / path).read_text())


def _csv(run, name):
    with open(run / "results" / "tables" / f"{name}.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def cards(tiny_workflow_run):
    return {(m, c): _json(tiny_workflow_run, f"explanations/{m}/{c}.json") for m in names.MODELS for c in CONDS}


def test_the_tiny_card_covers_every_test_window_so_its_numbers_are_the_steps_numbers(tiny_workflow_run, cards):
    from tiny_workflow import TINY

    for (model, cond), card in cards.items():
        manipulation = _json(tiny_workflow_run, f"manipulation/{model}/{cond}.json")
        assert card["n_windows"] == manipulation["n_windows"] <= TINY["explanations"]["windows"]
        lrp, energy, random = (card["methods"][m]["curves"] for m in ("relevance", "energy", "random"))
        for key in ("mae_magnitude", "lerf_magnitude", "mae", "lerf"):  # the same removal, batches and imputation
            assert lrp[key]["relevance"] == manipulation[key]["relevance"], (model, cond, key)
        assert energy["mae"]["energy"] == manipulation["mae"]["energy"]
        assert energy["lerf"]["energy"] == manipulation["lerf"]["energy"]
        assert random["mae"]["random"] == manipulation["mae"]["random"]  # the same random stream
        # the randomized model is the sanity check's last step: the same rank correlation on the same windows
        sanity = _json(tiny_workflow_run, f"sanity/{model}/{cond}.json")
        assert card["methods"]["relevance"]["spearman_randomized"] == pytest.approx(
            sanity["randomization"][-1]["spearman"], abs=1e-12)


def test_the_cards_physics_of_lrp_and_its_baselines_are_the_tdoa_tables(tiny_workflow_run, cards):
    for cond in CONDS:
        tdoa = _json(tiny_workflow_run, f"tdoa/{cond}.json")
        assert [f"{p['pair'][0]}-{p['pair'][1]}" for p in tdoa["pairs"]] == PAIRS
        for entry in tdoa["pairs"]:
            pair = f"{entry['pair'][0]}-{entry['pair'][1]}"
            for model in names.MODELS:
                card = cards[model, cond]
                for ours, theirs in ((card["methods"]["relevance"]["physics"][pair], entry["signals"][model]),
                                     (card["baselines"]["microphones"][pair], entry["signals"]["microphone"]),
                                     (card["baselines"]["constant"][pair], entry["signals"]["constant"])):
                    for key in ("anomaly_percent", "mae", "correlation"):
                        assert ours[key] == pytest.approx(theirs[key], nan_ok=True), (model, cond, pair, key)


def test_the_explanations_table_has_every_method_condition_and_pool_with_its_baselines(tiny_workflow_run, cards):
    from tiny_workflow import TINY

    rows = _csv(tiny_workflow_run, "explanations")
    methods = TINY["explanations"]["methods"]
    assert len(rows) == 2 * (len(CONDS) + 1) * (len(methods) + 2)
    srg = {(r["model"], r["condition"], r["ordering"], r["ranked by"]): float(r["SRG [m]"])
           for r in _csv(tiny_workflow_run, "srg")}
    for row in rows:
        model = {"LocCNN": "loc_cnn", "SampleCNN": "sample_cnn"}[row["model"]]
        if row["method"] == "LRP, the paper's composite":  # its SRG is the SRG table's (magnitude)
            assert float(row["SRG [m]"]) == pytest.approx(srg[model, row["condition"], "relevance", "magnitude"])
            assert float(row["SRG energy [m]"]) == pytest.approx(srg[model, row["condition"], "energy", "magnitude"])
        if row["method"] in ("energy (loudest first)", "random"):
            assert row["passes randomization"] == "model-free"
        else:
            assert row["passes randomization"] in ("yes", "no") or row["method"].endswith("(baseline)")
    assert {r["condition"] for r in rows} == {*CONDS, "pooled"}


def test_the_causal_mae_on_the_full_window_is_the_evaluations(tiny_workflow_run, cards):
    for (model, cond), card in cards.items():
        with open(tiny_workflow_run / "results" / "evaluation" / model / cond / "windows.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        errors = [np.mean([abs(float(rows[i][f"{c}_pred"]) - float(rows[i][c])) for c in "xyz"])
                  for i in card["test_rows"]]
        assert card["components"]["causal"]["full"]["model"] == pytest.approx(np.mean(errors), abs=1e-5)


def test_the_components_sum_to_the_stored_windows(tiny_workflow_run):
    # A held-out check on the produced files, with h5py only: direct + early + late + noise = the test window.
    for cond in CONDS:
        with h5py.File(tiny_workflow_run / "results" / "components" / f"{cond}.h5") as f:
            rows = f["test_row"][:]
            total = sum(f[c][:].astype(np.float64) for c in names.COMPONENTS)
        with h5py.File(tiny_workflow_run / "results" / "data" / f"{cond}.h5") as f:
            windows = f["test/windows"][:][rows].astype(np.float64)
        scale = np.abs(windows).max(axis=(1, 2))
        assert np.all(np.abs(total - windows).max(axis=(1, 2)) <= 1e-6 * scale)


def test_the_page_judges_the_methods_and_the_claim_from_the_numbers(tiny_workflow_run, cards):
    page = (tiny_workflow_run / "results" / "page" / "index.md").read_text()
    section = page.split("## Which explanation to trust: the report card")[1].split("\n## ")[0]
    for label in ("LocCNN", "SampleCNN"):
        assert f"- {label}, all conditions pooled" in section
        assert f"Recommended for {label}:" in section or f"No method passes all three tests for {label}" in section
    assert "figures/explanations_loc_cnn.png" in section
    components = page.split("## What the networks listen to")[1].split("\n## ")[0]
    assert components.count("the input energy is") == 2 * len(CONDS)
    assert "Causal test: removing the direct sound changes the MAE by" in components
    # the paper's manipulation sentences compare LRP with energy as well as random
    manipulation = page.split("## Feature Inspection")[0]
    assert manipulation.count("Against energy (the loudest samples first") == 2
    assert len(_csv(tiny_workflow_run, "components")) > 0
    figures = tiny_workflow_run / "results" / "page" / "figures"
    for model in names.MODELS:
        for name in (names.explanations_figure(model), names.components_figure(model)):
            assert (tiny_workflow_run / "results" / "page" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert figures.is_dir()
