"""The quality score: one number per candidate to rank the queue by (higher is better, 0..1).

What a reader notices first is whether the words are English words and the text is English: the
score is 0.6 x fluency + 0.4 x langdetect's probability of the configured language. Copying and
near-duplicates are not in it on purpose: they are pass/fail filters already, and as margins they
rewarded a model's drifting, "original" bios over its plain, readable ones. On the demo model's
labelled refills the top 6 by this score were approvable more often than by the earlier score with
those margins, at every sampling setting measured (bench/RESULTS.md, "What the demo's followers see").
A candidate that failed a filter keeps its score: the reviewer still sees the best failures first.
"""

from __future__ import annotations

from typing import Any

WEIGHTS = {"fluency": 0.6, "language": 0.4}


def quality(scores: dict[str, Any]) -> float:
    """The weighted score from a verdict's per-filter scores (a missing number counts as 1)."""
    parts = {"fluency": _get(scores, "fluency", "score"), "language": _get(scores, "language", "prob")}
    return round(sum(WEIGHTS[k] * min(1.0, max(0.0, v)) for k, v in parts.items()), 4)


def _get(scores: dict[str, Any], name: str, key: str) -> float:
    """A number from one filter's scores, or 1 (not measured: no reason to rank it lower)."""
    value = (scores.get(name) or {}).get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 1.0
