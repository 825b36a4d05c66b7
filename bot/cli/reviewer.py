"""The interactive review loop; terminal I/O is passed in, so piped input and tests drive it too."""

from __future__ import annotations

import dataclasses
import re
import textwrap
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.errors import BotError
from bot.store.candidate import Candidate, utcnow

if TYPE_CHECKING:
    from bot.filters.pipeline import Pipeline
    from bot.store.store import Store

KEYS = "[a]pprove  [r]eject  [e]dit  [s]kip  [q]uit"

# Characters a terminal acts on instead of showing: C0 controls but tab and newline (ESC starts the
# sequences that recolour, move the cursor or clear the screen; CR overwrites a line), DEL, the C1
# controls (U+009B is a one-byte CSI in some terminals), and the bidirectional overrides and isolates
# that reorder a line so the reviewer reads something other than what would be posted.
HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """`text` with every character in HIDDEN shown as its escape (\\x1b, \\u202e), never sent raw."""
    return HIDDEN.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


@dataclasses.dataclass
class ReviewSummary:
    """What one review session did."""

    approved: int = 0
    rejected: int = 0
    edited: int = 0
    skipped: int = 0

    def line(self) -> str:
        """One line for the end of the session."""
        return (f"approved {self.approved}, rejected {self.rejected}, edited {self.edited}, "
                f"skipped {self.skipped}")


def age(created: datetime, now: datetime | None = None) -> str:
    """A short human age like '5m', '3h', '2d'."""
    seconds = max(0, int(((now or utcnow()) - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def render(c: Candidate, explain: Callable[[dict[str, Any]], list[str]] | None = None) -> str:
    """The text, length and filter scores of one candidate, as the reviewer sees it."""
    lines = [f"#{c.id}  {c.status}  {len(c.text)} chars  source: {c.source}  age: {age(c.created_at)}"]
    if c.reason:
        lines.append(f"reason: {c.reason}")
    if c.request_id is not None:  # a reply: the reviewer sees what was asked (bot/posting/replies.py)
        asked = (c.params or {}).get("reply_to") or {}
        lines.append(f"REPLY to @{asked.get('acct', '?')} (request #{c.request_id}, {asked.get('visibility', '?')},"
                     f" pronouns {c.pronouns or 'any'}): {visible(str(asked.get('text', ''))[:200])!r}")
    lines += textwrap.wrap(visible(c.text), 88, replace_whitespace=False, drop_whitespace=False) or [""]
    if c.scores:
        lines += explain(c.scores) if explain else [f"scores: {_short_scores(c.scores)}"]
    return visible("\n".join(lines))  # the text, reason and filter details may all quote the bio


def _explain_scores() -> Callable[[dict[str, Any]], list[str]]:
    """The filters' reviewer view of scores (imported on first use)."""
    from bot.filters.explain import explain_scores

    return explain_scores


def _short_scores(scores: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in scores.items() if not isinstance(v, (dict, list)))


def review_loop(
    store: Store,
    ask: Callable[[str], str | None],
    say: Callable[[str], None],
    edit_text: Callable[[str], str | None],
    explain: Callable[[dict[str, Any]], list[str]] | None = None,
    *,
    pipe: Pipeline,
) -> ReviewSummary:
    """Show each pending candidate, best first, and apply the reviewer's key; stop at q or EOF.

    Approvals and edits go through the filters (bot/filters/gate.py) with `pipe`.
    """
    summary = ReviewSummary()
    pending = store.list("pending", order="quality")
    for n, cand in enumerate(pending, 1):
        cand = store.get(cand.id)  # another process may have changed it meanwhile
        if cand.status != "pending":
            continue
        say(f"\n[{n}/{len(pending)}] " + render(cand, explain))
        if not _one(store, pipe, cand, ask, say, edit_text, summary):
            break
    say(summary.line())
    return summary


def _one(store: Store, pipe: Pipeline, cand: Candidate, ask: Callable[[str], str | None],
         say: Callable[[str], None], edit_text: Callable[[str], str | None], summary: ReviewSummary) -> bool:
    """Handle one candidate; False means stop the session."""
    try:
        return _decide(store, pipe, cand, ask, say, edit_text, summary)
    except BotError as exc:  # e.g. another process approved it meanwhile: skip it, keep reviewing
        say(f"#{cand.id}: {exc}")
        return True


def _decide(store: Store, pipe: Pipeline, cand: Candidate, ask: Callable[[str], str | None],
            say: Callable[[str], None], edit_text: Callable[[str], str | None], summary: ReviewSummary) -> bool:
    """Ask for keys until the reviewer decides on `cand`; False means stop the session."""
    from bot.filters import gate

    while True:
        key = ask(KEYS + " > ")
        if key is None or key.strip().lower() == "q":
            return False
        key = key.strip().lower()[:1]
        if key == "a":
            try:
                gate.approve(store, pipe, cand.id)
            except gate.GateRefused as exc:  # the filters say no: the reviewer edits, rejects or skips
                say(str(exc))
                continue
            summary.approved += 1
            return True
        if key == "r":
            reason = ask("reason (optional) > ") or ""
            store.reject(cand.id, reason=reason.strip())
            summary.rejected += 1
            return True
        if key == "s":
            summary.skipped += 1
            return True
        if key == "e":
            new = edit_text(cand.text)
            if new and new.strip() and new.strip() != cand.text:
                cand, _ = gate.edit(store, pipe, cand.id, new.strip())
                summary.edited += 1
                say(render(cand, _explain_scores()))
            continue  # after an edit the reviewer still decides
        say(f"unknown key {key!r}")
