"""Posting a reply: in reply to the mention, mentioning only the requester, never wider than the mention.

Exactly once, like a post (bot/posting/jobs.py): `posting` is committed before the HTTP call, the
Idempotency-Key comes from the notification id (one mention, one reply, whichever candidate answers
it), and before every try the mention's thread is read: a reply of ours already there is recorded
instead of posting again (that is also how a crash mid-post is reconciled). A mention deleted meanwhile
is answered by nobody: its reply is rejected.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, TypedDict

from bot.config import Config
from bot.errors import AuthError, IllegalTransition, PermanentError, PublishError, Rejected, RetryLater
from bot.filters.hazards import defuse, find_mentions
from bot.posting.alerts import alert
from bot.posting.publishers import MastodonPublisher, Publisher, _id_and_url, base_publisher
from bot.posting.replies import mention_prefix, visibility_for
from bot.store.candidate import naive_utc
from bot.store.requests import Request, get_request, set_request_state

if TYPE_CHECKING:
    from bot.store.candidate import Candidate
    from bot.store.store import Store

log = logging.getLogger(__name__)

RETRY_MAX_S = 3600.0  # a reply that cannot go out for an hour is retried hourly: it is late anyway


class ReplyResult(TypedDict, total=False):
    """PostOutcome's fields (bot/posting/jobs.py builds one from this: no import cycle)."""

    result: str  # posted, retry, failed (for good), rejected, auth, gone, error, stopped
    candidate_id: int | None
    status_id: str | None
    url: str | None
    error: str | None
    retry_at: datetime | None
    text: str | None


class StopState(Protocol):
    """The worker's posting state (jobs.PostingState): a refused token stops every post."""

    stopped: bool
    reason: str
    auth: bool  # stopped by a refused token (not by a lost lease)


class _Gone(Exception):
    """The mention no longer exists."""


def reply_text(req: Request, bio: str) -> str:
    """The status: "@acct " and the bio, in which nothing can mention anyone (defused once more)."""
    if find_mentions(bio):  # approve --force of a text the filters refused: still nobody else is notified
        bio, _ = defuse(bio, mentions="defuse", hashtags="keep", urls="placeholder")
    return mention_prefix(req.acct) + bio


def post_reply(
    now: datetime,
    store: Store,
    publisher: Publisher,
    cfg: Config,
    c: Candidate,
    state: StopState | None = None,
    *,
    holder: str | None = None,
) -> ReplyResult:
    """Post one approved (or failed, due) reply candidate exactly once; the request becomes answered.

    `holder` claims it as post_next claims a bio (IllegalTransition if another process won it).
    """
    if state is not None and state.stopped:
        return {"result": "stopped", "error": state.reason}
    client = base_publisher(publisher)  # under the alerting/suffix wrappers: a reply needs the client itself
    if not isinstance(client, MastodonPublisher):
        return {"result": "error", "candidate_id": c.id, "error": 'replies need [mastodon] publisher = "mastodon"'}
    req = get_request(store, int(c.request_id or 0))
    try:
        found = find_reply(client, req)
    except _Gone:
        store.reject(c.id, reason="the mention was deleted", now=now, by="replies")
        set_request_state(store, req.id, "failed", "the mention was deleted", now=now)
        return {"result": "gone", "candidate_id": c.id}
    except AuthError as exc:
        return _stop(publisher, state, c.id, exc)
    except PermanentError as exc:  # the thread cannot be read, and asking again changes nothing
        return _failed_for_good(now, store, publisher, c, req, exc, claim=holder or "replies")
    except PublishError as exc:  # cannot tell yet: the candidate stays as it is for the next run
        return {
            "result": "retry",
            "candidate_id": c.id,
            "error": str(exc),
            "retry_at": now + timedelta(seconds=cfg.replies.poll_seconds),
        }
    c = store.start_posting(c.id, now=now, holder=holder)  # committed before the HTTP call
    try:
        status_id, url = found or _send(client, cfg, req, c)
    except Rejected as exc:
        store.return_to_pending(c.id, message=str(exc), holder=holder, now=now)
        return {"result": "rejected", "candidate_id": c.id, "error": str(exc)}
    except AuthError as exc:  # kept and due now: the first poll after a restart (new token) sends it
        store.mark_failed(c.id, error=str(exc), retry_at=now, holder=holder, now=now)
        return _stop(publisher, state, c.id, exc)
    except PermanentError as exc:
        return _failed_for_good(now, store, publisher, c, req, exc)
    except PublishError as exc:
        hint = exc.retry_after if isinstance(exc, RetryLater) else 0.0
        wait = min(max(hint, cfg.replies.poll_seconds * 2.0 ** min(c.attempts - 1, 20)), max(hint, RETRY_MAX_S))
        retry_at = now + timedelta(seconds=wait)
        store.mark_failed(c.id, error=str(exc), retry_at=retry_at, holder=holder, now=now)
        log.warning("reply %s failed (attempt %s), retry at %s: %s", c.id, c.attempts, retry_at, exc)
        return {"result": "retry", "candidate_id": c.id, "error": str(exc), "retry_at": retry_at}
    store.mark_posted(c.id, status_id=status_id, url=url, status_ids=[status_id], holder=holder, now=now)
    set_request_state(store, req.id, "answered", f"reply #{c.id}: {url}", now=now)
    log.info("answered request %s (%s) with reply %s: %s", req.id, req.acct, c.id, url)
    return {"result": "posted", "candidate_id": c.id, "status_id": status_id, "url": url, "text": c.text}


def _send(publisher: MastodonPublisher, cfg: Config, req: Request, c: Candidate) -> tuple[str, str]:
    """The HTTP call: a reply to the mention with the request's idempotency key."""
    with publisher._wrapped("posting a reply"):
        status = publisher.client.status_post(
            reply_text(req, c.text),
            in_reply_to_id=req.status_id,
            visibility=visibility_for(req.visibility, cfg.replies.visibility),
            spoiler_text=cfg.mastodon.spoiler_text or None,
            language=cfg.mastodon.language or None,
            idempotency_key=req.idempotency_key,
        )
    return _id_and_url(status)


def find_reply(publisher: MastodonPublisher, req: Request) -> tuple[str, str] | None:
    """(id, url) of our reply already under the mention, if any; _Gone if the mention was deleted."""
    from mastodon.errors import MastodonNotFoundError

    me = publisher.account_id()
    with publisher._wrapped("reading the mention's thread"):
        try:
            context = publisher.client.status_context(req.status_id)
        except MastodonNotFoundError as exc:  # inside the wrapper, which would make it "retry later"
            raise _Gone(req.status_id) from exc
    for st in context.get("descendants") or []:
        if str(st["account"]["id"]) == me and str(st.get("in_reply_to_id")) == req.status_id:
            return _id_and_url(st)
    return None


def _stop(publisher: Publisher, state: StopState | None, cid: int, exc: AuthError) -> ReplyResult:
    """A refused token: no more posts until a restart; the "token" alert, as a refused post raises it."""
    if state is not None:
        state.stopped, state.reason, state.auth = True, str(exc), True
    log.error("posting stopped: %s", exc)
    alert(publisher, "token", f"djbios stopped posting: {exc}")  # never by DM: the token is refused
    return {"result": "auth", "candidate_id": cid, "error": str(exc)}


def _failed_for_good(
    now: datetime,
    store: Store,
    publisher: Publisher,
    c: Candidate,
    req: Request,
    exc: PermanentError,
    *,
    claim: str | None = None,
) -> ReplyResult:
    """An unknown 4xx: the reply fails without a retry time, its request fails with the message; alert.

    `claim`: the holder to claim an unclaimed candidate as (failed is reached only through posting)."""
    if claim is not None:
        c = store.start_posting(c.id, now=now, holder=claim)
    store.mark_failed(c.id, error=str(exc), retry_at=None, holder=c.claimed_by, now=now)
    set_request_state(store, req.id, "failed", f"reply #{c.id} failed: {exc}", now=now)
    log.error("reply %s to request %s failed for good: %s", c.id, req.id, exc)
    alert(
        publisher,
        f"bio-failed:{c.id}",
        f"reply {c.id} to {req.acct} failed and will not be retried: {exc} (see `djbios requests`; "
        f"`djbios approve {c.id}` tries again)",
    )
    return {"result": "failed", "candidate_id": c.id, "error": str(exc)}


def post_replies(
    now: datetime,
    store: Store,
    publisher: Publisher,
    cfg: Config,
    state: StopState | None = None,
    *,
    holder: str | None = None,
) -> list[ReplyResult]:
    """Post every approved reply (and failed ones whose retry time has come), oldest approval first.

    `holder` names this process in each claim, so a hand-run `djbios post` leaves a reply in flight
    alone; one claimed or settled by another process meanwhile is skipped, as post_next skips a bio.
    A reply failed for good (no retry time) waits for the operator's `djbios approve`, like a bio."""
    due = [
        c
        for c in store.list(("approved", "failed"))
        if c.request_id is not None
        and (c.status == "approved" or (c.retry_at is not None and c.retry_at <= naive_utc(now)))
    ]
    due.sort(key=lambda c: (c.status != "failed", c.reviewed_at or c.created_at, c.id))
    out = []
    for c in due:
        try:
            res = post_reply(now, store, publisher, cfg, c, state, holder=holder)
        except IllegalTransition as exc:  # another process claimed or settled it first: not ours
            log.info("reply %s skipped: %s", c.id, exc)
            continue
        out.append(res)
        if res.get("result") in ("auth", "stopped"):
            break
    return out
