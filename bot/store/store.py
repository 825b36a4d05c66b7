r"""The candidate store: every state transition of the candidate, each in one transaction.

```
pending --approve--> approved --start_posting--> posting --mark_posted--> posted --retract--> retracted
   |  \--reject--> rejected                        |  \--mark_failed--> failed --start_posting--> ...
   \<----------------- return_to_pending (422) ----/            failed --approve--> approved (re-queued)
```
`posting` is a claim: `claimed_by` names the process holding it, and the posting-side transitions
given a `holder` refuse a row someone else has claimed since (compare-and-set on the claim).
SQLite runs in WAL mode with a busy timeout, and writes take the lock up front (BEGIN IMMEDIATE) so a
worker and a review session writing at once wait for each other instead of failing with
"database is locked".
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import random
import uuid as uuidlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, func, select
from sqlalchemy import text as sql_text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bot.config import sqlite_file
from bot.errors import IllegalTransition, NotFound, StoreError
from bot.store.candidate import HEAD_REVISION, STATES, Candidate, naive_utc
from bot.store.dberrors import database_errors, describe_url
from bot.store.engine import connect_args, driver_url, sqlite_pragmas
from bot.store.posting import PostingTransitions
from bot.store.review import ReviewTransitions
from bot.store.tables import BatchRow, CandidateRow
from bot.text import bio_problem

log = logging.getLogger(__name__)

# Orderings of `list`: oldest first, or the best quality first (unscored last, then oldest).
_ORDER_BY = {
    "oldest": (CandidateRow.created_at, CandidateRow.id),
    "quality": (CandidateRow.quality.desc().nulls_last(), CandidateRow.created_at, CandidateRow.id),
}
_MIGRATE_LOCK_KEY = 0x646A62696F73  # "djbios": the PostgreSQL advisory lock held while migrating

# Which states each transition may start from.
_FROM = {
    "approve": ("pending", "failed"),  # failed: the operator re-queues a bio that failed for good
    "reject": ("pending", "approved", "failed"),
    "unapprove": ("approved",),  # review's undo: only while nothing has happened to it since
    "unreject": ("rejected",),
    "edit": ("pending", "approved", "failed", "rejected"),
    "set_verdict": ("pending",),
    "start_posting": ("approved", "failed"),
    "mark_posted": ("posting",),
    "mark_failed": ("posting",),
    "return_to_pending": ("posting",),
    "defer": ("posting",),
    "retract": ("posted", "failed", "pending", "approved", "rejected"),  # the last four: parts online
}


class Store(PostingTransitions, ReviewTransitions):
    """All reads and writes of candidates and batches (posting's transitions: posting.py; review's undo: review.py)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.where = describe_url(engine.url)  # names the database in error messages (no password)

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, busy_timeout_s: float = 30.0) -> Store:
        """Open (creating and migrating as needed) the database at `url`; StoreError in one line.

        A sqlite:/// URL's path is taken verbatim (as `sqlite_file` reads it): `?`, `#` and `%` in a
        file name are part of the name, not a query string or an escape.
        """
        url = driver_url(url)
        path = sqlite_file(url)
        with database_errors(str(path) if path is not None else describe_url(url), opening=True):
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            target: str | URL = URL.create("sqlite", database=str(path)) if path is not None else url
            # pre_ping: a long-lived worker survives a database restart (a dead pooled connection is
            # replaced before use instead of failing the next post)
            engine = create_engine(target, connect_args=connect_args(url, busy_timeout_s), pool_pre_ping=path is None)
            if engine.dialect.name == "sqlite":
                sqlite_pragmas(engine, busy_timeout_s)
            store = cls(engine)
            store.migrate()
        return store

    def check_writable(self) -> None:
        """Take the write lock and write in a transaction that is rolled back (for `doctor`)."""
        with database_errors(self.where), Session(self.engine.execution_options(djbios_immediate=True)) as s:
            s.begin()
            s.execute(sql_text("UPDATE alembic_version SET version_num = version_num"))
            s.flush()
            s.rollback()

    def migrate(self) -> None:
        """Bring the schema up to HEAD_REVISION with Alembic (imported only when needed)."""
        try:
            with self.engine.connect() as conn:
                current = conn.execute(sql_text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:  # no alembic_version table yet (SQLite: OperationalError, others: ProgrammingError)
            current = None
        if current == HEAD_REVISION:
            return
        from alembic import command
        from alembic.config import Config as AlembicConfig

        acfg = AlembicConfig()
        acfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        with self.write_session() as session:
            if self.engine.dialect.name == "postgresql":  # two first opens at once: one migrates, one waits
                session.execute(sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATE_LOCK_KEY})
            acfg.attributes["connection"] = session.connection()
            command.upgrade(acfg, "head")  # a no-op when the other process got there first
        log.info("database migrated to %s", HEAD_REVISION)

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    # -- sessions ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reads (the store's sibling modules use it too)."""
        with database_errors(self.where), Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextlib.contextmanager
    def write_session(self) -> Iterator[Session]:
        """One transaction that takes SQLite's write lock at BEGIN (for every write of the store's modules)."""
        engine = self.engine.execution_options(djbios_immediate=True)
        with database_errors(self.where), Session(engine, expire_on_commit=False) as session, session.begin():
            yield session

    def _row(self, session: Session, cid: int, *, lock: bool = False) -> CandidateRow:
        """The row by id; `lock` holds it (SELECT ... FOR UPDATE) until the transaction ends.

        SQLite's BEGIN IMMEDIATE already serialises writers; on PostgreSQL the row lock makes two
        processes' transitions of one candidate take turns, so only one of them can win a claim.
        """
        row = session.get(CandidateRow, cid, with_for_update=lock or None)
        if row is None:
            raise NotFound(f"no candidate with id {cid} (see `djbios queue`)")
        return row

    # -- batches -------------------------------------------------------------------------------
    def create_batch(
        self,
        source: str,
        *,
        checkpoint: str | None = None,
        step: int | None = None,
        params: dict[str, Any] | None = None,
        seed: int | None = None,
        prompt: str | None = None,
        now: datetime | None = None,
    ) -> int:
        """Record the start of a generation batch and return its id."""
        with self.write_session() as s:
            row = BatchRow(
                source=source,
                checkpoint=checkpoint,
                step=step,
                params=params or {},
                seed=seed,
                prompt=prompt,
                created_at=naive_utc(now),
                made=0,
                queued=0,
            )
            s.add(row)
            s.flush()
            return row.id

    def finish_batch(
        self, batch_id: int, *, seconds: float, made: int, queued: int, now: datetime | None = None
    ) -> None:
        """Record how a batch ended."""
        with self.write_session() as s:
            row = s.get(BatchRow, batch_id)
            if row is None:
                raise NotFound(f"no batch with id {batch_id}")
            row.seconds, row.made, row.queued = seconds, made, queued
            row.finished_at = naive_utc(now)

    # -- candidates: create and read -----------------------------------------------------------
    def add(
        self,
        text: str,
        *,
        source: str,
        status: str = "pending",
        reason: str | None = None,
        scores: dict[str, Any] | None = None,
        batch_id: int | None = None,
        checkpoint: str | None = None,
        step: int | None = None,
        seed: int | None = None,
        params: dict[str, Any] | None = None,
        prompt: str | None = None,
        pronouns: str | None = None,
        now: datetime | None = None,
        verdict: dict[str, Any] | None = None,
    ) -> Candidate:
        """Insert one candidate, born pending or rejected (with its verdict: see add_many)."""
        return self.add_many(
            [text],
            source=source,
            status=status,
            reason=reason,
            scores=scores,
            batch_id=batch_id,
            checkpoint=checkpoint,
            step=step,
            seed=seed,
            params=params,
            prompt=prompt,
            pronouns=pronouns,
            now=now,
            verdicts=[verdict] if verdict else None,
        )[0]

    def add_many(
        self,
        texts: Sequence[str],
        *,
        source: str,
        status: str = "pending",
        now: datetime | None = None,
        verdicts: Sequence[dict[str, Any]] | None = None,
        **fields: Any,
    ) -> list[Candidate]:
        """Insert several candidates in one transaction: all or none (e.g. one imported file).

        `verdicts` (one per text: reason, scores, quality, filter_fingerprint) override `fields`.
        """
        if status not in ("pending", "rejected"):
            raise IllegalTransition(f"a new candidate is pending or rejected, not {status}")
        for i, t in enumerate(texts, 1):
            _check_text(t, f"bio {i}")
        created = naive_utc(now)
        fields.setdefault("scores", None)
        fields.setdefault("params", None)
        with self.write_session() as s:
            rows = [
                CandidateRow(
                    uuid=str(uuidlib.uuid4()),
                    text=t,
                    status=status,
                    source=source,
                    created_at=created,
                    attempts=0,
                    history=[],
                    status_ids=[],
                    **{
                        **fields,
                        "scores": fields["scores"] or {},
                        "params": fields["params"] or {},
                        **(verdicts[i] if verdicts else {}),
                    },
                )
                for i, t in enumerate(texts)
            ]
            s.add_all(rows)
            s.flush()
            return [Candidate.from_row(r) for r in rows]

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

    # -- transitions ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _transition(
        self, cid: int, action: str, now: datetime | None, *, holder: str | None = None, **note: Any
    ) -> Iterator[CandidateRow]:
        """Load the row under the write lock, check the state (and the claim) allows `action`, log it
        (with `note`'s non-empty items) in history."""
        with self.write_session() as s:
            row = self._claimed(s, cid, action, holder)
            before = row.status
            yield row
            entry = {"at": naive_utc(now).isoformat(), "event": action, "from": before, "to": row.status}
            row.history = [*row.history, {**entry, **{k: v for k, v in note.items() if v}}]

    def _claimed(self, s: Session, cid: int, action: str, holder: str | None) -> CandidateRow:
        """The locked row, if its state allows `action` and (given a holder) that holder claims it."""
        row = self._row(s, cid, lock=True)
        if row.status not in _FROM[action]:
            allowed = " or ".join(_FROM[action])
            raise IllegalTransition(f"candidate {cid} is {row.status}; {action.replace('_', ' ')} needs {allowed}")
        if holder is not None and row.claimed_by != holder:
            raise IllegalTransition(f"candidate {cid} is claimed by {row.claimed_by}, not {holder}")
        return row

    def approve(self, cid: int, now: datetime | None = None, *, by: str = "operator", force: bool = False) -> Candidate:
        """pending -> approved; failed -> approved re-queues it (keeping its place: its first review).

        `by` (operator, auto, dm:<acct>) and `force` are kept in the history. The store does not judge
        the text: bot/filters/gate.py checks it before calling this.
        """
        note: dict[str, Any] = {"by": by, **({"force": True, "failed": self.get(cid).reason} if force else {})}
        with self._transition(cid, "approve", now, **note) as row:
            if row.status == "pending" or row.reviewed_at is None:
                row.reviewed_at = naive_utc(now)
            row.status, row.retry_at, row.reviewed_by = "approved", None, by
        return self.get(cid)

    def reject(self, cid: int, reason: str = "", now: datetime | None = None, *, by: str = "operator") -> Candidate:
        """pending|approved|failed -> rejected, by the operator."""
        with self._transition(cid, "reject", now, by=by) as row:
            row.status, row.reviewed_at, row.reviewed_by = "rejected", naive_utc(now), by
            row.reason = reason or "rejected by operator"
        return self.get(cid)

    def edit(
        self, cid: int, text: str, now: datetime | None = None, *, verdict: dict[str, Any] | None = None
    ) -> Candidate:
        """Replace the text (the previous one is kept in the history) with the new text's verdict.

        A text that now fails a filter cannot stay approved: it goes back to pending with its
        reason; an edited rejected bio that passes is pending again, for review.
        """
        _check_text(text, "the edited bio")
        with self._transition(cid, "edit", now) as row:
            if row.status_ids:  # the parts online were cut from the old text
                raise IllegalTransition(
                    f"candidate {cid} has {len(row.status_ids)} part(s) online; "
                    f"take them down first: `djbios unpost {cid}`"
                )
            _replace_text(row, text, now)
            if verdict is not None:
                _apply_verdict(row, verdict)
                failing = verdict.get("reason") is not None
                if (failing and row.status in ("approved", "failed")) or (not failing and row.status == "rejected"):
                    row.status = "pending"
        return self.get(cid)

    def set_verdict(
        self,
        cid: int,
        *,
        verdict: dict[str, Any],
        text: str | None = None,
        reject: bool = True,
        now: datetime | None = None,
    ) -> Candidate:
        """A pending candidate's new verdict: a failing one is rejected, or stays pending (reject=False)."""
        with self._transition(cid, "set_verdict", now) as row:
            _apply_verdict(row, verdict)
            if reject and verdict.get("reason") is not None:
                row.status = "rejected"
            if text is not None and text != row.text:
                _replace_text(row, text, now)
        return self.get(cid)

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


def _apply_verdict(row: CandidateRow, verdict: dict[str, Any]) -> None:
    """Copy a verdict's fields (reason, scores, quality, filter_fingerprint) onto a row."""
    for key in ("reason", "scores", "quality", "filter_fingerprint"):
        if key in verdict:
            setattr(row, key, verdict[key])


def _replace_text(row: CandidateRow, text: str, now: datetime | None) -> None:
    """Replace a candidate's text, keeping the previous one in its history."""
    row.history = [*row.history, {"at": naive_utc(now).isoformat(), "event": "text", "previous_text": row.text}]
    row.text = text


def _check_state(status: str) -> None:
    if status not in STATES:
        raise StoreError(f"unknown status {status!r}; one of {', '.join(STATES)}")


def _check_text(text: str, what: str) -> None:
    """StoreError unless `text` can be stored as a bio (bot/text.py bio_problem)."""
    problem = bio_problem(text)
    if problem:
        raise StoreError(f"{what} {problem}")
