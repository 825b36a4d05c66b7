"""HTTP for the crawler: URL checks by the parser that sends the request, and GETs with a total deadline.

Two failure classes live here. (1) urllib.parse and urllib3 read hostile URLs differently
(`http://a\\@b/` is host b for one and host a for the other), so a URL is checked in the exact form
requests will send (its prepared URL, split by urllib3's parse_url), and backslashes, control
characters, userinfo and non-http(s) schemes are refused outright. (2) requests' timeout bounds each
socket read, not the request, so a server that sends a byte every few seconds never times out: every
GET here runs under a wall-clock deadline, and a watchdog shuts the socket down when it passes.
"""

from __future__ import annotations

import email.utils
import logging
import re
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any, NamedTuple, Self
from urllib.parse import urldefrag, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import pool_classes_by_scheme
from urllib3.util import parse_url

log = logging.getLogger(__name__)

_CHUNK = 65536  # bytes read per step while streaming a body
# A backslash is "/" to browsers and urllib3 but part of the userinfo to urllib.parse; control
# characters are silently dropped by some parsers and kept by others. No honest link needs either.
_UNSAFE = re.compile(r"[\\\x00-\x1f\x7f]")


class Response(NamedTuple):
    """What one GET got: error is None, too_large (body None) or deadline (body None)."""

    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes | None
    error: str | None


def safe_url(ref: str, base: str | None = None) -> str | None:
    """ref (joined to base) exactly as requests will send it, fragment dropped; None if not plain http(s)."""
    if _UNSAFE.search(ref):
        return None
    try:
        prepared = requests.Request("GET", urljoin(base, ref) if base else ref).prepare().url or ""
        p, s = parse_url(prepared), urlsplit(prepared)
        same = (s.hostname or "") == (p.host or "").strip("[]").lower() and s.port == p.port
    except (requests.RequestException, ValueError):  # unparsable, bad port, bad IDNA label
        return None
    if p.scheme not in ("http", "https") or p.auth is not None or not p.host or not same:
        return None
    return urldefrag(prepared)[0]


def host_of(url: str) -> str:
    """The host a safe URL connects to (lower case, IDNA, no trailing dot)."""
    return (parse_url(url).host or "").rstrip(".")


def origin_of(url: str) -> str:
    """scheme://host[:port] of a safe URL."""
    p = parse_url(url)
    return f"{p.scheme}://{p.netloc}"


def location(headers: Mapping[str, str], base: str) -> str | None:
    """A redirect's target as a safe URL, None when it is not one (read as requests would read it)."""
    raw = headers.get("location", "")
    try:  # http.client decodes headers as latin-1; servers mostly send UTF-8 (requests does the same)
        raw = raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    return safe_url(raw.strip(), base)


def retry_after_s(headers: Mapping[str, str]) -> float:
    """Seconds a 429/503 asked us to wait: Retry-After as seconds or an HTTP date; 0 when absent or bad."""
    value = headers.get("retry-after", "").strip()
    if value.isascii() and value.isdigit():  # isdigit alone takes "²", which float() refuses
        return float(value)  # inf for a thousand digits: over any max_delay_s
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time()) if when.tzinfo else 0.0
    except (TypeError, ValueError, IndexError, OverflowError):  # not a date, or year 99999
        return 0.0


# ---- the deadline: a watchdog thread per request cuts the connection it is using ----

_CURRENT = threading.local()  # .deadline: the _Deadline of the request this thread is making


class _Deadline:
    """Shuts down the socket of the connection in use once `seconds` of wall time have passed."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self.conn: Any = None
        self.sock: Any = None  # kept: http.client drops conn.sock while a close-delimited body is read
        self.lock = threading.Lock()
        self.timer = threading.Timer(seconds, self._fire)
        self.timer.daemon = True

    def watch(self, conn: Any) -> None:
        """The request now runs on conn (a new or a reused connection)."""
        with self.lock:
            self.conn = conn
            self.sock = getattr(conn, "sock", None) or self.sock
            if self.expired:
                self._cut()

    def _fire(self) -> None:
        with self.lock:
            self.expired = True
            self._cut()

    def _cut(self) -> None:
        """Shut the sockets down under a blocked read (the base class's shutdown: SSL state is left alone)."""
        for sock in {id(s): s for s in (getattr(self.conn, "sock", None), self.sock) if s is not None}.values():
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass  # already closed

    def __enter__(self) -> Self:
        _CURRENT.deadline = self
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()
        with self.lock:
            self.conn = self.sock = None
        _CURRENT.deadline = None
        self.timer.join()  # returns at once after cancel; no timer thread outlives its request


def _watch(conn: Any) -> None:
    deadline = getattr(_CURRENT, "deadline", None)
    if deadline is not None:
        deadline.watch(conn)


class _Watched:
    """Tells the current deadline which connection a request uses: at connect (TLS) and at each request."""

    def connect(self) -> None:
        _watch(self)
        super().connect()  # type: ignore[misc]

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self)
        super().request(*args, **kwargs)  # type: ignore[misc]
        _watch(self)  # now with its socket, which the response goes on reading after conn.sock is gone


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}
_HELD = "x-held-location"


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections a deadline can cut (direct and through an HTTP proxy).

    It also moves a response's Location header to X-Held-Location: even with allow_redirects=False,
    requests.Session.send prepares the next hop for Response.next, and to do so reads the redirect's
    whole body (no size cap) and parses Location (a ValueError escapes for "http://[x/"). The Fetcher
    puts the header back and judges the redirect itself.
    """

    def build_response(self, req: Any, resp: Any) -> requests.Response:
        """The usual Response, with Location held aside."""
        response = super().build_response(req, resp)
        if "location" in response.headers:
            response.headers[_HELD] = response.headers.pop("location")
        return response

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """The usual pool manager, with watched connection classes."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        """The usual proxy manager; watched unless it brings its own pools (SOCKS)."""
        manager = super().proxy_manager_for(proxy, **kwargs)
        if manager.pool_classes_by_scheme == pool_classes_by_scheme:
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


class Fetcher:
    """GETs through one session: no redirects followed, body capped, whole request under a deadline."""

    def __init__(self, session: requests.Session, user_agent: str, timeout_s: float, deadline_s: float) -> None:
        self.session, self.user_agent = session, user_agent
        self.timeout_s, self.deadline_s = timeout_s, deadline_s
        if not isinstance(session.get_adapter("http://x/"), DeadlineAdapter):  # one per session, pools kept
            adapter = DeadlineAdapter()
            session.mount("http://", adapter)  # replaces the session's own adapters for the crawl's URLs
            session.mount("https://", adapter)

    def get(self, url: str, cap: int) -> Response:
        """One GET of a safe URL; requests.RequestException for connection failures worth a retry."""
        with _Deadline(self.deadline_s) as deadline:
            try:
                resp = self._get(url, cap)
            except requests.RequestException:
                if not deadline.expired:
                    raise
                resp = Response(0, {}, None, "deadline")
        if deadline.expired:  # a close-delimited body just ends at the cut: it is not the whole page
            log.warning("%s: no complete answer within deadline_s = %s s", url, self.deadline_s)
            return Response(resp.status, resp.headers, None, "deadline")
        return resp

    def _get(self, url: str, cap: int) -> Response:
        """Stream the body and stop past `cap` bytes (error too_large)."""
        resp = self.session.get(
            url, headers={"User-Agent": self.user_agent}, timeout=self.timeout_s, allow_redirects=False, stream=True
        )
        with resp:
            hdrs = {k.lower(): v for k, v in resp.headers.items()}
            if _HELD in hdrs:  # a redirect: its body says nothing we need, however long (or slow) it is
                hdrs["location"] = hdrs.pop(_HELD)
                return Response(resp.status_code, hdrs, b"", None)
            if _int(hdrs.get("content-length")) > cap:
                return Response(resp.status_code, hdrs, None, "too_large")
            body = bytearray()
            for chunk in resp.iter_content(_CHUNK):
                body += chunk
                if len(body) > cap:
                    return Response(resp.status_code, hdrs, None, "too_large")
            return Response(resp.status_code, hdrs, bytes(body), None)


def _int(value: str | None) -> int:
    """A header's integer value; 0 when absent or malformed."""
    try:
        return int(value or 0)
    except ValueError:
        return 0
