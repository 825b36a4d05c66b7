"""What enters the store: a generation batch's bookkeeping and new candidates, born pending or rejected.

The refill step opens a batch, adds its candidates (each with the filters' verdict) and closes the
batch with its counts; `djbios add` adds a file's bios in one transaction.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from bot.errors import IllegalTransition, NotFound, StoreError
from bot.store.candidate import Candidate, naive_utc
from bot.store.tables import BatchRow, CandidateRow
from bot.text import bio_problem


class Intake:
    """Mixed into Store: create_batch, finish_batch, add, add_many."""

    if TYPE_CHECKING:  # what Store provides (bot/store/store.py)

        def write_session(self) -> AbstractContextManager[Session]: ...

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
            check_text(t, f"bio {i}")
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


def check_text(text: str, what: str) -> None:
    """StoreError unless `text` can be stored as a bio (bot/text.py bio_problem); `edit` checks with it too."""
    problem = bio_problem(text)
    if problem:
        raise StoreError(f"{what} {problem}")
