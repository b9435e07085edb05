"""The training section of the config: warm-start chains are checked before any job runs, the schema's lists
of schedules and arithmetic agree with sslrp.localize.training, the quick default trains as a chain of warm starts,
and the paper's config keeps the paper's protocol."""

from pathlib import Path

import pytest
import yaml

from sslrp import config as configuration
from sslrp import step_settings
from sslrp.localize import inference, training

REPO = Path(__file__).resolve().parents[1]
TWO = [{"t60": 0.15, "snr": 25}, {"t60": 0.6, "snr": 10}]


def with_warm_start(warm_start):
    return {"conditions": TWO, "training": {"warm_start": warm_start}}


def test_warm_start_chain_is_accepted_and_names_each_conditions_source():
    """A chain over three conditions (one root, two links) passes validation, and each train job gets its
    source from it: the previous condition for a link, none (seeded random weights) for the root."""
    three = TWO + [{"t60": 0.3, "snr": 20}]
    chain = {"SNR_10_T60_0.6": "SNR_25_T60_0.15", "SNR_20_T60_0.3": "SNR_10_T60_0.6"}
    config = configuration.validate({"conditions": three, "training": {"warm_start": chain}})
    assert config["training"]["warm_start"] == chain
    sources = {cond: step_settings.warm_start_source(config, cond) for cond in configuration.conditions(config)}
    assert sources == {"SNR_25_T60_0.15": None, "SNR_10_T60_0.6": "SNR_25_T60_0.15",
                       "SNR_20_T60_0.3": "SNR_10_T60_0.6"}


@pytest.mark.parametrize(
    "warm_start, message",
    [
        ({"SNR_10_T60_0.6": "SNR_5_T60_0.15"},
         r"training\.warm_start\.SNR_10_T60_0\.6: no such condition 'SNR_5_T60_0\.15'"),
        ({"SNR_1_T60_1": "SNR_25_T60_0.15"}, r"training\.warm_start\.SNR_1_T60_1: no such condition 'SNR_1_T60_1'"),
        ({"SNR_10_T60_0.6": "SNR_25_T60_0.15", "SNR_25_T60_0.15": "SNR_10_T60_0.6"}, r"cycle \(SNR_10_T60_0\.6 -> "),
        ({"SNR_10_T60_0.6": "SNR_10_T60_0.6"}, "cycle"),
    ],
)
def test_bad_warm_start_is_refused_naming_the_key(warm_start, message):
    with pytest.raises(configuration.ConfigError, match=message):
        configuration.validate(with_warm_start(warm_start))


def test_schema_lists_agree_with_the_training_code():
    schema = yaml.safe_load(configuration.SCHEMA.read_text())
    settings = schema["$defs"]["training"]["properties"]
    assert tuple(settings["schedule"]["enum"]) == training.SCHEDULES
    assert tuple(settings["precision"]["enum"]) == inference.PRECISIONS
    assert set(training.SETTINGS) == set(settings)


def test_paper_config_keeps_the_paper_protocol():
    paper = configuration.load(REPO / "config" / "paper.yaml")
    assert paper["training"]["warm_start"] == {}
    for model in ("loc_cnn", "sample_cnn"):
        settings = paper["training"][model]
        assert settings["schedule"] == "plateau" and settings["precision"] == "fp32"
        assert not settings["input_gain"] and not settings["standardize_targets"]
        assert settings["windows_per_source"] == 1 and not settings["random_offset"]


def test_quick_default_trains_each_model_as_one_chain_over_the_conditions():
    quick = configuration.load(REPO / "config" / "config.yaml")
    names = list(configuration.conditions(quick))
    starts = quick["training"]["warm_start"]
    assert names[0] not in starts
    assert [starts[name] for name in names[1:]] == names[:-1]
