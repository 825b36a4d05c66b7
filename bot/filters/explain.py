"""The reviewer's view of a verdict: one line per filter, the copied span beside its training bio."""

from __future__ import annotations

from typing import Any

from bot.filters.check import Verdict
from bot.filters.pipeline import ORDER


def explain_scores(scores: dict[str, Any]) -> list[str]:
    """Render stored scores for a reviewer: one line per filter, the copied span beside its bio."""
    lines = []
    for name in ORDER:
        s = scores.get(name)
        if not isinstance(s, dict):
            continue
        lines.append(f"{'✓' if s.get('ok') else '✗'} {name}: {s.get('detail', '')}")
        if name == "copy" and s.get("span"):
            lines.append(f"    candidate: {s.get('span_in_context') or '»' + s['span'] + '«'}")
            lines.append(f"    bio {s.get('bio_index')} ({s.get('bio_name')}): {s.get('matched_bio_excerpt')}")
        if name == "length" and s.get("thread"):
            lines += [f"    post {i}: {p}" for i, p in enumerate(s["thread"], 1)]
    return lines


def explain(verdict: Verdict) -> list[str]:
    """The verdict and every filter's numbers, for a reviewer."""
    head = "verdict: pass" if verdict.ok else f"verdict: rejected ({verdict.reason})"
    return [head, *explain_scores(verdict.scores)]
