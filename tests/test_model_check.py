"""Models of your own (issue 18): the registry builds them from `class_path` / `init_args`, the check step names
what is wrong with one (import, constructor, output shape, window too short) and reports unknown layer types and
conservation, the generic LRP composite follows the entry's rules and canonizer hook, and the randomization
cascade re-initializes every parameter-owning module from the output to the input."""

import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from zennit.layer import Sum
from zennit.rules import Epsilon, Flat, Gamma, WSquare, ZPlus

from conftest import REPO
from sslrp import config as configuration
from sslrp import names
from sslrp.explain import lrp, model_check, randomization
from sslrp.localize import models, training
from sslrp.localize.models import ModelError
from sslrp.seeding import rng

EXAMPLE = {"name": "tiny_resnet", "class_path": f"{REPO}/examples/tiny_resnet.py:TinyResNet",
           "init_args": {"channels": 8}, "canonizers": f"{REPO}/examples/tiny_resnet_lrp.py:canonizers"}
WINDOW, MICS = 256, 4


def _model_file(tmp_path, stem, body):
    """A model file `stem`.py in tmp_path; its entry's class_path names its class `Net`."""
    path = tmp_path / f"{stem}.py"
    path.write_text("import torch\nfrom torch import nn\n\n" + textwrap.dedent(body))
    return {"name": stem, "class_path": f"{path}:Net"}


def test_the_example_passes_the_check_with_its_canonizer_and_no_unknown_layer():
    report = model_check.check(EXAMPLE, WINDOW, MICS, seed=1)
    assert report["output_shape"] == [model_check.BATCH, 3]
    assert report["unknown_layers"] == {}
    assert report["parameters"] == sum(p.numel() for p in models.build(EXAMPLE, WINDOW, MICS).parameters())
    assert report["randomization_groups"] == ["out", "block.conv2+block.bn2", "block.conv1+block.bn1", "conv+bn"]
    assert 0 < report["conservation"]["median"] < 10
    localizer = models.spec(EXAMPLE).wrap(models.build(EXAMPLE, WINDOW, MICS).eval())
    with lrp.composite(localizer).context(localizer.module):  # the hook's canonizer is in the composite
        assert isinstance(localizer.module.block.canonizer_sum, Sum)
    assert not hasattr(localizer.module.block, "canonizer_sum")


def test_the_check_report_matches_an_independent_lrp_of_the_same_batch():
    report = model_check.check(EXAMPLE, WINDOW, MICS, seed=1)
    assert report == model_check.check(EXAMPLE, WINDOW, MICS, seed=1)  # seeded weights and batch
    with torch.random.fork_rng(devices=[]):
        training.manual_seed(1, "check/tiny_resnet")
        module = models.build(EXAMPLE, WINDOW, MICS).eval()
    batch = rng(1, "check/tiny_resnet").standard_normal((model_check.BATCH, MICS, WINDOW)).astype(np.float32)
    with torch.no_grad():
        out = module(torch.from_numpy(batch)).numpy()
    assert out.shape == (model_check.BATCH, 3)
    rel = lrp.relevance(models.spec(EXAMPLE).wrap(module), batch, np.ones_like(out), batch_size=1)
    ratios = rel.reshape(len(rel), -1).sum(axis=1) / 3
    assert report["conservation"]["median"] == pytest.approx(np.median(ratios), rel=1e-4)
    assert report["conservation"]["n_windows"] == model_check.BATCH
    assert report != model_check.check(EXAMPLE, WINDOW, MICS, seed=2)


def test_window_and_mics_come_from_the_config_and_init_args_may_not_contradict_them():
    module = models.build(EXAMPLE, WINDOW, MICS)
    assert module.conv.in_channels == MICS and module.out.in_features == 8
    with pytest.raises(ModelError, match=r"init_args\.window: 512 differs from signals\.window \(256\)"):
        models.build({**EXAMPLE, "init_args": {"window": 512}}, WINDOW, MICS)
    agreeing = {**EXAMPLE, "init_args": {"window": WINDOW, "n_mics": MICS}}
    assert models.build(agreeing, WINDOW, MICS).conv.in_channels == MICS


def _shadowing_files(folder):
    """The worked example under names of installed modules: the model class in `random.py`, which imports it from
    its neighbour `shadow_blocks.py` (the example's model file), and the canonizer hook in `torch.py` (the example's
    hook, which imports the real torch and the neighbour's ResidualBlock)."""
    shutil.copy(REPO / "examples" / "tiny_resnet.py", folder / "shadow_blocks.py")
    (folder / "random.py").write_text("from shadow_blocks import TinyResNet  # a neighbour\n")
    hook = (REPO / "examples" / "tiny_resnet_lrp.py").read_text().replace("from tiny_resnet ", "from shadow_blocks ")
    (folder / "torch.py").write_text(hook)
    return {**EXAMPLE, "class_path": f"{folder}/random.py:TinyResNet", "canonizers": f"{folder}/torch.py:canonizers"}


def test_model_files_named_like_installed_modules_shadow_nothing(tmp_path):
    import random

    path_before, random_before = list(sys.path), random
    entry = _shadowing_files(tmp_path)
    report = model_check.check(entry, WINDOW, MICS, seed=1)
    assert report["unknown_layers"] == {}
    example = model_check.check(EXAMPLE, WINDOW, MICS, seed=1)  # the same model and hook under other names
    assert {k: v for k, v in report.items() if k not in ("class_path", "canonizers")} == {
        k: v for k, v in example.items() if k not in ("class_path", "canonizers")}
    assert sys.path == path_before  # the folder was on the path only while the files ran
    assert sys.modules["random"] is random_before and callable(sys.modules["random"].Random)
    assert sys.modules["torch"] is torch and hasattr(torch, "nn")
    module = models.spec(entry).factory
    assert sys.modules[module.__module__].__file__ == str(tmp_path / "shadow_blocks.py")
    hook = models.import_object(entry["canonizers"], "models[0].canonizers")
    assert hook.__module__.startswith("sslrp_user_torch_") and hook.__module__ != "torch"
    assert models.import_object(entry["canonizers"], "x") is hook  # imported once per process
    localizer = models.spec(entry).wrap(models.build(entry, WINDOW, MICS).eval())
    with lrp.composite(localizer).context(localizer.module):  # the hook's isinstance sees the model's class
        assert isinstance(localizer.module.block.canonizer_sum, Sum)


def test_a_wrong_output_shape_fails_naming_the_key_the_file_and_the_contract(tmp_path):
    entry = _model_file(tmp_path, "two_outputs", """
        class Net(nn.Module):
            def __init__(self, n_mics):
                super().__init__()
                self.fc = nn.Linear(n_mics, 2)

            def forward(self, x):
                return self.fc(x.mean(-1))
        """)
    with pytest.raises(ModelError) as err:
        model_check.check(entry, WINDOW, MICS, seed=0, index=1)
    message = str(err.value)
    assert "models[1]" in message and "two_outputs.py:Net" in message
    assert "forward returned [4, 2]" in message and "[batch, 3]" in message


def test_an_import_error_fails_naming_the_key_and_the_file(tmp_path):
    entry = _model_file(tmp_path, "broken_import", "import no_such_package_here\n")
    with pytest.raises(ModelError, match=r"models\[0\]\.class_path: importing .*broken_import\.py.* failed "
                                         r"\(ModuleNotFoundError: No module named 'no_such_package_here'\)"):
        model_check.check(entry, WINDOW, MICS, seed=0, index=0)
    with pytest.raises(ModelError, match=r"models\[0\]\.class_path: .*missing\.py.*: no file"):
        models.spec({"name": "x", "class_path": f"{tmp_path}/missing.py:Net"}, 0)
    with pytest.raises(ModelError, match=r"the module has no 'Nett'"):
        models.spec({"name": "x", "class_path": f"{REPO}/examples/tiny_resnet.py:Nett"}, 0)


def test_a_constructor_error_fails_naming_the_key_the_file_and_the_error(tmp_path):
    entry = _model_file(tmp_path, "bad_init", """
        class Net(nn.Module):
            def __init__(self, n_mics, width):
                super().__init__()
                raise RuntimeError(f"width {width} is odd")
        """)
    entry["init_args"] = {"width": 3}
    with pytest.raises(ModelError, match=r"models\[2\] \(.*bad_init\.py:Net\): building Net\(\*\*\{'width': 3, "
                                         r"'n_mics': 4\}\) failed .*RuntimeError: width 3 is odd\); fix the model"):
        model_check.check(entry, WINDOW, MICS, seed=0, index=2)


def test_a_window_too_short_for_the_model_is_named_as_such(tmp_path):
    entry = _model_file(tmp_path, "deep_pool", """
        class Net(nn.Module):
            def __init__(self, n_mics):
                super().__init__()
                self.conv = nn.Conv1d(n_mics, 4, 3)
                self.pool = nn.MaxPool1d(512)
                self.fc = nn.Linear(4, 3)

            def forward(self, x):
                return self.fc(self.pool(self.conv(x)).mean(-1))
        """)
    with pytest.raises(ModelError, match=r"the forward pass failed for windows of 256 samples.*the window is too "
                                         r"short for the model \(it works with 1024 samples\): raise signals\.window"):
        model_check.check(entry, WINDOW, MICS, seed=0)


def test_unknown_layer_types_are_named_with_their_modules(tmp_path):
    entry = _model_file(tmp_path, "odd_layers", """
        class Scale(nn.Module):
            def __init__(self):
                super().__init__()
                self.factor = nn.Parameter(torch.ones(1))

            def forward(self, x):
                return x * self.factor

            def reset_parameters(self):
                nn.init.ones_(self.factor)

        class Net(nn.Module):
            def __init__(self, n_mics, window):
                super().__init__()
                self.norm = nn.BatchNorm1d(n_mics)
                self.conv = nn.Conv1d(n_mics, 4, 3, padding=1)
                self.layer_norm = nn.LayerNorm(window)
                self.scale = Scale()
                self.fc = nn.Linear(4, 3)

            def forward(self, x):
                return self.fc(self.scale(self.layer_norm(self.conv(self.norm(x)))).mean(-1))
        """)
    report = model_check.check(entry, WINDOW, MICS, seed=0)
    assert report["unknown_layers"] == {"BatchNorm1d (not merged)": ["norm"], "LayerNorm": ["layer_norm"],
                                        "Scale": ["scale"]}
    assert report["randomization_groups"] == ["fc", "scale", "layer_norm", "conv", "norm"]


def test_the_entry_chooses_the_rules_of_the_generic_composite():
    spec = models.spec({**EXAMPLE, "lrp": {"first": "flat", "conv": "zplus", "linear": "epsilon"}})
    module = spec.build(WINDOW, MICS)
    composite, ctx = lrp.composite(spec.wrap(module), lean=False), {}  # zennit's own classes
    rules = {name: type(composite.module_map(ctx, name, m)) for name, m in module.named_modules()}
    assert (rules["conv"], rules["block.conv1"], rules["block.conv2"], rules["out"]) == (Flat, ZPlus, ZPlus, Epsilon)
    default = models.spec(EXAMPLE)
    composite, ctx = lrp.composite(default.wrap(module), lean=False), {}
    rules = {name: type(composite.module_map(ctx, name, m)) for name, m in module.named_modules()}
    assert (rules["conv"], rules["block.conv1"], rules["out"]) == (WSquare, Gamma, Epsilon)


def test_the_cascade_of_a_user_model_reinitializes_modules_from_the_output_to_the_input():
    spec = models.spec(EXAMPLE)
    torch.manual_seed(0)
    module = spec.build(WINDOW, MICS)
    with torch.no_grad():
        for value in module.state_dict().values():
            if value.is_floating_point():
                value.add_(0.5)
    original = {k: v.clone() for k, v in module.state_dict().items()}
    groups = [["out."], ["block.conv2.", "block.bn2."], ["block.conv1.", "block.bn1."], ["conv.", "bn."]]
    for depth, label, randomized in randomization.randomized(spec.wrap(module), seed=2, purpose="test"):
        done = [p for group in groups[:depth] for p in group]
        for key, value in randomized.module.state_dict().items():
            if not key.endswith("num_batches_tracked"):
                assert (not torch.equal(value, original[key])) == key.startswith(tuple(done)), (label, key)
    assert all(torch.equal(v, original[k]) for k, v in module.state_dict().items())


def test_config_accepts_a_user_model_with_training_defaults_and_names_wrong_keys(tmp_path):
    base = {"conditions": [{"t60": 0.2, "snr": 20}], "models": ["loc_cnn", EXAMPLE]}
    config = configuration.validate(base)
    assert configuration.model_names(config) == ["loc_cnn", "tiny_resnet"]
    assert config["training"]["tiny_resnet"]["batch_size"] == 100 and config["training"]["tiny_resnet"]["lr"] == 1e-3
    assert config["models"][1]["lrp"] == {"first": "wsquare", "conv": "gamma", "linear": "epsilon"}
    for bad, message in [
        ({**base, "training": {"tiny_resnett": {}}}, "training.tiny_resnett: no model of that name"),
        ({**base, "pretrained": {"other": {}}}, "pretrained.other: no model of that name"),
        ({**base, "models": [EXAMPLE, {**EXAMPLE, "init_args": {}}]}, "tiny_resnet appear more than once"),
        ({**base, "models": [{**EXAMPLE, "class_path": f"{tmp_path}/none.py:Net"}]}, r"models\[0\]\.class_path"),
        ({**base, "models": [{**EXAMPLE, "name": "loc_cnn"}]}, r"models\[0\]\.name"),
        ({**base, "models": [{**EXAMPLE, "lrp": {"conv": "alpha"}}]}, r"models\[0\]\.lrp\.conv"),
        ({**base, "models": ["resnet"]}, r"models\[0\]"),
    ]:
        with pytest.raises(configuration.ConfigError, match=message):
            configuration.validate(bad)


def test_check_step_cli_writes_the_report_and_fails_with_the_message(tmp_path):
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"conditions": [{"t60": 0.2, "snr": 20}], "signals": {"window": 768},
                                  "models": [{**EXAMPLE, "class_path": "examples/tiny_resnet.py:TinyResNet",
                                              "canonizers": "examples/tiny_resnet_lrp.py:canonizers"}]}))
    script = REPO / "workflow" / "scripts" / "check_model.py"
    done = subprocess.run([sys.executable, str(script), "--config", str(config), "--model", "tiny_resnet",
                           "--out", "out.json"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["model"] == "tiny_resnet" and report["window"] == 768 and report["unknown_layers"] == {}
    (tmp_path / "examples" / "tiny_resnet.py").write_text("raise ImportError('half-edited')\n")
    done = subprocess.run([sys.executable, str(script), "--config", str(config), "--model", "tiny_resnet",
                           "--out", "out2.json"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode != 0 and not (tmp_path / "out2.json").exists()
    assert "models[0].class_path: importing 'examples/tiny_resnet.py' failed (ImportError: half-edited)" in done.stderr


@pytest.mark.parametrize("name", names.MODELS)
def test_the_built_ins_have_no_layer_unknown_to_the_generic_composite(name):
    assert lrp.unknown_layers(models.spec(name).wrap(models.build(name, 1280))) == {}


def test_a_built_in_named_by_its_module_path_is_explained_exactly_as_the_built_in():
    entry = {"name": "my_loc_cnn", "class_path": "sslrp.localize.models.LocCNN"}
    torch.manual_seed(0)
    builtin = models.build("loc_cnn", 1280, 4).eval()
    own = models.build(entry, 1280, 4).eval()
    own.load_state_dict(builtin.state_dict())
    windows = np.random.default_rng(0).standard_normal((2, 4, 1280)).astype(np.float32)
    targets = np.array([[1.0, 2.0, 1.5], [2.0, 1.0, 1.2]], np.float32)
    np.testing.assert_array_equal(lrp.relevance(models.spec(entry).wrap(own), windows, targets),
                                  lrp.relevance(models.spec("loc_cnn").wrap(builtin), windows, targets))
    assert models.spec(entry).groups == "modules" and models.spec("loc_cnn").groups == "children"
