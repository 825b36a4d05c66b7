"""SQLAlchemy 2.0 tables for candidates and generation batches, and the detached Candidate snapshot."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The candidate states of DESIGN.md. `generated` exists only in memory, between the model and the
# filters: a row is born pending or rejected.
STATES = ("pending", "rejected", "approved", "posting", "posted", "failed")


class Base(DeclarativeBase):
    """Declarative base; Alembic's migrations mirror these tables."""


class BatchRow(Base):
    """One generation batch: where its candidates came from and how long it took."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(500))
    checkpoint: Mapped[str | None] = mapped_column(String(1000))
    step: Mapped[int | None] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seed: Mapped[int | None] = mapped_column(Integer)
    prompt: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    seconds: Mapped[float | None]
    made: Mapped[int] = mapped_column(Integer, default=0)
    queued: Mapped[int] = mapped_column(Integer, default=0)


class CandidateRow(Base):
    """A bio on its way from the model (or an imported file) to the timeline."""

    __tablename__ = "candidates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # short, for people
    uuid: Mapped[str] = mapped_column(String(36), unique=True)  # stable, for idempotency keys
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(1000))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    checkpoint: Mapped[str | None] = mapped_column(String(1000))
    step: Mapped[int | None] = mapped_column(Integer)
    seed: Mapped[int | None] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prompt: Mapped[str | None] = mapped_column(Text)
    pronouns: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    posted_at: Mapped[datetime | None] = mapped_column(DateTime)
    status_id: Mapped[str | None] = mapped_column(String(100))
    posted_url: Mapped[str | None] = mapped_column(String(1000))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    retry_at: Mapped[datetime | None] = mapped_column(DateTime)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


def utcnow() -> datetime:
    """Naive UTC: SQLite has no time zones, so every stored time is UTC without tzinfo."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def naive_utc(when: datetime | None) -> datetime:
    """Normalise a caller's `now` (aware or naive UTC) to what the database stores."""
    if when is None:
        return utcnow()
    if when.tzinfo is not None:
        return when.astimezone(timezone.utc).replace(tzinfo=None)
    return when


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A read-only snapshot of a candidate row, safe to use after its session has closed."""

    id: int
    uuid: str
    text: str
    status: str
    reason: str | None
    scores: dict[str, Any]
    source: str
    batch_id: int | None
    checkpoint: str | None
    step: int | None
    seed: int | None
    params: dict[str, Any]
    prompt: str | None
    pronouns: str | None
    created_at: datetime
    reviewed_at: datetime | None
    posted_at: datetime | None
    status_id: str | None
    posted_url: str | None
    attempts: int
    last_error: str | None
    retry_at: datetime | None
    history: list[dict[str, Any]]

    @classmethod
    def from_row(cls, row: CandidateRow) -> Candidate:
        """Copy every column of `row`."""
        return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})

    @property
    def idempotency_key(self) -> str:
        """Sent with every post attempt of this bio, so a retried POST never makes a second status."""
        return f"djbios-{self.uuid}"

    def to_json(self) -> dict[str, Any]:
        """The stable JSON shape of `queue --json` and `show --json`."""
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = value.replace(tzinfo=timezone.utc).isoformat()
        out["length"] = len(self.text)
        return out
