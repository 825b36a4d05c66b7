"""Length as Mastodon counts it, and the split of a too-long bio into a numbered thread."""

from __future__ import annotations

from typing import Any

from bot.config import FiltersConfig
from bot.filters.check import Check
from bot.filters.hazards import graphemes, mastodon_length
from bot.text import sentences


def split_thread(text: str, limit: int, spoiler_text: str = "") -> list[str]:
    """Split at sentence boundaries into numbered replies ("… (1/3)"), each within `limit`."""
    units = sentences(text)
    for n_guess in (9, 99, 999):
        room = limit - graphemes(f" ({n_guess}/{n_guess})") - graphemes(spoiler_text)
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
