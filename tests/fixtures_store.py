"""Fixtures for a real SQLite store and a bot.toml in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.store.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A fresh, migrated SQLite store in tmp_path."""
    s = Store.open(f"sqlite:///{tmp_path / 'djbios.db'}")
    yield s
    s.close()


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A minimal bot.toml whose database lives in tmp_path (relative path: tests resolution too)."""
    path = tmp_path / "bot.toml"
    path.write_text('[database]\nurl = "sqlite:///var/test.db"\n', encoding="utf-8")
    return path
