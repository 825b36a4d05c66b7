"""Pure checks on a candidate bio: text -> Verdict(ok, reason, scores, defused text).

Each filter returns a Check (ok, detail, numbers); the Pipeline runs all of them so the scores
explain every verdict, and the reason is the first filter that failed. Hazards are defused, not
rejected, where the config allows it: the defused text is exactly what will be posted.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.config import Config, FiltersConfig
from bot.copyindex import WORD, CopyIndex, normalise
from bot.errors import ConfigError

log = logging.getLogger(__name__)

ZWSP = "\u200b"  # zero-width space: "@\u200bname" is not a mention, nobody is notified
URL_CHARS = 23  # Mastodon counts every URL as 23 characters
ORDER = ("completeness", "hazards", "length", "blocklist", "language", "repetition", "pronouns",
         "copy", "duplicate")
# Whole delimiters and the pieces a weak model leaves behind (BPE splits them into "<|", the word, "|>").
_DELIMS = ("<|startoftext|>", "<|endoftext|>", "<|", "|>", "startoftext", "endoftext")
_ARTEFACT = re.compile(r"\[\s*email[\s\u00a0]*(?:&#160;)?\s*protected\s*\]", re.I)
_EMAIL = re.compile(r"(?<![\w.+@-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")  # not "@user@host": a mention
_TAIL = r"[^\s<>\"]*[^\s<>\".,;:!?)\]'’]"  # a URL does not end in sentence punctuation
# Bare domains only with common TLDs written in lower case ("back.To London" is a typo, not a
# link), or with any TLD when a path follows ("label.bandcamp.xyz/album").
_URL = re.compile(rf"(?:https?://|www\.){_TAIL}|(?<![@\w.-])(?-i:\b(?:[a-z0-9-]+\.)+"
                  rf"(?:com|net|org|info|io|fm|de|nl|fr|uk|ru|jp|tv|eu|es|ch|ly)\b)(?:/{_TAIL})?"
                  rf"|(?<![@\w.-])\b(?:[a-z0-9-]+\.)+[a-z]{{2,6}}/{_TAIL}", re.I)
_PHONE = re.compile(r"(?<![\w+])(?:\+|\b0)\d[\d ()./-]{6,}\d\b|\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b")
_MENTION = re.compile(r"(?<![\w@/])@(?=\w)")
_HASHTAG = re.compile(r"(?<![\w#&/])#(?=\w*[^\W\d_])")  # "#1" is no hashtag: it needs a letter
_STOP = {"on", "in", "at", "of", "to", "for", "with", "by", "from", "a", "an", "the", "he", "she", "they",
         "it", "his", "her", "their", "was", "is", "and", "or"}  # never list items on their own
_PLACEHOLDER = {"url": "[link]", "email": "[e-mail]", "phone": "[phone]"}
_SENTENCE = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+")
_PRONOUNS = {"he": {"he", "him", "his", "himself"}, "she": {"she", "her", "hers", "herself"},
             "they": {"they", "them", "their", "theirs", "themselves", "themself"}}


@dataclass(frozen=True)
class Check:
    """One filter's outcome: pass/fail, a one-line detail for the reviewer, and its numbers."""

    ok: bool
    detail: str
    scores: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """The pipeline's outcome: reason is the first failing filter; text is what will be posted."""

    ok: bool
    reason: str | None
    scores: dict[str, Any]
    text: str


def completeness(text: str, complete: bool = True) -> Check:
    """The text ended at the end delimiter, is not empty, and has no leftover delimiters."""
    if not text.strip():
        return Check(False, "empty")
    if not complete:
        return Check(False, "cut off before the end delimiter")
    left = [d for d in _DELIMS if d in text]
    return Check(not left, f"leftover delimiter {left[0]!r}" if left else "complete")


def defuse(text: str, cfg: FiltersConfig) -> tuple[str, Check]:
    """Defuse mentions, hashtags, URLs, e-mail addresses, phone numbers and e-mail artefacts."""
    counts: Counter[str] = Counter()
    out = _ARTEFACT.sub(lambda m: counts.update(["artefact"]) or "", text)
    for kind, rx in (("email", _EMAIL), ("url", _URL), ("phone", _PHONE)):
        out = rx.sub(lambda m, k=kind: counts.update([k]) or _contact(k, cfg.urls), out)
    for kind, rx, mode in (("mention", _MENTION, cfg.mentions), ("hashtag", _HASHTAG, cfg.hashtags)):
        found = len(rx.findall(out))
        counts[kind] += found
        if mode == "defuse" and found:
            out = rx.sub(lambda m: m.group() + ZWSP, out)
    if out != text:
        out = _tidy(out)
    bad = [k for k, mode in (("mention", cfg.mentions), ("hashtag", cfg.hashtags)) if mode == "reject" and counts[k]]
    bad += [k for k in ("url", "email", "phone") if cfg.urls == "reject" and counts[k]]
    detail = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()) if n) or "none"
    if bad:
        return text, Check(False, f"contains {', '.join(bad)} (configured to reject)", dict(counts))
    return out, Check(True, f"defused: {detail}" if out != text else f"found: {detail}", dict(counts))


def _contact(kind: str, mode: str) -> str:
    """What replaces a URL, e-mail address or phone number."""
    return _PLACEHOLDER[kind] if mode == "placeholder" else ""


def _tidy(text: str) -> str:
    """Clean the gaps left by removed pieces: double spaces, empty brackets, space before commas."""
    text = re.sub(r"\(\s*[,;:]?\s*\)|\[\s*\]", "", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"[ \t]+([,.;:!?)])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"[ \t]*[,;:]+(?=\s*(?:$|\n|[.!?]))", "", text, flags=re.M)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def mastodon_length(text: str, spoiler_text: str = "") -> int:
    """Characters as Mastodon counts them: every URL is 23, mentions count their local part."""
    body = _URL.sub("x" * URL_CHARS, text)
    body = re.sub(r"@(\w+)@[\w.-]+\w", r"@\1", body)
    return _graphemes(body) + _graphemes(spoiler_text)


def _graphemes(s: str) -> int:
    """Approximate user-perceived characters: combining marks, ZWJ and variation selectors are free."""
    n = 0
    for ch in s:
        cp = ord(ch)
        if unicodedata.combining(ch) or cp == 0x200D or 0xFE00 <= cp <= 0xFE0F:
            continue
        n += 1
    return n


def split_thread(text: str, limit: int, spoiler_text: str = "") -> list[str]:
    """Split at sentence boundaries into numbered replies ("… (1/3)"), each within `limit`."""
    units = [u for u in _SENTENCE.split(text.strip()) if u]
    for n_guess in (9, 99, 999):
        room = limit - _graphemes(f" ({n_guess}/{n_guess})") - _graphemes(spoiler_text)
        if room < 20:
            break
        parts = _pack(units, room)
        if len(parts) <= n_guess:
            return [f"{p} ({i}/{len(parts)})" for i, p in enumerate(parts, 1)] if len(parts) > 1 else parts
    return [text]


def _pack(units: list[str], room: int) -> list[str]:
    """Greedy packing of sentences into parts of at most `room` characters (long ones by words)."""
    parts: list[str] = []
    cur = ""
    for u in units:
        pieces = [u] if mastodon_length(u) <= room else _by_words(u, room)
        for p in pieces:
            joined = f"{cur} {p}" if cur else p
            if cur and mastodon_length(joined) > room:
                parts.append(cur)
                joined = p
            cur = joined
    return parts + ([cur] if cur else [])


def _by_words(sentence: str, room: int) -> list[str]:
    """A sentence too long for one post, cut between words."""
    out, cur = [], ""
    for w in sentence.split():
        if cur and mastodon_length(f"{cur} {w}") > room:
            out.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    return out + ([cur] if cur else [])


def length(text: str, cfg: FiltersConfig, max_chars: int | None = None, spoiler_text: str = "") -> Check:
    """Minimum and maximum characters, counted as Mastodon counts them."""
    limit = min(cfg.max_chars, max_chars) if max_chars else cfg.max_chars  # the instance's, if lower
    n = mastodon_length(text, spoiler_text)
    s: dict[str, Any] = {"chars": n, "min": cfg.min_chars, "max": limit}
    if n < cfg.min_chars:
        return Check(False, f"{n} chars, under the minimum of {cfg.min_chars}", s)
    if n <= limit:
        return Check(True, f"{n}/{limit} chars", s)
    if cfg.too_long == "thread":
        s["thread"] = split_thread(text, limit, spoiler_text)
        return Check(True, f"{n} chars > {limit}: a thread of {len(s['thread'])} posts", s)
    return Check(False, f"{n} chars, over the limit of {limit}", s)


def compile_blocklist(entries: Iterable[str]) -> list[tuple[str, re.Pattern[str]]]:
    """Words match whole words, case-insensitively; "/regex/" entries are regexes."""
    out = []
    for e in entries:
        try:
            rx = e[1:-1] if len(e) > 2 and e.startswith("/") and e.endswith("/") else rf"\b{re.escape(e)}\b"
            out.append((e, re.compile(rx, re.I)))
        except re.error as exc:
            raise ConfigError(f"[filters] blocklist entry {e!r} is not a valid regex: {exc}") from exc
    return out


def blocklist(text: str, patterns: list[tuple[str, re.Pattern[str]]]) -> Check:
    """Fail on the first blocklisted word or regex."""
    hits = [e for e, rx in patterns if rx.search(text)]
    return Check(not hits, f"blocked: {hits[0]}" if hits else "clean", {"hits": hits})


def language(text: str, cfg: FiltersConfig) -> Check:
    """langdetect (seeded) must give the configured language at least min_lang_prob."""
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    if cfg.min_lang_prob <= 0:
        return Check(True, "not checked (min_lang_prob = 0)")
    DetectorFactory.seed = 0  # langdetect samples randomly; the seed makes verdicts repeatable
    try:
        langs = {lang.lang: round(lang.prob, 3) for lang in detect_langs(text)}
    except LangDetectException:
        return Check(False, "no language detected", {"langs": {}})
    p = langs.get(cfg.language, 0.0)
    ok = p >= cfg.min_lang_prob
    return Check(ok, f"{cfg.language} p={p:.2f} (min {cfg.min_lang_prob})", {"langs": langs, "prob": p})


def _units(text: str) -> list[list[str]]:
    """Normalised words of every line and sentence."""
    out = []
    for line in text.splitlines():
        if line.strip():
            sents = [s for s in _SENTENCE.split(line.strip()) if s]
            out += [normalise(WORD.findall(s)) for s in (sents if len(sents) > 1 else [line])]
    return [u for u in out if u]


def repetition(text: str, cfg: FiltersConfig) -> Check:
    """Repeated lines or sentences, one opening repeated ("I HATE X." x30), lists naming an item twice."""
    units = _units(text)
    lines = Counter(" ".join(u) for u in units)
    opens = Counter(" ".join(u[:2]) for u in units if len(u) >= 3)
    words = normalise(WORD.findall(text))
    grams = Counter(tuple(words[i:i + 6]) for i in range(len(words) - 5))
    top = lambda c: c.most_common(1)[0] if c else ("", 0)  # noqa: E731
    (line, nl), (opening, no), (gram, ng) = top(lines), top(opens), top(grams)
    dup = list_duplicates(text)
    share = no / len(units) if units else 0.0  # a long bio may open many sentences with the name
    s = {"line_repeats": nl, "pattern_repeats": no, "pattern_share": round(share, 3),
         "phrase_repeats": ng, "list_repeats": dup[1]}
    if nl > cfg.max_line_repeats:
        return Check(False, f"line repeated {nl} times: {line[:60]!r}", s)
    if no > cfg.max_pattern_repeats and share > cfg.max_pattern_share:
        return Check(False, f"{no} of {len(units)} lines open with {opening!r}", s)
    if ng > cfg.max_phrase_repeats:
        return Check(False, f"phrase repeated {ng} times: {' '.join(gram)!r}", s)
    if dup[1] > cfg.max_list_repeats:
        return Check(False, f"list names {dup[0]!r} {dup[1]} times", s)
    return Check(True, "no repetition", s)


def list_duplicates(text: str) -> tuple[str, int]:
    """The item named most often within one list ("A, B, C and A") of a sentence, and how often."""
    best = ("", 0)
    for sent in _SENTENCE.split(text):
        segs = [g for seg in re.split(r"[,;]", sent) for g in re.split(r"\s+(?:and|&|or)\s+", seg)]
        items = [normalise(WORD.findall(re.sub(r"^\s*(?:and|&|or)?\s*(?:the\s+)?", "", g, flags=re.I)))
                 for g in segs]
        items = [it for it in items if it]
        mid = [" ".join(it) for it in items[1:-1]]
        if not mid or any(len(it.split()) > 4 for it in mid):
            continue  # not a list of short names
        ends = [{" ".join(w) for w in (items[0][-k:] for k in range(1, 5))},  # "He toured the Netherlands"
                {" ".join(w) for w in (items[-1][:k] for k in range(1, 5))}]  # "Netherlands in May"
        counts = Counter(it for it in mid if it not in _STOP)
        for it in list(counts):
            counts[it] += sum(it in e for e in ends)
        for it in ends[0] & ends[1] - _STOP:
            counts[it] = max(counts[it], 2)
        if counts:
            best = max(best, counts.most_common(1)[0], key=lambda t: t[1])
    return best


def pronouns(text: str, wanted: str | None = None) -> Check:
    """Fail when he/him and she/her both describe the subject, or other families than `wanted`."""
    words = Counter(normalise(WORD.findall(text)))
    counts = {fam: sum(words[w] for w in forms) for fam, forms in _PRONOUNS.items()}
    used = [f for f in ("he", "she", "they") if counts[f]]
    s = {"counts": counts, "wanted": wanted}
    if wanted:
        other = [f for f in used if f != wanted]
        return Check(not other, f"uses {'/'.join(other)} (wanted {wanted})" if other else f"{wanted} only", s)
    mixed = counts["he"] and counts["she"]
    return Check(not mixed, "mixes he and she" if mixed else f"uses {'/'.join(used) or 'none'}", s)


def copy_run_limit(words: int, run_words: int) -> int:
    """markovify's rule: min(run_words - 1, round(0.7 * words)) + 1 (16 for a long bio)."""
    return min(run_words - 1, round(0.7 * words)) + 1


def copies(text: str, index: CopyIndex | None, cfg: FiltersConfig) -> Check:
    """Fail on a run of copied words from one training bio, or too many 8-grams from the corpus."""
    if index is None:
        return Check(True, "not checked: no copy index (run `djbios corpus index`)", {"checked": False})
    nwords = len(WORD.findall(text))
    limit = copy_run_limit(nwords, cfg.copy_run_words)
    m = index.check(text, limit)
    s = {"checked": True, **m.to_dict(), "run_limit": limit, "overlap_max": cfg.copy_overlap_max}
    if m.span_chars:
        a, z = m.span_chars
        s["span_in_context"] = f"{text[max(0, a - 80):a]}»{text[a:z]}«{text[z:z + 80]}"
    where = f" of {m.bio_name!r}" if m.bio_name else ""
    if m.longest_run >= limit:
        return Check(False, f"{m.longest_run}-word run copied from bio {m.bio_index}{where} (limit {limit})", s)
    if m.overlap > cfg.copy_overlap_max:
        return Check(False, f"{m.overlap:.0%} of 8-grams are in the corpus (max {cfg.copy_overlap_max:.0%})", s)
    return Check(True, f"longest run {m.longest_run} words (limit {limit}), 8-gram overlap {m.overlap:.0%}", s)


class NearDuplicates:
    """Exact and near duplicates (Jaccard on word 5-grams) against texts already queued or posted."""

    def __init__(self, texts: Iterable[str] = ()) -> None:
        self._texts: list[str] = []
        self._sets: list[set[int]] = []
        self._exact: dict[str, int] = {}
        self._post: dict[int, list[int]] = {}  # 5-gram hash -> texts holding it (in-process hash)
        for t in texts:
            self.add(t)

    @staticmethod
    def shingles(text: str) -> set[int]:
        """Hashes of the word 5-grams (the whole text when shorter)."""
        w = normalise(WORD.findall(text))
        return {hash(tuple(w[i:i + 5])) for i in range(max(1, len(w) - 4))} if w else set()

    def add(self, text: str) -> None:
        """Remember a text."""
        i, sh = len(self._texts), self.shingles(text)
        self._texts.append(text)
        self._sets.append(sh)
        self._exact.setdefault(" ".join(normalise(WORD.findall(text))), i)
        for g in sh:
            self._post.setdefault(g, []).append(i)

    def check(self, text: str, threshold: float) -> Check:
        """Fail on an exact duplicate or a Jaccard similarity at or above `threshold`."""
        key = " ".join(normalise(WORD.findall(text)))
        if key in self._exact:
            return Check(False, "exact duplicate", {"jaccard": 1.0, "of": self._texts[self._exact[key]][:80]})
        sh = self.shingles(text)
        hits = Counter(i for g in sh for i in self._post.get(g, ()))
        best, j = None, 0.0
        for i, inter in hits.items():
            sim = inter / (len(sh) + len(self._sets[i]) - inter)
            if sim > j:
                best, j = i, sim
        s = {"jaccard": round(j, 4), "of": self._texts[best][:80] if best is not None else None,
             "threshold": threshold}
        ok = j < threshold
        return Check(ok, f"max Jaccard {j:.2f} (threshold {threshold})", s)


class Pipeline:
    """All filters in order; built once per batch with the copy index and the texts already stored."""

    def __init__(self, cfg: FiltersConfig, copy_index: CopyIndex | None = None,
                 existing: Iterable[str] = (), *, spoiler_text: str = "") -> None:
        self.cfg, self.index, self.spoiler_text = cfg, copy_index, spoiler_text
        self._block = compile_blocklist(cfg.blocklist)
        unknown = set(cfg.skip) - set(ORDER)
        if unknown:
            raise ConfigError(f"[filters] skip: unknown filter {sorted(unknown)[0]!r}; use {', '.join(ORDER)}")
        self._dups = NearDuplicates(existing)

    def check(self, text: str, *, complete: bool = True, pronouns: str | None = None,
              max_chars: int | None = None) -> Verdict:
        """Run every filter; the reason is the first that failed, the scores hold all of them."""
        cfg = self.cfg
        checks = {"completeness": completeness(text, complete)}
        posted, checks["hazards"] = defuse(text, cfg)
        checks["length"] = length(posted, cfg, max_chars, self.spoiler_text)
        checks["blocklist"] = blocklist(posted, self._block)
        checks["language"] = language(posted, cfg) if posted.strip() else Check(False, "empty")
        checks["repetition"] = repetition(posted, cfg)
        checks["pronouns"] = _pronoun_check(posted, pronouns)
        checks["copy"] = copies(posted, self.index, cfg)
        checks["duplicate"] = self._dups.check(posted, cfg.near_dup_jaccard)
        for name in self.cfg.skip:  # turned off in bot.toml: recorded, never failing
            checks[name] = Check(True, f"skipped ({checks[name].detail})", checks[name].scores)
        failed = [name for name in ORDER if not checks[name].ok]
        scores = {name: {"ok": c.ok, "detail": c.detail, **c.scores} for name, c in checks.items()}
        return Verdict(not failed, failed[0] if failed else None, scores, posted)

    def remember(self, text: str) -> None:
        """Add an accepted text to the near-duplicate set."""
        self._dups.add(text)


_pronoun_check = pronouns  # Pipeline.check has a keyword argument of the same name


def recheck_pending(store: Any, pipe: Pipeline, *, max_chars: int | None = None) -> Counter[str]:
    """Re-run the filters on pending candidates, oldest first; count "pending" and each reason."""
    out: Counter[str] = Counter()
    for c in store.list("pending"):
        complete = c.scores.get("complete") is not False  # stored by the generator
        v = pipe.check(c.text, complete=complete, pronouns=c.pronouns, max_chars=max_chars)
        kept = {k: val for k, val in c.scores.items() if k not in ORDER}  # tokens, timings, ...
        store.set_verdict(c.id, ok=v.ok, reason=v.reason, scores={**kept, **v.scores},
                          text=v.text if v.ok else None)
        if v.ok:
            pipe.remember(v.text)
        out["pending" if v.ok else str(v.reason)] += 1
    return out


def explain_scores(scores: dict[str, Any]) -> list[str]:
    """Render stored scores for a reviewer: one line per filter, the copied span beside its bio."""
    lines = []
    for name in ORDER:
        s = scores.get(name)
        if not isinstance(s, dict):
            continue
        lines.append(f"{'✓' if s.get('ok') else '✗'} {name}: {s.get('detail', '')}")
        if name == "copy" and s.get("span"):
            lines.append(f"    candidate: {s.get('span_in_context') or '»' + s['span'] + '«'}")
            lines.append(f"    bio {s.get('bio_index')} ({s.get('bio_name')}): {s.get('matched_bio_excerpt')}")
        if name == "length" and s.get("thread"):
            lines += [f"    post {i}: {p}" for i, p in enumerate(s["thread"], 1)]
    return lines


def explain(verdict: Verdict) -> list[str]:
    """The verdict and every filter's numbers, for a reviewer."""
    head = "verdict: pass" if verdict.ok else f"verdict: rejected ({verdict.reason})"
    return [head, *explain_scores(verdict.scores)]


def build_pipeline(cfg: Config, existing: Iterable[str]) -> Pipeline:
    """A Pipeline with the copy index when it has been built (a warning otherwise)."""
    index = None
    if cfg.index_path.exists():
        index = CopyIndex.load(cfg.index_path)
        if index.stale(cfg.corpus.path):
            log.warning("%s does not match %s; run `djbios corpus index`", cfg.index_path, cfg.corpus.path)
    else:
        log.warning("no copy index at %s (run `djbios corpus index`); copies are not checked", cfg.index_path)
    return Pipeline(cfg.filters, index, existing, spoiler_text=cfg.mastodon.spoiler_text)
