"""What every filter returns (Check) and what the pipeline returns (Verdict)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Check:
    """One filter's outcome: pass/fail, a one-line detail for the reviewer, and its numbers."""

    ok: bool
    detail: str
    scores: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """The pipeline's outcome: reason is the first failing filter; text is what will be posted."""

    ok: bool
    reason: str | None
    scores: dict[str, Any]
    text: str
    quality: float = 0.0  # ranking score (bot/filters/quality.py)
    fingerprint: str = ""  # the filter settings this verdict was made under
