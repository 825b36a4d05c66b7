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

import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, inspect
from sqlalchemy import text as sql_text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bot.config import sqlite_file
from bot.errors import IllegalTransition, NotFound, StoreError
from bot.store.candidate import HEAD_REVISION, Candidate, naive_utc
from bot.store.dberrors import database_errors, describe_url
from bot.store.engine import connect_args, driver_url, sqlite_pragmas
from bot.store.intake import Intake, check_text
from bot.store.posting import PostingTransitions
from bot.store.reads import Reads
from bot.store.review import ReviewTransitions
from bot.store.tables import CandidateRow

log = logging.getLogger(__name__)

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


class Store(Intake, Reads, PostingTransitions, ReviewTransitions):
    """All reads and writes of candidates and batches: opening, sessions and review's transitions here;
    new rows in intake.py, reads in reads.py, posting's transitions in posting.py, review's undo in review.py."""

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
        if current is None:  # never migrated: it must be empty, not another program's database
            with database_errors(self.where):
                others = sorted(set(inspect(self.engine).get_table_names()) - {"alembic_version"})
            if others:
                raise StoreError(
                    f"{self.where} holds another program's tables ({', '.join(others[:5])}); djbios wants "
                    "a database of its own: point [database] url at a new file or an empty database"
                )
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
        # an id past the databases' 64-bit integers names no row (the drivers would raise OverflowError)
        row = session.get(CandidateRow, cid, with_for_update=lock or None) if -(2**63) <= cid < 2**63 else None
        if row is None:
            raise NotFound(f"no candidate with id {cid} (see `djbios queue`)")
        return row

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
        check_text(text, "the edited bio")
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


def _apply_verdict(row: CandidateRow, verdict: dict[str, Any]) -> None:
    """Copy a verdict's fields (reason, scores, quality, filter_fingerprint) onto a row."""
    for key in ("reason", "scores", "quality", "filter_fingerprint"):
        if key in verdict:
            setattr(row, key, verdict[key])


def _replace_text(row: CandidateRow, text: str, now: datetime | None) -> None:
    """Replace a candidate's text, keeping the previous one in its history."""
    row.history = [*row.history, {"at": naive_utc(now).isoformat(), "event": "text", "previous_text": row.text}]
    row.text = text
