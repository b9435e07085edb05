"""Where the torch steps run: `training.device` reaches every torch step (train, evaluate, relevance, manipulation,
sanity) through its step settings, as the rule and the command line pass them; a CUDA device that is not there fails
naming the key; training keeps its windows in a CUDA device's memory only when they fit.

Nothing here needs a GPU: CUDA's presence and free memory are faked where a test needs them (torch.cuda.is_available,
torch.cuda.mem_get_info), and the tests at the end, which do need one, are skipped without it."""

import ast
import inspect

import numpy as np
import pytest
import torch

from conftest import SCRIPTS, TINY_RAW_CONFIG, load_step_script
from sslrp import config as configuration
from sslrp import step_settings
from sslrp.localize import inference, models, training

# The steps that run a model in torch, in the order of a condition's chain.
TORCH_STEPS = ("train", "evaluate", "relevance", "manipulation", "sanity", "explanations", "input_check")
MODEL = "loc_cnn"


@pytest.fixture(autouse=True)
def _torch_threads_restored():
    """The steps set torch's thread count (2 here, as conftest does); restore it whatever they set."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def config_on(device):
    """The tests' tiny config with `training.device` set, one short epoch and a few sanity windows."""
    raw = {**TINY_RAW_CONFIG, "training": {"device": device, MODEL: {"max_epochs": 1, "batch_size": 16}},
           "sanity": {"windows": 4}}
    return configuration.validate(raw)


def settings_of(step, config, cond):
    """The step's settings from the config, as its rule's `params: settings=` and its command line take them."""
    args = {"train": (MODEL, cond), "evaluate": (MODEL, cond), "relevance": (MODEL,), "check_model": (MODEL,),
            "manipulation": (MODEL, cond), "sanity": (MODEL, cond), "explanations": (MODEL, cond),
            "input_check": (MODEL, cond)}[step]
    return getattr(step_settings, step)(config, *args)


def files_of(step, folder, data):
    """The step's input and output files by the names its rule gives them, in `folder` (one chain per folder)."""
    checkpoint, relevance = str(folder / "model.pth"), str(folder / "relevance.h5")
    return {
        "train": {"data": data, "checkpoint": checkpoint, "history": str(folder / "history.csv"),
                  "curve": str(folder / "curve.png")},
        "evaluate": {"data": data, "checkpoint": checkpoint, "windows": str(folder / "windows.csv"),
                     "sources": str(folder / "sources.csv"), "summary": str(folder / "summary.json"),
                     "positions": str(folder / "positions.png")},
        "relevance": {"data": data, "checkpoint": checkpoint, "relevance": relevance},
        "manipulation": {"data": data, "checkpoint": checkpoint, "relevance": relevance,
                         "curve": str(folder / "manipulation.json")},
        "sanity": {"data": data, "checkpoint": checkpoint, "relevance": relevance,
                   "result": str(folder / "sanity.json")},
        "explanations": {"data": data, "checkpoint": checkpoint, "relevance": relevance,
                         "result": str(folder / "explanations.json")},
        "input_check": {"data": data, "checkpoint": checkpoint, "result": str(folder / "inputs.json")},
    }[step]


def run_step(step, config, cond, folder, data):
    """Run the step script's run() as its Snakemake job does: files by name, the step settings, threads, a log."""
    log = folder / f"{step}.log"
    load_step_script(step).run(**files_of(step, folder, data), **settings_of(step, config, cond),
                               threads=config["training"]["threads"], log=str(log))
    return log.read_text()


def runs_torch(path):
    """Whether a step script imports torch or runs a model (sslrp.localize.inference), read from its imports."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "torch" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "torch":
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "sslrp.localize" and \
                any(a.name == "inference" for a in node.names):
            return True
    return False


def test_every_step_that_runs_torch_takes_the_configured_device(tiny_cond):
    """Every step script that imports torch or runs a model takes a `device`, and its step settings hand it
    `training.device` as configured (the check of a model of your own takes it too, and runs its one batch on CPU)."""
    with_device = {path.stem for path in SCRIPTS.glob("*.py")
                   if "device" in inspect.signature(load_step_script(path.stem).run).parameters}
    assert {path.stem for path in SCRIPTS.glob("*.py") if runs_torch(path)} <= with_device
    assert with_device == {*TORCH_STEPS, "check_model"}
    for device in ("auto", "cpu", "cuda"):
        config = config_on(device)
        for step in sorted(with_device):
            assert settings_of(step, config, tiny_cond)["device"] == device, (step, device)


def test_step_device_names_the_key_when_cuda_is_not_there(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert inference.step_device("auto") == torch.device("cpu")
    assert inference.step_device("cpu") == torch.device("cpu")
    with pytest.raises(RuntimeError, match=r"training.device is 'cuda', but torch .* sees no CUDA device here; "
                                           r"set training.device to auto .* or cpu"):
        inference.step_device("cuda")


@pytest.fixture(scope="module")
def untrained_checkpoint(tmp_path_factory):
    """A seeded, untrained LocCNN for the tiny config's window, as a plain state dict (what train.py writes)."""
    path = tmp_path_factory.mktemp("checkpoint") / "model.pth"
    training.manual_seed(7, "test-device")
    torch.save(models.build(MODEL, TINY_RAW_CONFIG["signals"]["window"]).state_dict(), path)
    return path


@pytest.mark.parametrize("step", TORCH_STEPS)
def test_each_torch_step_on_cuda_without_cuda_fails_naming_the_key_before_writing(step, tiny_dataset, tiny_cond,
                                                                                  untrained_checkpoint, tmp_path,
                                                                                  monkeypatch):
    """With `training.device: cuda` where torch sees no CUDA device, each torch step stops with the message naming
    the key, before it writes anything: the configured device reached it (a step that ignored it would run on CPU)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    (tmp_path / "model.pth").write_bytes(untrained_checkpoint.read_bytes())
    with pytest.raises(RuntimeError, match=r"training.device is 'cuda'"):
        run_step(step, config_on("cuda"), tiny_cond, tmp_path, str(tiny_dataset))
    assert {p.name for p in tmp_path.iterdir()} == {"model.pth", f"{step}.log"}


def test_the_whole_chain_runs_on_the_configured_cpu_and_says_so(tiny_dataset, tiny_cond, tmp_path):
    """`training.device: cpu`: every torch step of the chain runs, and its log names the device it ran on (on a
    machine with CUDA, where `auto` would pick it, this is the test that `cpu` is obeyed; faking CUDA's presence
    instead is not possible, as torch's own optimizer then asks the driver)."""
    config = config_on("cpu")
    for step in TORCH_STEPS:
        log = run_step(step, config, tiny_cond, tmp_path, str(tiny_dataset))
        assert f"{MODEL} on cpu" in log, (step, log)
    assert (tmp_path / "sanity.json").exists()
    train_log = (tmp_path / "train.log").read_text()
    assert "stay in host memory, one batch at a time to cpu" in train_log


# --- where training keeps its windows --------------------------------------------------------------------------

GiB = 2**30


def test_windows_fit_when_the_reserve_is_left_free():
    """The reserve is the larger of 4 GiB and 10 % of the device: on a 141 GiB device 14.1 GiB, on a 16 GiB one
    4 GiB."""
    assert training.fits_in_device_memory(100 * GiB, free=140 * GiB, total=141 * GiB)
    assert not training.fits_in_device_memory(126 * GiB, free=140 * GiB, total=141 * GiB)
    assert training.fits_in_device_memory(11 * GiB, free=15 * GiB, total=16 * GiB)
    assert not training.fits_in_device_memory(12 * GiB, free=15 * GiB, total=16 * GiB)
    assert not training.fits_in_device_memory(1, free=2 * GiB, total=16 * GiB)


def test_keep_on_device_asks_cuda_for_its_free_memory_and_never_keeps_on_cpu(monkeypatch):
    asked = []

    def mem_get_info(device=None):
        asked.append(torch.device(device))
        return 100 * GiB, 141 * GiB

    monkeypatch.setattr(torch.cuda, "mem_get_info", mem_get_info)
    keep, why = training.keep_on_device(5 * GiB, "cpu")
    assert not keep and not asked and "host memory" in why
    keep, why = training.keep_on_device(5 * GiB, torch.device("cuda"))
    assert keep and asked == [torch.device("cuda")]
    assert why.startswith("5.00 GiB of windows, 100.0 of 141.0 GiB free on cuda") and "kept on the device" in why
    keep, why = training.keep_on_device(90 * GiB, "cuda:0")
    assert not keep and "14.1 GiB kept in reserve: one batch at a time" in why


def test_window_bytes_counts_float32_windows_of_every_split():
    a = training.WindowSet(np.zeros((6, 4, 64), np.float32), np.arange(6) // 2, np.zeros((3, 3)))
    b = training.WindowSet(np.zeros((2, 4, 64), np.float64), np.zeros(2, int), np.zeros((1, 3)))
    assert training.window_bytes(a) == 6 * 4 * 64 * 4
    assert training.window_bytes(a, b) == (6 + 2) * 4 * 64 * 4  # float64 windows are trained on as float32


# --- on a real GPU only (skipped elsewhere) ----------------------------------------------------------------------

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@needs_cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_on_cuda_with_windows_on_the_device_matches_batches_copied(precision, tmp_path):
    from test_training import pulse_set, settings, tiny_model

    train, val = pulse_set(32, 4, seed=1), pulse_set(12, 4, seed=2)
    runs = {}
    for resident in (True, False):
        model, lines = tiny_model(), []
        history = training.fit(model, train, val, settings(precision=precision), seed=7, device="cuda",
                               state_path=tmp_path / f"{resident}.pt", log=lines.append, resident=resident)
        runs[resident] = history, model
    keep, _ = training.keep_on_device(training.window_bytes(train, val), "cuda")
    assert keep
    (kept, kept_model), (copied, _) = runs[True], runs[False]
    # The same windows in the same order; only cuDNN's choice of kernels may change the last bits.
    assert [r["val_loss"] for r in kept] == pytest.approx([r["val_loss"] for r in copied], rel=1e-2)
    mean_predictor = np.mean((val.targets(slice(None)) - train.mean_position()) ** 2)
    assert min(r["val_loss"] for r in kept) < 0.5 * mean_predictor
    assert next(kept_model.parameters()).device.type == "cuda"


# --- the prepared GPU check (checks/gpu_9min.yaml, checks/RESULTS.md) ----------------------------------------------

def test_the_9_minute_gpu_check_is_the_paper_condition_on_cuda_with_only_its_sizing_changed():
    """Stacked as its command stacks it (paper.yaml, one_condition.yaml, the overlay), the check differs from the
    paper's protocol for that condition only in what its sizing comment accounts for, and asks for CUDA."""
    import copy

    import yaml
    from snakemake.utils import update_config

    from conftest import REPO

    def stacked(*files):
        config = {}
        for name in files:
            update_config(config, yaml.safe_load((REPO / name).read_text()))  # as Snakemake merges --configfile
        return configuration.validate(config)

    paper = stacked("config/paper.yaml", "config/one_condition.yaml")
    check = stacked("config/paper.yaml", "config/one_condition.yaml", "checks/gpu_9min.yaml")
    changed = {("corpus", "n_utterances"): 400, ("signals", "max_seconds"): 1.3, ("simulation", "shards"): 16,
               ("explain", "batch_size"): 64, ("training", "device"): "cuda",
               ("training", "loc_cnn", "max_epochs"): 100, ("training", "loc_cnn", "precision"): "bf16",
               ("training", "sample_cnn", "max_epochs"): 70, ("training", "sample_cnn", "precision"): "bf16"}
    for path, value in changed.items():
        *parents, key = path
        inner, original = check, copy.deepcopy(paper)
        for k in parents:
            inner, original = inner[k], original[k]
        assert inner[key] == value and original[key] != value, path
        inner[key] = original[key]
    assert check == paper
    command = "--configfile config/paper.yaml config/one_condition.yaml checks/gpu_9min.yaml"
    assert command in (REPO / "checks" / "RESULTS.md").read_text()
    assert command in (REPO / "checks" / "gpu_9min.yaml").read_text()


GPU_CHECK = "snakemake --cores 16 --configfile config/paper.yaml config/one_condition.yaml checks/gpu_9min.yaml"


def test_the_9_minute_gpu_check_plans_the_jobs_its_documented_dry_run_lists(tmp_path):
    """The documented command (README's table, checks/RESULTS.md) dry-runs to one paper condition's jobs with 16
    simulation shards, and to exactly the job table RESULTS.md shows."""
    import re
    from collections import Counter

    from conftest import REPO
    from test_paper_scale import EXPECTED, dry_run

    jobs = Counter(rule for rule, _, _ in dry_run(GPU_CHECK, tmp_path))
    assert jobs == {**EXPECTED, "simulate_shard": 16}
    results = (REPO / "checks" / "RESULTS.md").read_text()
    section = results[results.index("## Prepared 9-minute GPU check"):]
    listed = section[section.index("job  "):]
    table = dict(re.findall(r"^(\w+) +(\d+)$", listed[:listed.index("\ntotal ")], re.M))
    assert {rule: int(n) for rule, n in table.items()} == jobs
    assert f"`{GPU_CHECK}`" in (REPO / "README.md").read_text() and GPU_CHECK in results
