"""SQLAlchemy 2.0 tables: candidates, generation batches, follower requests, and the bot's own state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


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
    # 0002
    quality: Mapped[float | None] = mapped_column(Float, index=True)  # ranking: higher is better
    filter_fingerprint: Mapped[str | None] = mapped_column(String(64))  # the filter settings of the verdict
    reviewed_by: Mapped[str | None] = mapped_column(String(100))  # operator, auto, force, dm:<acct>
    status_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # every status of the bio, in order
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"))  # set on a reply
    claimed_by: Mapped[str | None] = mapped_column(String(200))  # the process holding `posting`
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    retracted_at: Mapped[datetime | None] = mapped_column(DateTime)


class RequestRow(Base):
    """A follower's mention asking for a bio, and what became of it (one row per notification)."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[str] = mapped_column(String(100), unique=True)  # the same mention never twice
    status_id: Mapped[str] = mapped_column(String(100))  # the mention to reply to
    account_id: Mapped[str] = mapped_column(String(100), index=True)
    acct: Mapped[str] = mapped_column(String(500))  # user@host, as Mastodon gives it
    visibility: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)  # the mention as plain text
    name: Mapped[str | None] = mapped_column(String(500))  # the artist asked for
    pronouns: Mapped[str | None] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16), index=True)  # see bot/store/requests.py
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class StateRow(Base):
    """The bot's own state as key -> JSON: pause, notification since_id, profile checks."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class AlertRow(Base):
    """An alert condition: sent once, then again only after [alerts] repeat_hours."""

    __tablename__ = "alerts"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # the condition, e.g. "token"
    message: Mapped[str] = mapped_column(Text)
    first_at: Mapped[datetime] = mapped_column(DateTime)
    last_sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    count: Mapped[int] = mapped_column(Integer, default=0)  # times the condition was raised
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)


class LeaseRow(Base):
    """One worker per role per database: the holder renews heartbeat_at; a stale lease can be taken."""

    __tablename__ = "leases"

    role: Mapped[str] = mapped_column(String(32), primary_key=True)  # post, generate
    holder: Mapped[str] = mapped_column(String(200))  # host:pid:random
    started_at: Mapped[datetime] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime)
