"""What a post or reconcile run did, and what the worker remembers between post runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class PostingState:
    """What the worker remembers between post runs: a bad token stops posting until restart."""

    stopped: bool = False
    reason: str = ""
    auth: bool = False  # stopped because the instance refused the token: each post run says so again
    reconciled: bool = False  # rows left in `posting` by a crash are settled


@dataclass(frozen=True)
class PostOutcome:
    """One bio's outcome: posted, idle, dry-run, retry, failed (for good), rejected, stopped, auth,
    quiet, error; from reconcile also unknown (cannot tell yet) and held (another live process's claim)."""

    result: str
    candidate_id: int | None = None
    status_id: str | None = None
    url: str | None = None
    error: str | None = None
    retry_at: datetime | None = None
    text: str | None = None
