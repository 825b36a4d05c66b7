"""Publishers: where an approved bio goes. Mastodon.py for real (here), a JSONL outbox for offline runs.

Mastodon.py exceptions are wrapped here, at the boundary that knows them:
network / 5xx / 429 / malformed reply -> RetryLater, 401 / 403 -> AuthError, 422 -> Rejected.
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import Config, MastodonConfig, read_token
from bot.errors import AuthError, ConfigError, PublishError, Rejected, RetryLater
from bot.posting.outbox import OutboxPublisher
from bot.redact import scrub
from bot.text import MASTODON_MAX_CHARS, squash_space

if TYPE_CHECKING:
    from bot.store.candidate import Candidate

log = logging.getLogger(__name__)

RETRY_NETWORK_S = 0.0  # network errors and 5xx name no time: the jobs back off from [schedule]
RETRY_RATELIMIT_S = 300.0  # 429 without a usable reset header: Mastodon's 5-minute window
RECENT_LIMIT = 40  # statuses read back by find_recent (Mastodon's page maximum)


class Publisher(Protocol):
    """What the jobs need from a place to post."""

    def post(self, candidate: Candidate) -> tuple[str, str]:
        """Publish the bio; return (status_id, url). Raises a PublishError subclass."""
        ...

    def max_characters(self) -> int:
        """The longest status the destination accepts."""
        ...

    def find_recent(self, text: str) -> tuple[str, str] | None:
        """(status_id, url) of a recent post with this text, if any (crash reconciliation)."""
        ...

    def alert(self, message: str) -> None:
        """Tell the operator something went wrong (never a public post); never raises."""
        ...


def thread_parts(candidate: Candidate) -> list[str]:
    """The posts a bio becomes: its text, or the numbered parts the length filter split it into."""
    parts = (candidate.scores.get("length") or {}).get("thread") if candidate.scores else None
    return list(parts) if parts and len(parts) > 1 else [candidate.text]


def make_publisher(cfg: Config) -> MastodonPublisher | OutboxPublisher:
    """The publisher bot.toml asks for."""
    if cfg.mastodon.publisher == "outbox":
        return OutboxPublisher(cfg.mastodon)
    return MastodonPublisher.from_config(cfg)


def html_to_text(content: str) -> str:
    """A status's HTML content as plain text (paragraphs and line breaks become spaces)."""
    content = re.sub(r"<br\s*/?>|</p>", " ", content)
    return squash_space(html.unescape(re.sub(r"<[^>]+>", "", content)))


class MastodonPublisher:
    """Posts through Mastodon.py; one client per worker."""

    def __init__(self, client: Any, cfg: MastodonConfig) -> None:
        self.client = client
        self.cfg = cfg
        self._max_chars = cfg.max_characters or None  # 0 in bot.toml = ask the instance once
        self._account_id: str | None = None

    @classmethod
    def from_config(cls, cfg: Config) -> MastodonPublisher:
        """Build the client from [mastodon]; the token comes from the environment or a 0600 file."""
        from mastodon import Mastodon

        m = cfg.mastodon
        if not m.api_base_url.startswith(("http://", "https://")):
            raise ConfigError(f"[mastodon] api_base_url must start with https://, got {m.api_base_url!r}")
        client = Mastodon(
            access_token=read_token(cfg),
            api_base_url=m.api_base_url,
            request_timeout=m.request_timeout_s,  # seconds; Mastodon.py's default is 300
            ratelimit_method="throw",  # "wait" would block the worker for minutes on a 429
            version_check_mode="none",  # no extra request at start-up
        )
        return cls(client, m)

    # -- the protocol ----------------------------------------------------------------------------
    def post(self, candidate: Candidate) -> tuple[str, str]:
        """Post one bio with its idempotency key, so a retried POST never makes a second status.

        A bio the length filter split into a thread (`too_long = "thread"`) goes out as numbered
        replies; each part has its own key, so a retry after a half-posted thread re-sends the parts
        already posted as no-ops and continues. Returns the first status: the bio's address.
        """
        parts = thread_parts(candidate)
        # parts an earlier try already posted (its keys may have expired): reuse, never re-send
        online = self._recent_by_text() if len(parts) > 1 else {}
        first: tuple[str, str] | None = None
        for i, part in enumerate(parts):
            if squash_space(part) in online:
                first = first or _id_and_url(online[squash_space(part)])
                continue
            key = candidate.idempotency_key + (f"-{i + 1}" if i else "")
            with self._wrapped("posting" if not i else f"posting reply {i + 1}/{len(parts)}"):
                status = self.client.status_post(
                    part,
                    in_reply_to_id=first[0] if first else None,
                    visibility=self.cfg.visibility,
                    spoiler_text=self.cfg.spoiler_text or None,
                    language=self.cfg.language or None,
                    idempotency_key=key,
                )
            first = first or _id_and_url(status)
        assert first is not None
        return first

    def max_characters(self) -> int:
        """The instance's status limit, read once and cached (bot.toml's value wins when set)."""
        if self._max_chars is None:
            with self._wrapped("reading the instance limits"):
                self._max_chars = _instance_max_chars(self.client)
        return self._max_chars

    def find_recent(self, text: str) -> tuple[str, str] | None:
        """Look for `text` among the account's recent statuses (not direct messages)."""
        want = squash_space(text)
        with self._wrapped("reading recent statuses"):
            statuses = self.client.account_statuses(self.account_id(), limit=RECENT_LIMIT)
        for st in statuses:
            if st.get("visibility") != "direct" and html_to_text(st.get("content") or "") == want:
                return _id_and_url(st)
        return None

    def _recent_by_text(self) -> dict[str, Any]:
        """The account's recent public statuses by their plain text."""
        with self._wrapped("reading recent statuses"):
            statuses = self.client.account_statuses(self.account_id(), limit=RECENT_LIMIT)
        return {html_to_text(st.get("content") or ""): st for st in reversed(statuses)
                if st.get("visibility") != "direct"}

    def alert(self, message: str) -> None:
        """Direct-message the operator (visibility=direct, never public); log it either way."""
        log.warning("operator alert: %s", message)
        who = self.cfg.operator_account.strip()
        if not who:
            return
        who = who if who.startswith("@") else "@" + who
        limit = self._max_chars or MASTODON_MAX_CHARS
        try:
            self.client.status_post(f"{who} {message}"[:limit], visibility="direct")
        except Exception as exc:  # an alert must never break the job that raised it
            log.error("could not send the alert to %s: %s", who, exc)

    # -- account tools ---------------------------------------------------------------------------
    def account_id(self) -> str:
        """The bot account's id (cached); also proves the token works."""
        if self._account_id is None:
            with self._wrapped("checking the token"):
                self._account_id = str(self.client.account_verify_credentials()["id"])
        return self._account_id

    def verify(self) -> str:
        """The account's handle; raises AuthError on a bad token."""
        with self._wrapped("checking the token"):
            me = self.client.account_verify_credentials()
        self._account_id = str(me["id"])
        return str(me.get("acct") or me.get("username"))

    def set_bot_profile(self, note: str) -> None:
        """Mark the account as a bot and say in its note that the posts are AI-generated."""
        with self._wrapped("updating the profile"):
            self.client.account_update_credentials(bot=True, note=note)

    @contextmanager
    def _wrapped(self, doing: str) -> Iterator[None]:
        """Turn Mastodon.py exceptions into the bot's PublishError tree."""
        from mastodon import errors as me

        try:
            yield
        except me.MastodonRatelimitError as exc:
            raise RetryLater(f"rate limited while {doing}", self._reset_in()) from exc
        except me.MastodonNetworkError as exc:
            raise RetryLater(scrub(f"network error while {doing}: {exc}"), RETRY_NETWORK_S) from exc
        except me.MastodonAPIError as exc:
            raise _api_error(exc, doing) from exc
        except me.MastodonError as exc:
            raise RetryLater(scrub(f"Mastodon.py error while {doing}: {exc}"), RETRY_NETWORK_S) from exc

    def _reset_in(self) -> float:
        """Seconds until the rate limit resets (Mastodon.py parsed X-RateLimit-Reset)."""
        reset = getattr(self.client, "ratelimit_reset", None)
        if reset and reset > time.time():
            return float(reset - time.time()) + 1.0  # +1 s: the reset is rounded down
        return RETRY_RATELIMIT_S


def _api_error(exc: Exception, doing: str) -> PublishError:
    """Map an HTTP error (args: message, status, reason, error text) to what the job should do.

    The server's text is scrubbed: a proxy or a hostile instance may echo the request, token and all.
    """
    args = exc.args
    code = args[1] if len(args) > 1 and isinstance(args[1], int) else None
    detail = str(args[3]) if len(args) > 3 and args[3] else (args[2] if len(args) > 2 else str(exc))
    detail = scrub(str(detail))
    if code is None:  # Mastodon.py could not parse the reply: malformed body, proxy error page
        return RetryLater(f"malformed reply while {doing}: {scrub(str(exc))[:200]}", RETRY_NETWORK_S)
    if code in (401, 403):
        return AuthError(f"the instance refused the token ({code} {detail}) while {doing}; "
                         "run `djbios login` or fix [mastodon] token_file / $DJBIOS_ACCESS_TOKEN")
    if code == 422:
        return Rejected(f"{detail}")
    if code == 429:
        return RetryLater(f"rate limited while {doing}", RETRY_RATELIMIT_S)
    if code >= 500 or code == 408:
        return RetryLater(f"server error {code} {detail} while {doing}", RETRY_NETWORK_S)
    return RetryLater(f"HTTP {code} {detail} while {doing}; check [mastodon] api_base_url",
                      RETRY_RATELIMIT_S)


def _id_and_url(status: Any) -> tuple[str, str]:
    """(id, url) of a status; a reply without them is malformed, so try again later."""
    try:
        sid, url = status["id"], status.get("url") or status.get("uri")
    except (TypeError, KeyError, AttributeError) as exc:
        raise RetryLater(f"malformed status in the reply: {str(status)[:200]}", RETRY_NETWORK_S) from exc
    if sid in (None, "") or not url:
        raise RetryLater(f"the reply has no status id or url: {str(status)[:200]}", RETRY_NETWORK_S)
    return str(sid), str(url)


def _instance_max_chars(client: Any) -> int:
    """configuration.statuses.max_characters from /api/v2/instance, else /api/v1/instance."""
    for fetch in (client.instance_v2, client.instance_v1):
        try:
            conf = fetch()["configuration"]["statuses"]["max_characters"]
            return int(conf)
        except (KeyError, TypeError, ValueError):
            continue
        except Exception as exc:
            from mastodon.errors import MastodonNotFoundError

            if not isinstance(exc, MastodonNotFoundError):
                raise
    log.info("the instance does not say its status limit; assuming %s", MASTODON_MAX_CHARS)
    return MASTODON_MAX_CHARS
