"""Secrets files (the token, alert URLs): only their owner may read them, and errors say what to do.

One home for the rule, used by bot/accesstoken.py and bot/posting/alerts.py. An error names the file
and the setting, never the file's content (it holds a secret).
"""

from __future__ import annotations

import stat
from pathlib import Path

from bot.errors import ConfigError


def read_private_file(path: Path, key: str, hint: str) -> str:
    """The text of a secrets file only its owner may read (mode 0600); ConfigError naming `key` otherwise."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: {key} not found ({hint})") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {key} ({exc.strerror})") from exc
    if stat.S_ISDIR(mode):
        raise ConfigError(f"{path}: {key} is a folder; point it at the file itself ({hint})")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path}: {key} is readable by others; run `chmod 600 {path}`")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {key} ({exc.strerror})") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # the message would quote a byte of the secret: say where only
        raise ConfigError(f"{path}: {key} is not UTF-8 text (bad byte at offset {exc.start}); {hint}") from None
