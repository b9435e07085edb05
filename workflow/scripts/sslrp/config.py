"""Workflow configuration: schema validation with defaults, semantic checks, and per-condition settings.

Used by workflow/rules/common.smk (before any job is scheduled) and by the step scripts' command lines,
so both see exactly the same settings.
"""

import copy
import math
import sys
from pathlib import Path

import jsonschema
import numpy as np
import yaml

from . import names
from .data import geometry, recordings
from .io import non_finite

SCHEMA = Path(__file__).resolve().parents[3] / "config" / "schema.yaml"


# The paper's Adam learning rates, used where `training.{model}.lr` is left null; a model of your own gets Adam's
# default rate, DEFAULT_LR.
PAPER_LR = {"loc_cnn": 1e-3, "sample_cnn": 1e-2}
# SNRs [dB] the float32 windows can represent: float32 resolves about 7 digits (~140 dB), so beyond +-150 dB
# the noise (or the speech) is lost below the other's rounding, and far beyond it the noise power overflows.
SNR_RANGE = (-150, 150)
# Longest T60 [s] simulated: the image-source order grows with T60 (about 100 at 0.6 s in the paper's room,
# cost ~ order^3), and RIRs grow with it too; no measured room of interest reverberates longer.
T60_MAX = 10
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
    config_in, config = config, copy.deepcopy(dict(config))
    _add_user_training(config)
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema)
    # Filling defaults while validating: one pass fills, the second reports on the complete config.
    list(validator.iter_errors(config))
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [f"  {key_path(e.absolute_path)}: {e.message}" for e in errors]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines))
    _check_finite(config)
    _resolve_array(config, raw=config_in)
    if config["tdoa"]["pairs"] is None:  # three pairs from the array (the paper's on its array)
        config["tdoa"]["pairs"] = geometry.default_pairs(config["geometry"])
    _check_semantics(config)
    for model, settings in config["training"].items():
        if model not in TRAINING_KEYS and settings["lr"] is None:
            settings["lr"] = PAPER_LR.get(model, DEFAULT_LR)
    return config


def _check_finite(config):
    """No NaN or infinity anywhere (YAML `.nan`, `.inf`): the schema's bounds let them through (NaN compares
    false to every bound), and the simulation would turn them into NaN windows or an overflow."""
    bad = non_finite(config)
    if bad:
        raise ConfigError(f"{bad[0]}: not a finite number (NaN or infinity); give a number"
                          + (f" (also non-finite: {', '.join(bad[1:])})" if bad[1:] else ""))


def _check_conditions(config):
    """Every condition's T60 is one the simulator can build in the room, and its SNR one float32 windows hold."""
    shortest = geometry.shortest_t60(config["geometry"]["room"])
    low, high = SNR_RANGE
    for i, cond in enumerate(config["conditions"]):
        if names.is_recorded(cond):  # recordings: checked with their manifest (_check_recordings)
            continue
        if cond["t60"] < shortest:
            raise ConfigError(f"conditions[{i}].t60: {cond['t60']:g} s is shorter than the room "
                              f"{config['geometry']['room']} (geometry.room) can reverberate (Sabine: "
                              f"{shortest:.4f} s with every reflection fully absorbed; pyroomacoustics refuses "
                              f"it); use at least {math.ceil(shortest * 1000) / 1000:g} s, or a larger room")
        if cond["t60"] > T60_MAX:
            raise ConfigError(f"conditions[{i}].t60: {cond['t60']:g} s is beyond the {T60_MAX} s the simulation "
                              "supports (the image-source order and the RIRs grow with T60); use at most "
                              f"{T60_MAX} s")
        if not low <= cond["snr"] <= high:
            raise ConfigError(f"conditions[{i}].snr: {cond['snr']:g} dB is outside {low}..{high} dB, what the "
                              "float32 windows can hold (beyond it the speech or the noise vanishes in the other's "
                              f"rounding); for speech with no audible noise use {high}")


def _resolve_array(config, raw):
    """With `geometry.array.positions`, `n_mics` is their number (a different `n_mics` in the user's config is an
    error, not a silent choice)."""
    array = config["geometry"]["array"]
    if array.get("positions") is None:
        return
    given = ((raw.get("geometry") or {}).get("array") or {}).get("n_mics")
    if given is not None and given != len(array["positions"]):
        raise ConfigError(f"geometry.array.n_mics: {given}, but geometry.array.positions lists "
                          f"{len(array['positions'])} microphones; drop n_mics (it follows the positions)")
    array["n_mics"] = len(array["positions"])
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
    _check_conditions(config)
    known = [names.condition_name(c) for c in config["conditions"]]
    duplicates = sorted({n for n in known if known.count(n) > 1})
    if duplicates:
        raise ConfigError(f"conditions: duplicate condition(s) {', '.join(duplicates)}")
    _check_recordings(config, known)
    n_mics = config["geometry"]["array"]["n_mics"]
    for i, pair in enumerate(config["tdoa"]["pairs"]):
        if max(pair) >= n_mics or pair[0] == pair[1]:
            raise ConfigError(f"tdoa.pairs[{i}]: {pair} must be two different mics in 0..{n_mics - 1}")
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
    repeated = sorted({p for p in percents if percents.count(p) > 1})
    if repeated:
        raise ConfigError(f"manipulation.percents: {percents} lists {', '.join(f'{p:g}' for p in repeated)} more "
                          "than once, which would count it twice in the AOPC and SRG tables; list each percentage "
                          "once")
    if 0 not in percents or max(percents) <= 0:
        raise ConfigError(f"manipulation.percents: {percents} must hold 0 and a larger value (AOPC is relative "
                          "to P = 0)")
    m = config["manipulation"]
    if not set(m["figure_orderings"]) & set(m["orderings"]):
        raise ConfigError(f"manipulation.figure_orderings: none of {m['figure_orderings']} is computed "
                          f"(manipulation.orderings: {m['orderings']})")
    not_computed = [o for o in m["magnitude_orderings"] if o not in m["orderings"]]
    if not_computed:
        raise ConfigError(f"manipulation.magnitude_orderings: {not_computed} are not computed (manipulation.orderings: "
                          f"{m['orderings']}); add them there or remove them here")
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
    array_key = "geometry.array.positions" if geo["array"].get("positions") is not None else "geometry.array"
    for key, points in (("geometry.grid", np.array(corners)), (array_key, geometry.mic_positions(geo))):
        outside = ~((points > 0) & (points < room)).all(axis=1)
        if outside.any():
            example = np.round(points[outside][0], 3).tolist()
            raise ConfigError(f"{key}: positions such as {example} lie outside the room {room.tolist()} "
                              "(geometry.room)")


def _check_recordings(config, known):
    """Every recorded condition's manifest and files (headers only), its `models_from` (a simulated condition) and
    its splits: test recordings always, train and val ones when its models are trained on the recordings."""
    simulated = [names.condition_name(c) for c in config["conditions"] if not names.is_recorded(c)]
    geo, window = config["geometry"], config["signals"]["window"]
    for i, cond in enumerate(config["conditions"]):
        if not names.is_recorded(cond):
            continue
        key, name = f"conditions[{i}]", cond["name"]
        try:
            rows = recordings.read_manifest(cond["recordings"], geo["array"]["n_mics"], geo["room"], geo["fs"],
                                            window)
        except recordings.RecordingsError as err:
            raise ConfigError(f"{key}.recordings: {err}") from err
        splits = {row.split for row in rows}
        source = cond.get("models_from")
        if source is not None:
            if source not in simulated:
                raise ConfigError(f"{key}.models_from: {source!r} is not a simulated condition (simulated: "
                                  f"{', '.join(simulated) or 'none'})")
            for model, table in config["pretrained"].items():
                if name in table:
                    raise ConfigError(f"pretrained.{model}.{name}: {name} takes its models from {source} "
                                      f"({key}.models_from); give the checkpoint to {source} instead")
            if name in config["training"]["warm_start"] or name in config["training"]["warm_start"].values():
                raise ConfigError(f"training.warm_start: {name} takes its models from {source} ({key}.models_from) "
                                  "and trains none")
        needed = {"test"} if source is not None else set(geometry.SPLITS)
        if needed - splits:
            why = "" if source is not None else (" (without models_from the models are trained on the recordings, "
                                                 "which needs train and val recordings; or set models_from)")
            raise ConfigError(f"{key}.recordings: {cond['recordings']} has no {' or '.join(sorted(needed - splits))} "
                              f"recording{why}")


def load(path):
    """Read a YAML config file and validate it; errors name the file (a parse error also its line)."""
    try:
        with open(path) as f:  # from a file, YAML's errors name it
            raw = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read the configuration ({err}); fix the file (it must be YAML)") from err
    if not isinstance(raw, dict):
        found = "is empty" if raw is None else f"holds a {type(raw).__name__}, not a mapping of keys"
        raise ConfigError(f"{path}: the configuration {found}; write it as `key: value` lines, at least "
                          "`conditions:` (see config/config.yaml and config/README.md)")
    try:
        return validate(raw)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from err


def conditions(config):
    """Condition name -> that condition's complete settings: a simulation's with the global defaults resolved, a
    recorded condition's as given (name, recordings, models_from).

    Rules pass only this dict to a condition's jobs, so editing one condition re-runs only its jobs.
    """
    out = {}
    for cond in config["conditions"]:
        settings = dict(cond) if names.is_recorded(cond) else {"max_order": config["simulation"]["max_order"], **cond}
        out[names.condition_name(cond)] = settings
    return out


def main(argv=None):
    """`python -m sslrp.config FILE...`: check config files one by one, naming the file (and the line of a YAML
    error), where Snakemake's own message for a file it cannot parse names neither."""
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: PYTHONPATH=workflow/scripts python -m sslrp.config FILE...", file=sys.stderr)
        return 2
    failed = 0
    for path in paths:
        try:
            load(path)
            print(f"{path}: a valid configuration")
        except ConfigError as err:
            print(err, file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
