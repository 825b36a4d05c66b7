"""Publishers: where an approved bio goes. Mastodon.py for real (here), a JSONL outbox for offline runs.

Mastodon.py exceptions are wrapped here, at the boundary that knows them: network / 5xx / 408 / 429 /
malformed reply -> RetryLater, 401 / 403 -> AuthError, 422 -> Rejected, any other 4xx -> PermanentError.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import Config, MastodonConfig, read_token
from bot.errors import AuthError, ConfigError, PermanentError, PublishError, Rejected, RetryLater
from bot.posting.outbox import OnPart, OutboxPublisher
from bot.posting.parts import Online, find_chain, html_to_text, part_key
from bot.redact import scrub
from bot.text import MASTODON_MAX_CHARS

if TYPE_CHECKING:
    from bot.store.candidate import Candidate

__all__ = ["MastodonPublisher", "OnPart", "Publisher", "html_to_text", "make_publisher"]

log = logging.getLogger(__name__)

RETRY_NETWORK_S = 0.0  # network errors and 5xx name no time: the jobs back off from [schedule]
RETRY_RATELIMIT_S = 300.0  # 429 without a usable reset header: Mastodon's 5-minute window
RECENT_LIMIT = 40  # statuses read back by find_bio (Mastodon's page maximum)


class Publisher(Protocol):
    """What the jobs need from a place to post."""

    def post(
        self, candidate: Candidate, parts: list[str] | None = None, on_part: OnPart | None = None
    ) -> tuple[str, str]:
        """Publish the parts not yet in candidate.status_ids; return the first's (status_id, url)."""
        ...

    def max_characters(self) -> int:
        """The longest status the destination accepts."""
        ...

    def find_bio(self, candidate: Candidate, parts: list[str], exclude: Collection[str] = ()) -> Online | None:
        """The whole bio online (every part, in order), else None; never ids in `exclude`."""
        ...

    def delete(self, status_id: str) -> bool:
        """Delete one status: True if deleted now, False if it was already gone."""
        ...

    def alert(self, message: str) -> None:
        """Tell the operator something went wrong (never a public post); never raises."""
        ...


def base_publisher(publisher: Any) -> Any:
    """The publisher under its wrappers (alerts, post suffix): each wrapper keeps its own in `.inner`."""
    while hasattr(publisher, "inner"):
        publisher = publisher.inner
    return publisher


def make_publisher(cfg: Config) -> MastodonPublisher | OutboxPublisher:
    """The publisher bot.toml asks for."""
    if cfg.mastodon.publisher == "outbox":
        return OutboxPublisher(cfg.mastodon)
    return MastodonPublisher.from_config(cfg)


class MastodonPublisher:
    """Posts through Mastodon.py; one client per worker."""

    def __init__(self, client: Any, cfg: MastodonConfig, operator: str = "") -> None:
        self.client = client
        self.cfg = cfg
        self.operator = operator  # [alerts] operator: who gets direct-message alerts
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
        return cls(client, m, operator=cfg.alerts.operator)

    # -- the protocol ----------------------------------------------------------------------------
    def post(
        self, candidate: Candidate, parts: list[str] | None = None, on_part: OnPart | None = None
    ) -> tuple[str, str]:
        """Post the bio's parts still missing, each with its own idempotency key, as a reply chain.

        Parts already in candidate.status_ids are skipped (a resumed thread); `on_part` records each
        new one as soon as it is out, so a crash mid-thread resumes with the missing parts only.
        A retried POST with the same key returns the status it made before, never a second one.
        Returns the first status: the bio's address.
        """
        parts = parts or [candidate.text]
        done = list(candidate.status_ids)[: len(parts)]
        first = (done[0], candidate.posted_url or "") if done else None
        for i in range(len(done), len(parts)):
            with self._wrapped("posting" if not i else f"posting reply {i + 1}/{len(parts)}"):
                status = self.client.status_post(
                    parts[i],
                    in_reply_to_id=done[-1] if done else None,
                    visibility=self.cfg.visibility,
                    spoiler_text=self.cfg.spoiler_text or None,
                    language=self.cfg.language or None,
                    idempotency_key=part_key(candidate.idempotency_key, i),
                )
            sid, url = _id_and_url(status)
            if on_part is not None:
                on_part(i, sid, url)
            done.append(sid)
            first = first or (sid, url)
        assert first is not None
        return first

    def max_characters(self) -> int:
        """The instance's status limit, read once and cached (bot.toml's value wins when set)."""
        if self._max_chars is None:
            with self._wrapped("reading the instance limits"):
                self._max_chars = _instance_max_chars(self.client)
        return self._max_chars

    def find_bio(self, candidate: Candidate, parts: list[str], exclude: Collection[str] = ()) -> Online | None:
        """The whole bio among the account's recent statuses: every part, in order, as a reply chain.

        Compared as plain text (the server re-renders markup, links and entities); the ids this bio
        already recorded anchor the chain, and ids other bios recorded are never taken.
        """
        with self._wrapped("reading recent statuses"):
            statuses = self.client.account_statuses(self.account_id(), limit=RECENT_LIMIT)
        ids = find_chain(statuses, parts, known=list(candidate.status_ids), exclude=exclude)
        if ids is None:
            return None
        first = next((s for s in statuses if str(s.get("id")) == ids[0]), None)
        url = _id_and_url(first)[1] if first is not None else candidate.posted_url or ""
        return Online(ids, url)

    def delete(self, status_id: str) -> bool:
        """DELETE the status; one already gone (404/410) counts as deleted."""
        from mastodon import errors as me

        with self._wrapped(f"deleting status {status_id}"):
            try:
                self.client.status_delete(status_id)
            except me.MastodonAPIError as exc:
                if _http_code(exc) not in (404, 410):
                    raise
                return False
        return True

    def alert(self, message: str) -> None:
        """Direct-message the operator (visibility=direct, never public); log it either way."""
        log.warning("operator alert: %s", message)
        self.direct_message(message)

    def direct_message(self, message: str) -> bool:
        """Send `message` to [alerts] operator, visibility=direct; False when none is set or it failed."""
        who = self.operator.strip()
        if not who:
            return False
        who = who if who.startswith("@") else "@" + who
        limit = self._max_chars or MASTODON_MAX_CHARS
        try:
            self.client.status_post(f"{who} {message}"[:limit], visibility="direct")
        except Exception as exc:  # an alert must never break the job that raised it
            log.error("could not send the alert to %s: %s", who, exc)
            return False
        return True

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

    def profile(self) -> dict[str, Any]:
        """The account as verify_credentials returns it: bot flag, note, fields and their plain `source`."""
        with self._wrapped("reading the profile"):
            me = self.client.account_verify_credentials()
        self._account_id = str(me["id"])
        return dict(me)

    def update_profile(self, **changes: Any) -> None:
        """PATCH only the given attributes (bot, note, fields): bot/posting/profile.py decides which."""
        with self._wrapped("updating the profile"):
            self.client.account_update_credentials(**changes)

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
            raise _api_error(exc, doing, self._reset_in()) from exc
        except me.MastodonError as exc:
            raise RetryLater(scrub(f"Mastodon.py error while {doing}: {exc}"), RETRY_NETWORK_S) from exc

    def _reset_in(self) -> float:
        """Seconds until the rate limit resets (Mastodon.py parsed X-RateLimit-Reset)."""
        reset = getattr(self.client, "ratelimit_reset", None)
        if reset and reset > time.time():
            return float(reset - time.time()) + 1.0  # +1 s: the reset is rounded down
        return RETRY_RATELIMIT_S


def _http_code(exc: Exception) -> int | None:
    """The HTTP status of a Mastodon.py API error (args: message, status, reason, error text)."""
    args = exc.args
    return args[1] if len(args) > 1 and isinstance(args[1], int) else None


def _api_error(exc: Exception, doing: str, reset_in: float = RETRY_RATELIMIT_S) -> PublishError:
    """Map an HTTP error to what the job should do; every status code has a final answer.

    The server's text is scrubbed: a proxy or a hostile instance may echo the request, token and all.
    """
    args, code = exc.args, _http_code(exc)
    detail = str(args[3]) if len(args) > 3 and args[3] else (args[2] if len(args) > 2 else str(exc))
    detail = scrub(str(detail))
    if code is None:  # Mastodon.py could not parse the reply: malformed body, proxy error page
        return RetryLater(f"malformed reply while {doing}: {scrub(str(exc))[:200]}", RETRY_NETWORK_S)
    if code in (401, 403):
        return AuthError(
            f"the instance refused the token ({code} {detail}) while {doing}; "
            "run `djbios login` or fix [mastodon] token_file / $DJBIOS_ACCESS_TOKEN"
        )
    if code == 422:
        return Rejected(f"{detail}")
    if code == 429:
        return RetryLater(f"rate limited while {doing}", reset_in)
    if code >= 500 or code == 408:
        return RetryLater(f"server error {code} {detail} while {doing}", RETRY_NETWORK_S)
    # 400, 404, 410 ...: the request itself is wrong (a deleted reply target, a bad api_base_url);
    # asking again changes nothing, so the bio fails for good and the operator decides
    return PermanentError(
        f"HTTP {code} {detail} while {doing}; check [mastodon] api_base_url, then `djbios approve ID` re-queues the bio"
    )


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
