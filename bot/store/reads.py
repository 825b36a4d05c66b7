"""Reading candidates: one by id, lists by state and order, counts, the texts the filters compare
against, and the next bio to post."""

from __future__ import annotations

import builtins
import random
from collections.abc import Collection, Iterable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.errors import StoreError
from bot.store.candidate import STATES, Candidate, naive_utc
from bot.store.tables import CandidateRow

# Orderings of `list`: oldest first, or the best quality first (unscored last, then oldest).
_ORDER_BY = {
    "oldest": (CandidateRow.created_at, CandidateRow.id),
    "quality": (CandidateRow.quality.desc().nulls_last(), CandidateRow.created_at, CandidateRow.id),
}


class Reads:
    """Mixed into Store: get, list, count_reviewed, count_by_status, texts, posted_times, next_approved."""

    if TYPE_CHECKING:  # what Store provides (bot/store/store.py)

        def read_session(self) -> AbstractContextManager[Session]: ...
        def _row(self, session: Session, cid: int, *, lock: bool = False) -> CandidateRow: ...

    def get(self, cid: int) -> Candidate:
        """One candidate by id; NotFound if there is none."""
        with self.read_session() as s:
            return Candidate.from_row(self._row(s, cid))

    def list(
        self, status: str | Iterable[str] | None = None, limit: int | None = None, order: str = "oldest"
    ) -> builtins.list[Candidate]:
        """Candidates oldest first (or order="quality": best first), optionally only in the given state(s)."""
        q = select(CandidateRow).order_by(*_ORDER_BY[order])
        if status is not None:
            states = [status] if isinstance(status, str) else list(status)
            for st in states:
                _check_state(st)
            q = q.where(CandidateRow.status.in_(states))
        if limit is not None:
            q = q.limit(limit)
        with self.read_session() as s:
            return [Candidate.from_row(r) for r in s.scalars(q)]

    def count_reviewed(self, *, by: str, since: datetime) -> int:
        """How many candidates `by` (e.g. "auto") approved since a time (for the daily cap)."""
        q = (
            select(func.count())
            .select_from(CandidateRow)
            .where(
                CandidateRow.reviewed_by == by,
                CandidateRow.reviewed_at >= naive_utc(since),
                CandidateRow.status != "rejected",
            )
        )
        with self.read_session() as s:
            return int(s.execute(q).scalar() or 0)

    def count_by_status(self) -> dict[str, int]:
        """How many candidates are in each state (every state present, zero included)."""
        q = select(CandidateRow.status, func.count()).group_by(CandidateRow.status)
        with self.read_session() as s:
            counts = {st: n for st, n in s.execute(q).all()}
        return {st: counts.get(st, 0) for st in STATES}

    def texts(
        self,
        statuses: Iterable[str] = ("pending", "approved", "posting", "posted", "failed", "retracted"),
    ) -> builtins.list[str]:
        """The texts in the given states: the near-duplicate filter compares against these.

        Retracted bios are in by default: a bio taken down must never be generated back."""
        q = select(CandidateRow.text).where(CandidateRow.status.in_(list(statuses)))
        with self.read_session() as s:
            return list(s.scalars(q))

    def posted_times(self) -> builtins.list[datetime]:
        """When each posted bio went out (for stats)."""
        q = select(CandidateRow.posted_at).where(CandidateRow.status == "posted")
        with self.read_session() as s:
            return [t for t in s.scalars(q) if t is not None]

    def next_approved(
        self,
        order: str = "oldest",
        rng: random.Random | None = None,
        now: datetime | None = None,
        skip: Collection[int] = (),
    ) -> Candidate | None:
        """The next bio to post: approved ones, then failed ones whose retry time has come.

        A failed bio without a retry time failed for good: it waits for the operator (`approve`).
        `skip`: ids another process just claimed."""
        when = naive_utc(now)
        with self.read_session() as s:
            rows = list(
                s.scalars(
                    select(CandidateRow)
                    .where(
                        (CandidateRow.status == "approved")
                        | ((CandidateRow.status == "failed") & (CandidateRow.retry_at <= when))
                    )
                    .where(CandidateRow.id.not_in(list(skip)))
                    .order_by(CandidateRow.reviewed_at, CandidateRow.id)
                )
            )
        if not rows:
            return None
        retry = [r for r in rows if r.status == "failed"]
        pool = retry or rows  # a failed bio goes first: it was next in line when it failed
        pick = pool[0] if order == "oldest" or retry else (rng or random.Random()).choice(pool)
        return Candidate.from_row(pick)


def _check_state(status: str) -> None:
    """StoreError naming the states when `status` is not one of them."""
    if status not in STATES:
        raise StoreError(f"unknown status {status!r}; one of {', '.join(STATES)}")
