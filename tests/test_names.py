"""The shared vocabulary (sslrp.names): condition names round-trip, the page's file names are the seed's, and
every list that config/schema.yaml has to repeat agrees with the package."""

from pathlib import Path

import pytest
import yaml

from sslrp import names
from sslrp.explain import attribution, lrp, manipulation
from sslrp.localize import models
from sslrp.report import plots, tables

SCHEMA = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "schema.yaml").read_text())
PROPS = SCHEMA["properties"]

CONDITIONS = [
    ({"t60": 0.15, "snr": 25}, "SNR_25_T60_0.15"),
    ({"t60": 0.3, "snr": 20}, "SNR_20_T60_0.3"),
    ({"t60": 0.4, "snr": 15.0}, "SNR_15_T60_0.4"),
    ({"t60": 0.6, "snr": 10}, "SNR_10_T60_0.6"),
    ({"t60": 1, "snr": -5}, "SNR_-5_T60_1"),
]


@pytest.mark.parametrize("condition, name", CONDITIONS)
def test_condition_name_matches_the_seed_pages_form_and_parses_back(condition, name):
    assert names.condition_name(condition) == name
    snr, t60 = names.parse_condition(name)
    assert (float(snr), float(t60)) == (condition["snr"], condition["t60"])


def test_a_name_not_built_by_condition_name_is_refused():
    for bad in ("T60_0.3", "SNR_20_T60_", "SNR_x_T60_0.3"):
        with pytest.raises(ValueError, match="SNR_<snr>_T60_<t60>"):
            names.parse_condition(bad)


def test_page_file_names_are_the_seeds():
    stem = "loc_cnn_SNR_25_T60_0.15_error_min"
    assert names.manipulation_figure("loc_cnn") == "figures/manipulation__loc_cnn_.png"
    assert names.source_figure("loc_cnn", "SNR_25_T60_0.15", "min") == f"figures/ex_gcc_relevance_{stem}.png"
    for kind in ("microphone", "relevance"):
        assert names.source_audio(kind, "loc_cnn", "SNR_25_T60_0.15", "min") == f"figures/audio_{kind}_{stem}.wav"
    with pytest.raises(ValueError, match="audio kind"):
        names.source_audio("speech", "loc_cnn", "SNR_25_T60_0.15", "min")
    assert names.randomization_figure("loc_cnn") == "figures/randomization_loc_cnn.png"  # not the seed's: beyond it
    assert names.explanations_figure("loc_cnn") == "figures/explanations_loc_cnn.png"  # beyond the seed too
    assert names.components_figure("loc_cnn") == "figures/components_loc_cnn.png"
    files = names.page_files(names.MODELS, ["SNR_25_T60_0.15", "SNR_10_T60_0.6"])
    # per model manipulation, randomization, report-card and components figures; per model x condition x source one
    # figure and two audio files
    assert len(files) == len(set(files)) == 2 * 4 + 2 * 2 * 2 * 3
    assert len(names.page_files(names.MODELS, ["lab_a"], components=False)) == 2 * 3 + 2 * 1 * 2 * 3


def test_schema_lists_agree_with_the_package():
    assert tuple(PROPS["models"]["items"]["then"]["enum"]) == names.MODELS == tuple(models.BUILTINS)
    assert PROPS["models"]["items"]["else"] == {"$ref": "#/$defs/user_model"}
    user = SCHEMA["$defs"]["user_model"]["properties"]
    assert tuple(user["name"]["not"]["enum"]) == names.MODELS
    assert user["name"]["pattern"] == names.MODEL_NAME_RE.pattern
    assert tuple(SCHEMA["$defs"]["lrp_rule"]["enum"]) == names.LRP_RULES == tuple(lrp.RULES)
    assert {k: v["default"] for k, v in user["lrp"]["properties"].items()} == names.LRP_DEFAULTS
    assert set(PROPS["training"]["properties"]) >= set(names.MODELS)
    assert set(PROPS["pretrained"]["properties"]) == set(names.MODELS)
    assert tuple(SCHEMA["$defs"]["ordering"]["enum"]) == names.ORDERINGS
    assert names.LRP_VARIANTS == tuple(f"lrp_{rule}" for rule in lrp.RULES)
    assert set(PROPS["explanations"]["properties"]["methods"]["default"]) <= set(names.ORDERINGS)
    assert set(names.METHOD_LABELS) == set(names.ORDERINGS)
    assert tuple(PROPS["manipulation"]["properties"]["imputation"]["enum"]) == names.IMPUTATIONS
    manip = PROPS["manipulation"]["properties"]
    assert tuple(manip["orderings"]["default"]) == tuple(manip["figure_orderings"]["default"]) == names.PAPER_ORDERINGS
    assert tuple(manip["percents"]["default"]) == manipulation.PERCENTS
    assert tuple(manip["magnitude_orderings"]["items"]["enum"]) == names.RANKABLE
    explain = PROPS["explain"]["properties"]
    assert tuple(explain["gate"]["enum"]) == lrp.GATES
    methods = manip["attribution"]["properties"]
    defaults = {m: {k: v["default"] for k, v in s["properties"].items()} for m, s in methods.items()}
    assert defaults == attribution.DEFAULTS


def test_every_ordering_has_its_own_colour_and_every_model_a_label():
    assert list(plots.ORDERING_COLORS) == list(names.ORDERINGS)
    assert len(set(plots.ORDERING_COLORS.values())) == len(names.ORDERINGS)
    assert set(names.MODEL_LABELS) == set(names.MODELS) == set(names.MIN_WINDOW)
    assert {k: names.model_label(k) for k in names.MODELS} == names.MODEL_LABELS
    assert names.model_label("my_net") == "my_net"  # a model of your own is labelled by its name
    rows = tables.tdoa_rows([{"condition": "c", "pairs": [{"pair": [0, 1], "largest_true_delay": 1.0, "signals": {
        k: {"anomaly_percent": 0.0, "mae": 0.0, "correlation": None}
        for k in ("constant", "my_net", "sample_cnn", "microphone", "loc_cnn")}}]}])
    assert [k.split()[0] for k in rows[0] if k.endswith("anomalies [%]")] == [
        "Mic", "LocCNN", "SampleCNN", "my_net", "Constant"]


@pytest.mark.parametrize("name", names.MODELS)
def test_min_window_is_the_shortest_window_the_model_accepts(name):
    models.build(name, names.MIN_WINDOW[name])
    with pytest.raises(ValueError, match=f"at least {names.MIN_WINDOW[name]} samples"):
        models.build(name, names.MIN_WINDOW[name] - 1)
