"""What a bio becomes on the timeline, and how statuses read back are matched to a WHOLE bio.

The parts are derived from the bio's current text at post time (never remembered), so an edit
always posts what the operator sees. A look-up matches every part, in order, each a reply to the
one before; a text prefix is never enough (two bios may share a first part).
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Iterable
from typing import Any, NamedTuple

from bot.filters.hazards import mastodon_length
from bot.filters.length import split_thread
from bot.text import squash_space

# Marks that the server may drop or render away: zero-width characters (our defuser puts a ZWSP
# after a sigil) and the emphasis markers some servers turn into <em>/<strong>/<code>/<del>.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_MARKUP = re.compile(r"[*_~`]")


class Online(NamedTuple):
    """A bio found online: every part's status id in order, and the first part's URL."""

    ids: list[str]
    url: str


def thread_parts(text: str, limit: int, *, spoiler_text: str = "", too_long: str = "reject") -> list[str]:
    """The statuses a bio becomes: its text, or (too_long = "thread") split_thread's numbered parts."""
    if too_long != "thread" or mastodon_length(text, spoiler_text) <= limit:
        return [text]
    return split_thread(text, limit, spoiler_text)


def part_key(bio_key: str, index: int) -> str:
    """The Idempotency-Key of part `index` (0-based): the bio's key, then -2, -3 ... for replies."""
    return bio_key + (f"-{index + 1}" if index else "")


def html_to_text(content: str) -> str:
    """A status's HTML content as plain text (paragraphs and line breaks become spaces)."""
    content = re.sub(r"<br\s*/?>|</p>", " ", content)
    return squash_space(html.unescape(re.sub(r"<[^>]+>", "", content)))


def match_key(text: str) -> str:
    """Plain text as compared with a status: entities unescaped, invisible and markup marks dropped."""
    return squash_space(_MARKUP.sub("", _INVISIBLE.sub("", html.unescape(text))))


def status_key(status: Any) -> str:
    """A status read back from the server, as match_key sees it."""
    return match_key(html_to_text(status.get("content") or ""))


def find_chain(
    statuses: Iterable[Any], parts: list[str], *, known: list[str] | None = None, exclude: Collection[str] = ()
) -> list[str] | None:
    """Status ids of the whole bio among `statuses`, or None unless EVERY part is there.

    `known` are ids already recorded for the bio (its first parts); the rest must follow as
    replies. `exclude` are ids other bios recorded: never claimed for this one.
    """
    pub = [s for s in statuses if s.get("visibility") != "direct" and str(s.get("id")) not in exclude]
    pub.sort(key=lambda s: (len(str(s["id"])), str(s["id"])))  # oldest first (ids grow)
    keys = [match_key(p) for p in parts]
    if known:
        return _extend(list(known), keys, pub)
    for s in pub:
        if not s.get("in_reply_to_id") and status_key(s) == keys[0]:
            chain = _extend([str(s["id"])], keys, pub)
            if chain:
                return chain
    return None


def _extend(chain: list[str], keys: list[str], pub: list[Any]) -> list[str] | None:
    """Follow replies part by part; each reply answers the part before (or, in older threads, the first)."""
    while len(chain) < len(keys):
        want = keys[len(chain)]
        nxt = next(
            (
                s
                for s in pub
                if str(s.get("in_reply_to_id")) in (chain[-1], chain[0])
                and str(s["id"]) not in chain
                and status_key(s) == want
            ),
            None,
        )
        if nxt is None:
            return None
        chain.append(str(nxt["id"]))
    return chain
