"""The operator's commands by direct message: `approve 12`, `reject 12 why`, `pause 6h`, `resume`, `queue`.

Only the account named by [alerts] operator counts, matched by its account id (looked up once with
account_lookup and kept in state key "operator"), never by display name. A command is recorded as a
request in state "command" when it is read (bot/posting/mentions.py); run_commands() carries it out,
keeps the answer on the row, DMs it back (visibility direct, everything after the operator's handle
defused) and marks the row done. After a crash an answered command is only re-sent, never re-run.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.config import Config
from bot.errors import BotError, PermanentError, PublishError, Rejected
from bot.filters.hazards import defuse
from bot.posting.pause import pause, resume
from bot.posting.requests_parse import without_mentions
from bot.store.requests import list_requests, set_request_state
from bot.store.state import get_state, set_state
from bot.text import MASTODON_MAX_CHARS

if TYPE_CHECKING:
    from bot.posting.publishers import MastodonPublisher
    from bot.store.requests import Request
    from bot.store.store import Store

log = logging.getLogger(__name__)

OPERATOR_KEY = "operator"  # {"acct", "id"}: the configured operator, resolved once
HELP = "commands: approve ID, reject ID [reason], pause [6h | 30m | 2d, whole numbers], resume, queue"
# seconds per unit of `pause` (bare number: hours); each unit's spellings, matched whole
UNITS = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
}
QUEUE_LINES = 5  # pending bios listed by `queue`
_COMMAND_RX = re.compile(r"^(approve|reject|pause|resume|queue|help)\b\s*(.*)$", re.IGNORECASE | re.DOTALL)
# the whole rest of the message: a whole number and a unit ("1.5h", "6h please" are not understood)
_DURATION_RX = re.compile(r"(\d{1,4})\s*([a-z]+)?", re.IGNORECASE)


@dataclass(frozen=True)
class Command:
    """One parsed command."""

    verb: str
    cid: int | None = None
    text: str = ""  # reject's reason
    seconds: float | None = None  # pause's length; None = until `resume`


def operator_acct(cfg: Config) -> str:
    """The [alerts] operator handle without its leading @; "" when unset (then no DM is a command)."""
    return cfg.alerts.operator.strip().lstrip("@")


def operator_id(store: Store, publisher: MastodonPublisher, cfg: Config) -> str | None:
    """The operator's account id: looked up once per configured handle, then read from state."""
    acct = operator_acct(cfg)
    if not acct:
        return None
    known = get_state(store, OPERATOR_KEY) or {}
    if known.get("acct") == acct:
        return str(known["id"]) if known.get("id") else None
    found = _lookup(publisher, acct, cfg.mastodon.api_base_url)
    set_state(store, OPERATOR_KEY, {"acct": acct, "id": found})
    if found is None:
        log.warning("[alerts] operator %s: no such account; DM commands are ignored", acct)
    return found


def _lookup(publisher: MastodonPublisher, acct: str, base_url: str) -> str | None:
    """account_lookup by handle; a local account written with its own domain is tried bare too."""
    from mastodon.errors import MastodonNotFoundError

    user, _, domain = acct.partition("@")
    tries = [acct] + ([user] if domain and domain.lower() == (urlsplit(base_url).hostname or "").lower() else [])
    for handle in tries:
        with publisher._wrapped("looking up the operator"):
            try:
                return str(publisher.client.account_lookup(handle)["id"])
            except MastodonNotFoundError:
                continue
    return None


def parse_command(text: str) -> Command | None:
    """The command in a DM's plain text (mentions removed), or None when it is none."""
    m = _COMMAND_RX.match(without_mentions(text).strip())
    if not m:
        return None
    verb, rest = m.group(1).lower(), m.group(2).strip()
    if verb in ("approve", "reject"):
        num = re.match(r"#?(\d{1,9})\b\s*(.*)$", rest, re.DOTALL)
        return Command(verb, int(num.group(1)), num.group(2).strip()[:500]) if num else None
    if verb == "pause":
        if not rest:
            return Command(verb)
        d = _DURATION_RX.fullmatch(rest)
        per = UNITS.get((d.group(2) or "h").lower()) if d else None
        if d is None or per is None or int(d.group(1)) == 0:  # zero would mean "until resume": refused
            return None
        return Command(verb, seconds=int(d.group(1)) * per)
    return Command(verb)


def execute(now: datetime, store: Store, cfg: Config, cmd: Command | None, by: str) -> str:
    """Carry out one command; the answer to send back."""
    if cmd is None or cmd.verb == "help":
        return HELP
    try:
        if cmd.verb == "approve":
            from bot.filters.gate import approve, default_pipeline

            c = approve(store, default_pipeline(cfg, store), int(cmd.cid or 0), by=by, now=now)
            return f"#{c.id} approved"
        if cmd.verb == "reject":
            c = store.reject(int(cmd.cid or 0), reason=cmd.text or f"rejected by {by}", now=now, by=by)
            return f"#{c.id} rejected"
    except BotError as exc:
        return f"#{cmd.cid}: {exc}"
    if cmd.verb == "pause":  # the same pause as `djbios pause` (bot/posting/pause.py)
        p = pause(
            store, now, hours=cmd.seconds / 3600 if cmd.seconds else None, reason="paused by direct message", by=by
        )
        return f"paused until {p.until:%Y-%m-%d %H:%M} UTC" if p.until else "paused until `resume`"
    if cmd.verb == "resume":
        resume(store, now)
        return "resumed"
    return _queue_summary(store)


def _queue_summary(store: Store) -> str:
    """Counts by state and the best pending bios."""
    counts = store.count_by_status()
    head = ", ".join(f"{st} {n}" for st, n in counts.items() if n) or "empty"
    lines = [head]
    for c in store.list("pending", limit=QUEUE_LINES, order="quality"):
        words = " ".join(c.text.split()[:8])
        reply = " (reply)" if c.request_id else ""
        lines.append(f"#{c.id}{reply} {c.quality or 0:.2f} {words}…")
    return "\n".join(lines)


def run_commands(now: datetime, store: Store, publisher: MastodonPublisher, cfg: Config) -> int:
    """Carry out and answer every recorded command, oldest first; how many were settled.

    A refused answer (an unknown 4xx, a 422) is not retried: the row is done, its reason says so."""
    done = 0
    for req in list_requests(store, "command"):
        answer = req.reason
        if answer is None:  # not carried out yet (a crash after carrying out leaves the answer here)
            by = f"dm:{req.acct}"
            answer = execute(now, store, cfg, parse_command(req.text), by)
            set_request_state(store, req.id, "command", answer, now=now)
            log.info("operator command %r from %s: %s", req.text[:80], req.acct, answer)
        try:
            _dm(publisher, req, answer)
        except (PermanentError, Rejected) as exc:  # asking again changes nothing: never block the commands after it
            log.error("the answer to the operator's command %s was refused, not sent: %s", req.id, exc)
            answer = f"answer not sent ({exc}): {answer}"
        except PublishError as exc:  # the answer stays on the row and is sent next poll
            log.warning("could not answer the operator's command %s: %s", req.id, exc)
            break
        set_request_state(store, req.id, "done", answer, now=now)
        done += 1
    return done


def _dm(publisher: MastodonPublisher, req: Request, answer: str) -> None:
    """Answer by direct message, in reply to the command; only the operator can be mentioned."""
    body, _ = defuse(answer, mentions="defuse", hashtags="defuse", urls="placeholder")
    with publisher._wrapped("answering the operator"):
        publisher.client.status_post(
            f"@{req.acct} {body}"[:MASTODON_MAX_CHARS],
            visibility="direct",
            in_reply_to_id=req.status_id,
            idempotency_key=f"djbios-dm-{req.notification_id}",
        )
