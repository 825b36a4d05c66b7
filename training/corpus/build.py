"""`corpus build`: records (scrape cache, .txt, .csv, .jsonl) -> cleaned, English, deduplicated
corpus file in gpt-2-simple's format, a validation split and a manifest. Same inputs, same bytes.

Checks run cheapest first; a dropped record's reason is the first check it failed:
empty, too_short, too_long, duplicate (same words), near_duplicate (Jaccard on word 5-grams >=
cfg.corpus.near_dup_threshold against a kept bio), not_english.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from bot.config import Config, CorpusConfig
from bot.filters.copyindex import build_index
from bot.filters.language import LanguageCheck
from bot.text import block, words
from training.corpus.dedup import NearDupIndex, exact_key
from training.corpus.inputs import InputRecord, iter_records
from training.corpus.takedown import Takedowns, rebuild_names
from training.extract import clean_text


def in_validation(text: str, share: float) -> bool:
    """Deterministic split: the first 8 bytes of sha256(text) as a fraction in [0, 1)."""
    h = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    return h / 2**64 < share


def build_corpus(inputs: list[Path] | None, out: Path, cfg: Config, *, index: bool = True) -> dict[str, Any]:
    """Clean, filter and deduplicate the inputs into `out`, its .val.txt and .manifest.jsonl."""
    c = cfg.corpus
    t0 = time.perf_counter()
    lang, near = LanguageCheck(c.min_lang_prob, c.lang_prefix_chars, c.short_words), NearDupIndex(c.near_dup_threshold)
    seen: set[bytes] = set()
    takedowns = Takedowns.load(out)
    outs = _Outputs(out)
    try:
        for rec in iter_records(inputs, cfg):
            text = clean_text(rec.text, c.boilerplate, rec.names)
            reason, sketch = _reason(text, c, seen, near, lang)
            if takedowns.matches(rec.name, rec.url):  # an artist who asked to be left out
                reason = "excluded"
            if reason is None:
                near.add(sketch, text)
                reason = "validation" if in_validation(text, c.validation_share) else None
            outs.write(rec, text, reason)
    except BaseException:
        outs.abort()
        raise
    outs.commit()
    stats = outs.stats() | {
        "seconds": round(time.perf_counter() - t0, 3),
        "seconds_lang": round(lang.seconds, 3),
        "langdetect_calls": lang.calls,
    }
    if index:
        build_index(out, out.with_suffix(".idx"))
        stats["names"] = rebuild_names(out)
    return stats


def _reason(
    text: str, c: CorpusConfig, seen: set[bytes], near: NearDupIndex, lang: LanguageCheck
) -> tuple[str | None, Any]:
    """The first check a cleaned bio fails (None to keep it), and its near-dup sketch."""
    if not text:
        return "empty", None
    if len(text) < c.min_chars:
        return "too_short", None
    if len(text) > c.max_chars:
        return "too_long", None
    tokens = words(text)
    key = exact_key(tokens)
    if key in seen:
        return "duplicate", None
    seen.add(key)
    sketch = near.sketch(tokens)
    if near.is_near_duplicate(sketch):
        return "near_duplicate", None
    if not lang.is_english(text, tokens):
        return "not_english", None
    return None, sketch


class _Outputs:
    """Corpus, validation split and manifest, streamed to temp files and renamed into place at the end."""

    def __init__(self, out: Path) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.paths = [out, out.with_suffix(".val.txt"), out.with_suffix(".manifest.jsonl")]
        self.files = [open(self._tmp(p), "w", encoding="utf-8", newline="\n") for p in self.paths]
        self.kept = self.val = 0
        self.dropped: dict[str, int] = {}

    @staticmethod
    def _tmp(p: Path) -> Path:
        return p.with_name(p.name + ".tmp")

    def write(self, rec: InputRecord, text: str, reason: str | None) -> None:
        """One record: None = kept in the corpus, "validation" = kept in .val.txt, else dropped."""
        corpus, val, manifest = self.files
        entry: dict[str, str | int | None] = {
            "id": rec.id,
            "name": rec.name,
            "url": rec.url,
            "status": "kept",
            "reason": reason,
            "corpus_index": None,
        }
        if reason is None:
            entry["corpus_index"] = self.kept
            corpus.write(block(text))
            self.kept += 1
        elif reason == "validation":  # kept, but held out for evaluate's loss
            val.write(block(text))
            self.val += 1
        else:
            entry["status"] = "dropped"
            self.dropped[reason] = self.dropped.get(reason, 0) + 1
        manifest.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def commit(self) -> None:
        """Close and rename every file into place."""
        for f, p in zip(self.files, self.paths):
            f.close()
            os.replace(self._tmp(p), p)

    def abort(self) -> None:
        """Close and remove the temp files; the previous corpus stays as it was."""
        for f, p in zip(self.files, self.paths):
            f.close()
            self._tmp(p).unlink(missing_ok=True)

    def stats(self) -> dict[str, Any]:
        """Counts of the build for the CLI and the benchmark."""
        return {
            "inputs": self.kept + self.val + sum(self.dropped.values()),
            "kept": self.kept,
            "validation": self.val,
            "dropped": dict(sorted(self.dropped.items())),
            "path": str(self.out),
            "bytes": self.out.stat().st_size,
        }
