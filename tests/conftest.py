"""Shared fixtures. The domain package lives beside the step scripts (as Snakemake sees it)."""

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "workflow" / "scripts"
sys.path.insert(0, str(SCRIPTS))


@pytest.fixture(autouse=True, scope="session")
def _few_threads():
    """Keep torch to the 2 cores CI has (and avoid oversubscription when tests run beside jobs)."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(2)


# --- tiny data-stage fixtures (corpus -> shards -> dataset), built once per session ------------------

TINY_RAW_CONFIG = {
    "seed": 7,
    "conditions": [{"t60": 0.3, "snr": 20}],
    # 9 x 9 grid: 3 test sources inside the held-out square, 62 train, 16 val.
    "geometry": {"grid": {"nx": 9, "ny": 9}},
    "corpus": {"kind": "espeak", "n_utterances": 4, "espeak": {"sentences_per_utterance": 1}},
    "signals": {"window": 512, "max_seconds": 0.3},
    "simulation": {"shards": 2, "max_order": 2},
    "models": ["loc_cnn"],  # SampleCNN needs windows of >= 729 samples; the data fixtures need no model
}
TINY_COND = "SNR_20_T60_0.3"


def load_step_script(name):
    """Import workflow/scripts/<name>.py as a module (its CLI only runs as __main__)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"step_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def step_script():
    """`step_script("gather_dataset")` -> the step script as a module, to call its run()."""
    return load_step_script


@pytest.fixture(scope="session")
def tiny_config():
    """The validated tiny config (defaults filled in); treat as read-only."""
    from sslrp import config as configuration

    return configuration.validate(TINY_RAW_CONFIG)


@pytest.fixture(scope="session")
def tiny_config_file(tmp_path_factory):
    """The tiny config as a YAML file, for the step scripts' --config."""
    import yaml

    path = tmp_path_factory.mktemp("config") / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY_RAW_CONFIG))
    return path


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory, tiny_config):
    """The tiny espeak corpus file (4 one-sentence utterances at 16 kHz)."""
    path = tmp_path_factory.mktemp("corpus") / "speech.h5"
    load_step_script("corpus").run(
        str(path), tiny_config["corpus"], tiny_config["geometry"]["fs"], tiny_config["seed"]
    )
    return path


def build_tiny_dataset(corpus_path, folder, config, n_shards):
    """Simulate the tiny config's only condition in `n_shards` shards and gather them; returns the path."""
    from sslrp import config as configuration

    (name, condition), = configuration.conditions(config).items()
    simulate, gather = load_step_script("simulate_shard"), load_step_script("gather_dataset")
    shards = []
    for shard in range(n_shards):
        shards.append(folder / f"shard-{shard}.h5")
        simulate.run(
            str(corpus_path), str(shards[-1]), condition, config["geometry"], config["signals"], shard, n_shards,
            config["seed"], config["corpus"],
        )
    out = folder / f"{name}.h5"
    gather.run(
        [str(p) for p in shards], str(out), name, condition, config["geometry"], config["signals"],
        config["corpus"], config["seed"],
    )
    return out


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory, tiny_corpus, tiny_config):
    """The tiny condition's dataset, simulated as one shard."""
    return build_tiny_dataset(tiny_corpus, tmp_path_factory.mktemp("data-1-shard"), tiny_config, 1)


@pytest.fixture(scope="session")
def tiny_dataset_builder():
    """`build(corpus_path, folder, config, n_shards)` -> the gathered dataset path (see build_tiny_dataset)."""
    return build_tiny_dataset


@pytest.fixture(scope="session")
def tiny_cond():
    """The name of the tiny config's only condition."""
    return TINY_COND


@pytest.fixture(scope="session")
def tiny_workflow_run(tmp_path_factory):
    """One complete Snakemake run of the tiny workflow config (tests/tiny_workflow.py) from an empty results
    folder, shared by the end-to-end and the re-run tests; tests must not change it (copy it to modify)."""
    from tiny_workflow import TINY, snakemake, write_config

    workdir = tmp_path_factory.mktemp("workflow")
    write_config(workdir, TINY)
    done = snakemake(workdir)
    assert done.returncode == 0, done.stderr[-4000:]
    return workdir
