"""bot.toml's tables into the settings dataclasses: every key, type, bound and choice checked.

The rules live in each field's metadata (`min`, `max`, `choices`, `path=True`, `item_*` for list
items); an error names the key and the file. bot/config.py holds the dataclasses and calls `build`.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

MOVED_KEYS = {
    "mastodon.operator_account": "[alerts] operator",  # old name -> where it went (for the error)
    "mastodon.bot_note": "[profile] disclosure",
}
INT_LIMIT = 2**63  # every int setting fits a signed 64-bit integer (SQLite, TensorFlow seeds)


def build(cls: type, data: Any, prefix: str, root: Path, file: Path) -> Any:
    """Turn a TOML table into dataclass `cls`, checking keys, types and bounds."""
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: [{prefix.rstrip('.')}] must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    hints = typing.get_type_hints(cls)
    for key in data:
        if prefix + key in MOVED_KEYS:
            raise ConfigError(f"{file}: '{prefix}{key}' moved to {MOVED_KEYS[prefix + key]}; rename it there")
        if key not in fields:
            raise ConfigError(f"{file}: unknown key '{prefix}{key}'")
    values = {}
    for name, f in fields.items():
        if name in data:
            values[name] = _value(hints[name], data[name], f.metadata, prefix + name, root, file)
        elif f.metadata.get("path") and f.default not in (None, dataclasses.MISSING):
            values[name] = _resolve(Path(f.default), root)
        elif dataclasses.is_dataclass(hints[name]):
            values[name] = build(hints[name], {}, f"{prefix}{name}.", root, file)
    return cls(**values)


def _value(tp: Any, raw: Any, meta: Any, key: str, root: Path, file: Path) -> Any:
    """Check one value against its type hint and metadata."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):  # only `X | None`
        inner = [a for a in typing.get_args(tp) if a is not type(None)][0]
        if raw == "" and inner is Path:
            return None  # an empty path means "not set"
        return _value(inner, raw, meta, key, root, file)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return build(tp, raw, key + ".", root, file)
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(raw, list):
            raise ConfigError(f"{file}: '{key}' must be a list, got {raw!r}")
        items = {k[len("item_") :]: v for k, v in meta.items() if k.startswith("item_")}
        return [_value(item, v, items, f"{key}[{i}]", root, file) for i, v in enumerate(raw)]
    if isinstance(raw, str) and "\x00" in raw:  # a NUL ends a path or a C string early
        raise ConfigError(f"{file}: '{key}' holds a NUL character (\\u0000); remove it")
    if tp is Path:
        if not isinstance(raw, str):
            raise ConfigError(f"{file}: '{key}' must be a path string, got {raw!r}")
        return _resolve(Path(raw), root)
    ok = {
        bool: isinstance(raw, bool),
        int: isinstance(raw, int) and not isinstance(raw, bool),
        float: isinstance(raw, (int, float)) and not isinstance(raw, bool),
        str: isinstance(raw, str),
    }[tp]
    if not ok:
        raise ConfigError(f"{file}: '{key}' must be {tp.__name__}, got {raw!r}")
    value = _number(tp, raw, key, file)
    if "min" in meta and value < meta["min"]:
        raise ConfigError(f"{file}: '{key}' must be >= {meta['min']}, got {raw!r}")
    if "max" in meta and value > meta["max"]:
        raise ConfigError(f"{file}: '{key}' must be <= {meta['max']}, got {raw!r}")
    if "choices" in meta and value not in meta["choices"]:
        choices = ", ".join(map(repr, meta["choices"]))
        raise ConfigError(f"{file}: '{key}' must be one of {choices}, got {raw!r}")
    return value


def _number(tp: type, raw: Any, key: str, file: Path) -> Any:
    """`raw` as `tp`; NaN, infinity and ints beyond 64 bits are refused (no comparison catches NaN)."""
    if tp is int and not -INT_LIMIT <= raw < INT_LIMIT:
        raise ConfigError(f"{file}: '{key}' is out of range (a 64-bit integer), got {raw}")
    if tp is not float:
        return tp(raw)
    try:
        value = float(raw)
    except OverflowError:  # a TOML integer too big for a float
        value = math.inf
    if not math.isfinite(value):
        raise ConfigError(f"{file}: '{key}' must be a finite number, got {raw!r}")
    return value


def _resolve(p: Path, root: Path) -> Path:
    """Relative paths are relative to the config file's folder."""
    p = p.expanduser()
    return p if p.is_absolute() else root / p
