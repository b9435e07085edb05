"""Workflow configuration: schema validation with defaults, semantic checks, and per-condition settings.

Used by workflow/rules/common.smk (before any job is scheduled) and by the step scripts' command lines,
so both see exactly the same settings.
"""

import copy
from pathlib import Path

import jsonschema
import numpy as np
import yaml

from . import names
from .data import geometry

SCHEMA = Path(__file__).resolve().parents[3] / "config" / "schema.yaml"


# The paper's Adam learning rates, used where `training.{model}.lr` is left null; a model of your own gets Adam's
# default rate, DEFAULT_LR.
PAPER_LR = {"loc_cnn": 1e-3, "sample_cnn": 1e-2}
DEFAULT_LR = 1e-3
# The keys of `training` that are not models' settings.
TRAINING_KEYS = ("device", "threads", "replicates", "warm_start")


class ConfigError(ValueError):
    """The configuration is invalid; the message names the offending key."""


def _with_defaults(validator_class):
    # jsonschema validates but never fills defaults; this is the extension its documentation suggests.
    validate_properties = validator_class.VALIDATORS["properties"]

    def fill(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": fill})


def key_path(path):
    """`conditions[0].t60` from a jsonschema error path."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "(top level)"


def validate(config, schema_path=SCHEMA):
    """Return a validated copy of `config` with defaults filled in; raise ConfigError naming the key."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    config = copy.deepcopy(dict(config))
    _add_user_training(config)
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema)
    # Filling defaults while validating: one pass fills, the second reports on the complete config.
    list(validator.iter_errors(config))
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [f"  {key_path(e.absolute_path)}: {e.message}" for e in errors]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines))
    _check_semantics(config)
    for model, settings in config["training"].items():
        if model not in TRAINING_KEYS and settings["lr"] is None:
            settings["lr"] = PAPER_LR.get(model, DEFAULT_LR)
    return config


def model_names(config):
    """The names of the config's `models:` entries, in order (a built-in's name, a user model's `name`)."""
    return [names.model_name(entry) for entry in config["models"]]


def _add_user_training(config):
    """An empty `training.<name>` for every user model without one, so the schema fills in the defaults."""
    entries = config.get("models")
    if isinstance(entries, list) and isinstance(config.get("training", {}), dict):
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                config.setdefault("training", {}).setdefault(entry["name"], {})


def _check_models(config):
    """Model names are unique; `training` and `pretrained` keys name models; a user model's files exist."""
    known = model_names(config)
    duplicates = sorted({n for n in known if known.count(n) > 1})
    if duplicates:
        raise ConfigError(f"models: the name(s) {', '.join(duplicates)} appear more than once; give each model its own")
    for key, allowed in (("training", set(known) | set(names.MODELS) | set(TRAINING_KEYS)),
                         ("pretrained", set(known) | set(names.MODELS))):
        for name in config[key]:
            if name not in allowed:
                raise ConfigError(f"{key}.{name}: no model of that name in `models:` (models: {', '.join(known)})")
    for i, entry in enumerate(config["models"]):
        if isinstance(entry, str):
            continue
        for field in ("class_path", "canonizers"):
            reference = entry[field] or ""
            if ":" in reference and not Path(reference.rpartition(":")[0]).is_file():
                raise ConfigError(f"models[{i}].{field}: {reference!r}: no file {reference.rpartition(':')[0]!r} "
                                  f"(relative to {Path.cwd()}); give 'path/file.py:Name' or 'package.module.Name'")


def _check_semantics(config):
    known = [names.condition_name(c) for c in config["conditions"]]
    duplicates = sorted({n for n in known if known.count(n) > 1})
    if duplicates:
        raise ConfigError(f"conditions: duplicate condition(s) {', '.join(duplicates)}")
    n_mics = config["geometry"]["array"]["n_mics"]
    pair = config["tdoa"]["pair"]
    if max(pair) >= n_mics or pair[0] == pair[1]:
        raise ConfigError(f"tdoa.pair: {pair} must be two different mics in 0..{n_mics - 1}")
    for model, table in config["pretrained"].items():
        for cond, path in table.items():
            if cond not in known:
                raise ConfigError(f"pretrained.{model}.{cond}: no such condition (known: {', '.join(known)})")
            if not Path(path).is_file():
                raise ConfigError(f"pretrained.{model}.{cond}: checkpoint {path!r} does not exist")
            if config["training"]["replicates"] > 1:
                raise ConfigError(f"pretrained.{model}.{cond}: a pretrained checkpoint is one model, but "
                                  f"training.replicates is {config['training']['replicates']}; set it to 1, or "
                                  "remove the checkpoint to train every replicate")
    _check_warm_start(config["training"]["warm_start"], known)
    percents = config["manipulation"]["percents"]
    if 0 not in percents or max(percents) <= 0:
        raise ConfigError(f"manipulation.percents: {percents} must hold 0 and a larger value (AOPC is relative "
                          "to P = 0)")
    m = config["manipulation"]
    if not set(m["figure_orderings"]) & set(m["orderings"]):
        raise ConfigError(f"manipulation.figure_orderings: none of {m['figure_orderings']} is computed "
                          f"(manipulation.orderings: {m['orderings']})")
    for i, p in enumerate(config["srp"]["pairs"] or []):
        if max(p) >= n_mics or p[0] == p[1]:
            raise ConfigError(f"srp.pairs[{i}]: {p} must be two different mics in 0..{n_mics - 1}")
    window = config["signals"]["window"]
    _check_models(config)
    for model in (m for m in model_names(config) if m in names.MIN_WINDOW):  # a user model's: the check step's
        if window < names.MIN_WINDOW[model]:
            raise ConfigError(f"signals.window: {window} is shorter than {model}'s minimum {names.MIN_WINDOW[model]}")
    if config["corpus"]["kind"] in ("wav_dir",) and not config["corpus"]["path"]:
        raise ConfigError("corpus.path: required for corpus.kind 'wav_dir'")
    _check_sources(config)
    fs, seconds = config["geometry"]["fs"], config["signals"]["max_seconds"]
    if seconds is not None and int(seconds * fs) < window:
        raise ConfigError(f"signals.max_seconds: utterances cut to {seconds:g} s ({int(seconds * fs)} samples at "
                          f"{fs} Hz) are shorter than one window (signals.window: {window}); raise it or lower the "
                          "window")


def _check_warm_start(warm_start, known):
    """Both ends of every `training.warm_start` pair are conditions, and the starts form chains, not cycles."""
    for cond, source in warm_start.items():
        for name in (cond, source):
            if name not in known:
                raise ConfigError(f"training.warm_start.{cond}: no such condition {name!r} (known: {', '.join(known)})")
    for cond in warm_start:
        seen = [cond]
        while seen[-1] in warm_start:
            seen.append(warm_start[seen[-1]])
            if seen[-1] in seen[:-1]:
                raise ConfigError(f"training.warm_start: the starts form a cycle ({' -> '.join(seen)}); each "
                                  "condition must lead back to one trained from random weights")


def _check_sources(config):
    """Every split has sources, every shard has sources, and sources and microphones lie inside the room."""
    geo = config["geometry"]
    sizes = geometry.split_sizes(geo)
    xy = geometry.grid_xy(geo)
    if not sizes["test"]:
        span = f"x {xy[:, 0].min():.3f}..{xy[:, 0].max():.3f}, y {xy[:, 1].min():.3f}..{xy[:, 1].max():.3f}"
        raise ConfigError(f"geometry.test_square: x {geo['test_square']['x']}, y {geo['test_square']['y']} holds "
                          f"no grid point (the grid spans {span}; the square's edges are excluded); move the square "
                          "into the grid or refine geometry.grid")
    for split in ("train", "val"):
        if not sizes[split]:
            outside = sizes["train"] + sizes["val"]
            raise ConfigError(f"geometry.val_fraction: {geo['val_fraction']} of the {outside} sources outside the "
                              f"test square leaves the {split} split empty; choose a fraction that leaves sources in "
                              "both, or refine geometry.grid")
    shards, n_sources = config["simulation"]["shards"], len(xy)
    if shards > n_sources:
        raise ConfigError(f"simulation.shards: {shards} shards for {n_sources} sources would leave shards empty; "
                          f"use at most {n_sources}")
    room = np.asarray(geo["room"], float)
    lowest, highest = geo["grid"]["height"]
    corners = [[*p, z] for p in (xy.min(axis=0), xy.max(axis=0)) for z in (lowest, highest)]
    for key, points in (("geometry.grid", np.array(corners)), ("geometry.array", geometry.mic_positions(geo))):
        outside = ~((points > 0) & (points < room)).all(axis=1)
        if outside.any():
            example = np.round(points[outside][0], 3).tolist()
            raise ConfigError(f"{key}: positions such as {example} lie outside the room {room.tolist()} "
                              "(geometry.room)")


def load(path):
    """Read a YAML config file and validate it."""
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read the configuration ({err})") from err
    return validate(raw)


def conditions(config):
    """Condition name -> that condition's complete simulation settings (global defaults resolved).

    Rules pass only this dict to a condition's jobs, so editing one condition re-runs only its jobs.
    """
    out = {}
    for cond in config["conditions"]:
        settings = {"max_order": config["simulation"]["max_order"], **cond}
        out[names.condition_name(cond)] = settings
    return out
