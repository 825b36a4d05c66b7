"""`corpus build`: records (scrape cache, .txt, .csv, .jsonl) -> cleaned, English, deduplicated
corpus file in gpt-2-simple's format, a validation split and a manifest. Same inputs, same bytes.

Checks run cheapest first; a dropped record's reason is the first check it failed:
empty, too_short, too_long, duplicate (same words), near_duplicate (Jaccard on word 5-grams >=
cfg.corpus.near_dup_threshold against a kept bio), not_english.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.errors import InputError
from training.extract import UndecodableError, clean_text, extract_record, parse

log = logging.getLogger(__name__)

START, END = "<|startoftext|>", "<|endoftext|>"


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
        yield InputRecord(str(r.get("id") or f"{path.name}:{n}"), str(r.get("name") or ""),
                          str(r.get("url") or ""), text, names)


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
    return {r["discogs_id"]: str(r.get("name") or "") for _, r in _json_lines(path)
            if isinstance(r, dict) and isinstance(r.get("discogs_id"), int)}


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
    outs = _Outputs(out)
    try:
        for rec in iter_records(inputs, cfg):
            text = clean_text(rec.text, c.boilerplate, rec.names)
            reason, sketch = _reason(text, c, seen, near, lang)
            if reason is None:
                near.add(sketch, text)
                reason = "validation" if in_validation(text, c.validation_share) else None
            outs.write(rec, text, reason)
    except BaseException:
        outs.abort()
        raise
    outs.commit()
    stats = outs.stats() | {"seconds": round(time.perf_counter() - t0, 3), "seconds_lang": round(lang.seconds, 3),
                            "langdetect_calls": lang.calls}
    if index:
        _build_index(out)
    return stats


def _reason(text: str, c: Any, seen: set[bytes], near: NearDupIndex, lang: LanguageCheck) -> tuple[str | None, Any]:
    """The first check a cleaned bio fails (None to keep it), and its near-dup sketch."""
    if not text:
        return "empty", None
    if len(text) < c.min_chars:
        return "too_short", None
    if len(text) > c.max_chars:
        return "too_long", None
    words = words_of(text)
    key = exact_key(words)
    if key in seen:
        return "duplicate", None
    seen.add(key)
    sketch = near.sketch(words)
    if near.is_near_duplicate(sketch):
        return "near_duplicate", None
    if not lang.is_english(text, words):
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
        entry = {"id": rec.id, "name": rec.name, "url": rec.url, "status": "kept", "reason": reason,
                 "corpus_index": None}
        if reason is None:
            entry["corpus_index"] = self.kept
            corpus.write(f"{START}{text}{END}\n")
            self.kept += 1
        elif reason == "validation":  # kept, but held out for evaluate's loss
            val.write(f"{START}{text}{END}\n")
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
        return {"inputs": self.kept + self.val + sum(self.dropped.values()), "kept": self.kept,
                "validation": self.val, "dropped": dict(sorted(self.dropped.items())), "path": str(self.out),
                "bytes": self.out.stat().st_size}


def _build_index(corpus: Path) -> None:
    """The copy index beside the corpus, if bot.copyindex is there yet."""
    try:
        from bot.copyindex import build_index
    except ImportError:
        log.info("bot.copyindex not importable: skipping the copy index (run `djbios corpus index` later)")
        return
    build_index(corpus, corpus.with_suffix(".idx"))


def read_corpus(path: Path) -> list[str]:
    """The bios of a corpus file, in file order."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the corpus ({exc}); run `djbios corpus build`") from exc
    return [p.replace(START, "").strip() for p in text.split(END) if p.replace(START, "").strip()]


# --- language: a stopword fast path, then langdetect on a prefix --------------------------------

_WORD = re.compile(r"\w+")  # words and numbers; split once per bio, shared by every check


def words_of(text: str) -> list[str]:
    """The lower-cased words of a text, as every check here sees them."""
    return _WORD.findall(text.lower())


# Words that are common in English prose and rare in the other languages of DJ bios ("in", "is",
# "was", "an", "a", "also" are left out: they are German, Dutch or Romance words too).
_EN = frozenset("the and of to with for on his her he she by from at has have had that it are their they "
                "which this who been were into after its or but him them while when".split())
_OTHER = frozenset("der die das und ist mit von ein eine auf den sich nicht auch wurde seine ihre bei aus im "
                   "dem des el la los las y es con por una del que se su sus para como fue le les et est "
                   "du avec il elle pour dans sur au aux qui sont di che della per sono nel gli het een van "
                   "zijn werd voor ook não com uma em os pelo".split())

# Fast-path shares of the first 200 words: German/Spanish prose has ~30% _OTHER words and ~0 _EN ones;
# English bios have 10-25% _EN words (names dilute it): 99% of synthetic and 95% of Discogs bios of
# >= 20 words take the fast path (measured for bench/RESULTS.md).
_FAST_EN, _FAST_OTHER = 0.10, 0.02


class LanguageCheck:
    """English or not. Long texts with many English and no foreign stopwords are accepted without
    langdetect; otherwise langdetect (seeded) reads the first `prefix_chars` characters. Texts under
    `short_words` words are also accepted on stopwords alone (>= 2 English, no foreign ones), because
    langdetect misreads short, name-heavy English ("DJ from Oslo.")."""

    def __init__(self, min_prob: float, prefix_chars: int, short_words: int, fast_path: bool = True) -> None:
        self.min_prob, self.prefix, self.short, self.fast = min_prob, prefix_chars, short_words, fast_path
        self.seconds = 0.0  # spent in langdetect (s), for the benchmark
        self.calls = 0

    def is_english(self, text: str, words: list[str] | None = None) -> bool:
        """True when the text is English by the rules above (words: _WORD.findall(text.lower()))."""
        words = (words if words is not None else words_of(text))[: self.prefix // 3]
        en = sum(map(_EN.__contains__, words))
        other = sum(map(_OTHER.__contains__, words))
        if self.fast and len(words) >= self.short and en >= _FAST_EN * len(words) and other <= _FAST_OTHER * len(words):
            return True
        if self.p_english(text[: self.prefix]) >= self.min_prob:
            return True
        return len(words) < self.short and en >= 2 and other == 0

    def p_english(self, text: str) -> float:
        """langdetect's probability that text is English (0 when it finds no features)."""
        from langdetect import DetectorFactory, detect_langs
        from langdetect.lang_detect_exception import LangDetectException

        DetectorFactory.seed = 0  # langdetect is random by default; seeded it is deterministic
        t0 = time.perf_counter()
        self.calls += 1
        try:
            return next((lp.prob for lp in detect_langs(text) if lp.lang == "en"), 0.0)
        except LangDetectException:
            return 0.0
        finally:
            self.seconds += time.perf_counter() - t0


# --- duplicates: exact (same words) and near (MinHash LSH on word 5-grams, verified exactly) ------

_SHINGLE = 5  # words per shingle
_PERMS, _BANDS = 64, 16  # 16 bands x 4 rows: a pair at Jaccard 0.8 is a candidate with p > 0.9998


def exact_key(words: list[str]) -> bytes:
    """Same words in the same order, ignoring case and punctuation (words: _WORD.findall(text.lower()))."""
    return hashlib.blake2b(" ".join(words).encode("utf-8"), digest_size=16).digest()


class _WordIds(dict):
    """word -> a stable 64-bit id (blake2b, so runs agree whatever PYTHONHASHSEED is), made on first use."""

    limit = 200_000  # words cached (~25 MB); cleared when full, since ids are recomputable

    def __missing__(self, w: str) -> int:
        if len(self) >= self.limit:
            self.clear()
        self[w] = v = int.from_bytes(hashlib.blake2b(w.encode("utf-8"), digest_size=8).digest(), "big") | 1
        return v


class NearDupIndex:
    """Kept bios' MinHash band keys in LSH buckets; candidates are checked by exact Jaccard, so hash
    collisions cost time, never a wrong answer."""

    def __init__(self, threshold: float, seed: int = 0) -> None:
        import numpy as np

        self.np, self.threshold = np, threshold
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, 2**63, size=_PERMS, dtype=np.uint64) | np.uint64(1)  # odd multipliers
        self.b = rng.integers(0, 2**63, size=_PERMS, dtype=np.uint64)
        self.pos = rng.integers(1, 2**63, size=_SHINGLE, dtype=np.uint64) | np.uint64(1)
        self.mix = rng.integers(1, 2**63, size=_PERMS // _BANDS, dtype=np.uint64) | np.uint64(1)
        self.word_ids = _WordIds()
        self.buckets: list[dict[int, Any]] = [{} for _ in range(_BANDS)]  # band key -> doc | [docs]
        self.texts: list[str] = []  # kept bios (the caller holds them anyway); shingles are recomputed

    def _shingles(self, words: list[str]) -> Any:
        """Sorted unique 32-bit hashes of the word 5-grams (the whole text when shorter)."""
        np = self.np
        h = np.array(list(map(self.word_ids.__getitem__, words)) or [0], dtype=np.uint64)
        k = min(_SHINGLE, len(h))
        sh = sum(h[j: len(h) - k + 1 + j] * self.pos[j] for j in range(k))  # wraps mod 2**64 on purpose
        return np.unique((sh >> np.uint64(32)).astype(np.uint32))

    def sketch(self, words: list[str]) -> tuple[Any, list[int]]:
        """A bio's shingle set and its LSH band keys, for is_near_duplicate and add."""
        np = self.np
        sh = self._shingles(words)
        sig = (sh.astype(np.uint64)[:, None] * self.a[None, :] + self.b[None, :]).min(axis=0)
        return sh, (sig.reshape(_BANDS, -1) * self.mix[None, :]).sum(axis=1).tolist()

    def is_near_duplicate(self, sketch: tuple[Any, list[int]]) -> bool:
        """Jaccard >= threshold with a bio added before."""
        sh, keys = sketch
        cands: set[int] = set()
        for bucket, key in zip(self.buckets, keys):
            hit = bucket.get(key)
            if hit is not None:
                cands.update(hit) if isinstance(hit, list) else cands.add(hit)
        for d in sorted(cands):
            other = self._shingles(words_of(self.texts[d]))
            inter = len(self.np.intersect1d(sh, other, assume_unique=True))
            if inter / (len(sh) + len(other) - inter) >= self.threshold:
                return True
        return False

    def add(self, sketch: tuple[Any, list[int]], text: str) -> None:
        """Remember a kept bio."""
        doc = len(self.texts)
        for bucket, key in zip(self.buckets, sketch[1]):
            hit = bucket.get(key)
            if isinstance(hit, list):
                hit.append(doc)
            else:
                bucket[key] = doc if hit is None else [hit, doc]  # most buckets hold one bio: no list
        self.texts.append(text)


# --- stats ------------------------------------------------------------------------------------------

_PRONOUNS = {"he/him": {"he", "him", "his", "himself"}, "she/her": {"she", "her", "hers", "herself"},
             "they/them": {"they", "them", "their", "theirs", "themselves", "themself"}}
BIAS_SHARE = 0.6  # warn when one pronoun family dominates more than this share of gendered bios


def pronoun_family(text: str) -> str:
    """The pronoun family used most in a bio: he/him, she/her, they/them, mixed (a tie) or none."""
    words = words_of(text)
    counts = {fam: sum(w in ws for w in words) for fam, ws in _PRONOUNS.items()}
    best = max(counts.values())
    top = [f for f, n in counts.items() if n == best]
    return "none" if best == 0 else top[0] if len(top) == 1 else "mixed"


def corpus_stats(path: Path) -> dict[str, Any]:
    """Kept/dropped by reason (manifest), size, ~tokens (chars / 4), lengths, pronoun shares."""
    import numpy as np

    bios = read_corpus(path)
    reasons: dict[str, int] = {}
    mpath = path.with_suffix(".manifest.jsonl")
    if mpath.exists():
        for line in mpath.read_text(encoding="utf-8").splitlines():
            m = json.loads(line)
            key = m["reason"] if m["status"] == "dropped" else m["reason"] or "kept"
            reasons[key] = reasons.get(key, 0) + 1
    lengths = np.array([len(b) for b in bios] or [0])
    fams: dict[str, int] = {}
    for b in bios:
        f = pronoun_family(b)
        fams[f] = fams.get(f, 0) + 1
    gendered = sum(n for f, n in fams.items() if f in _PRONOUNS)
    return {"bios": len(bios), "manifest": dict(sorted(reasons.items())), "mb": path.stat().st_size / 1e6,
            "approx_tokens": int(lengths.sum() / 4),  # GPT-2 BPE averages ~4 characters per token in English
            "chars_percentiles": {p: int(np.percentile(lengths, p)) for p in (0, 5, 25, 50, 75, 95, 100)},
            "pronouns": dict(sorted(fams.items())),
            "pronoun_share": {f: round(fams.get(f, 0) / gendered, 3) if gendered else 0.0 for f in _PRONOUNS}}


def format_stats(s: dict[str, Any]) -> str:
    """corpus_stats as the lines `djbios corpus stats` prints, with a warning on pronoun bias."""
    lines = [f"bios in corpus: {s['bios']}   size: {s['mb']:.2f} MB   ~tokens: {s['approx_tokens']:,} (chars/4)",
             "manifest: " + (", ".join(f"{k} {v}" for k, v in s["manifest"].items()) or "none found"),
             "length (chars) percentiles: " + "  ".join(f"p{p}={v}" for p, v in s["chars_percentiles"].items()),
             "pronouns (dominant family per bio): " + ", ".join(f"{k} {v}" for k, v in s["pronouns"].items()),
             "share of gendered bios: " + ", ".join(f"{k} {v:.0%}" for k, v in s["pronoun_share"].items())]
    for fam, share in s["pronoun_share"].items():
        if share > BIAS_SHARE:
            lines.append(f"WARNING: {share:.0%} of the bios with pronouns use {fam}: the model will learn this "
                         "bias; add bios of other people or prompt with --pronouns")
    return "\n".join(lines)
