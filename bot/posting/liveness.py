"""Liveness: is the bot doing its job? Pure checks over the store, an explicit `now` and outcomes.

Each check returns Conditions (key, message, ok): a failing one is alerted (once per [alerts]
repeat_hours), a passing one resolves an open alert. A check with nothing to say returns None, so a
condition is neither raised nor cleared by it. The worker applies them on its liveness job and after
each post and refill; `djbios doctor` and `djbios status` show the same conditions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.config import Config
from bot.posting.alerts import open_alerts
from bot.posting.pause import active_pause
from bot.store.candidate import naive_utc

if TYPE_CHECKING:
    from bot.posting.alerts import Alerter
    from bot.posting.jobs import PostOutcome, RefillOutcome
    from bot.posting.replies import AnswerOutcome
    from bot.store.candidate import Candidate
    from bot.store.store import Store


@dataclass(frozen=True)
class Condition:
    """One thing the operator should know about; `ok` clears it."""

    key: str
    message: str
    ok: bool


def failed_bios(store: Store, cfg: Config, open_keys: Iterable[str]) -> list[Condition]:
    """A bio failed for good (no retry time) or [schedule] max_attempts times; open ones whose bio recovered clear."""
    failing = {
        f"bio-failed:{c.id}": c
        for c in store.list("failed")
        if c.retry_at is None or c.attempts >= cfg.schedule.max_attempts
    }
    out = [Condition(key, _failed_message(c), False) for key, c in failing.items()]
    return out + [Condition(k, "", True) for k in open_keys if k.startswith("bio-failed:") and k not in failing]


def _failed_message(c: Candidate) -> str:
    """What the operator reads about one failing bio, and the commands that settle it."""
    if c.retry_at is None:  # a permanent answer (an unknown 4xx): nothing retries it
        what, fix = "failed and will not be retried", f"`djbios approve {c.id}` re-queues it, "
    else:
        what, fix = f"failed {c.attempts} times", ""
    return (
        f"bio {c.id} {what}; last error: {c.last_error}; see `djbios queue --status failed` "
        f"({fix}`djbios reject {c.id}` drops it)"
    )


def queue_empty(store: Store, cfg: Config, now: datetime, next_post: datetime | None) -> Condition | None:
    """Nothing postable while the schedule posts within one refill interval; None when no post is near.

    Postable: approved, or failed with a retry time. A bio failed for good waits for the operator, so it
    does not fill the queue (failed_bios alerts about it)."""
    counts = store.count_by_status()
    retrying = sum(1 for c in store.list("failed") if c.retry_at is not None) if counts["failed"] else 0
    if counts["approved"] + retrying:
        return Condition("queue-empty", "", True)
    soon = timedelta(minutes=cfg.schedule.refill_every_minutes)
    if next_post is None or naive_utc(next_post) - naive_utc(now) > soon:
        return None
    when = naive_utc(next_post).strftime("%Y-%m-%d %H:%M UTC")
    if cfg.review.mode == "manual" and counts["pending"]:
        hint = f"{counts['pending']} bios wait for review: run `djbios review`"
    elif not cfg.schedule.min_queue:
        hint = "the refill is off ([schedule] min_queue = 0): run `djbios generate` or `djbios add`"
    else:
        hint = "the refill makes none that pass: see `djbios queue --status rejected` and `djbios doctor`"
    return Condition("queue-empty", f"no approved bio for the post due {when}; {hint}", False)


def silent(store: Store, cfg: Config, now: datetime) -> Condition | None:
    """Nothing posted for [alerts] silent_hours (counted from the first bio when none was ever posted)."""
    if not cfg.alerts.silent_hours:
        return None
    since = max(store.posted_times(), default=None)
    what = "nothing posted" if since is not None else "nothing ever posted"
    if since is None:
        first = store.list(limit=1)
        if not first:
            return None  # a new, empty database: the queue check speaks for it
        since = first[0].created_at
    hours = (naive_utc(now) - since).total_seconds() / 3600
    if hours < cfg.alerts.silent_hours:
        return Condition("silent", "", True)
    return Condition(
        "silent",
        f"{what} for {hours:.0f} h (since {since:%Y-%m-%d %H:%M} UTC); see "
        "`djbios status`, `djbios doctor` and the worker's log",
        False,
    )


def store_conditions(store: Store, cfg: Config, now: datetime, next_post: datetime | None) -> list[Condition]:
    """Every check over the store; while paused the queue and silence are the operator's choice, not checked."""
    found = failed_bios(store, cfg, [a.key for a in open_alerts(store)])
    if active_pause(store, now) is None:
        found += [c for c in (queue_empty(store, cfg, now, next_post), silent(store, cfg, now)) if c]
    return found


def refill_condition(out: RefillOutcome, needed: bool) -> Condition | None:
    """A refill that failed, or that ran and queued nothing that passed the filters."""
    if out.errors:
        return Condition("refill", f"refill failed: {out.errors[0]}; see the worker's log and `djbios doctor`", False)
    if not needed:
        return None  # the queue was full: it had nothing to do
    if out.queued == 0:
        return Condition(
            "refill",
            f"refill made {out.made} bios and none passed the filters; see "
            "`djbios queue --status rejected` (`djbios show ID` says why)",
            False,
        )
    return Condition("refill", "", True)


def post_conditions(out: PostOutcome) -> list[Condition]:
    """A post that went out proves the token works."""
    return [Condition("token", "", True)] if out.result == "posted" else []


def answers_condition(out: AnswerOutcome) -> Condition:
    """Answering follower requests failed (the model, the child, the store), or ran clean."""
    if out.errors:
        return Condition(
            "answers",
            f"answering follower requests failed: {out.errors[0]}; see the worker's log and `djbios requests`",
            False,
        )
    return Condition("answers", "", True)


def watch(
    alerter: Alerter,
    store: Store,
    cfg: Config,
    now: datetime,
    next_post: datetime | None,
    *,
    refill: tuple[RefillOutcome, bool] | None = None,
    post: PostOutcome | None = None,
    answers: AnswerOutcome | None = None,
) -> None:
    """Apply every condition (store checks plus this refill's, post's or answer run's outcome) through the alerter."""
    found = store_conditions(store, cfg, now, next_post)
    if refill is not None:
        found += [c for c in (refill_condition(*refill),) if c]
    if post is not None:
        found += post_conditions(post)
    if answers is not None:
        found.append(answers_condition(answers))
    alerter.apply(found, now)
