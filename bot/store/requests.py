"""Follower requests (table `requests`): one row per mention notification, and what became of it.

```
new ──answer_requests──▶ queued (a reply candidate waits: review, or posting) ──posted──▶ answered
 │                  └──▶ failed (no candidate passed the filters in [replies] max_batches)
 └── (at intake) ignored (reason: a guard said no; the row stays so the mention is never read twice)
command (an operator's DM, to carry out) ──▶ done (the answer sent back)
```
A notification makes at most one row, whatever the number of processes polling: the insert is
ignored when the notification id is already there (unique index), so re-reading a page is harmless.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.errors import IllegalTransition, NotFound
from bot.store.candidate import naive_utc
from bot.store.tables import BatchRow, CandidateRow, RequestRow

if TYPE_CHECKING:
    from bot.store.store import Store

REQUEST_STATES = ("new", "queued", "answered", "failed", "ignored", "command", "done")
ACCEPTED = ("new", "queued", "answered", "failed")  # requests the bot took on (the rate limits count these)
# Which states each request state may be left for.
_NEXT = {
    "new": ("queued", "failed", "ignored"),
    "queued": ("answered", "failed", "queued"),
    "command": ("done",),
    "failed": ("new", "answered"),  # answered: a reply failed for good, re-approved by the operator, went out
}


@dataclasses.dataclass(frozen=True)
class Request:
    """A read-only snapshot of a request row."""

    id: int
    notification_id: str
    status_id: str
    account_id: str
    acct: str
    visibility: str
    text: str
    name: str | None
    pronouns: str | None
    state: str
    reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: RequestRow) -> Request:
        """Copy every field from an ORM row."""
        return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})

    @property
    def idempotency_key(self) -> str:
        """Every attempt to answer this mention sends this key: one mention, one reply, ever."""
        return f"djbios-reply-{self.notification_id}"

    def to_json(self) -> dict[str, Any]:
        """The stable JSON shape of `djbios requests --json`."""
        out = dataclasses.asdict(self)
        for key in ("created_at", "updated_at"):
            out[key] = out[key].isoformat() + "Z"
        return out


def add_request(
    store: Store,
    *,
    notification_id: str,
    status_id: str,
    account_id: str,
    acct: str,
    visibility: str,
    text: str,
    state: str,
    name: str | None = None,
    pronouns: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> Request | None:
    """Insert a request; None (and nothing written) when this notification already has a row."""
    _check_state(state)
    when = naive_utc(now)
    with store.write_session() as s:
        if s.scalar(select(RequestRow.id).where(RequestRow.notification_id == notification_id)):
            return None
        row = RequestRow(
            notification_id=notification_id,
            status_id=status_id,
            account_id=account_id,
            acct=acct,
            visibility=visibility,
            text=text,
            name=name,
            pronouns=pronouns,
            state=state,
            reason=reason,
            created_at=when,
            updated_at=when,
        )
        try:
            with s.begin_nested():  # another database's writer may have won the race: the unique index says
                s.add(row)
        except IntegrityError:
            return None
        return Request.from_row(row)


def get_request(store: Store, rid: int) -> Request:
    """One request by id; NotFound if there is none."""
    with store.read_session() as s:
        row = s.get(RequestRow, rid)
        if row is None:
            raise NotFound(f"no request with id {rid} (see `djbios requests`)")
        return Request.from_row(row)


def list_requests(store: Store, state: str | Iterable[str] | None = None, limit: int | None = None) -> list[Request]:
    """Requests oldest first, optionally only in the given state(s); limit keeps the newest."""
    q = select(RequestRow)
    if state is not None:
        states = [state] if isinstance(state, str) else list(state)
        for st in states:
            _check_state(st)
        q = q.where(RequestRow.state.in_(states))
    q = q.order_by(RequestRow.id.desc())
    if limit is not None:
        q = q.limit(limit)
    with store.read_session() as s:
        return [Request.from_row(r) for r in reversed(list(s.scalars(q)))]


def set_request_state(
    store: Store,
    rid: int,
    state: str,
    reason: str | None = None,
    *,
    now: datetime | None = None,
    expect: str | None = None,
) -> Request:
    """Move a request to `state` (with a reason); IllegalTransition if it is not in `expect`."""
    _check_state(state)
    with store.write_session() as s:
        row = s.get(RequestRow, rid, with_for_update=True)
        if row is None:
            raise NotFound(f"no request with id {rid}")
        if expect is not None and row.state != expect:
            raise IllegalTransition(f"request {rid} is {row.state}, not {expect}")
        if state != row.state and state not in _NEXT.get(row.state, ()):
            raise IllegalTransition(f"request {rid} is {row.state}; it cannot become {state}")
        row.state, row.updated_at = state, naive_utc(now)
        if reason is not None:
            row.reason = reason
        return Request.from_row(row)


def count_requests(
    store: Store, *, since: datetime, account_id: str | None = None, states: Iterable[str] = ACCEPTED
) -> int:
    """Requests created since a time in the given states (one account's, or everyone's)."""
    q = (
        select(func.count())
        .select_from(RequestRow)
        .where(RequestRow.created_at >= naive_utc(since), RequestRow.state.in_(list(states)))
    )
    if account_id is not None:
        q = q.where(RequestRow.account_id == account_id)
    with store.read_session() as s:
        return int(s.execute(q).scalar() or 0)


def count_by_state(store: Store) -> dict[str, int]:
    """How many requests are in each state (every state present, zero included)."""
    q = select(RequestRow.state, func.count()).group_by(RequestRow.state)
    with store.read_session() as s:
        counts = {st: n for st, n in s.execute(q).all()}
    return {st: counts.get(st, 0) for st in REQUEST_STATES}


def reply_candidates(store: Store, rid: int) -> list[tuple[int, str, str | None]]:
    """(candidate id, status, reason) of every candidate made for a request, oldest first."""
    q = (
        select(CandidateRow.id, CandidateRow.status, CandidateRow.reason)
        .where(CandidateRow.request_id == rid)
        .order_by(CandidateRow.id)
    )
    with store.read_session() as s:
        return [(i, st, r) for i, st, r in s.execute(q).all()]


def count_batches(store: Store, source: str) -> int:
    """How many generation batches were made with this source (a request's: "reply:<id>")."""
    q = select(func.count()).select_from(BatchRow).where(BatchRow.source == source)
    with store.read_session() as s:
        return int(s.execute(q).scalar() or 0)


def _check_state(state: str) -> None:
    if state not in REQUEST_STATES:
        raise IllegalTransition(f"unknown request state {state!r}; one of {', '.join(REQUEST_STATES)}")
