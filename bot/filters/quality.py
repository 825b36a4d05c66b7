"""The quality score: one number per candidate to rank the queue by (higher is better, 0..1).

What a reader notices first is whether the words are English, so fluency weighs most; the other
filters' margins (how far from copying, from a near-duplicate, how surely English) make up the rest.
A candidate that failed a filter keeps its score: the reviewer still sees the best failures first.
"""

from __future__ import annotations

from typing import Any

WEIGHTS = {"fluency": 0.6, "language": 0.15, "copy": 0.15, "duplicate": 0.1}


def quality(scores: dict[str, Any]) -> float:
    """The weighted score from a verdict's per-filter scores (missing numbers count as neutral)."""
    parts = {
        "fluency": _get(scores, "fluency", "score", 1.0),
        "language": _get(scores, "language", "prob", 1.0),
        "copy": 1.0 - _ratio(_get(scores, "copy", "longest_run", 0.0), _get(scores, "copy", "run_limit", 0.0)),
        "duplicate": 1.0 - _ratio(_get(scores, "duplicate", "jaccard", 0.0),
                                  _get(scores, "duplicate", "threshold", 0.0)),
    }
    value = sum(WEIGHTS[k] * min(1.0, max(0.0, v)) for k, v in parts.items())
    return round(value, 4)


def _get(scores: dict[str, Any], name: str, key: str, default: float) -> float:
    """A number from one filter's scores, or the default."""
    value = (scores.get(name) or {}).get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _ratio(value: float, limit: float) -> float:
    """value / limit clipped to 0..1 (0 when there is no limit)."""
    return min(1.0, value / limit) if limit > 0 else 0.0
