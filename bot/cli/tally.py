"""What `djbios stats` says about review and posting, from candidates and post times (no store here)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from bot.cli.reviewer import age
from bot.store.candidate import Candidate

APPROVED = ("approved", "posting", "posted", "failed", "retracted")  # states a bio reaches once approved
# reviewed_by values of automatic approval ([review] mode = "auto"; bot/posting/replies.py AUTO_BY): no person looked
AUTO = {"auto": "auto-approved", "auto-reply": "auto-approved replies"}


def reviewer_lines(cands: list[Candidate]) -> list[str]:
    """Who decided: auto-approval, the operator, each DM reviewer; and what the filters rejected unseen."""
    by: dict[str, Counter[str]] = {}
    unseen = 0
    for c in cands:
        if c.reviewed_by and c.status != "pending":
            by.setdefault(c.reviewed_by, Counter())["approved" if c.status in APPROVED else "rejected"] += 1
        elif c.status == "rejected":
            unseen += 1
    lines = []
    for who in sorted(by, key=lambda w: (w not in AUTO, w != "operator", w)):
        n = by[who]
        if who in AUTO and not n["rejected"]:
            lines.append(f"{AUTO[who]}: {n['approved']}")
            continue
        rate = 100 * n["approved"] / (n["approved"] + n["rejected"])
        lines.append(
            f"reviewed by {who}: {n['approved']} approved, {n['rejected']} rejected (approval rate {rate:.0f}%)"
        )
    lines.append(f"rejected by the filters before any review: {unseen}")
    return lines


def posts_line(times: list[datetime], now: datetime) -> str:
    """How many posts over their real span: "2 posts in 3 minutes", "14 posts in 6.0 days, 2.2 a day"."""
    if not times:
        return "none yet"
    first, last = min(times), max(times)
    if len(times) == 1:
        return f"1 post, {age(last, now)} ago"
    ago = f"the last {age(last, now)} ago"
    span = (last - first).total_seconds()
    if span < 86400:
        return f"{len(times)} posts in {_duration(span)}; {ago}"
    # n posts span n - 1 gaps: a post a day for a week is 1.0 a day, not 7/6
    return f"{len(times)} posts in {span / 86400:.1f} days, {(len(times) - 1) / (span / 86400):.1f} a day; {ago}"


def _duration(seconds: float) -> str:
    """'40 seconds', '3 minutes', '5.5 hours' (under a day)."""
    if seconds < 90:
        return f"{seconds:.0f} seconds"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours"
