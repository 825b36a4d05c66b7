"""The Candidate snapshot and time helpers: no SQLAlchemy here, so read-only commands start fast."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # SQLAlchemy stays unimported on the fast read path (fastread.py)
    from bot.store.tables import CandidateRow

# The candidate states (docs/ARCHITECTURE.md). `generated` exists only in memory, between the model
# and the filters: a row is born pending or rejected.
STATES = ("pending", "rejected", "approved", "posting", "posted", "failed", "retracted")
# The newest file in bot/store/migrations/versions: the store migrates to it, the fast read path
# reads only a database at it. Checked against the migration files by a test.
HEAD_REVISION = "0002"


def utcnow() -> datetime:
    """Naive UTC: SQLite has no time zones, so every stored time is UTC without tzinfo."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(when: datetime | None) -> datetime:
    """Normalise a caller's `now` (aware or naive UTC) to what the database stores."""
    if when is None:
        return utcnow()
    if when.tzinfo is not None:
        return when.astimezone(UTC).replace(tzinfo=None)
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
    quality: float | None = None  # ranking, 0..1, higher is better (bot/filters/quality.py: fluency and language)
    filter_fingerprint: str | None = None  # the filter settings its stored verdict was made under
    reviewed_by: str | None = None  # who approved or rejected it: operator, auto, force, dm:<acct>
    status_ids: list[str] = dataclasses.field(default_factory=list)  # every status of the bio, in order
    request_id: int | None = None  # the follower request it answers (a reply)
    claimed_by: str | None = None  # the process that holds it in `posting`
    claimed_at: datetime | None = None
    retracted_at: datetime | None = None

    @classmethod
    def from_row(cls, row: CandidateRow) -> Candidate:
        """Copy every field from an ORM row."""
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
                out[key] = value.replace(tzinfo=UTC).isoformat()
        out["length"] = len(self.text)
        return out
