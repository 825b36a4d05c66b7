"""An honest profile, set once: the bot flag, the AI disclosure, who runs the bot and how posts are made.

The worker reads the account first and sends only what is missing: the operator's own note is never
replaced (the disclosure is appended when the note lacks it), and when the profile already says it all
nothing is sent, so a restart (or every cron `run --once`) federates no profile update. Also here: the
publisher wrapper that appends [profile] post_suffix to every status (the length filter counts it).
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bot.config import Config
from bot.errors import PublishError
from bot.text import squash_space, with_suffix

if TYPE_CHECKING:
    from bot.posting.parts import Online
    from bot.posting.publishers import OnPart, Publisher
    from bot.store.candidate import Candidate

log = logging.getLogger(__name__)

FIELD_OPERATOR = "Operator"  # profile field names: what a reader sees
FIELD_POSTS = "Posts"
POSTS_VALUE = {  # [review] mode -> how the posts are made, said in the profile
    "manual": "AI-generated; a person reviews each before it is posted",
    "auto": "AI-generated; posted automatically after filters, not reviewed by a person",
}
MAX_FIELDS = 4  # Mastodon's default number of profile fields
NOTE_MAX_CHARS = 500  # Mastodon's default limit of the profile note


def plain(content: str) -> str:
    """Profile HTML as text: paragraphs become blank lines, line breaks new lines, tags go."""
    text = re.sub(r"</p>\s*<p[^>]*>", "\n\n", content)
    text = re.sub(r"<br\s*/?>", "\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def _same(a: str, b: str) -> bool:
    return squash_space(a).casefold() == squash_space(b).casefold()


def wanted_fields(cfg: Config) -> list[tuple[str, str]]:
    """The profile fields the bot owns: who runs it ([profile] operator) and how posts are made."""
    fields = [(FIELD_OPERATOR, cfg.profile.operator.strip())] if cfg.profile.operator.strip() else []
    return [*fields, (FIELD_POSTS, POSTS_VALUE[cfg.review.mode])]


def current_note(account: dict[str, Any]) -> str:
    """The note as the owner typed it: `source.note` when the instance sends it, else the HTML stripped."""
    source = account.get("source") or {}
    return str(source["note"]) if source.get("note") is not None else plain(account.get("note") or "")


def current_fields(account: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, value) pairs as typed: `source.fields`, else the rendered fields stripped of HTML."""
    source = account.get("source") or {}
    raw = source.get("fields") if source.get("fields") is not None else account.get("fields")
    return [(plain(str(f.get("name", ""))), plain(str(f.get("value", "")))) for f in raw or []]


def plan(account: dict[str, Any], cfg: Config) -> dict[str, Any]:
    """The update that makes the profile say what it must; {} when it already does."""
    changes: dict[str, Any] = {}
    if account.get("bot") is not True:
        changes["bot"] = True
    note, disclosure = current_note(account), cfg.profile.disclosure.strip()
    if disclosure and squash_space(disclosure).casefold() not in squash_space(note).casefold():
        new = f"{note.rstrip()}\n\n{disclosure}" if note.strip() else disclosure
        if len(new) <= NOTE_MAX_CHARS:
            changes["note"] = new
        else:  # cutting the operator's words is worse than a missing line: say so instead
            log.warning(
                "the profile note has no room for [profile] disclosure (%d > %d characters); shorten the note by hand",
                len(new),
                NOTE_MAX_CHARS,
            )
    fields = current_fields(account)
    merged = merge_fields(fields, wanted_fields(cfg))
    if merged != fields:
        changes["fields"] = merged
    return changes


def merge_fields(fields: list[tuple[str, str]], wanted: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The operator's fields kept in order; ours updated in place, or appended while there is room."""
    out = list(fields)
    for name, value in wanted:
        at = next((i for i, (n, _) in enumerate(out) if _same(n, name)), None)
        if at is not None:
            if not _same(out[at][1], value):
                out[at] = (out[at][0], value)
        elif len(out) < MAX_FIELDS:
            out.append((name, value))
        else:
            log.warning("no free profile field for %r (Mastodon allows %d); free one by hand", name, MAX_FIELDS)
    return out


@runtime_checkable
class ProfileOwner(Protocol):
    """A publisher with an account profile (Mastodon; the outbox has none)."""

    def profile(self) -> dict[str, Any]:
        """The account as the instance returns it to its owner."""
        ...

    def update_profile(self, **changes: Any) -> None:
        """Send profile changes (bot, note, fields)."""
        ...


def ensure_profile(publisher: Publisher, cfg: Config) -> list[str]:
    """Read the account and send what is missing; the names of what changed. Never raises."""
    if not cfg.mastodon.set_bot_flag or not isinstance(publisher, ProfileOwner):
        return []  # turned off, or the outbox: no profile to keep
    try:
        changes = plan(publisher.profile(), cfg)
        if changes:
            publisher.update_profile(**changes)
    except PublishError as exc:
        log.warning("could not check the profile (bot flag, disclosure, fields): %s", exc)
        return []
    if changes:
        log.info("profile updated: %s", ", ".join(sorted(changes)))
    return sorted(changes)


class SuffixPublisher:
    """Appends [profile] post_suffix to every status (each part of a thread); the rest is the inner one's."""

    def __init__(self, inner: Publisher, suffix: str) -> None:
        self.inner, self.suffix = inner, suffix

    def post(
        self, candidate: Candidate, parts: list[str] | None = None, on_part: OnPart | None = None
    ) -> tuple[str, str]:
        """Post the bio with the suffix under it (and under every part of a thread)."""
        final = [self._final(p) for p in (parts or [candidate.text])]
        result: tuple[str, str] = self.inner.post(candidate, final, on_part)
        return result

    def find_bio(self, candidate: Candidate, parts: list[str], exclude: Collection[str] = ()) -> Online | None:
        """Look for the bio as it was posted, suffix included."""
        found: Online | None = self.inner.find_bio(candidate, [self._final(p) for p in parts], exclude)
        return found

    def delete(self, status_id: str) -> bool:
        """The inner publisher's delete."""
        return bool(self.inner.delete(status_id))

    def max_characters(self) -> int:
        """The inner publisher's limit."""
        return int(self.inner.max_characters())

    def alert(self, message: str) -> None:
        """Alerts carry no suffix."""
        self.inner.alert(message)

    def _final(self, text: str) -> str:
        return with_suffix(text, self.suffix)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def with_post_suffix(publisher: Publisher, cfg: Config) -> Publisher:
    """The publisher, wrapped to append [profile] post_suffix when one is set."""
    return SuffixPublisher(publisher, cfg.profile.post_suffix) if cfg.profile.post_suffix.strip() else publisher
