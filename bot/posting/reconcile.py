"""Settling rows left in `posting`: only stale claims (or our own), and only by the WHOLE bio.

A row in `posting` is a claim by `claimed_by`. It is settled here only when that holder is gone:
it has no live lease and its claim is older than the claim window, or it was a process on this host
that no longer exists. A live holder's row is left alone: its request may still be in flight, and
Mastodon stores an Idempotency-Key only once the status exists, so a second request with the key
could make a second status.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.config import Config
from bot.errors import IllegalTransition, PermanentError, PublishError, RetryLater
from bot.posting.alerts import alert
from bot.posting.outcome import PostOutcome
from bot.posting.parts import Online, thread_parts
from bot.store import leases
from bot.store.candidate import naive_utc
from bot.text import with_suffix

if TYPE_CHECKING:
    from bot.posting.publishers import Publisher
    from bot.store.candidate import Candidate
    from bot.store.store import Store

log = logging.getLogger(__name__)

REQUESTS_PER_BEAT = 3  # a claim's heartbeat (claimed_at) is renewed at least every three requests


def plan_parts(c: Candidate, publisher: Publisher, cfg: Config) -> list[str]:
    """The statuses the bio becomes now, from its CURRENT text (within the limit the length filter used)."""
    limit = min(cfg.filters.max_chars, publisher.max_characters())
    # the post suffix counts like the CW, as in the length filter (bot/filters/pipeline.py)
    counted = cfg.mastodon.spoiler_text + with_suffix("", cfg.profile.post_suffix)
    return thread_parts(c.text, limit, spoiler_text=counted, too_long=cfg.filters.too_long)


def find_online(store: Store, publisher: Publisher, c: Candidate, parts: list[str]) -> Online | None:
    """The whole bio online: from the ids we recorded when complete, else looked up (never others' ids)."""
    if c.status_ids and len(c.status_ids) >= len(parts):
        return Online(list(c.status_ids), c.posted_url or "")
    return publisher.find_bio(c, parts, exclude=store.status_ids_of_others(c.id))


def claim_window_s(cfg: Config) -> float:
    """Seconds after which a claim without a live lease is stale (never shorter than its requests)."""
    return max(cfg.schedule.lease_stale_s, REQUESTS_PER_BEAT * cfg.mastodon.request_timeout_s)


def claim_is_stale(store: Store, c: Candidate, me: str | None, now: datetime | None, cfg: Config) -> bool:
    """Whether `me` may settle c's claim: ours, nobody's, or its holder is gone."""
    holder = c.claimed_by
    if holder is None or holder == me or leases.is_dead_here(holder):
        return True
    if any(leases.is_live(lease, now, cfg.schedule.lease_stale_s) for lease in leases.held_by(store, holder)):
        return False
    since = c.claimed_at or datetime.min
    return naive_utc(now) - since > timedelta(seconds=claim_window_s(cfg))


def reconcile(
    store: Store,
    publisher: Publisher,
    now: datetime | None = None,
    *,
    cfg: Config | None = None,
    holder: str | None = None,
) -> list[PostOutcome]:
    """Settle stale rows in `posting`: posted if the whole bio is online, else retry (same keys)."""
    cfg = cfg or Config()
    outcomes: list[PostOutcome] = []
    wait_until: datetime | None = None  # a 429 answered: ask nothing more until then
    for c in store.list("posting"):
        if not claim_is_stale(store, c, holder, now, cfg):
            outcomes.append(PostOutcome("held", candidate_id=c.id, error=f"claimed by {c.claimed_by}"))
        elif c.retry_at is not None and c.retry_at > naive_utc(now):
            outcomes.append(PostOutcome("unknown", candidate_id=c.id, error=c.last_error, retry_at=c.retry_at))
        elif wait_until is not None:
            outcomes.append(_defer(store, c, wait_until, "rate limited while reconciling", now))
        else:
            out = _settle(store, publisher, cfg, c, now)
            wait_until = out.retry_at if out.result == "unknown" else None
            outcomes.append(out)
    return outcomes


def _settle(store: Store, publisher: Publisher, cfg: Config, c: Candidate, now: datetime | None) -> PostOutcome:
    """Look for the whole bio and record what became of it, if the claim is still the one we saw."""
    try:
        found = find_online(store, publisher, c, plan_parts(c, publisher, cfg))
        if found:
            store.mark_posted(
                c.id, status_id=found.ids[0], url=found.url, status_ids=found.ids, holder=c.claimed_by, now=now
            )
            log.info("reconciled bio %s: it was posted as %s", c.id, found.url)
            return PostOutcome("posted", candidate_id=c.id, status_id=found.ids[0], url=found.url)
        store.mark_failed(
            c.id,
            error="interrupted while posting; retrying with the same key",
            retry_at=naive_utc(now),
            holder=c.claimed_by,
            now=now,
        )
        log.info("reconciled bio %s: not (wholly) online, will retry with the same keys", c.id)
        return PostOutcome("retry", candidate_id=c.id, retry_at=now)
    except RetryLater as exc:
        if exc.retry_after > 0:  # a 429: the row stays in `posting` until the limit resets
            return _defer(store, c, naive_utc(now) + timedelta(seconds=exc.retry_after), str(exc), now)
        log.warning("cannot reconcile bio %s yet: %s", c.id, exc)
        return PostOutcome("unknown", candidate_id=c.id, error=str(exc))
    except PermanentError as exc:
        return failed_for_good(store, publisher, c, exc, now)
    except PublishError as exc:  # a refused token: cannot tell yet; post_next stops and alerts
        log.warning("cannot reconcile bio %s yet: %s", c.id, exc)
        return PostOutcome("unknown", candidate_id=c.id, error=str(exc))
    except IllegalTransition as exc:  # settled or claimed again by another process meanwhile
        return PostOutcome("held", candidate_id=c.id, error=str(exc))


def _defer(store: Store, c: Candidate, until: datetime, error: str, now: datetime | None) -> PostOutcome:
    """Leave the row in `posting`, not to be looked at before `until`."""
    try:
        store.defer(c.id, until=until, error=error, holder=c.claimed_by, now=now)
    except IllegalTransition as exc:
        return PostOutcome("held", candidate_id=c.id, error=str(exc))
    log.warning("cannot reconcile bio %s before %s: %s", c.id, until.isoformat(timespec="seconds"), error)
    return PostOutcome("unknown", candidate_id=c.id, error=error, retry_at=until)


def failed_for_good(
    store: Store, publisher: Publisher, c: Candidate, exc: PermanentError, now: datetime | None
) -> PostOutcome:
    """posting -> failed without a retry time (the answer will not change); alert the operator."""
    store.mark_failed(c.id, error=str(exc), retry_at=None, holder=c.claimed_by, now=now)
    log.error("bio %s failed for good: %s", c.id, exc)
    alert(
        publisher,
        f"bio-failed:{c.id}",
        f"bio {c.id} failed and will not be retried: {exc} (see `djbios queue --status failed`)",
    )
    return PostOutcome("failed", candidate_id=c.id, error=str(exc))
