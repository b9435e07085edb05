"""The localization models: raw multichannel audio float32 [B, mics, W] -> positions (x, y, z) in metres [B, 3].

One registry for all of them: a `models:` entry of the config (a built-in's name, or a mapping with `class_path`
and `init_args` for a model of your own) becomes a `ModelSpec` (`spec`), which builds the torch module and says how
to explain it; a built module travels through the workflow with its spec as one `Localizer`. The paper's two
networks, LocCNN and SampleCNN, are written here and are the registry's `BUILTINS`.

Module names (and hence state-dict keys) follow the authors' published code, so their checkpoints load with
`load_state_dict(..., strict=True)`. Only the lengths that depend on the window W (LocCNN's flatten size,
SampleCNN's squeeze-and-excitation and final average-pool lengths) are derived from W instead of hard-coded
for W = 5120.

Two operations of SampleCNN are plain methods rather than inline operators, so that the LRP canonizers in
`sslrp.explain.lrp` can swap them without touching parameters: `ReSE.merge` (the residual add) and `SEBlock.excite`
(the gate product x * gate).
"""

import hashlib
import importlib
import importlib.util
import inspect
import pickle
import sys
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..io import rebuild_advice
from ..names import LRP_DEFAULTS, MIN_WINDOW, MODEL_LABELS, MODELS


def _pooled(length, *kernels):
    """Length after a chain of MaxPool1d layers (stride = kernel, no padding: floor division)."""
    for kernel in kernels:
        length //= kernel
    return length


def dense_dropout(dropout, x):
    """Apply a Dropout1d module to dense features [B, F] so that it drops features, not samples.

    Given a 2-D input, Dropout1d takes it as one unbatched [C, L] signal and zeroes whole rows, i.e. whole
    training samples (their outputs collapse to the output bias): what the published code does. Viewing the
    features as [B, F, 1] makes it ordinary per-feature dropout. Identical in eval mode; no parameters.
    """
    return dropout(x.unsqueeze(-1)).squeeze(-1)


class LocCNN(nn.Module):
    """Vera-Diaz et al. (2018) end-to-end localization CNN, as used by the paper ("LocCNN")."""

    def __init__(self, window=5120, n_mics=16):
        super().__init__()
        flat_length = _pooled(window, 7, 5, 5)
        if flat_length < 1:
            raise ValueError(f"LocCNN needs a window of at least {MIN_WINDOW['loc_cnn']} samples, got {window}")
        self.conv1 = nn.Conv1d(n_mics, 96, kernel_size=7, padding="same")
        self.conv2 = nn.Conv1d(96, 96, kernel_size=7, padding="same")
        self.conv3 = nn.Conv1d(96, 128, kernel_size=5, padding="same")
        self.conv4 = nn.Conv1d(128, 128, kernel_size=5, padding="same")
        self.conv5 = nn.Conv1d(128, 128, kernel_size=3, padding="same")
        self.pool1 = nn.MaxPool1d(7)
        self.pool2 = nn.MaxPool1d(5)
        self.pool3 = nn.MaxPool1d(5)
        self.fc1 = nn.Linear(128 * flat_length, 500)
        self.fc2 = nn.Linear(500, 3)
        self.dr1 = nn.Dropout1d(0.5)  # applied per feature: see dense_dropout()
        for i in range(1, 7):
            setattr(self, f"activation{i}", nn.ReLU())

    def forward(self, x):
        x = self.pool1(self.activation1(self.conv1(x)))
        x = self.activation2(self.conv2(x))
        x = self.pool2(self.activation3(self.conv3(x)))
        x = self.pool3(self.activation4(self.conv4(x)))
        x = self.activation5(self.conv5(x))
        x = dense_dropout(self.dr1, self.activation6(self.fc1(x.flatten(1))))
        return self.fc2(x)


class BasicBlock(nn.Module):
    """Conv1d (k3, same) -> BatchNorm1d -> ReLU. Registered in forward order so that zennit's
    `SequentialMergeBatchNorm` finds the conv -> bn pair."""

    def __init__(self, in_channels, out_channels, kernel_size=3):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding="same")
        self.bn = nn.BatchNorm1d(out_channels)
        self.activation = nn.ReLU()

    def forward(self, x):
        return self.activation(self.bn(self.conv(x)))


class SEBlock(nn.Module):
    """Squeeze-and-excitation over a fixed length: average over time -> dense1 + ReLU -> dense2 + Sigmoid
    -> per-channel gate that multiplies the input."""

    def __init__(self, channels, length):
        super().__init__()
        self.globalAvgPooling = nn.AvgPool1d(length)
        self.dense1 = nn.Linear(channels, channels)
        self.activation1 = nn.ReLU()
        self.dense2 = nn.Linear(channels, channels)
        self.activation2 = nn.Sigmoid()

    def forward(self, x):
        squeezed = self.globalAvgPooling(x).squeeze(-1)
        gate = self.activation2(self.dense2(self.activation1(self.dense1(squeezed))))
        return self.excite(x, gate.unsqueeze(-1))

    def excite(self, x, gate):
        """The gate product; an LRP canonizer overrides it to route relevance to one factor only."""
        return x * gate


class ReSE(nn.Module):
    """Residual squeeze-and-excitation block ("ReSE-2"): BasicBlock -> Dropout1d -> conv1 -> bn1, then
    ReLU(x + SE(x)) and MaxPool 3. `length` is the time length inside the block (what the SE averages)."""

    def __init__(self, in_channels, channels, length, dropout=0.2):
        super().__init__()
        self.BasicBlock = BasicBlock(in_channels, channels)
        self.dropout = nn.Dropout1d(dropout)
        self.conv1 = nn.Conv1d(channels, channels, kernel_size=3, padding="same")
        self.bn1 = nn.BatchNorm1d(channels)
        self.SEBlock = SEBlock(channels, length)
        self.activation = nn.ReLU()
        self.pool1 = nn.MaxPool1d(3)

    def forward(self, x):
        x = self.bn1(self.conv1(self.dropout(self.BasicBlock(x))))
        return self.pool1(self.activation(self.merge(x, self.SEBlock(x))))

    def merge(self, x, excited):
        """The residual add; an LRP canonizer overrides it with a zennit `Sum` module."""
        return x + excited


class SampleCNN(nn.Module):
    """SampleCNN with ReSE-2 blocks (Kim et al. 2018) adapted to localization, as used by the paper."""

    def __init__(self, window=5120, n_mics=16):
        super().__init__()
        lengths = [_pooled(window, *[3] * k) for k in range(1, 7)]  # after pool1, ReSE1, ..., ReSE5
        if lengths[-1] < 1:
            raise ValueError(f"SampleCNN needs a window of at least {MIN_WINDOW['sample_cnn']} samples, got {window}")
        self.BasicBlock1 = BasicBlock(n_mics, 64)
        self.pool1 = nn.MaxPool1d(3)
        for i in range(5):
            setattr(self, f"ReSE{i + 1}", ReSE(64 if i == 0 else 128, 128, lengths[i]))
        self.Avgpool1 = nn.AvgPool1d(lengths[-1])
        self.dense1 = nn.Linear(128, 256)
        self.bn1 = nn.BatchNorm1d(256)
        self.activation1 = nn.ReLU()
        self.dr1 = nn.Dropout1d(0.5)  # applied per feature: see dense_dropout()
        self.output_dense = nn.Linear(256, 3)

    def forward(self, x):
        x = self.pool1(self.BasicBlock1(x))
        for i in range(1, 6):
            x = getattr(self, f"ReSE{i}")(x)
        x = self.Avgpool1(x).squeeze(-1)
        x = dense_dropout(self.dr1, self.activation1(self.bn1(self.dense1(x))))
        return self.output_dense(x)


@dataclass(frozen=True)
class ModelSpec:
    """How to build one localization model of the workflow, and how to explain it: one `models:` entry.

    name: the workflow's name (file and folder names, `training.<name>`); label: its name on figures and tables;
    factory: the class (or any callable) that builds the torch module from keyword arguments; init_args: its
    arguments besides `window` and `n_mics`, which come from the config when the factory takes them;
    class_path: where the factory was found (None for the built-ins); lrp: the LRP rules of the first layer, the
    convolutions and the dense layers (sslrp.names.LRP_RULES); canonizers: a "file.py:function" or
    "package.module.function" hook that returns extra zennit canonizers, or None; groups: how the randomization
    cascade groups the parameters ("children": top-level children, the built-ins' named groups; "modules": every
    module that owns parameters); key: the config key the entry came from, for error messages.
    """

    name: str
    factory: Callable
    label: str
    init_args: Mapping = field(default_factory=dict)
    class_path: str | None = None
    lrp: Mapping = field(default_factory=lambda: dict(LRP_DEFAULTS))
    canonizers: str | None = None
    groups: str = "children"
    key: str = "models"

    def arguments(self, window, n_mics):
        """The factory's keyword arguments: init_args plus `window` and `n_mics` where the factory takes them."""
        kwargs = dict(self.init_args)
        try:
            accepted = inspect.signature(self.factory).parameters
        except (TypeError, ValueError):  # a callable without a signature gets init_args only
            accepted = {}
        takes_any = any(p.kind == p.VAR_KEYWORD for p in accepted.values())
        for arg, value in (("window", window), ("n_mics", n_mics)):
            if arg in kwargs and kwargs[arg] != value:
                source = "signals.window" if arg == "window" else "geometry.array.n_mics"
                raise ModelError(f"{self.key}.init_args.{arg}: {kwargs[arg]} differs from {source} ({value}); the "
                                 f"workflow builds {self.name} for its windows and array: remove init_args.{arg}")
            if arg in accepted or takes_any:
                kwargs[arg] = value
        return kwargs

    def build(self, window, n_mics=16):
        """A fresh torch module for windows of `window` samples from `n_mics` microphones."""
        return self.factory(**self.arguments(window, n_mics))

    def wrap(self, module):
        """The Localizer of `module`, built from this spec."""
        return Localizer(self, module)


@dataclass(frozen=True)
class Localizer:
    """A built localization model as it travels through the workflow: the torch `module` and its `spec` (how it
    was built, its LRP rules and canonizer hook, its randomization grouping)."""

    spec: ModelSpec
    module: nn.Module

    @property
    def name(self):
        return self.spec.name

    def with_module(self, module):
        """The same model with another module (e.g. a copy with re-initialized layers)."""
        return Localizer(self.spec, module)


class ModelError(ValueError):
    """A `models:` entry cannot be built or used; the message names the config key, the file and what to do."""


# The paper's two networks, as entries of the same registry a user model joins (sslrp.names.MODELS).
BUILTINS = {name: ModelSpec(name, cls, MODEL_LABELS[name], key=f"models.{name}")
            for name, cls in zip(MODELS, (LocCNN, SampleCNN))}


def import_object(reference, key):
    """The object a reference names: "path/to/file.py:Name" (a file, relative to the working directory; see
    `import_file`) or "package.module.Name" (importable from the working directory or the installed packages).

    Raises ModelError naming `key`, the file and the original error when the file is missing, fails to import
    or lacks the name.
    """
    if ":" in reference:
        path, _, attr = reference.rpartition(":")
        file = Path(path)
        if not file.is_file():
            raise ModelError(f"{key}: {reference!r}: no file {str(file)!r} (relative to {Path.cwd()})")
        try:
            module = import_file(file)
        except Exception as err:
            raise ModelError(f"{key}: importing {str(file)!r} failed ({type(err).__name__}: {err}); fix the file "
                             "and run again") from err
    else:
        module_path, _, attr = reference.rpartition(".")
        if not module_path:
            raise ModelError(f"{key}: {reference!r} is neither 'file.py:Name' nor 'package.module.Name'")
        sys.path.insert(0, str(Path.cwd()))
        try:
            module = importlib.import_module(module_path)
        except Exception as err:
            raise ModelError(f"{key}: importing {module_path!r} failed ({type(err).__name__}: {err}); fix it or "
                             "give the file as 'path/file.py:Name'") from err
        finally:
            sys.path.remove(str(Path.cwd()))
    if not hasattr(module, attr):
        raise ModelError(f"{key}: {reference!r}: the module has no {attr!r}")
    return getattr(module, attr)


def import_file(file):
    """The module of a user's Python file, imported by its path under a name of its own
    (`sslrp_user_<stem>_<hash of the path>`), so that no file name shadows anything: a model in `random.py` or
    `torch.py` leaves the standard library's `random` and the installed `torch` what they are.

    While the file runs, its folder is at the *end* of the import path, so it can import the files beside it
    (`from blocks import Block`) wherever no installed module has their name; afterwards the path is as before. The
    file is also its plain name (`tiny_resnet`) when nothing else has that name, so a neighbour that imports it (a
    canonizer hook: `from tiny_resnet import ResidualBlock`) gets the same module and the same classes. Imported
    once per process: a second reference to the file (the model, then its hook) returns the same module.
    """
    file = file.resolve()
    for module in (sys.modules.get(file.stem), sys.modules.get(_user_module_name(file))):
        if module is not None and _module_file(module) == file:
            return module
    name = _user_module_name(file)
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None:
        raise ImportError(f"{file.name} is not a Python file (give a .py file)")
    module = importlib.util.module_from_spec(spec)
    aliases = [name] + ([file.stem] if _name_is_free(file.stem, file) else [])
    for alias in aliases:
        sys.modules[alias] = module  # before it runs: dataclasses and circular imports look it up
    folder, added = str(file.parent), str(file.parent) not in sys.path
    if added:
        sys.path.append(folder)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        for alias in aliases:
            sys.modules.pop(alias, None)
        raise
    finally:
        if added and folder in sys.path:
            sys.path.remove(folder)
    return module


def _user_module_name(file):
    """The module name of a user's file: its stem (made an identifier) and a hash of its absolute path."""
    stem = "".join(c if c.isalnum() else "_" for c in file.stem)
    return f"sslrp_user_{stem}_{hashlib.sha256(str(file).encode()).hexdigest()[:12]}"


def _module_file(module):
    file = getattr(module, "__file__", None)
    return Path(file).resolve() if file else None


def _name_is_free(name, file):
    """Whether no module but `file` has the top-level name `name` (none imported, none installed)."""
    if not name.isidentifier() or name in sys.modules:
        return False
    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    return found is None or (found.origin is not None and Path(found.origin).resolve() == file)


def spec(entry, index=None):
    """The ModelSpec of a `models:` entry: a built-in's name, a mapping {name, class_path, init_args, label, lrp,
    canonizers} (the user model's class is imported here) or a ModelSpec (returned as it is). `index`: the entry's
    place in the config's `models:` list, for error messages."""
    if isinstance(entry, ModelSpec):
        return entry
    if isinstance(entry, str):
        if entry not in BUILTINS:
            raise ValueError(f"unknown model {entry!r}; valid names: {', '.join(MODELS)} (or a mapping with "
                             "name and class_path for a model of your own)")
        return BUILTINS[entry]
    key = f"models[{index}]" if index is not None else f"models (entry {entry['name']!r})"
    factory = import_object(entry["class_path"], f"{key}.class_path")
    if not callable(factory):
        raise ModelError(f"{key}.class_path: {entry['class_path']!r} is not a class")
    return ModelSpec(entry["name"], factory, entry.get("label") or entry["name"], dict(entry.get("init_args") or {}),
                     entry["class_path"], {**LRP_DEFAULTS, **(entry.get("lrp") or {})}, entry.get("canonizers"),
                     groups="modules", key=key)


def build(name, window, n_mics=16):
    """A fresh model (torch module) of a `models:` entry (see `spec`) for windows of `window` samples."""
    return spec(name).build(window, n_mics)


def _replace_advice(name, window):
    """What to do about a broken checkpoint of the user's (config key `pretrained`): no rule builds it, so
    `snakemake --forcerun` cannot; the user replaces the file, or lets the workflow train the model."""
    return (f"it is your checkpoint (config key `pretrained.{name}`), which no rule builds: replace the file with "
            f"a good {name} state dict for {window}-sample windows (torch.save(model.state_dict(), path)), or "
            f"remove its entry from `pretrained.{name}` to train the model instead")


def load(name, checkpoint, window, n_mics=16, user_file=False):
    """A model (torch module) built from a `models:` entry (see `spec`) with a checkpoint's weights (strict: names and
    shapes must match), in eval mode.

    Raises RuntimeError naming the file, the original error and what to do when it cannot be read (not a
    torch file, truncated, corrupt), does not fit the architecture or holds NaN weights. `user_file=True`: the
    user's own checkpoint (config key `pretrained`), which no rule builds, so the advice is to replace it.
    """
    model_spec = spec(name)
    model, name = model_spec.build(window, n_mics), model_spec.name
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        if not isinstance(state, Mapping):
            raise TypeError(f"holds a {type(state).__name__}, not a state dict")
        model.load_state_dict(state, strict=True)
    # What torch.load raises on a file that is not a checkpoint varies with the damage (an empty zip:
    # IndexError; a text file: UnpicklingError; cut short: RuntimeError or EOFError); each is reported.
    except (OSError, RuntimeError, KeyError, IndexError, EOFError, ValueError, TypeError, AttributeError,
            pickle.UnpicklingError, zipfile.BadZipFile) as err:
        advice = (_replace_advice(name, window) if user_file else
                  "If it is a pretrained checkpoint (config key `pretrained`), replace it with a state dict saved "
                  f"by torch.save(model.state_dict(), path) for this model and window; if the workflow trained it, "
                  f"{rebuild_advice(checkpoint)}")
        raise RuntimeError(f"{checkpoint}: not a {name} checkpoint for {window}-sample windows "
                           f"({type(err).__name__}: {err}). {advice}") from err
    broken = [key for key, value in state.items() if value.is_floating_point() and not value.isfinite().all()]
    if broken:
        advice = _replace_advice(name, window) if user_file else rebuild_advice(checkpoint)
        raise RuntimeError(f"{checkpoint}: weights {', '.join(broken[:5])} hold NaN or infinity (training "
                           f"diverged, or the file is damaged); {advice}")
    return model.eval()
