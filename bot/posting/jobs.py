"""The worker's jobs as pure orchestration: store, publisher, batch maker, clock and RNG come in.

post_next follows the candidate state machine: `posting` is committed before the HTTP call, so a crash
leaves a row that `reconcile` settles at start-up (find it among recent statuses, else retry with
the same Idempotency-Key). A bio is never posted twice and an approved bio is never lost.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.config import Config
from bot.errors import AuthError, BotError, PublishError, Rejected, RetryLater
from bot.posting.publishers import Publisher, thread_parts

if TYPE_CHECKING:
    from bot.store.candidate import Candidate
    from bot.store.store import Store

log = logging.getLogger(__name__)

BACKOFF_BASE_S = 60.0  # default [schedule] retry_base_s: the first retry waits a minute
BACKOFF_MAX_S = 6 * 3600.0  # and never more than six hours


@dataclass
class PostingState:
    """What the worker remembers between post runs: a bad token stops posting until restart."""

    stopped: bool = False
    reason: str = ""
    reconciled: bool = False  # rows left in `posting` by a crash are settled


@dataclass(frozen=True)
class PostOutcome:
    """What one post run did: posted, idle, dry-run, retry, rejected, stopped, auth, quiet."""

    result: str
    candidate_id: int | None = None
    status_id: str | None = None
    url: str | None = None
    error: str | None = None
    retry_at: datetime | None = None
    text: str | None = None


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


def post_next(now: datetime, store: Store, publisher: Publisher, cfg: Config, *,
              rng: random.Random | None = None, state: PostingState | None = None,
              dry_run: bool = False) -> PostOutcome:
    """Post the next approved bio (or a failed one whose retry time has come), exactly once."""
    state = state or PostingState()
    if state.stopped:
        return PostOutcome("stopped", error=state.reason)
    nxt = store.next_approved(order=cfg.schedule.order, rng=rng, now=now)
    if nxt is None:
        return PostOutcome("idle")
    if dry_run:
        return PostOutcome("dry-run", candidate_id=nxt.id, text=nxt.text)
    if nxt.request_id is not None:  # a follower's bio: a reply to the mention (bot/posting/reply_post.py)
        from bot.posting.reply_post import post_reply

        return PostOutcome(**post_reply(now, store, publisher, cfg, nxt, state))
    # The last try may have gone through (a timeout, say; or a thread whose first part went out
    # before a reply got a 422 and the operator re-approved it): look before posting again.
    if nxt.status == "failed" or nxt.attempts > 0:
        try:
            found = publisher.find_recent(thread_parts(nxt)[0])
        except AuthError as exc:  # a bad token here too: stop and alert, not retry every minute
            return _stop_posting(publisher, state, nxt.id, exc)
        except PublishError as exc:  # still down: the row stays failed for the next run
            later = now + timedelta(seconds=cfg.schedule.retry_base_s)
            return PostOutcome("retry", candidate_id=nxt.id, error=str(exc), retry_at=later)
    else:
        found = None
    if found and len(thread_parts(nxt)) > 1:
        found = None  # only its first part may be online: post() sends the parts still missing
    c = store.start_posting(nxt.id, now=now)  # committed before the HTTP call
    try:
        # An Idempotency-Key lives for hours on Mastodon, so the look-up above covers older tries.
        status_id, url = found or publisher.post(c)
    except Rejected as exc:
        store.return_to_pending(c.id, message=str(exc), now=now)
        log.warning("bio %s refused by the instance, back to pending: %s", c.id, exc)
        return PostOutcome("rejected", candidate_id=c.id, error=str(exc))
    except AuthError as exc:
        return _auth_failed(now, store, publisher, state, c, exc)
    except PublishError as exc:
        return _retry_later(now, store, publisher, cfg, c, exc)
    except Exception as exc:  # a bug, not the network: keep the bio retryable, then surface it
        store.mark_failed(c.id, error=f"unexpected: {exc!r}", retry_at=now + timedelta(hours=1), now=now)
        raise
    store.mark_posted(c.id, status_id=status_id, url=url, now=now)
    log.info("posted bio %s as %s", c.id, url)
    return PostOutcome("posted", candidate_id=c.id, status_id=status_id, url=url, text=c.text)


def _retry_later(now: datetime, store: Store, publisher: Publisher, cfg: Config, c: Candidate,
                 exc: PublishError) -> PostOutcome:
    """posting -> failed with a retry time; alert the operator every max_attempts failures."""
    hint = exc.retry_after if isinstance(exc, RetryLater) else 0.0  # only a 429 names a time
    retry_at = now + timedelta(seconds=backoff_s(c.attempts, hint, cfg.schedule.retry_base_s))
    store.mark_failed(c.id, error=str(exc), retry_at=retry_at, now=now)
    log.warning("bio %s failed (attempt %s), retry at %s: %s", c.id, c.attempts,
                retry_at.isoformat(timespec="seconds"), exc)
    if c.attempts % cfg.schedule.max_attempts == 0:
        publisher.alert(f"djbios: bio {c.id} failed {c.attempts} times; last error: {exc}")
    return PostOutcome("retry", candidate_id=c.id, error=str(exc), retry_at=retry_at)


def _auth_failed(now: datetime, store: Store, publisher: Publisher, state: PostingState, c: Candidate,
                 exc: AuthError) -> PostOutcome:
    """The token is bad: keep the bio (failed, retried after a restart), stop posting, alert."""
    store.mark_failed(c.id, error=str(exc), retry_at=None, now=now)
    return _stop_posting(publisher, state, c.id, exc)


def _stop_posting(publisher: Publisher, state: PostingState, cid: int, exc: AuthError) -> PostOutcome:
    """A refused token: no more posts until a restart, and tell the operator."""
    state.stopped, state.reason = True, str(exc)
    log.error("posting stopped: %s", exc)
    publisher.alert(f"djbios stopped posting: {exc}")
    return PostOutcome("auth", candidate_id=cid, error=str(exc))


def reconcile(store: Store, publisher: Publisher, now: datetime | None = None) -> list[PostOutcome]:
    """Settle rows a crash left in `posting`: posted if the text is online, else retry (same key)."""
    outcomes = []
    for c in store.list("posting"):
        try:
            found = publisher.find_recent(thread_parts(c)[0])
        except PublishError as exc:  # cannot tell yet: leave it in `posting`, try again later
            log.warning("cannot reconcile bio %s yet: %s", c.id, exc)
            outcomes.append(PostOutcome("unknown", candidate_id=c.id, error=str(exc)))
            continue
        if found:
            store.mark_posted(c.id, status_id=found[0], url=found[1], now=now)
            log.info("reconciled bio %s: it was posted as %s", c.id, found[1])
            outcomes.append(PostOutcome("posted", candidate_id=c.id, status_id=found[0], url=found[1]))
        else:
            store.mark_failed(c.id, error="interrupted while posting; retrying with the same key",
                              retry_at=now, now=now)
            log.info("reconciled bio %s: not online, will retry with the same key", c.id)
            outcomes.append(PostOutcome("retry", candidate_id=c.id, retry_at=now))
    return outcomes


def queue_size(store: Store) -> int:
    """Bios waiting to be posted: pending plus approved."""
    counts = store.count_by_status()
    return counts.get("pending", 0) + counts.get("approved", 0)


def refill(now: datetime, store: Store, cfg: Config, make_batch: Callable[..., object]) -> RefillOutcome:
    """Generate a batch when fewer than min_queue bios wait; auto-approve in review mode "auto".

    `make_batch(n=..., now=...)` generates, filters and stores `n` candidates (the worker binds
    bot's generate_batch to the config, store and lazily loaded generator).
    """
    out = RefillOutcome()
    if queue_size(store) < cfg.schedule.min_queue:
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
