"""Checks on what a bio says: complete, in the configured language, not repeating itself, one set
of pronouns for its subject. (Blocked words: bot/filters/blocklist.py.)
"""

from __future__ import annotations

import re
from collections import Counter

from bot.config import FiltersConfig
from bot.filters.check import Check
from bot.text import DELIMITER_PIECES, END, SENTENCE_END, START, detect_languages, pronoun_counts, sentences, words

_STOP = {"on", "in", "at", "of", "to", "for", "with", "by", "from", "a", "an", "the", "he", "she", "they",
         "it", "his", "her", "their", "was", "is", "and", "or"}  # never list items on their own


def completeness(text: str, complete: bool = True) -> Check:
    """The text ended at the end delimiter, is not empty, and has no leftover delimiters."""
    if not text.strip():
        return Check(False, "empty")
    if not complete:
        return Check(False, "cut off before the end delimiter")
    left = [d for d in (START, END, *DELIMITER_PIECES) if d in text]
    return Check(not left, f"leftover delimiter {left[0]!r}" if left else "complete")


def language(text: str, cfg: FiltersConfig) -> Check:
    """langdetect (seeded) must give the configured language at least min_lang_prob."""
    if cfg.min_lang_prob <= 0:
        return Check(True, "not checked (min_lang_prob = 0)")
    langs = {lang: round(p, 3) for lang, p in detect_languages(text).items()}
    if not langs:
        return Check(False, "no language detected", {"langs": {}})
    p = langs.get(cfg.language, 0.0)
    ok = p >= cfg.min_lang_prob
    return Check(ok, f"{cfg.language} p={p:.2f} (min {cfg.min_lang_prob})", {"langs": langs, "prob": p})


def _units(text: str) -> list[list[str]]:
    """Normalised words of every line and sentence."""
    out = []
    for line in text.splitlines():
        if line.strip():
            sents = sentences(line)
            out += [words(s) for s in (sents if len(sents) > 1 else [line])]
    return [u for u in out if u]


def repetition(text: str, cfg: FiltersConfig) -> Check:
    """Repeated lines or sentences, one opening repeated ("I HATE X." x30), lists naming an item twice."""
    units = _units(text)
    lines = Counter(" ".join(u) for u in units)
    opens = Counter(" ".join(u[:2]) for u in units if len(u) >= 3)
    tokens = words(text)
    grams = Counter(tuple(tokens[i:i + 6]) for i in range(len(tokens) - 5))
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
    for sent in SENTENCE_END.split(text):
        segs = [g for seg in re.split(r"[,;]", sent) for g in re.split(r"\s+(?:and|&|or)\s+", seg)]
        items = [words(re.sub(r"^\s*(?:and|&|or)?\s*(?:the\s+)?", "", g, flags=re.I))
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
    counts = pronoun_counts(words(text))
    used = [f for f in ("he", "she", "they") if counts[f]]
    s = {"counts": counts, "wanted": wanted}
    if wanted:
        other = [f for f in used if f != wanted]
        return Check(not other, f"uses {'/'.join(other)} (wanted {wanted})" if other else f"{wanted} only", s)
    mixed = counts["he"] and counts["she"]
    return Check(not mixed, "mixes he and she" if mixed else f"uses {'/'.join(used) or 'none'}", s)
