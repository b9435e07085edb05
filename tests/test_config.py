"""Tests for sslrp.config: schema validation with defaults, clear errors naming the key, condition names,
and the workflow refusing a bad config before any job runs."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sslrp import config as configuration

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def minimal(**extra):
    return {"conditions": [{"t60": 0.3, "snr": 20}], **extra}


@pytest.mark.parametrize(
    "raw, key",
    [
        ({"conditions": [{"t60": -0.1, "snr": 20}]}, "conditions[0].t60"),
        ({"conditions": [{"t60": 0.3, "snr": 20}, {"t60": 0, "snr": 5}]}, "conditions[1].t60"),
        ({"conditions": [{"t60": 0.3}]}, "conditions[0]: 'snr'"),
        ({"conditions": []}, "conditions"),
        ({}, "'conditions' is a required property"),
        (minimal(corpus={"kind": "librispeech"}), "corpus.kind"),
        (minimal(geometry={"grid": {"nx": 1}}), "geometry.grid.nx"),
        (minimal(geometry={"room": [3.6, 8.2]}), "geometry.room"),
        (minimal(signals={"window": "5120"}), "signals.window"),
        (minimal(simulation={"shards": 0}), "simulation.shards"),
        (minimal(unknown_section={}), "unknown_section"),
        (minimal(manipulation={"orderings": ["saliency"]}), "manipulation.orderings[0]"),
        (minimal(manipulation={"attribution": {"smoothgrad": {"n_samples": 0}}}),
         "manipulation.attribution.smoothgrad.n_samples"),
        (minimal(srp={"grid": [41]}), "srp.grid"),
    ],
)
def test_bad_config_raises_config_error_naming_the_key(raw, key):
    with pytest.raises(configuration.ConfigError) as err:
        configuration.validate(raw)
    assert key in str(err.value)


def test_semantic_errors_name_the_key(tmp_path):
    cases = [
        (minimal(conditions=[{"t60": 0.3, "snr": 20}, {"t60": 0.30, "snr": 20.0}]),
         "duplicate condition(s) SNR_20_T60_0.3"),
        (minimal(tdoa={"pairs": [[7, 8], [0, 16]]}), "tdoa.pairs[1]"),
        (minimal(tdoa={"pairs": [[3, 3]]}), "tdoa.pairs[0]"),
        (minimal(manipulation={"orderings": ["energy", "random"]}), "manipulation.magnitude_orderings"),
        (minimal(corpus={"kind": "wav_dir"}), "corpus.path"),
        (minimal(pretrained={"loc_cnn": {"SNR_1_T60_9": "x.pth"}}), "pretrained.loc_cnn.SNR_1_T60_9"),
        (minimal(pretrained={"loc_cnn": {"SNR_20_T60_0.3": str(tmp_path / "none.pth")}}), "does not exist"),
        (minimal(manipulation={"percents": [10, 20]}), "manipulation.percents"),
        (minimal(manipulation={"orderings": ["gradient"]}), "manipulation.figure_orderings"),
        (minimal(srp={"pairs": [[0, 16]]}), "srp.pairs[0]"),
        (minimal(srp={"pairs": [[0, 1], [2, 2]]}), "srp.pairs[1]"),
    ]
    for raw, key in cases:
        with pytest.raises(configuration.ConfigError, match=re.escape(key)):
            configuration.validate(raw)


def test_defaults_are_filled_in_and_input_untouched():
    raw = minimal()
    config = configuration.validate(raw)
    assert raw == minimal()  # validate works on a copy
    geometry = config["geometry"]
    assert geometry["room"] == [3.6, 8.2, 2.4]
    assert geometry["fs"] == 16000 and geometry["sound_speed"] == 343.0
    assert geometry["array"] == {"center": [1.7, 7.0], "n_mics": 16, "spacing": 0.15, "height": 1.2}
    assert (geometry["grid"]["nx"], geometry["grid"]["ny"]) == (65, 65)
    assert geometry["test_square"] == {"x": [1.45, 1.95], "y": [5.25, 5.75]}
    assert config["signals"] == {"window": 5120, "max_seconds": None}
    assert config["corpus"]["kind"] == "espeak"
    assert config["corpus"]["espeak"]["trim_db"] == 40  # defaults reach nested sections too
    assert config["training"]["loc_cnn"]["batch_size"] == 100  # and sections behind a $ref
    # the paper's centre pair first, then a quarter in from each end, then the widest (chosen from the array)
    assert config["tdoa"]["pairs"] == [[7, 8], [4, 11], [0, 15]]
    assert config["manipulation"]["magnitude_orderings"] == ["relevance"]
    assert config["manipulation"]["orderings"] == config["manipulation"]["figure_orderings"] == [
        "relevance", "energy", "random"]
    assert config["manipulation"]["attribution"]["integrated_gradients"]["steps"] == 20
    assert config["srp"] == {"enabled": True, "grid": [41, 41], "height": None, "pairs": None}


def test_given_values_win_over_defaults():
    config = configuration.validate(minimal(geometry={"grid": {"nx": 5}}, simulation={"max_order": 3}))
    assert config["geometry"]["grid"]["nx"] == 5
    assert config["geometry"]["grid"]["ny"] == 65
    assert config["simulation"]["max_order"] == 3


def test_conditions_resolve_the_global_max_order():
    config = configuration.validate(
        minimal(conditions=[{"t60": 0.3, "snr": 20}, {"t60": 0.6, "snr": 10, "max_order": 4}],
                simulation={"max_order": 20})
    )
    table = configuration.conditions(config)
    assert list(table) == ["SNR_20_T60_0.3", "SNR_10_T60_0.6"]
    assert table["SNR_20_T60_0.3"] == {"t60": 0.3, "snr": 20, "max_order": 20}
    assert table["SNR_10_T60_0.6"]["max_order"] == 4


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml"])
def test_shipped_configs_validate_with_the_papers_four_conditions(name):
    config = configuration.load(REPO / "config" / name)
    assert list(configuration.conditions(config)) == [
        "SNR_25_T60_0.15", "SNR_20_T60_0.3", "SNR_15_T60_0.4", "SNR_10_T60_0.6",
    ]


def test_paper_config_is_paper_scale():
    config = configuration.load(REPO / "config" / "paper.yaml")
    assert (config["geometry"]["grid"]["nx"], config["geometry"]["grid"]["ny"]) == (65, 65)
    assert config["signals"]["window"] == 5120
    assert config["simulation"]["max_order"] is None
    assert config["training"]["loc_cnn"]["lr"] == 1e-3
    assert config["training"]["sample_cnn"]["lr"] == 1e-2


def test_load_reports_an_unreadable_file(tmp_path):
    with pytest.raises(configuration.ConfigError, match="missing.yaml"):
        configuration.load(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("conditions: [\n")
    with pytest.raises(configuration.ConfigError, match="broken.yaml"):
        configuration.load(broken)


def _snakemake(workdir, *args):
    return subprocess.run(
        [str(SNAKEMAKE), "-n", "-s", str(REPO / "Snakefile"), "--directory", str(workdir), *args],
        cwd=workdir, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.skipif(not SNAKEMAKE.exists(), reason="snakemake is not installed beside this Python")
def test_snakemake_refuses_a_bad_config_before_any_job(tmp_path):
    # The Snakefile reads config/config.yaml relative to the working directory: give it a copy, so that
    # the dry runs touch nothing in the repository.
    shutil.copytree(REPO / "config", tmp_path / "config")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"conditions": [{"t60": -0.1, "snr": 20}]}))

    good = _snakemake(tmp_path, "results/data/SNR_20_T60_0.3.h5")
    assert good.returncode == 0, good.stderr[-3000:]
    assert "simulate_shard" in good.stdout + good.stderr  # the control: a valid config schedules jobs

    result = _snakemake(tmp_path, "--configfile", str(bad))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "conditions[0].t60" in output
    assert "simulate_shard" not in output and "rule corpus" not in output
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()


def test_learning_rate_defaults_to_the_papers_per_model():
    config = configuration.validate(minimal(training={"sample_cnn": {"max_epochs": 3}, "loc_cnn": {"lr": 0.05}}))
    assert config["training"]["sample_cnn"]["lr"] == 1e-2
    assert config["training"]["loc_cnn"]["lr"] == 0.05


@pytest.mark.parametrize("grid", [{"nx": 9, "ny": 9}, {"nx": 21, "ny": 21}, {"nx": 65, "ny": 65}])
def test_split_sizes_used_by_validation_agree_with_the_drawn_split(grid):
    from sslrp.data import geometry

    settings = configuration.validate(minimal(geometry={"grid": grid}))["geometry"]
    drawn = geometry.sources(settings, 2024)
    assert geometry.split_sizes(settings) == {s: len(getattr(drawn, s)) for s in geometry.SPLITS}


def test_default_tdoa_pairs_follow_the_array():
    # a linear array of 8: centre (3, 4), a quarter in (2, 5), the ends (0, 7)
    config = configuration.validate(minimal(geometry={"array": {"n_mics": 8}}))
    assert config["tdoa"]["pairs"] == [[3, 4], [2, 5], [0, 7]]
    # an array of positions: mics 0-1 are 0.1 m apart (closest), 0-3 1.0 m (farthest); the middle distance 0.55 m
    # lies nearest 0-2 (0.5 m), by hand
    positions = [[1.0, 1.0, 1.0], [1.1, 1.0, 1.0], [1.5, 1.0, 1.0], [2.0, 1.0, 1.0]]
    config = configuration.validate(minimal(geometry={"array": {"positions": positions}}))
    assert config["tdoa"]["pairs"] == [[0, 1], [0, 2], [0, 3]]
    # two microphones: the one pair, once
    config = configuration.validate(minimal(geometry={"array": {"n_mics": 2}}))
    assert config["tdoa"]["pairs"] == [[0, 1]]
    # given pairs are kept as they are
    config = configuration.validate(minimal(tdoa={"pairs": [[2, 3]]}))
    assert config["tdoa"]["pairs"] == [[2, 3]]
