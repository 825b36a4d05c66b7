"""`djbios pause` / `resume`: posting (and replies) stop, for a while or until resumed.

The pause lives in the database (bot_state key "pause"), so every worker and every cron run on it sees
the same answer. A pause past its `until` is over: nothing needs to clear it.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.store.state import get_state, set_state

if TYPE_CHECKING:
    from bot.store.store import Store

PAUSE_KEY = "pause"


@dataclass(frozen=True)
class Pause:
    """Who paused posting, when, why, and until when (None: until `djbios resume`)."""

    at: datetime
    until: datetime | None
    reason: str
    by: str

    def describe(self) -> str:
        """One line for the operator."""
        until = f"until {_show(self.until)}" if self.until else "until `djbios resume`"
        why = f": {self.reason}" if self.reason else ""
        return f"paused by {self.by} at {_show(self.at)}, {until}{why}"


def _show(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def current_pause(store: Store) -> Pause | None:
    """The stored pause, expired or not."""
    raw = get_state(store, PAUSE_KEY)
    if not raw:
        return None
    at = _parse(raw.get("at")) or datetime.fromtimestamp(0, UTC)
    return Pause(
        at=at, until=_parse(raw.get("until")), reason=str(raw.get("reason") or ""), by=str(raw.get("by") or "?")
    )


def active_pause(store: Store, now: datetime) -> Pause | None:
    """The pause in force at `now`, if any (the check at the top of every post and reply)."""
    p = current_pause(store)
    if p is None or (p.until is not None and p.until <= _aware(now)):
        return None
    return p


def pause(store: Store, now: datetime, *, hours: float | None = None, reason: str = "", by: str | None = None) -> Pause:
    """Stop posting and replies from `now`, for `hours` or until resumed."""
    now = _aware(now)
    p = Pause(at=now, until=now + timedelta(hours=hours) if hours else None, reason=reason.strip(), by=by or _user())
    set_state(
        store,
        PAUSE_KEY,
        {"at": p.at.isoformat(), "until": p.until.isoformat() if p.until else None, "reason": p.reason, "by": p.by},
        now,
    )
    return p


def resume(store: Store, now: datetime) -> Pause | None:
    """Lift the pause; the one that was in force (None if posting was not paused)."""
    p = active_pause(store, now)
    set_state(store, PAUSE_KEY, None, now)
    return p


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _user() -> str:
    """Who runs the command: the login name (the uid where there is none)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container): the uid says enough
        return f"uid {os.getuid()}"
