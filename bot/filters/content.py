"""Checks on what a bio says: complete, not repeating itself, one set of pronouns for its subject.
(Blocked words: blocklist.py; language: language.py; English words: fluency.py.)
"""

from __future__ import annotations

from collections import Counter

from bot.config import FiltersConfig
from bot.filters.check import Check
from bot.filters.shapes import list_repeats, pronoun_mix, stutters, subject_pronouns
from bot.text import DELIMITER_PIECES, END, START, pronoun_counts, sentences, words


def completeness(text: str, complete: bool = True) -> Check:
    """The text ended at the end delimiter, is not empty, and has no leftover delimiters."""
    if not text.strip():
        return Check(False, "empty")
    if not complete:
        return Check(False, "cut off before the end delimiter")
    left = [d for d in (START, END, *DELIMITER_PIECES) if d in text]
    return Check(not left, f"leftover delimiter {left[0]!r}" if left else "complete")


def _units(text: str) -> list[list[str]]:
    """Normalised words of every line and sentence."""
    out = []
    for line in text.splitlines():
        if line.strip():
            sents = sentences(line)
            out += [words(s) for s in (sents if len(sents) > 1 else [line])]
    return [u for u in out if u]


def repetition(text: str, cfg: FiltersConfig) -> Check:
    """Repeated lines or sentences, one opening repeated ("I HATE X." x30), lists naming an item twice,
    a common word written twice in a row ("the the", "old old": a sampling stutter)."""
    units = _units(text)
    lines = Counter(" ".join(u) for u in units)
    opens = Counter(" ".join(u[:2]) for u in units if len(u) >= 3)
    tokens = words(text)
    grams = Counter(tuple(tokens[i : i + 6]) for i in range(len(tokens) - 5))
    top = lambda c: c.most_common(1)[0] if c else ("", 0)  # noqa: E731
    (line, nl), (opening, no), (gram, ng) = top(lines), top(opens), top(grams)
    dup = list_repeats(text)
    stutter = stutters(text)
    share = no / len(units) if units else 0.0  # a long bio may open many sentences with the name
    s = {
        "line_repeats": nl,
        "pattern_repeats": no,
        "pattern_share": round(share, 3),
        "phrase_repeats": ng,
        "list_repeats": dup[1],
        "list_item": dup[0],
        "stutters": stutter,
    }
    if nl > cfg.max_line_repeats:
        return Check(False, f"line repeated {nl} times: {line[:60]!r}", s)
    if no > cfg.max_pattern_repeats and share > cfg.max_pattern_share:
        return Check(False, f"{no} of {len(units)} lines open with {opening!r}", s)
    if ng > cfg.max_phrase_repeats:
        return Check(False, f"phrase repeated {ng} times: {' '.join(gram)!r}", s)
    if dup[1] > cfg.max_list_repeats:
        return Check(False, f"list names {dup[0]!r} {dup[1]} times", s)
    if len(stutter) > cfg.max_stutters:
        return Check(False, f"word written twice in a row: {', '.join(stutter[:3])}", s)
    return Check(True, "no repetition", s)


def pronouns(text: str, wanted: str | None = None, name: str = "") -> Check:
    """Fail when the subject is both he and she, or is not `wanted`; others' pronouns do not count.

    "She learnt from her grandfather; his records ..." is no mix: the grandfather claims "his"
    (bot/filters/shapes.py says how a pronoun is attributed to someone other than the subject).
    """
    counts = subject_pronouns(text, wanted, name)
    every = pronoun_counts(words(text))
    used = [f for f in ("he", "she", "they") if counts[f]]
    mix = pronoun_mix(counts, wanted)
    s = {"counts": counts, "all": every, "wanted": wanted}
    if wanted:
        return Check(not mix, f"uses {'/'.join(mix)} (wanted {wanted})" if mix else f"{wanted} only", s)
    return Check(not mix, "mixes he and she" if mix else f"uses {'/'.join(used) or 'none'}", s)
