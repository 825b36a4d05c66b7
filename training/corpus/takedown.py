"""Takedowns: an artist asked to be left out. `djbios corpus exclude --name NAME | --url URL`.

The request is recorded in `corpus.takedowns.jsonl` beside the corpus (one JSON object per line:
{"name": str | null, "url": str | null, "at": ISO time, "by": str, "reason": str}), which every later
`corpus build` reads, so a re-scrape does not bring the artist back. Exclusion then removes the
artist's bios from the corpus file and the validation split, marks their manifest records dropped
(reason "excluded"), and rebuilds the copy and name indexes. The name stays in the name index: a
model trained before the takedown still knows it, and the real-artist guard keeps rejecting bios
that name it until the model is retrained without it.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.errors import InputError
from bot.filters.copyindex import build_index
from bot.filters.names import names_path, write_name_index
from bot.text import block, read_bios


def takedowns_path(corpus: Path) -> Path:
    """Where a corpus's takedown list lives."""
    return Path(corpus).with_suffix(".takedowns.jsonl")


def _norm(name: str) -> str:
    """A name compared case-insensitively, whitespace squashed."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class Takedowns:
    """Names and URLs excluded from the corpus."""

    names: frozenset[str]
    urls: frozenset[str]

    @classmethod
    def load(cls, corpus: Path) -> Takedowns:
        """The takedowns recorded beside a corpus (none when the file does not exist)."""
        path = takedowns_path(corpus)
        rows = (
            [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            if path.is_file()
            else []
        )
        return cls(
            frozenset(_norm(r["name"]) for r in rows if r.get("name")),
            frozenset(r["url"] for r in rows if r.get("url")),
        )

    def matches(self, name: str, url: str) -> bool:
        """True for a record of an excluded artist."""
        return bool(name and _norm(name) in self.names) or bool(url and url in self.urls)


def exclude(
    corpus: Path,
    *,
    name: str | None = None,
    url: str | None = None,
    reason: str = "",
    by: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record the takedown, remove the artist's bios, rebuild the indexes; return what changed.

    "name_found" is False when a name was given and no manifest record carries it (a .txt input
    has no names): the takedown is still recorded, for later builds from named inputs.
    """
    if not (name and name.strip()) and not (url and url.strip()):
        raise InputError("say who to exclude: --name NAME or --url URL")
    if not corpus.is_file():
        raise InputError(f"{corpus}: no corpus yet; run `djbios corpus build`")
    entry = {
        "name": " ".join(name.split()) if name else None,
        "url": url.strip() if url else None,
        "at": (now or datetime.now(UTC)).isoformat(),
        "by": by or getpass.getuser(),
        "reason": reason,
    }
    with takedowns_path(corpus).open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    removed, found = _rewrite(corpus, Takedowns.load(corpus), entry["name"])
    build_index(corpus, corpus.with_suffix(".idx"))
    names = rebuild_names(corpus)
    return {"removed": removed, "names": names, "takedowns": str(takedowns_path(corpus)), "name_found": found}


def _rewrite(corpus: Path, takedowns: Takedowns, name: str | None = None) -> tuple[int, bool]:
    """Drop excluded artists' bios from the corpus and the split, and say so in the manifest.

    Returns the count removed and whether any record, removed now or before, carries `name`.
    """
    manifest = corpus.with_suffix(".manifest.jsonl")
    if not manifest.is_file():
        raise InputError(f"{manifest}: no manifest, so no names to exclude by; run `djbios corpus build`")
    records = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    val_path = corpus.with_suffix(".val.txt")
    bios, val = read_bios(corpus), (read_bios(val_path) if val_path.is_file() else [])
    keep_bios: list[str | None] = []
    keep_val: list[str] = []
    removed = v = 0
    found = name is None or any(_norm(r.get("name") or "") == _norm(name) for r in records)
    for r in records:
        if r.get("status") != "kept":
            continue
        held_out = r.get("corpus_index") is None
        text = val[v] if held_out and v < len(val) else None if held_out else bios[r["corpus_index"]]
        v += held_out
        if takedowns.matches(r.get("name") or "", r.get("url") or ""):
            r.update(status="dropped", reason="excluded", corpus_index=None)
            removed += 1
        elif held_out and text is not None:
            keep_val.append(text)
        elif not held_out:
            r["corpus_index"] = len(keep_bios)
            keep_bios.append(text)
    _replace(corpus, "".join(block(b) for b in keep_bios if b is not None))
    _replace(val_path, "".join(block(b) for b in keep_val))
    _replace(manifest, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return removed, found


def _replace(path: Path, text: str) -> None:
    """Write a file atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    os.replace(tmp, path)


def rebuild_names(corpus: Path) -> int:
    """The name index from the manifest's kept records plus every taken-down name."""
    manifest = corpus.with_suffix(".manifest.jsonl")
    names: list[str] = []
    if manifest.is_file():
        for line in manifest.read_text(encoding="utf-8").splitlines():
            r = json.loads(line) if line.strip() else {}
            if r.get("name") and (r.get("status") == "kept" or r.get("reason") == "excluded"):
                names.append(r["name"])
    path = takedowns_path(corpus)
    if path.is_file():
        names += [
            json.loads(line).get("name") or "" for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    return write_name_index(names_path(corpus), names)
