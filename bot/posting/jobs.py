"""The worker's jobs as pure orchestration: store, publisher, batch maker, clock and RNG come in.

post_next follows the candidate state machine: `posting` (the claim, naming its holder) is committed
before the HTTP call, and each part's status id is recorded as soon as it is out, so a crash leaves a
row that `reconcile` (bot/posting/reconcile.py) settles once its holder is gone: the whole bio found
online, else a retry with the same Idempotency-Keys. A bio is never posted twice, never lost.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.config import Config
from bot.errors import AuthError, BotError, IllegalTransition, PermanentError, PublishError, Rejected, RetryLater
from bot.posting.alerts import alert
from bot.posting.outcome import PostingState, PostOutcome
from bot.posting.publishers import Publisher
from bot.posting.reconcile import failed_for_good, find_online, plan_parts, reconcile

if TYPE_CHECKING:
    from bot.store.candidate import Candidate
    from bot.store.store import Store

__all__ = ["PostOutcome", "PostingState", "RefillOutcome", "backoff_s", "post_next", "reconcile", "refill"]

log = logging.getLogger(__name__)

BACKOFF_BASE_S = 60.0  # default [schedule] retry_base_s: the first retry waits a minute
BACKOFF_MAX_S = 6 * 3600.0  # and never more than six hours
CLAIM_TRIES = 5  # bios another process claimed first before this run gives up (returns idle)


@dataclass
class RefillOutcome:
    """What one refill run did."""

    made: int = 0
    queued: int = 0
    approved: int = 0
    errors: list[str] = field(default_factory=list)


def backoff_s(attempts: int, retry_after: float, base_s: float = BACKOFF_BASE_S) -> float:
    """Seconds to wait before retry number `attempts`: the server's hint, or base, 2x, 4x ..."""
    exp = base_s * 2.0 ** min(max(0, attempts - 1), 40)  # capped: 2**1024 overflows a float
    return min(max(retry_after, exp), max(retry_after, BACKOFF_MAX_S))


def post_next(
    now: datetime,
    store: Store,
    publisher: Publisher,
    cfg: Config,
    *,
    rng: random.Random | None = None,
    state: PostingState | None = None,
    dry_run: bool = False,
    holder: str | None = None,
) -> PostOutcome:
    """Post the next approved bio (or a failed one whose retry time has come), exactly once.

    `holder` names this process in the claim. A bio another process claims first is skipped.
    """
    state = state or PostingState()
    if state.stopped:
        if state.auth:  # said again each run; the Alerter repeats it only every [alerts] repeat_hours
            alert(publisher, "token", f"djbios stopped posting: {state.reason}")
        return PostOutcome("stopped", error=state.reason)
    skip: set[int] = set()
    while len(skip) < CLAIM_TRIES:
        nxt = store.next_approved(order=cfg.schedule.order, rng=rng, now=now, skip=skip)
        if nxt is None:
            return PostOutcome("idle")
        if dry_run:
            return PostOutcome("dry-run", candidate_id=nxt.id, text=nxt.text)
        if nxt.request_id is not None:  # a follower's bio: a reply to the mention (bot/posting/reply_post.py)
            from bot.posting.reply_post import post_reply

            try:
                return PostOutcome(**post_reply(now, store, publisher, cfg, nxt, state, holder=holder))
            except IllegalTransition:  # another process claimed it first
                skip.add(nxt.id)
                continue
        try:
            c = store.start_posting(nxt.id, now=now, holder=holder)  # committed before the HTTP call
        except IllegalTransition:  # another process won the claim: not a failure, try the next bio
            skip.add(nxt.id)
            continue
        return _post_claimed(now, store, publisher, cfg, state, c)
    return PostOutcome("idle")


def _post_claimed(
    now: datetime, store: Store, publisher: Publisher, cfg: Config, state: PostingState, c: Candidate
) -> PostOutcome:
    """Send what is missing of a claimed bio and record the outcome."""
    try:
        status_id, url, ids = _send(now, store, publisher, cfg, c)
    except Rejected as exc:
        store.return_to_pending(c.id, message=str(exc), holder=c.claimed_by, now=now)
        log.warning("bio %s refused by the instance, back to pending: %s", c.id, exc)
        return PostOutcome("rejected", candidate_id=c.id, error=str(exc))
    except AuthError as exc:
        return _auth_failed(now, store, publisher, state, c, exc)
    except PermanentError as exc:
        return failed_for_good(store, publisher, c, exc, now)
    except PublishError as exc:
        return _retry_later(now, store, publisher, cfg, c, exc)
    except Exception as exc:  # a bug, not the network: keep the bio retryable, then surface it
        store.mark_failed(
            c.id, error=f"unexpected: {exc!r}", retry_at=now + timedelta(hours=1), holder=c.claimed_by, now=now
        )
        raise
    store.mark_posted(c.id, status_id=status_id, url=url, status_ids=ids, holder=c.claimed_by, now=now)
    log.info("posted bio %s as %s", c.id, url)
    return PostOutcome("posted", candidate_id=c.id, status_id=status_id, url=url, text=c.text)


def _send(
    now: datetime, store: Store, publisher: Publisher, cfg: Config, c: Candidate
) -> tuple[str, str, list[str] | None]:
    """(first id, url, every id if found online) after posting the parts still missing."""
    parts = plan_parts(c, publisher, cfg)  # from the CURRENT text: an edit posts what it says
    # An earlier try may have gone out (a timeout; a thread cut short by a 422 and re-approved):
    # look for the WHOLE bio first. Keys cover a retry within their lifetime (an hour on Mastodon).
    if c.attempts > 1 or c.status_ids:
        found = find_online(store, publisher, c, parts)
        if found:
            return found.ids[0], found.url, found.ids

    def record(i: int, sid: str, url: str) -> None:  # each part as it goes out: a crash resumes after it
        store.record_part(c.id, i, sid, url, holder=c.claimed_by, now=now)

    status_id, url = publisher.post(c, parts, on_part=record)
    return status_id, url, None


def _retry_later(
    now: datetime, store: Store, publisher: Publisher, cfg: Config, c: Candidate, exc: PublishError
) -> PostOutcome:
    """posting -> failed with a retry time; alert the operator every max_attempts failures."""
    hint = exc.retry_after if isinstance(exc, RetryLater) else 0.0  # only a 429 names a time
    retry_at = now + timedelta(seconds=backoff_s(c.attempts, hint, cfg.schedule.retry_base_s))
    store.mark_failed(c.id, error=str(exc), retry_at=retry_at, holder=c.claimed_by, now=now)
    log.warning(
        "bio %s failed (attempt %s), retry at %s: %s", c.id, c.attempts, retry_at.isoformat(timespec="seconds"), exc
    )
    if c.attempts % cfg.schedule.max_attempts == 0:
        alert(
            publisher,
            f"bio-failed:{c.id}",
            f"bio {c.id} failed {c.attempts} times; last error: {exc}; see `djbios queue --status failed`",
        )
    return PostOutcome("retry", candidate_id=c.id, error=str(exc), retry_at=retry_at)


def _auth_failed(
    now: datetime, store: Store, publisher: Publisher, state: PostingState, c: Candidate, exc: AuthError
) -> PostOutcome:
    """The token is bad: keep the bio (failed, due now: retried after a restart), stop posting, alert."""
    store.mark_failed(c.id, error=str(exc), retry_at=now, holder=c.claimed_by, now=now)
    return _stop_posting(publisher, state, c.id, exc)


def _stop_posting(publisher: Publisher, state: PostingState, cid: int, exc: AuthError) -> PostOutcome:
    """A refused token: no more posts until a restart, and tell the operator."""
    state.stopped, state.reason, state.auth = True, str(exc), True
    log.error("posting stopped: %s", exc)
    alert(publisher, "token", f"djbios stopped posting: {exc}")
    return PostOutcome("auth", candidate_id=cid, error=str(exc))


def queue_size(store: Store, cfg: Config | None = None) -> int:
    """Bios waiting to be posted: pending plus approved.

    In review mode "auto" a pending bio counts only if auto-approval could take it (bot/filters/gate.py
    auto_approve): not failing a filter, not refused by the instance, not a reply. Otherwise an `add`
    of failing bios, or a tightened filter, would fill the stock with bios that never go out."""
    counts = store.count_by_status()
    if cfg is None or cfg.review.mode != "auto":
        return counts.get("pending", 0) + counts.get("approved", 0)
    usable = [c for c in store.list("pending") if c.reason is None and c.last_error is None and c.request_id is None]
    return len(usable) + counts.get("approved", 0)


def refill(now: datetime, store: Store, cfg: Config, make_batch: Callable[..., object]) -> RefillOutcome:
    """Generate a batch when fewer than min_queue bios wait; auto-approve in review mode "auto".

    `make_batch(n=..., now=...)` generates, filters and stores `n` candidates (the worker binds
    bot's generate_batch to the config, store and lazily loaded generator).
    """
    out = RefillOutcome()
    if queue_size(store, cfg) < cfg.schedule.min_queue:
        before = store.count_by_status()
        try:
            make_batch(n=cfg.generate.nsamples, now=now)
        except BotError as exc:
            log.error("refill failed: %s", exc)
            out.errors.append(str(exc))
        after = store.count_by_status()
        out.made = sum(after.values()) - sum(before.values())
        out.queued = after.get("pending", 0) - before.get("pending", 0)
    if cfg.review.mode == "auto":
        from bot.filters.gate import auto_approve, default_pipeline  # the filters load only when needed

        out.approved = auto_approve(store, default_pipeline(cfg, store), cfg.review.auto_max_per_day, now)
    return out
