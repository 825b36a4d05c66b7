"""Corpus inputs: the scrape cache, .txt, .csv and .jsonl files, as a stream of InputRecords."""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.errors import InputError
from bot.text import END, START
from training.extract import UndecodableError, extract_record, parse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InputRecord:
    """One candidate bio before cleaning."""

    id: str
    name: str
    url: str
    text: str
    names: dict[int, str] | None = None  # Discogs artist id -> name, to unwrap [a123]


def iter_records(inputs: list[Path] | None, cfg: Config) -> Iterator[InputRecord]:
    """Every record of the inputs in order; None means the scrape cache."""
    if inputs is None:
        yield from _from_cache(cfg)
        return
    for path in inputs:
        if not path.is_file():
            raise InputError(f"{path}: no such file; pass .txt, .csv or .jsonl files")
        suffix = path.suffix.lower()
        readers = {".txt": _from_txt, ".csv": _from_csv, ".jsonl": _from_jsonl}
        if suffix not in readers:
            raise InputError(f"{path}: unsupported input type {suffix!r}; use .txt, .csv or .jsonl")
        yield from readers[suffix](path, cfg)


def _from_cache(cfg: Config) -> Iterator[InputRecord]:
    """Bios extracted from the cached artist pages, in URL order."""
    from training.scrape import open_cache

    sites = {s.name: s for s in cfg.scrape.sites}
    cache = open_cache(cfg)
    unknown = 0
    try:
        for page in cache.pages():
            site = sites.get(page.site)
            unknown += site is None
            if site is None or not page.is_html:
                continue
            try:
                soup = parse(page.body, page.content_type)
            except UndecodableError as exc:  # cached before the crawler could mark it: skip, don't crash
                log.warning("skipping cached page %s: cannot decode it (%s)", page.url, exc)
                continue
            rec = extract_record(soup, page.url, site, cfg.corpus.boilerplate)
            if rec is not None:
                yield InputRecord(page.url, rec.name, page.url, rec.bio)
    finally:
        cache.close()
    if unknown:
        log.warning("%s cached pages belong to sites no longer in [[scrape.sites]]: skipped", unknown)


def _read(path: Path) -> str:
    """A text file as UTF-8 (BOM allowed), or InputError."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read it as UTF-8 text ({exc})") from exc


def _from_txt(path: Path, cfg: Config) -> Iterator[InputRecord]:
    """<|startoftext|>..<|endoftext|> blocks when present, else blank-line-separated bios."""
    text = _read(path)
    if START in text or END in text:
        parts = [p.replace(START, "") for p in text.split(END)]
    else:
        parts = re.split(r"\n\s*\n", text)
    for i, part in enumerate(p for p in parts if p.strip()):
        yield InputRecord(f"{path.name}:{i}", "", "", part)


def _from_csv(path: Path, cfg: Config) -> Iterator[InputRecord]:
    """The first column, header row skipped: what gpt-2-simple's own csv reader takes."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = csv.reader(f)
            next(rows, None)
            for i, row in enumerate(rows):
                if row:
                    yield InputRecord(f"{path.name}:{i + 2}", "", "", row[0])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read it as a UTF-8 CSV ({exc})") from exc


def _from_jsonl(path: Path, cfg: Config) -> Iterator[InputRecord]:
    """Field cfg.corpus.jsonl_field (else "text") of each JSON line; Discogs ids name [a123] refs."""
    names = _discogs_names(path)
    field = cfg.corpus.jsonl_field
    for n, r in _json_lines(path):
        text = r.get(field, r.get("text")) if isinstance(r, dict) else None
        if not isinstance(text, str):
            raise InputError(f"{path}:{n}: no string field {field!r} (or 'text'); set [corpus] jsonl_field")
        yield InputRecord(
            str(r.get("id") or f"{path.name}:{n}"), str(r.get("name") or ""), str(r.get("url") or ""), text, names
        )


def _json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) per non-empty line, streamed (a 74 MB file is never held whole)."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield n, json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise InputError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read it as UTF-8 JSON lines ({exc})") from exc


def _discogs_names(path: Path) -> dict[int, str] | None:
    """Discogs artist id -> name, when the records carry discogs_id (a first, cheap pass)."""
    first = next(_json_lines(path), (0, None))[1]
    if not isinstance(first, dict) or "discogs_id" not in first:
        return None
    return {
        r["discogs_id"]: str(r.get("name") or "")
        for _, r in _json_lines(path)
        if isinstance(r, dict) and isinstance(r.get("discogs_id"), int)
    }
