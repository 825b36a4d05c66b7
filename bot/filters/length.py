"""Length as Mastodon counts it, and the split of a too-long bio into a numbered thread."""

from __future__ import annotations

from typing import Any

import regex

from bot.config import FiltersConfig
from bot.filters.check import Check
from bot.filters.hazards import graphemes, mastodon_length
from bot.text import sentences

MIN_PART_CHARS = 20  # a thread part with less room than this for text is not worth posting


def split_thread(text: str, limit: int, spoiler_text: str = "") -> list[str]:
    """Split at sentence boundaries into numbered replies ("… (1/3)"), each within `limit`.

    Every part, with its number and the content warning, is measured as Mastodon measures it; a word
    longer than a part is cut. Returns [] when no split fits (the warning leaves too little room).
    """
    units = sentences(text)
    for n_guess in (9, 99, 999):
        room = limit - graphemes(f" ({n_guess}/{n_guess})") - graphemes(spoiler_text)
        if room < MIN_PART_CHARS:
            return []
        parts = _pack(units, room)
        if len(parts) <= n_guess:
            posts = [f"{p} ({i}/{len(parts)})" for i, p in enumerate(parts, 1)] if len(parts) > 1 else parts
            if all(mastodon_length(p, spoiler_text) <= limit for p in posts):
                return posts
    return []


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
    """A sentence too long for one post, cut between words (and a word too long for one, inside it)."""
    out, cur = [], ""
    for word in sentence.split():
        for w in [word] if mastodon_length(word) <= room else _cut_word(word, room):
            if cur and mastodon_length(f"{cur} {w}") > room:
                out.append(cur)
                cur = w
            else:
                cur = f"{cur} {w}" if cur else w
    return out + ([cur] if cur else [])


def _cut_word(word: str, room: int) -> list[str]:
    """A word longer than a part, cut between grapheme clusters into pieces of at most `room`."""
    clusters = regex.findall(r"\X", word)
    out = []
    while clusters:
        take = min(room, len(clusters))
        while take > 1 and mastodon_length("".join(clusters[:take])) > room:
            take -= 1  # a short URL counts 23: a piece may hold fewer clusters than `room`
        out.append("".join(clusters[:take]))
        clusters = clusters[take:]
    return out


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
        parts = split_thread(text, limit, spoiler_text)
        if not parts:
            why = (
                f"the {graphemes(spoiler_text)}-character content warning leaves"
                if spoiler_text
                else "the limit leaves"
            )
            return Check(
                False, f"{n} chars, over the limit of {limit}, and no thread fits: {why} too little room per part", s
            )
        s["thread"] = parts
        return Check(True, f"{n} chars > {limit}: a thread of {len(parts)} posts", s)
    return Check(False, f"{n} chars, over the limit of {limit}", s)
