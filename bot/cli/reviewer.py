"""The interactive review loop; terminal I/O is passed in, so a terminal, piped input and tests drive it.

On a terminal a decision is one key press and only a rejection's reason is read as a line; piped input
gives one line per key (bot/cli/terminal.py). `u` takes back this session's last approval or rejection.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.cli.terminal import Terminal, wrap
from bot.errors import BotError
from bot.store.candidate import Candidate, utcnow
from bot.text import visible

if TYPE_CHECKING:
    from bot.filters.pipeline import Pipeline
    from bot.store.store import Store

KEYS = "[a]pprove  [r]eject  [e]dit  [s]kip  [u]ndo  [q]uit"
# The filters whose evidence a reviewer weighs even when they pass: is it English, does it name a real
# artist, is it copied? The other passing filters fold into one line.
EVIDENCE = ("fluency", "names", "copy")


@dataclasses.dataclass
class ReviewSummary:
    """What one review session did."""

    approved: int = 0
    rejected: int = 0
    edited: int = 0
    skipped: int = 0
    undone: int = 0

    def line(self) -> str:
        """One line for the end of the session."""
        undone = f", undone {self.undone}" if self.undone else ""
        return (
            f"approved {self.approved}, rejected {self.rejected}, edited {self.edited}, skipped {self.skipped}{undone}"
        )


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
        lines.append(
            f"REPLY to @{asked.get('acct', '?')} (request #{c.request_id}, {asked.get('visibility', '?')},"
            f" pronouns {c.pronouns or 'any'}): {visible(str(asked.get('text', ''))[:200])!r}"
        )
    lines += wrap(visible(c.text))
    if c.scores:
        lines += explain(c.scores) if explain else [f"scores: {_short_scores(c.scores)}"]
    # the text, reason and filter details may all quote the bio; the header and verdicts fit the terminal too
    return "\n".join(wrap(visible("\n".join(lines)), indent="    "))


def compact_scores(scores: dict[str, Any]) -> list[str]:
    """The review screen's verdict: failing filters with their reasons, the evidence, the rest on one line."""
    checks = {k: v for k, v in scores.items() if isinstance(v, dict) and "ok" in v}
    lines = [f"✗ {k}: {v.get('detail', '')}" for k, v in checks.items() if not v["ok"]]
    for name in EVIDENCE:
        s = checks.get(name)
        if s is None:
            continue
        if s["ok"]:
            lines.append(f"✓ {name}: {s.get('detail', '')}")
        if name == "copy" and s.get("span"):
            lines.append(f"    copied: »{s['span']}« from bio {s.get('bio_index')} ({s.get('bio_name')})")
    passing = [k for k, v in checks.items() if v["ok"] and k not in EVIDENCE]
    if passing:
        lines.append("✓ " + ", ".join(passing))
    return lines


def _explain_scores() -> Callable[[dict[str, Any]], list[str]]:
    """The filters' reviewer view of scores (imported on first use)."""
    from bot.filters.explain import explain_scores

    return explain_scores


def _short_scores(scores: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in scores.items() if not isinstance(v, (dict, list)))


def nothing_to_review(store: Store, command: Callable[[str], str] = "djbios {}".format) -> str:
    """What an empty review says: where the bios are, and the next step (`command` spells a djbios command)."""
    counts = store.count_by_status()
    waiting = (
        f"{counts['approved']} approved wait to be posted (`{command('post')}` posts one now); "
        if counts["approved"]
        else ""
    )
    return (
        f"nothing to review: no pending bios. {waiting}`{command('generate')}` makes a new batch, "
        f"`{command('queue')}` lists every bio."
    )


def review_loop(
    store: Store,
    term: Terminal,
    *,
    pipe: Pipeline,
    explain: Callable[[dict[str, Any]], list[str]] | None = compact_scores,
) -> ReviewSummary:
    """Show each pending candidate, best first, and apply the reviewer's key; stop at q or end of input.

    Approvals and edits go through the filters (bot/filters/gate.py) with `pipe`.
    """
    return _Session(store, pipe, term, explain).run()


class _Session:
    """One review session: the queue still to see and the decisions it can take back."""

    def __init__(
        self, store: Store, pipe: Pipeline, term: Terminal, explain: Callable[[dict[str, Any]], list[str]] | None
    ) -> None:
        self.store, self.pipe, self.term, self.explain = store, pipe, term, explain
        self.summary = ReviewSummary()
        self.decided: list[tuple[int, str, str | None]] = []  # (id, state set, reason before): for undo

    def run(self) -> ReviewSummary:
        """Review until the queue is done or the reviewer quits."""
        todo = deque(c.id for c in self.store.list("pending", order="quality"))
        if not todo:
            self.term.say(nothing_to_review(self.store))
            return self.summary
        total = len(todo)
        while todo:
            cand = self.store.get(todo[0])  # another process may have changed it meanwhile
            if cand.status != "pending":
                todo.popleft()
                continue
            screen = f"[{total - len(todo) + 1}/{total}] " + render(cand, self.explain)
            self.term.say("\n" + "\n".join(wrap(screen, indent="    ")))  # the counter may push line 1 over
            try:
                outcome = self._decide(cand)
            except BotError as exc:  # e.g. another process approved it meanwhile: skip it, keep reviewing
                self.term.say(f"#{cand.id}: {exc}")
                outcome = "next"
            if outcome == "quit":
                break
            if outcome == "next":
                todo.popleft()
            else:  # "undo": the bio taken back comes first, then the one that was on screen
                todo.appendleft(int(outcome))
                total = max(total, len(todo))
        self.term.say(self.summary.line())
        return self.summary

    def _decide(self, cand: Candidate) -> str:
        """Read keys until the reviewer decides: "next", "quit", or the id of a bio taken back."""
        from bot.filters import gate

        while True:
            key = self.term.key(KEYS + " > ")
            if key is None or key == "q":
                return "quit"
            if key == "a":
                try:
                    gate.approve(self.store, self.pipe, cand.id)
                except gate.GateRefused as exc:  # the filters say no: it stays on screen
                    self.term.say(str(exc))
                    continue
                return self._decided(cand, "approved")
            if key == "r":
                reason = self.term.line("reason (optional) > ")
                self.store.reject(cand.id, reason=(reason or "").strip())
                return self._decided(cand, "rejected")
            if key == "s":
                self.summary.skipped += 1
                return "next"
            if key == "u":
                undone = self._undo()
                if undone is not None:
                    return str(undone)
                continue
            if key == "e":
                cand = self._edit(cand)
                continue  # after an edit the reviewer still decides
            if key:
                self.term.say(f"unknown key {key!r}; {KEYS}")

    def _decided(self, cand: Candidate, state: str) -> str:
        """Count a decision and remember it for undo."""
        self.decided.append((cand.id, state, cand.reason))
        if state == "approved":
            self.summary.approved += 1
        else:
            self.summary.rejected += 1
        return "next"

    def _undo(self) -> int | None:
        """Take back the last decision of this session; the id of its bio, or None."""
        if not self.decided:
            self.term.say("nothing to undo: this session has approved or rejected nothing yet")
            return None
        cid, state, reason = self.decided.pop()
        try:
            self.store.undo_review(cid, state, reason=reason)
        except BotError as exc:  # e.g. the worker is posting it already
            self.term.say(f"cannot undo #{cid}: {exc}")
            return None
        if state == "approved":
            self.summary.approved -= 1
        else:
            self.summary.rejected -= 1
        self.summary.undone += 1
        self.term.say(f"#{cid} is pending again ({state} taken back)")
        return cid

    def _edit(self, cand: Candidate) -> Candidate:
        """The text in $EDITOR, judged again by the filters; the candidate as it is now."""
        from bot.filters import gate

        new = self.term.edit(cand.text)
        if not new or not new.strip() or new.strip() == cand.text:
            return cand
        cand, _ = gate.edit(self.store, self.pipe, cand.id, new.strip())
        self.summary.edited += 1
        self.term.say(render(cand, self.explain))
        return cand
