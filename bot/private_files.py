"""Secrets files (the token, alert URLs): only their owner may read them, and errors say what to do."""

from __future__ import annotations

import stat
from pathlib import Path

from bot.errors import ConfigError


def read_private_file(path: Path, key: str, hint: str) -> str:
    """The text of a secrets file only its owner may read (mode 0600); ConfigError naming `key` otherwise."""
    if not path.is_file():
        raise ConfigError(f"{path}: {key} not found ({hint})")
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path}: {key} is readable by others; run `chmod 600 {path}`")
    return path.read_text(encoding="utf-8")
