"""Operator alerts: apprise channels, the Mastodon DM, the log and a local file; de-duplicated in `alerts`.

A condition (a key: "token", "token-read", "bio-failed:12", "refill", "answers", "queue-empty",
"silent") alerts once, then again only after [alerts] repeat_hours while it stays open; when it clears
it is marked resolved (and, with send_resolved, the operator hears so). An alert about Mastodon never
relies on a Mastodon direct message alone: a refused token cannot send one. Every alert is logged and
appended to [alerts] file, so it is on record even where no channel works. URLs are never logged or
shown: secrets live in them.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.config import AlertsConfig, Config
from bot.errors import ConfigError
from bot.private_files import read_private_file

if TYPE_CHECKING:
    from bot.posting.liveness import Condition
    from bot.posting.parts import Online
    from bot.posting.publishers import OnPart, Publisher
    from bot.store.candidate import Candidate
    from bot.store.store import Store

log = logging.getLogger(__name__)

TITLE = "djbios"
# A direct message sent with the refused token never arrives: not tried. "token-read": mentions could
# not be read (401/403); its own key, so a post that still goes out does not clear it at every poll.
NO_DM_KEYS = ("token", "token-read")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def about_mastodon(key: str) -> bool:
    """Conditions at the instance (refused token, posts failing there): a Mastodon DM can't carry them."""
    return key in NO_DM_KEYS or key.startswith("bio-failed:")


def expand_env(url: str, where: str) -> str:
    """${NAME} replaced from the environment; ConfigError naming `where` (never the URL) when unset."""

    def value(m: re.Match[str]) -> str:
        if m[1] not in os.environ:
            raise ConfigError(f"{where}: ${{{m[1]}}} is not set in the environment; export it or drop it")
        return os.environ[m[1]]

    return _VAR.sub(value, url)


def alert_urls(cfg: AlertsConfig) -> list[tuple[str, str]]:
    """(where, url) of each apprise URL in [alerts] urls and urls_file, with ${NAME} expanded."""
    found = [(f"alerts.urls[{i}]", u) for i, u in enumerate(cfg.urls)]
    if cfg.urls_file is not None:
        text = read_private_file(cfg.urls_file, "alerts.urls_file", "one apprise URL a line, mode 0600")
        found += [
            (f"{cfg.urls_file} line {n}", line.strip())
            for n, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.lstrip().startswith("#")
        ]
    return [(where, expand_env(url, where)) for where, url in found]


def scheme(url: str) -> str:
    """The part of a URL that is safe to print: its scheme (hosts, paths and topics may be secrets)."""
    return url.partition("://")[0] if "://" in url else "?"


@dataclass(frozen=True)
class Channel:
    """One place alerts go; `name` is safe to print."""

    name: str
    send: Callable[[str, str], bool]  # (title, body) -> delivered


def apprise_channels(cfg: AlertsConfig) -> list[Channel]:
    """One channel per apprise URL; ConfigError naming the URL's place when apprise cannot use it."""
    urls = alert_urls(cfg)
    if not urls:
        return []
    import apprise  # ~0.3 s of plugin loading: only when channels are configured

    # apprise's own log lines carry URLs, hosts and paths (webhook tokens, ntfy topics), and so do
    # urllib3's debug lines ("POST /api/webhooks/<token>"): keep them out of our logs, even with -vv.
    # A failed channel is logged below by its number and scheme instead.
    logging.getLogger("apprise").setLevel(logging.CRITICAL)
    logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)
    channels = []
    for where, url in urls:
        plugin = apprise.Apprise.instantiate(url)
        if plugin is None:
            raise ConfigError(
                f"{where}: apprise cannot use this URL (scheme {scheme(url)!r}); see apprise's list of services"
            )
        channels.append(Channel(scheme(url), _notifier(plugin)))
    return channels


def _notifier(plugin: Any) -> Callable[[str, str], bool]:
    """send(title, body) through one apprise plugin; True when it took the message."""

    def send(title: str, body: str) -> bool:
        return bool(plugin.notify(body=body, title=title))

    return send


@dataclass(frozen=True)
class OpenAlert:
    """An alert condition that has not cleared."""

    key: str
    message: str
    first_at: datetime
    last_sent_at: datetime | None
    count: int


def open_alerts(store: Store) -> list[OpenAlert]:
    """Conditions raised and not resolved, oldest first."""
    from sqlalchemy import select

    from bot.store.tables import AlertRow

    q = select(AlertRow).where(AlertRow.resolved_at.is_(None)).order_by(AlertRow.first_at, AlertRow.key)
    with store.read_session() as s:
        return [OpenAlert(r.key, r.message, r.first_at, r.last_sent_at, r.count) for r in s.scalars(q)]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Alerter:
    """Sends each condition once per repeat_hours through every channel, and records it in `alerts`."""

    def __init__(
        self,
        store: Store,
        cfg: Config,
        *,
        dm: Callable[[str], bool] | None = None,
        channels: list[Channel] | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store, self.cfg, self.dm, self.clock = store, cfg, dm, clock
        # built now, not at the first alert: a bad URL or unset ${NAME} stops the start, not the alert
        self.channels = apprise_channels(cfg.alerts) if channels is None else channels

    def send(self, key: str, message: str, now: datetime | None = None) -> bool:
        """Alert unless this condition already did within repeat_hours; True when it went out now."""
        now = now or self.clock()
        try:
            due, previous = self._claim(key, message, now)
        except Exception:  # the database is in trouble: better a repeated alert than none
            log.exception("could not record alert %s", key)
            due, previous = True, None
        if not due:
            log.info("alert %s still open, already sent; not repeated yet: %s", key, message)
            return False
        delivered = self._deliver(key, message, now, dm=key not in NO_DM_KEYS)
        if not delivered:  # nothing reached the operator: try again at the next raise
            self._stamp(key, previous)
        return delivered

    def resolve(self, key: str, now: datetime | None = None) -> bool:
        """Mark an open condition cleared; say so if it had alerted. True when it was open."""
        from bot.store.candidate import naive_utc
        from bot.store.tables import AlertRow

        now = now or self.clock()
        try:
            with self.store.write_session() as s:
                row = s.get(AlertRow, key)
                if row is None or row.resolved_at is not None:
                    return False
                row.resolved_at = naive_utc(now)
                sent, message = row.last_sent_at is not None, row.message
        except Exception:
            log.exception("could not resolve alert %s", key)
            return False
        log.info("alert %s resolved", key)
        if sent and self.cfg.alerts.send_resolved:
            self._deliver(key, f"resolved: {message}", now, dm=True)
        return True

    def apply(self, conditions: Iterable[Condition], now: datetime | None = None) -> None:
        """Alert each failing condition, resolve each passing one."""
        for c in conditions:
            if c.ok:
                self.resolve(c.key, now)
            else:
                self.send(c.key, c.message, now)

    # -- internals -------------------------------------------------------------------------------
    def _claim(self, key: str, message: str, now: datetime) -> tuple[bool, datetime | None]:
        """Raise the condition in one transaction; (due to be sent, the previous send time)."""
        from bot.store.candidate import naive_utc
        from bot.store.tables import AlertRow

        t = naive_utc(now)
        with self.store.write_session() as s:
            row = s.get(AlertRow, key)
            if row is None:
                row = AlertRow(key=key, message=message, first_at=t, last_sent_at=None, count=0)
                s.add(row)
            elif row.resolved_at is not None:  # it cleared before: a new episode
                row.first_at, row.last_sent_at, row.count, row.resolved_at = t, None, 0, None
            row.count, row.message = (row.count or 0) + 1, message
            previous = row.last_sent_at
            repeat = timedelta(hours=self.cfg.alerts.repeat_hours)
            due = previous is None or t - previous >= repeat
            if due:
                row.last_sent_at = t
            return due, previous

    def _stamp(self, key: str, when: datetime | None) -> None:
        """Put back the send time of an alert that reached nobody."""
        from bot.store.tables import AlertRow

        try:
            with self.store.write_session() as s:
                row = s.get(AlertRow, key)
                if row is not None:
                    row.last_sent_at = when
        except Exception:
            log.exception("could not record alert %s", key)

    def _deliver(self, key: str, message: str, now: datetime, *, dm: bool) -> bool:
        """Log, append to the file, then every channel; True when one reached the operator (or none exists)."""
        log.warning("alert [%s]: %s", key, message)
        self._to_file(key, message, now)
        results = []
        for i, ch in enumerate(self.channels, 1):
            try:
                ok = ch.send(f"{TITLE}: {key}", message)
            except Exception as exc:  # a broken channel must not stop the others
                log.error("alert channel %d (%s) raised %s", i, ch.name, type(exc).__name__)
                ok = False
            if not ok:
                log.error("alert channel %d (%s) did not take the alert %s", i, ch.name, key)
            results.append(ok)
        outside = any(results)
        if dm and self.dm is not None:
            results.append(self.dm(f"djbios alert: {message}"))
        if about_mastodon(key) and not outside:
            log.error(
                "alert %s reached no channel outside Mastodon (set [alerts] urls; see `djbios doctor`); "
                "it is recorded in %s",
                key,
                self.cfg.alerts.file,
            )
        return any(results) or not results  # with no channel at all the log and the file are all there is

    def _to_file(self, key: str, message: str, now: datetime) -> None:
        """Append one line to [alerts] file: the record that survives every channel failing."""
        path = self.cfg.alerts.file
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as fh:
                fh.write(f"{now.isoformat(timespec='seconds')} [{key}] {message}\n")
        except OSError as exc:
            log.error("could not append the alert to %s: %s", path, exc)


def alert(publisher: Publisher, key: str, message: str) -> None:
    """What the jobs call: through the worker's Alerter when the publisher carries one, else its own DM."""
    route = getattr(publisher, "send_alert", None)
    if route is not None:
        route(key, message)
    else:
        publisher.alert(message)


def resolve(publisher: Publisher, key: str) -> None:
    """A condition cleared: through the worker's Alerter when the publisher carries one (else nothing to do)."""
    route = getattr(publisher, "resolve_alert", None)
    if route is not None:
        route(key)


class AlertingPublisher:
    """A publisher whose alerts go through an Alerter (dedupe, every channel); all else is the inner one's."""

    def __init__(self, inner: Publisher, alerter: Alerter) -> None:
        self.inner, self.alerter = inner, alerter

    def post(
        self, candidate: Candidate, parts: list[str] | None = None, on_part: OnPart | None = None
    ) -> tuple[str, str]:
        """The inner publisher's post."""
        result: tuple[str, str] = self.inner.post(candidate, parts, on_part)
        return result

    def max_characters(self) -> int:
        """The inner publisher's limit."""
        return int(self.inner.max_characters())

    def find_bio(self, candidate: Candidate, parts: list[str], exclude: Collection[str] = ()) -> Online | None:
        """The inner publisher's look-up."""
        found: Online | None = self.inner.find_bio(candidate, parts, exclude)
        return found

    def delete(self, status_id: str) -> bool:
        """The inner publisher's delete."""
        return bool(self.inner.delete(status_id))

    def alert(self, message: str) -> None:
        """An alert without a condition key: keyed by its text, so the same words are not repeated."""
        self.alerter.send("message:" + message[:150], message)

    def send_alert(self, key: str, message: str) -> None:
        """A keyed alert (see `alert`)."""
        self.alerter.send(key, message)

    def resolve_alert(self, key: str) -> None:
        """A keyed condition cleared (see `resolve`)."""
        self.alerter.resolve(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
