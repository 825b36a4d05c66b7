"""Real local servers on 127.0.0.1 for the tests: mastodon_mock, and the scrape site."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# ---------------------------------------------------------------------------------------------
# MASTODON (owned by the posting area): mastodon_mock 0.6.1 in a thread, one per test session.
# ---------------------------------------------------------------------------------------------
BOT_TOKEN = "djbios_token"  # mock credentials for the seeded accounts, not secrets
OPERATOR_TOKEN = "operator_token"


class MastodonMock:
    """The running mock: URLs, clients, fault injection and read-back helpers."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.base_url: str = server.base_url
        self.token = BOT_TOKEN

    def client(self, token: str = BOT_TOKEN) -> Any:
        """A Mastodon.py client for a seeded account."""
        from mastodon import Mastodon

        return Mastodon(access_token=token, api_base_url=self.base_url, request_timeout=10)

    def fault(
        self,
        effect: dict[str, Any],
        *,
        count: int | None = 1,
        methods: tuple[str, ...] = ("POST",),
        path: str = "/api/v1/statuses",
    ) -> dict[str, Any]:
        """Add a fault rule (POST /api/v1/_mock/faults); effect e.g. {"type": "status", "status": 503}."""
        import requests

        body = {"match": {"methods": list(methods), "path": path}, "effect": effect, "count": count}
        r = requests.post(f"{self.base_url}/api/v1/_mock/faults", json=body, timeout=10)
        r.raise_for_status()
        return r.json()

    def clear_faults(self) -> None:
        """DELETE every fault rule."""
        import requests

        requests.delete(f"{self.base_url}/api/v1/_mock/faults", timeout=10).raise_for_status()

    def reset(self) -> None:
        """Back to the seed state, with no faults."""
        import requests

        self.clear_faults()
        requests.post(f"{self.base_url}/api/v1/_mock/reset", timeout=10).raise_for_status()

    def statuses(self, token: str = BOT_TOKEN) -> list[Any]:
        """Every status of the account, newest first, read back through the API (all pages)."""
        c = self.client(token)
        me = c.account_verify_credentials()
        return list(c.fetch_remaining(c.account_statuses(me["id"], limit=40)))

    def write_config(self, folder: Path, sections: dict[str, dict[str, Any]] | None = None) -> Path:
        """A bot.toml in `folder` posting to this mock (0600 token file); `sections` override keys."""
        token_file = folder / "token"
        token_file.write_text(BOT_TOKEN, encoding="utf-8")
        os.chmod(token_file, 0o600)
        tables: dict[str, dict[str, Any]] = {
            "database": {"url": "sqlite:///var/djbios.db"},
            "mastodon": {"api_base_url": self.base_url, "token_file": "token", "request_timeout_s": 2.0},
            "alerts": {"operator": "@operator"},
        }
        for name, values in (sections or {}).items():
            tables.setdefault(name, {}).update(values)
        path = folder / "bot.toml"
        path.write_text("".join(_toml_table(k, v) for k, v in tables.items()), encoding="utf-8")
        return path


def _toml_table(name: str, values: dict[str, Any]) -> str:
    """One [table] of scalars and lists (enough for bot.toml)."""
    import json

    def lit(v: Any) -> str:
        return str(v).lower() if isinstance(v, bool) else json.dumps(v)

    return f"[{name}]\n" + "".join(f"{k} = {lit(v)}\n" for k, v in values.items()) + "\n"


@pytest.fixture(scope="session")
def mastodon_server() -> Iterator[MastodonMock]:
    """mastodon_mock on 127.0.0.1 (free port) with the bot account and an operator account."""
    from mastodon_mock.config import SeedAccount, SeedConfig
    from mastodon_mock.testing import MockServer

    seed = SeedConfig(
        accounts=[
            SeedAccount(username="djbios", display_name="djbios", access_token=BOT_TOKEN),
            SeedAccount(username="operator", display_name="Operator", access_token=OPERATOR_TOKEN),
        ]
    )
    with MockServer(seed=seed) as server:
        yield MastodonMock(server)


@pytest.fixture
def mastodon(mastodon_server: MastodonMock) -> Iterator[MastodonMock]:
    """The session's mock, reset to its seed and cleared of faults for this test."""
    mastodon_server.reset()
    yield mastodon_server
    mastodon_server.clear_faults()


# ------------------------------------------------------------------------------------------------
# SCRAPE SITE (owned by the corpus area): fixture `scrape_site`, self-contained.
# Serves tests/site/ on 127.0.0.1 plus dynamic routes: a redirect loop (/loop/a <-> /loop/b), a
# 10 MB page (/artists/huge.html, streamed without Content-Length), a page that answers 500 once
# and then works (/artists/flaky.html), a 429 with Retry-After: 30 once (/busy).
# Every request is logged with its Host header. A test adds routes of its own (hostile ones: see
# tests/hostile/) with `site.routes[path] = fn(handler)`; fixture `outside_site` is a second site on
# 127.0.0.2, a host no config allows, to prove the crawler never reaches it.
# ------------------------------------------------------------------------------------------------

import contextlib  # noqa: E402  (the scrape site's own imports, kept with its section)
import dataclasses  # noqa: E402
import threading  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402

from bot.config import Config, CorpusConfig, ScrapeConfig, SiteConfig  # noqa: E402

SITE_DIR = Path(__file__).parent / "site"
HUGE_BYTES = 10 * 1024 * 1024  # the 10 MB page
# Pages whose charset must come from somewhere other than the HTTP header.
_CONTENT_TYPES = {
    "/artists/zoe-latin1.html": "text/html",  # <meta http-equiv> says iso-8859-1
    "/artists/ines-cp1252.html": "text/html",  # no declaration at all: detection
    "/artists/pablo-header.html": "text/html; charset=windows-1252",  # only the header says it
}


class ScrapeSite:
    """The running fixture site: its URLs, its request log, and ready-made configs."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        self.host, self.port = server.server_address[:2]
        self.base_url = f"http://{self.host}:{self.port}"
        self.other_origin = f"http://localhost:{self.port}"  # same server, a host outside allowed_domains
        self.crawl_delay = 3  # seconds, written into robots.txt
        self.robots_override: tuple[int, bytes] | None = None  # (status, body) served for robots.txt
        self.routes: dict[str, Callable[[_Handler], None]] = {}  # path -> handler, tried first
        self.log: list[tuple[str, str, str]] = []  # (host header, path, user-agent)
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()

    @property
    def paths(self) -> list[str]:
        """Requested paths in order."""
        return [p for _, p, _ in self.log]

    def site_config(self, **over: object) -> SiteConfig:
        """A SiteConfig for this site (fields overridable)."""
        base = SiteConfig(
            name="fixture",
            start_urls=[self.base_url + "/artists/index.html"],
            allowed_domains=["127.0.0.1"],
            link_selector="a.artist",
            bio_selector="div.bio",
            name_selector="h1",
            next_page_selector="a.next",
            delay_seconds=1.0,
        )
        return dataclasses.replace(base, **over)

    def config(self, tmp_path: Path, **scrape_over: object) -> Config:
        """A Config whose cache and corpus live in tmp_path and whose one site is this one."""
        scrape = ScrapeConfig(cache_path=tmp_path / "cache.sqlite", sites=[self.site_config()], backoff_s=2.0)
        scrape = dataclasses.replace(scrape, **scrape_over)
        return Config(scrape=scrape, corpus=CorpusConfig(path=tmp_path / "corpus.txt"))

    def toml(self, tmp_path: Path) -> Path:
        """A bot.toml for CLI tests: no delays, so the real clock barely waits."""
        self.crawl_delay = 0
        p = tmp_path / "bot.toml"
        p.write_text(
            f"""
[corpus]
path = "corpus.txt"
[scrape]
cache_path = "cache.sqlite"
backoff_s = 0.0
[[scrape.sites]]
name = "fixture"
start_urls = ["{self.base_url}/artists/index.html"]
allowed_domains = ["127.0.0.1"]
link_selector = "a.artist"
bio_selector = "div.bio"
name_selector = "h1"
next_page_selector = "a.next"
delay_seconds = 0.0
""",
            encoding="utf-8",
        )
        return p


class _Handler(BaseHTTPRequestHandler):
    """GET for the fixture site; HTTP/1.0, so a body ends when the connection closes."""

    site: ScrapeSite  # set on the per-fixture subclass

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?")[0]
        with self.site.lock:
            self.site.log.append((self.headers.get("Host", ""), path, self.headers.get("User-Agent", "")))
            self.site.hits[path] += 1
            hits = self.site.hits[path]
        try:
            if path in self.site.routes:
                return self.site.routes[path](self)
            if path == "/robots.txt" and self.site.robots_override:
                return self._send(*self.site.robots_override, "text/plain")
            self._route(path, hits)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the crawler hung up on purpose (size cap, deadline)

    def _route(self, path: str, hits: int) -> None:
        if path in ("/loop/a", "/loop/b"):
            return self._send(302, b"", "text/plain", {"Location": "/loop/b" if path == "/loop/a" else "/loop/a"})
        if path == "/artists/huge.html":
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            chunk = b"<p>" + b"x" * 65530 + b"</p>"
            for _ in range(HUGE_BYTES // len(chunk) + 1):
                self.wfile.write(chunk)
            return None
        if path == "/artists/flaky.html" and hits == 1:
            return self._send(500, b"try again", "text/plain")
        if path == "/busy":  # 429 with Retry-After once, then the flaky page's content
            if hits == 1:
                return self._send(429, b"slow down", "text/plain", {"Retry-After": "30"})
            path = "/artists/flaky.html"
        file = (SITE_DIR / path.lstrip("/")).resolve()
        if not file.is_file() or SITE_DIR.resolve() not in file.parents:
            return self._send(404, b"not found", "text/plain")
        body = file.read_bytes()
        if path == "/robots.txt" or path == "/artists/index.html":
            body = body.decode().format(crawl_delay=self.site.crawl_delay, other_origin=self.site.other_origin).encode()
        ctype = _CONTENT_TYPES.get(
            path, "text/plain; charset=utf-8" if path.endswith(".txt") else "text/html; charset=utf-8"
        )
        return self._send(200, body, ctype)

    def send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        """A whole response (for routes added by tests)."""
        self._send(status, body, ctype, headers)

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


@contextlib.contextmanager
def _serve(host: str) -> Iterator[ScrapeSite]:
    """A fixture site on host (own port, empty request log) while the block runs."""
    handler = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer((host, 0), handler)
    site = ScrapeSite(server)
    handler.site = site
    # a short poll: shutdown() waits up to one poll interval, and every scrape test pays it
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def scrape_site() -> Iterator[ScrapeSite]:
    """A fresh fixture site on 127.0.0.1 (own port, empty request log) for one test."""
    with _serve("127.0.0.1") as site:
        yield site


@pytest.fixture
def outside_site() -> Iterator[ScrapeSite]:
    """A second site on 127.0.0.2: a host outside every test config's allowed_domains."""
    with contextlib.ExitStack() as stack:
        try:
            site = stack.enter_context(_serve("127.0.0.2"))
        except OSError as exc:  # only Linux routes all of 127/8 to the loopback by default
            pytest.skip(f"cannot listen on 127.0.0.2: {exc}")
        yield site


# ------------------------------------------------------------------------------------------------
# WEBHOOK (owned by the alerts area): fixture `webhook`, a local receiver for apprise's json:// alerts.
# ------------------------------------------------------------------------------------------------

import json as _json  # noqa: E402


class Webhook:
    """The running receiver: what arrived, and the HTTP status it answers (set `status` to fail it)."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.port = server.server_address[1]
        self.url = f"json://127.0.0.1:{self.port}/hook"  # apprise's URL for a JSON POST to it
        self.received: list[dict[str, Any]] = []  # {"path", "authorization", "body"}
        self.status = 200

    def messages(self, containing: str = "") -> list[str]:
        """The alert texts received, optionally only those containing a string."""
        return [r["body"]["message"] for r in self.received if containing in r["body"].get("message", "")]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A ThreadingHTTPServer on 127.0.0.1 that records every POST (apprise json:// alerts)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hook.received.append(
                {
                    "path": self.path,
                    "authorization": self.headers.get("Authorization"),
                    "body": _json.loads(body or b"{}"),
                }
            )
            self.send_response(hook.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook = Webhook(server)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
