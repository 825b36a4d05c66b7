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


# Bios written for the tests (fictional people) that pass every filter with the default settings: the
# commands that approve run them through the filters first.
GOOD_BIOS = [
    "Mara Quillon is a DJ and producer from Lyon who plays warm, patient house records in small rooms. "
    "She started out behind the counter of a record shop and still digs through its crates every week.",
    "Tobias Wrenfield grew up in a coastal town where the only club played old soul on Sundays. He now "
    "makes slow electro tracks with a borrowed drum machine and runs a quiet label with two friends.",
    "Ines Calloway spent ten years as a radio host before she pressed her first record. Her sets move "
    "from dub to acid techno without hurry, and she answers every letter that listeners send her.",
    "Dario Fenwick builds his own synthesizers from kits and scrap parts in a flat above a bakery. His "
    "live shows are loud, generous and a little chaotic, which is exactly how his fans like them.",
    "Noor Ashgrove learned to mix on a pair of second hand turntables in her school music room. These "
    "days she tours with a bag of rare disco edits and a habit of playing the last song twice.",
    "Felix Ambry writes ambient pieces for dance studios and late night radio in his home city. They "
    "record field sounds at railway stations and fold them into long, gentle tracks for headphones.",
]
