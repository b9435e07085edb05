"""Tests for sslrp.config's handling of odd values: integral floats at integer keys (every integer key of the schema,
read from the schema itself, so a key added later is covered too) and YAML alias bombs."""

import copy
import functools
import time

import pytest
import yaml

from conftest import TINY_RAW_CONFIG
from sslrp import config as configuration

SCHEMA = yaml.safe_load(configuration.SCHEMA.read_text())
ITEM, EXTRA = "[]", "{}"  # path steps: any item of an array, any key of an object's additionalProperties
EXTRA_NAME = "extra_name"  # the key used for an additionalProperties step


def _resolve(schema):
    """The schema a local `$ref` ("#/$defs/name") points to, merged under the referring schema's own keywords."""
    if "$ref" not in schema:
        return schema
    target = SCHEMA
    for part in schema["$ref"].lstrip("#/").split("/"):
        target = target[part]
    return {**_resolve(target), **{k: v for k, v in schema.items() if k != "$ref"}}


def _types(schema):
    kinds = schema.get("type", [])
    return kinds if isinstance(kinds, list) else [kinds]


def integer_keys(schema=SCHEMA, path=(), refs=()):
    """(path, schema) of every place the schema types `integer`: through properties, additionalProperties, array
    items (arrays of arrays too), $refs and the if/then/else, allOf, anyOf, oneOf branches."""
    if "$ref" in schema:
        if schema["$ref"] in refs:  # a recursive definition: its keys were found on the first visit
            return
        refs = (*refs, schema["$ref"])
    schema = _resolve(schema)
    if "integer" in _types(schema):
        yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from integer_keys(sub, (*path, name), refs)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from integer_keys(schema["additionalProperties"], (*path, EXTRA), refs)
    if isinstance(schema.get("items"), dict):
        yield from integer_keys(schema["items"], (*path, ITEM), refs)
    for keyword in ("then", "else"):
        if isinstance(schema.get(keyword), dict):
            yield from integer_keys(schema[keyword], path, refs)
    for keyword in ("allOf", "anyOf", "oneOf", "prefixItems"):
        for sub in schema.get(keyword, []):
            yield from integer_keys(sub, path, refs)


def _example_int(schema):
    """A valid integer for `schema`: its default, else its minimum, else 1."""
    if isinstance(schema.get("default"), int) and not isinstance(schema["default"], bool):
        return schema["default"]
    if "minimum" in schema:
        return schema["minimum"]
    return schema["exclusiveMinimum"] + 1 if "exclusiveMinimum" in schema else 1


def _at(obj, name):
    try:
        return obj[name]
    except (KeyError, IndexError, TypeError):
        return None


KEYS = {"".join(f"{s}" if s in (ITEM, EXTRA) else f".{s}" for s in path).lstrip("."): (path, schema)
        for path, schema in integer_keys()}


def _config_with(path, schema, value_of):
    """The tiny config with value_of(valid int) at `path`; also the key as messages name it."""
    raw = copy.deepcopy(TINY_RAW_CONFIG)
    full = _validated_tiny()
    container, defaults, key = raw, full, ""
    for i, step in enumerate(path):
        name = 0 if step == ITEM else EXTRA_NAME if step == EXTRA else step
        key += f"[{name}]" if step == ITEM else f".{name}"
        default = _at(defaults, name)
        if i == len(path) - 1:
            existing = _at(container, name)
            valid = existing if isinstance(existing, int) and not isinstance(existing, bool) else (
                default if isinstance(default, int) and not isinstance(default, bool) else _example_int(schema))
            container[name] = value_of(valid)
            return raw, key.lstrip(".")
        if _at(container, name) is None:
            built = copy.deepcopy(default) if default is not None else ([] if path[i + 1] == ITEM else {})
            if step == ITEM:
                container.append(built)
            else:
                container[name] = built
        if path[i + 1] == ITEM and not container[name]:
            # an empty list: distinct integers (a pair of microphones [0, 1]) or one item to fill in
            container[name].extend([0, 1] if i + 2 == len(path) else [[] if path[i + 2] == ITEM else {}])
        container, defaults = container[name], default


@functools.cache
def _validated_tiny():
    return configuration.validate(TINY_RAW_CONFIG)


def _outcome(raw):
    """The validated config, or the message of the ConfigError validation raises."""
    try:
        return configuration.validate(raw)
    except configuration.ConfigError as err:
        return str(err)


def test_the_schema_walk_finds_the_known_integer_keys():
    # the walk must reach keys behind $refs, in lists, in lists of lists and with [integer, "null"]
    known = {"seed", "signals.window", "simulation.shards", "simulation.max_order", "geometry.grid.nx",
             "conditions[].max_order", "training.loc_cnn.batch_size", "training{}.max_epochs", "tdoa.pairs[][]",
             "srp.pairs[][]", "srp.grid[]", "manipulation.percents[]", "tdoa.max_lag",
             "manipulation.attribution.occlusion.window"}
    assert known <= set(KEYS), sorted(known - set(KEYS))


@pytest.mark.parametrize("key", sorted(KEYS))
def test_an_integral_float_at_an_integer_key_is_that_integer(key):
    path, schema = KEYS[key]
    as_int, where = _config_with(path, schema, lambda v: v)
    as_float, _ = _config_with(path, schema, float)
    expected, got = _outcome(as_int), _outcome(as_float)
    assert got == expected  # the same config, or the same error
    if isinstance(got, dict):
        value = _value(got, where)
        assert type(value) is int, f"{where}: {value!r}"


@pytest.mark.parametrize("key", sorted(KEYS))
def test_a_fractional_number_at_an_integer_key_is_refused_naming_key_and_value(key):
    path, schema = KEYS[key]
    raw, where = _config_with(path, schema, lambda v: v + 0.5)
    with pytest.raises(configuration.ConfigError) as err:
        configuration.validate(raw)
    bad = _value(raw, where)
    assert f"{where}: {bad!r} is not a whole number" in str(err.value)


def _value(config, where):
    """The value at a key path such as `tdoa.pairs[0][1]`."""
    obj = config
    for part in where.replace("[", ".[").split("."):
        obj = obj[int(part[1:-1])] if part.startswith("[") else obj[part]
    return obj


def test_integral_floats_reach_the_rules_as_integers():
    # the probe's values: each failed a step (slice indices, tensor sizes, array indices) or the Snakefile's loading
    raw = {**TINY_RAW_CONFIG, "seed": 7.0, "signals": {"window": 512.0, "max_seconds": 0.3},
           "simulation": {"shards": 2.0, "max_order": 2.0}, "tdoa": {"pairs": [[7.0, 8.0]]}}
    config = configuration.validate(raw)
    assert config == configuration.validate({**TINY_RAW_CONFIG, "tdoa": {"pairs": [[7, 8]]}})
    assert [type(v) for v in (config["seed"], config["signals"]["window"], config["simulation"]["shards"],
                              *config["tdoa"]["pairs"][0])] == [int] * 5
    assert raw["signals"]["window"] == 512.0 and type(raw["signals"]["window"]) is float  # the input is untouched


def test_an_alias_shared_by_an_integer_and_a_number_key_keeps_the_number():
    # one YAML anchor used for srp.grid (integers) and geometry.grid.y (metres): only the integer key changes
    shared = [5.0, 6.0]
    config = configuration.validate({**TINY_RAW_CONFIG, "srp": {"grid": shared},
                                     "geometry": {"grid": {"nx": 9, "ny": 9, "y": shared}}})
    assert [type(v) for v in config["srp"]["grid"]] == [int, int]
    assert [type(v) for v in config["geometry"]["grid"]["y"]] == [float, float]


def alias_bomb(levels=9, width=9):
    """What nine nested YAML aliases build (`b: &b [*a, *a, ...]`): each level one list holding the level below
    `width` times, the same object each time. Its expanded size is sum(width^k, k = 0..levels)."""
    level = [1] * width
    for _ in range(levels - 1):
        level = [level] * width
    return level


BOMB_SIZE = sum(9**k for k in range(10))  # 435,848,050 values


def _put(config, key, value):
    """`config` with `value` at a dotted key (`models[0].init_args.layers`: the list and mappings built)."""
    obj = config
    parts = key.replace("[0]", ".[0]").split(".")
    for part, nxt in zip(parts, parts[1:]):
        if part == "[0]":
            obj = obj[0]
        else:
            obj = obj.setdefault(part, [{}] if nxt == "[0]" else {})
    obj[parts[-1]] = value
    return config


@pytest.mark.parametrize("key", ["seed", "signals.window", "tdoa.pairs", "models[0].init_args.layers", "nowhere"])
def test_an_alias_bomb_is_refused_at_once_naming_the_key(key):
    # 9^9 values through shared lists; validation walked every alias and ran past 60 s
    config = copy.deepcopy(TINY_RAW_CONFIG)
    if key.startswith("models"):
        config["models"] = [{"name": "mine", "class_path": "m.py:Mine"}]
    _put(config, key, alias_bomb())
    started = time.perf_counter()
    with pytest.raises(configuration.ConfigError) as err:
        configuration.validate(config)
    assert time.perf_counter() - started < 1
    assert str(err.value).startswith(f"{key}: expands to {BOMB_SIZE:,} values through YAML aliases")


def test_an_alias_bomb_in_a_config_file_is_refused_at_once(tmp_path):
    lines = ["conditions: [{t60: 0.3, snr: 20}]", "seed:", "  a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"  {b}: &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi")]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    with pytest.raises(configuration.ConfigError, match=r"bomb.yaml: seed: expands to [\d,]+ values"):
        configuration.load(path)
    assert time.perf_counter() - started < 1


def test_aliases_within_the_limit_are_written_out():
    # anchors are a fine way to share settings: each use becomes its own copy
    text = ("conditions: [{t60: 0.3, snr: 20}]\ntraining:\n  loc_cnn: &same {max_epochs: 3}\n"
            "  sample_cnn: *same\n")
    config = configuration.validate(yaml.safe_load(text))
    assert config["training"]["loc_cnn"]["max_epochs"] == config["training"]["sample_cnn"]["max_epochs"] == 3
    assert config["training"]["loc_cnn"] is not config["training"]["sample_cnn"]


def test_a_value_that_holds_itself_is_refused_naming_the_key():
    looped = []
    looped.append(looped)
    with pytest.raises(configuration.ConfigError, match=r"seed\[0\]: the value holds itself"):
        configuration.validate({**TINY_RAW_CONFIG, "seed": looped})
