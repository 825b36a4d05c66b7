"""The real-artist guard: a bio must not name an artist of the training corpus (unless asked to).

A fine-tuned GPT-2 can name real artists, clubs and labels from its corpus and attach invented claims
to them. The name index lists the artists whose bios the corpus holds (the manifest's kept records,
from the scraper's name selector or a .jsonl `name` field) plus every artist taken down with `djbios
corpus exclude` (a model trained before the takedown still knows the name). A candidate that names one
(the full name, case-insensitive, word-bounded) is rejected with the name in the reason, unless the
name is the prompt the operator or a follower asked for.

File: `corpus.names.json` beside the corpus: {"version": 1, "names": [str, ...]}.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from bot.filters.check import Check
from bot.filters.fluency import zipf
from bot.text import words

VERSION = 1
COMMON_ZIPF = 3.0  # a one-word name this common in English ("Burial", "Nina") would match prose: skipped
MIN_SINGLE_CHARS = 3  # one-word names shorter than this match too much ("DJ", "Mo")


def names_path(corpus: Path) -> Path:
    """Where the name index of a corpus file lives."""
    return Path(corpus).with_suffix(".names.json")


def write_name_index(path: Path, names: Iterable[str]) -> int:
    """Write the index atomically; return how many names it holds.

    Names that differ only in case are one name, spelled as first given: the corpus's own spelling
    comes before a takedown typed by hand ("bram solvey"), and the reviewer sees the former.
    """
    first: dict[str, str] = {}
    for n in names:
        if n and n.strip():
            spelled = " ".join(n.split())
            first.setdefault(spelled.casefold(), spelled)
    unique = sorted(first.values(), key=str.casefold)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"version": VERSION, "names": unique}, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return len(unique)


class NameIndex:
    """Names as tuples of normalised words, looked up by their first word."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names: dict[tuple[str, ...], str] = {}
        self._by_first: dict[str, list[tuple[str, ...]]] = {}
        for name in names:
            key = tuple(words(name))
            if not key or (len(key) == 1 and (len(key[0]) < MIN_SINGLE_CHARS or zipf(key[0]) >= COMMON_ZIPF)):
                continue  # not a name that can be told apart from ordinary words
            self.names.setdefault(key, name)
            self._by_first.setdefault(key[0], []).append(key)
        for keys in self._by_first.values():
            keys.sort(key=len, reverse=True)  # the longest name at a position wins

    @classmethod
    def load(cls, path: Path) -> NameIndex:
        """The index file, or an empty index when there is none yet."""
        if not Path(path).is_file():
            return cls(())
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(data.get("names", []))

    def __len__(self) -> int:
        """How many names can be matched."""
        return len(self.names)

    def find(self, text: str, allow: Iterable[str] = ()) -> list[str]:
        """The corpus names that `text` mentions, in order, less those in `allow` (the prompt)."""
        allowed = {tuple(words(a)) for a in allow}
        tokens = words(text)
        found: list[str] = []
        i = 0
        while i < len(tokens):
            hit = next((k for k in self._by_first.get(tokens[i], ()) if tuple(tokens[i : i + len(k)]) == k), None)
            if hit and hit not in allowed and self.names[hit] not in found:
                found.append(self.names[hit])
            i += len(hit) if hit else 1
        return found


def names_check(text: str, index: NameIndex | None, prompt: str | None = None) -> Check:
    """Fail when the bio names an artist of the corpus other than the one asked for."""
    if index is None or not len(index):
        return Check(True, "not checked: no name index (run `djbios corpus index`)", {"checked": False})
    found = index.find(text, allow=[prompt] if prompt else [])
    if found:
        return Check(False, f"names a corpus artist: {', '.join(found[:3])}", {"checked": True, "names": found})
    return Check(True, f"names no corpus artist ({len(index)} known)", {"checked": True, "names": []})
