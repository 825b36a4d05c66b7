"""The posting side of the candidate's transitions: the claim, each part as it goes out, the outcome.

`posting` is a claim: `claimed_by` names the process holding it. A transition given a `holder`
refuses a row another process has claimed since (compare-and-set), so a process that settles a
stale claim can never settle a row someone else has just claimed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import StoreError
from bot.redact import scrub
from bot.store.candidate import Candidate, naive_utc
from bot.store.tables import CandidateRow


class PostingTransitions:
    """Mixed into Store: start_posting, record_part, mark_posted/failed, return_to_pending, defer, retract."""

    if TYPE_CHECKING:  # what Store provides (bot/store/store.py)

        def get(self, cid: int) -> Candidate: ...
        def read_session(self) -> AbstractContextManager[Session]: ...
        def write_session(self) -> AbstractContextManager[Session]: ...
        def _claimed(self, s: Session, cid: int, action: str, holder: str | None) -> CandidateRow: ...
        def _transition(
            self, cid: int, action: str, now: datetime | None, *, holder: str | None = None, **note: Any
        ) -> AbstractContextManager[CandidateRow]: ...

    def start_posting(self, cid: int, now: datetime | None = None, *, holder: str | None = None) -> Candidate:
        """approved|failed -> posting, committed before the HTTP call (attempts += 1): the claim.

        Only one process can win it (the row is locked while its state is checked); the loser gets
        IllegalTransition. `holder` names the claiming process, so nobody else settles its row.
        """
        with self._transition(cid, "start_posting", now, by=holder) as row:
            row.status, row.attempts, row.retry_at = "posting", row.attempts + 1, None
            row.claimed_by, row.claimed_at = holder, naive_utc(now)
        return self.get(cid)

    def record_part(
        self, cid: int, index: int, status_id: str, url: str, *, holder: str | None = None, now: datetime | None = None
    ) -> Candidate:
        """A part of the bio is online: add its status id (the first also sets status_id and URL).

        Also the claim's heartbeat (claimed_at), so a long thread never looks abandoned."""
        with self.write_session() as s:
            row = self._claimed(s, cid, "mark_posted", holder)
            ids = list(row.status_ids or [])
            if index > len(ids):
                raise StoreError(f"candidate {cid}: part {index + 1} recorded before part {len(ids) + 1}")
            row.status_ids = [*ids[:index], str(status_id)]
            if index == 0:
                row.status_id, row.posted_url = str(status_id), url
            row.claimed_at = naive_utc(now)
        return self.get(cid)

    def mark_posted(
        self,
        cid: int,
        *,
        status_id: str,
        url: str,
        status_ids: Sequence[str] | None = None,
        holder: str | None = None,
        now: datetime | None = None,
    ) -> Candidate:
        """posting -> posted, with the first status's id and URL (and every part's id, in order)."""
        with self._transition(cid, "mark_posted", now, holder=holder) as row:
            row.status, row.status_id, row.posted_url = "posted", str(status_id), url
            row.status_ids = [str(x) for x in status_ids] if status_ids else row.status_ids or [str(status_id)]
            row.posted_at, row.last_error, row.retry_at = naive_utc(now), None, None
        return self.get(cid)

    def mark_failed(
        self,
        cid: int,
        *,
        error: str,
        retry_at: datetime | None = None,
        holder: str | None = None,
        now: datetime | None = None,
    ) -> Candidate:
        """posting -> failed; retried from `retry_at` on with the same key; no retry_at: for good."""
        with self._transition(cid, "mark_failed", now, holder=holder) as row:
            row.status, row.last_error = "failed", scrub(error)  # never store the token
            row.retry_at = naive_utc(retry_at) if retry_at else None
        return self.get(cid)

    def return_to_pending(
        self, cid: int, *, message: str, holder: str | None = None, now: datetime | None = None
    ) -> Candidate:
        """posting -> pending: the instance refused the text (422); the operator edits it."""
        message = scrub(message)  # the instance's words may echo the request, token and all
        with self._transition(cid, "return_to_pending", now, holder=holder) as row:
            row.status, row.last_error, row.reason = "pending", message, f"refused by instance: {message}"
        return self.get(cid)

    def defer(
        self, cid: int, *, until: datetime, error: str, holder: str | None = None, now: datetime | None = None
    ) -> Candidate:
        """posting stays posting: its fate is unknown and the server asks us to wait (a 429) until then."""
        with self._transition(cid, "defer", now, holder=holder) as row:
            row.retry_at, row.last_error = naive_utc(until), error
        return self.get(cid)

    def retract(self, cid: int, *, by: str, reason: str = "", now: datetime | None = None) -> Candidate:
        """-> retracted: its statuses were deleted; the text stays for the near-duplicate filter."""
        with self._transition(cid, "retract", now, by=by, reason=reason) as row:
            row.status, row.retracted_at, row.retry_at = "retracted", naive_utc(now), None
        return self.get(cid)

    def status_ids_of_others(self, cid: int) -> set[str]:
        """Every status id recorded by other candidates: a look-up never gives one of them to `cid`."""
        q = select(CandidateRow.status_id, CandidateRow.status_ids).where(
            CandidateRow.status_id.is_not(None), CandidateRow.id != cid
        )
        with self.read_session() as s:
            return {str(x) for first, ids in s.execute(q).all() for x in [first, *(ids or [])]}
