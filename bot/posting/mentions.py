"""Listening: mention notifications become request rows, each once, after the guards have had their say.

Polling is the source of truth. Pages are read oldest first above the stored cursor (state key
"notifications_since_id", advanced after each notification is recorded), so a restart neither misses
nor repeats a mention, and a failed read (the instance down, a fault) loses nothing: the next poll
starts where this one stopped. The first poll ever only records where "now" is: the bot never
answers mentions from before replies were switched on.

Guards, cheapest first; each refusal keeps a row in state "ignored" with its reason: a bot account,
#nobot/#noai in the profile, an unusual account name, the daily per-account and hourly limits, a
blocked or muted account, a thread the bot already wrote in deeper than [replies] max_depth. A
direct message is an operator command from the operator's account (by id), else ignored. A guard's
look-up the instance refuses for good (400/404/410) ignores that mention with the error, so one bad
notification never holds back the ones after it; a transient error leaves it for the next poll.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.config import Config
from bot.errors import AuthError, PermanentError, PublishError, Rejected
from bot.posting.alerts import alert, resolve
from bot.posting.operator import operator_id
from bot.posting.publishers import MastodonPublisher, Publisher, base_publisher, html_to_text
from bot.posting.requests_parse import parse_request, plain_text
from bot.store.requests import add_request, count_requests
from bot.store.state import get_state, set_state

if TYPE_CHECKING:
    from bot.posting.reply_post import StopState
    from bot.store.store import Store

log = logging.getLogger(__name__)

SINCE_KEY = "notifications_since_id"
PAGE = 40  # notifications per request: Mastodon's maximum
MAX_PAGES = 25  # per poll (1,000 mentions); the rest waits for the next poll, nothing is skipped
STORED_TEXT_CHARS = 1000  # a request's text as kept in the database
OPT_OUT = ("#nobot", "#noai")  # profile tags that say "no bots here" (case-insensitive)
# An acct as Mastodon gives it: user or user@domain (Account::USERNAME_RE and a host name).
ACCT_RX = re.compile(r"[A-Za-z0-9_]+(?:[.-]+[A-Za-z0-9_]+)*(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)?")


@dataclass
class PollOutcome:
    """What one poll did: notifications read, requests accepted, ignored, operator commands."""

    read: int = 0
    new: int = 0
    ignored: int = 0
    commands: int = 0
    errors: list[str] = field(default_factory=list)
    refused: str | None = None  # the instance refused the token (401/403): the "token-read" alert says so


def poll_mentions(now: datetime, store: Store, publisher: MastodonPublisher, cfg: Config) -> PollOutcome:
    """Read every new mention (all pages, oldest first) and record each as a request row."""
    out = PollOutcome()
    client = publisher.client
    since = get_state(store, SINCE_KEY)
    try:
        if since is None:
            _start_cursor(store, publisher, now)
            return out
        for _ in range(MAX_PAGES):
            with publisher._wrapped("reading notifications"):
                page = client.notifications(types=["mention"], min_id=since, limit=PAGE)
            if not page:
                break
            for n in sorted(page, key=lambda n: _id_key(n["id"])):
                if _id_key(n["id"]) <= _id_key(since):
                    continue  # an instance that ignores min_id: never twice
                _intake(now, store, publisher, cfg, n, out)
                since = str(n["id"])
                set_state(store, SINCE_KEY, since, now)  # recorded: a crash after this never repeats it
                out.read += 1
            if len(page) < PAGE:
                break
    except AuthError as exc:  # not only logged: nothing else would tell the operator
        log.error("reading mentions refused: %s", exc)
        out.errors.append(str(exc))
        out.refused = str(exc)
    except PublishError as exc:  # the cursor stays at the last recorded mention: nothing is lost
        log.warning("reading mentions stopped: %s", exc)
        out.errors.append(str(exc))
    return out


def _start_cursor(store: Store, publisher: MastodonPublisher, now: datetime) -> None:
    """The first poll: start after the newest notification, so old mentions are never answered."""
    with publisher._wrapped("reading notifications"):
        newest = publisher.client.notifications(types=["mention"], limit=1)
    since = str(newest[0]["id"]) if newest else "0"
    set_state(store, SINCE_KEY, since, now)
    log.info("replies: listening for mentions after notification %s", since)


def _id_key(nid: Any) -> tuple[int, str]:
    """Mastodon ids are numbers in strings: compare them as numbers (then as text)."""
    s = str(nid)
    return (int(s), "") if s.isdigit() else (-1, s)


def _intake(now: datetime, store: Store, publisher: MastodonPublisher, cfg: Config, n: Any, out: PollOutcome) -> None:
    """One mention: an operator command, an ignored request (with why), or a new request."""
    account, status = n.get("account") or {}, n.get("status")
    base = {
        "notification_id": str(n["id"]),
        "account_id": str(account.get("id", "")),
        "acct": str(account.get("acct", ""))[:500],
        "now": now,
    }
    if status is None:  # deleted before we read it
        _record(
            store, out, base, status_id="", visibility="", text="", state="ignored", reason="the mention was deleted"
        )
        return
    base.update(
        status_id=str(status["id"]),
        visibility=str(status.get("visibility", "")),
        text=plain_text(status.get("content") or "")[:STORED_TEXT_CHARS],
    )
    if base["visibility"] == "direct":
        if base["account_id"] == operator_id(store, publisher, cfg):
            _record(store, out, base, state="command")
        else:
            _record(store, out, base, state="ignored", reason="a direct message from a non-operator")
        return
    try:
        reason = _guards(now, store, publisher, cfg, account, status)
    except (PermanentError, Rejected) as exc:  # asking again changes nothing: one such must not block the rest
        log.warning("mention %s cannot be checked: %s", base["notification_id"], exc)
        reason = f"could not be checked: {str(exc).partition('; check')[0]}"  # the bio-side hint does not fit
    if reason:
        _record(store, out, base, state="ignored", reason=reason)
        return
    parsed = parse_request(status.get("content") or "")
    if parsed.ok:
        _record(store, out, base, state="new", name=parsed.name, pronouns=parsed.pronouns)
    elif cfg.replies.help_reply:  # a request without a name: the answer side sends the how-to
        _record(store, out, base, state="new", reason=f"help: {parsed.reason}")
    else:
        _record(store, out, base, state="ignored", reason=f"not understood: {parsed.reason}")


def _record(store: Store, out: PollOutcome, base: dict[str, Any], **fields: Any) -> Any:
    """Insert the row (a second insert of one notification is a no-op) and count it."""
    req = add_request(store, **{**base, **fields})
    if req is None:
        return None
    kind = {"command": "commands", "ignored": "ignored"}.get(req.state, "new")
    setattr(out, kind, getattr(out, kind) + 1)
    if req.state == "ignored":
        log.info("request %s from %s ignored: %s", req.id, req.acct, req.reason)
    return req


def _guards(
    now: datetime, store: Store, publisher: MastodonPublisher, cfg: Config, account: Any, status: Any
) -> str | None:
    """Why this mention gets no answer, or None; the checks needing a request to the instance last."""
    r = cfg.replies
    if account.get("bot"):
        return "a bot account"
    if str(account.get("id")) == publisher.account_id():
        return "the bot itself"
    if tag := opted_out(account):
        return f"{tag} in the profile"
    if not ACCT_RX.fullmatch(str(account.get("acct", ""))):
        return "an unusual account name"
    aid = str(account["id"])
    if count_requests(store, since=now - timedelta(days=1), account_id=aid) >= r.per_account_per_day:
        return f"over the daily limit for this account ({r.per_account_per_day})"
    if count_requests(store, since=now - timedelta(hours=1)) >= r.per_hour:
        return f"over the hourly limit ({r.per_hour})"
    with publisher._wrapped("reading relationships"):
        rels = publisher.client.account_relationships([aid])
    rel = rels[0] if rels else {}
    for flag in ("blocking", "muting", "domain_blocking", "blocked_by"):
        if rel.get(flag):
            return f"relationship: {flag.replace('_', ' ')}"
    if status.get("in_reply_to_id") is not None:
        return _too_deep(publisher, status, r.max_depth)
    return None


def opted_out(account: Any) -> str | None:
    """The #nobot or #noai tag in the account's note or profile fields (HTML stripped), if any.

    Written any way that reads the same: full-width "＃nobot", or a zero-width space inside the tag."""
    parts = [account.get("note") or ""]
    for f in account.get("fields") or []:
        parts += [f.get("name") or "", f.get("value") or ""]
    text = _comparable(" ".join(html_to_text(p) for p in parts))
    return next((tag for tag in OPT_OUT if tag in text), None)


def _comparable(text: str) -> str:
    """Text as a reader sees it: compatibility forms folded (＃ is #), invisible format characters dropped."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in folded if unicodedata.category(ch) != "Cf").casefold()


def _too_deep(publisher: MastodonPublisher, status: Any, max_depth: int) -> str | None:
    """A thread the bot already wrote in, where this mention sits deeper than max_depth."""
    with publisher._wrapped("reading the thread"):
        ancestors = publisher.client.status_context(status["id"]).get("ancestors") or []
    me = publisher.account_id()
    if len(ancestors) > max_depth and any(str(a["account"]["id"]) == me for a in ancestors):
        return f"a thread the bot is in, {len(ancestors)} deep (max_depth {max_depth})"
    return None


def poll_cycle(
    now: datetime,
    store: Store,
    publisher: Publisher,
    cfg: Config,
    state: StopState | None = None,
    *,
    holder: str | None = None,
) -> PollOutcome:
    """The post side's reply job: read mentions, carry out operator commands, post approved replies.

    Replies wait while the bot is paused (state key "pause"); the operator's answers never do, or
    `resume` could not be acknowledged. `holder` names this process in each reply's claim. A refused
    token raises the "token-read" alert (through the channels outside Mastodon: a DM with that token
    would not arrive), cleared by the next clean read.
    """
    from bot.posting.operator import run_commands
    from bot.posting.pause import active_pause
    from bot.posting.reply_post import post_replies

    client = base_publisher(publisher)  # under the alerting/suffix wrappers: reading needs the client
    if not isinstance(client, MastodonPublisher):
        return PollOutcome(errors=['replies need [mastodon] publisher = "mastodon"'])
    out = poll_mentions(now, store, client, cfg)
    if out.refused is not None:
        alert(
            publisher,
            "token-read",
            f"djbios cannot read its mentions: {out.refused}; `djbios login` (the token needs read access)",
        )
    elif not out.errors:
        resolve(publisher, "token-read")
    try:
        run_commands(now, store, client, cfg)
        if active_pause(store, now) is None:
            results = post_replies(now, store, publisher, cfg, state, holder=holder)
            out.errors += [str(r.get("error")) for r in results if r.get("result") not in ("posted", "gone")]
    except PublishError as exc:
        out.errors.append(str(exc))
    return out
