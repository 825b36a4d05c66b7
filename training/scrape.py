"""The polite crawler: robots.txt (with Crawl-delay), per-host delay, capped pages and redirects,
retries with backoff, and a SQLite page cache so that a rerun resumes where the last one stopped.

The HTTP session, the clock and sleep are passed in, so tests drive it against a local server with
a fake clock and never really sleep.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import requests

from bot.config import Config, SiteConfig
from bot.errors import ConfigError, ScrapeError
from training.extract import decode_body, extract_links, parse

log = logging.getLogger(__name__)

_SCHEMA = """CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY, site TEXT, status INTEGER, error TEXT, fetched_at REAL,
    final_url TEXT, content_type TEXT, body BLOB)"""
_TRANSIENT = {429, 500, 502, 503, 504}  # worth a retry; other statuses are answers
_CHUNK = 65536  # bytes read per step while streaming a body
_ROBOTS_MAX = 500_000  # bytes of robots.txt we read (Google's limit)


@dataclass(frozen=True)
class Page:
    """One cached fetch. error: None, too_large, redirect_loop, too_many_redirects, offsite_redirect,
    robots_redirect or transient (never cached)."""

    url: str
    site: str
    status: int
    error: str | None
    fetched_at: float  # Unix time (s)
    final_url: str
    content_type: str
    body: bytes

    @property
    def is_html(self) -> bool:
        """A fetched 200 page we can parse."""
        ct = self.content_type.lower()
        return self.status == 200 and not self.error and bool(self.body) and ("html" in ct or not ct)


class PageCache:
    """The raw pages, keyed by URL, in a SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path)
        self.db.execute(_SCHEMA)

    def get(self, url: str) -> Page | None:
        """The cached page for url, if any."""
        row = self.db.execute(f"SELECT {_COLS} FROM pages WHERE url = ?", (url,)).fetchone()
        return Page(*row) if row else None

    def put(self, page: Page) -> None:
        """Store (or replace) a page; committed at once so an interrupted crawl loses nothing."""
        self.db.execute(f"INSERT OR REPLACE INTO pages ({_COLS}) VALUES (?,?,?,?,?,?,?,?)",
                        tuple(getattr(page, f.name) for f in fields(Page)))
        self.db.commit()

    def pages(self, site: str | None = None) -> Iterator[Page]:
        """Cached pages in URL order (a stable order makes corpus builds reproducible)."""
        sql, args = f"SELECT {_COLS} FROM pages", ()
        if site is not None:
            sql, args = sql + " WHERE site = ?", (site,)
        for row in self.db.execute(sql + " ORDER BY url", args):
            yield Page(*row)

    def close(self) -> None:
        """Close the database file."""
        self.db.close()


_COLS = ", ".join(f.name for f in fields(Page))


@dataclass
class CrawlStats:
    """What one crawl did."""

    fetched: int = 0  # pages requested over the network this run
    from_cache: int = 0
    robots_blocked: int = 0
    offsite: int = 0  # links outside allowed_domains, never requested
    errors: dict[str, int] = field(default_factory=dict)  # too_large, redirect_loop, http_404, ...
    queued: int = 0  # left in the frontier when the crawl stopped


@dataclass
class _Host:
    robots: RobotFileParser
    delay: float  # seconds between two requests to this host
    next_ok: float = 0.0  # clock() value before which we do not send


def select_sites(cfg: Config, name: str | None) -> list[SiteConfig]:
    """The configured sites to crawl (all, or the one named)."""
    sites = cfg.scrape.sites
    if not sites:
        raise ConfigError("no [[scrape.sites]] in the config: add one (see DESIGN.md) or pass corpus files")
    if name is None:
        return list(sites)
    chosen = [s for s in sites if s.name == name]
    if not chosen:
        raise ConfigError(f"no scrape site named {name!r}; configured: {', '.join(s.name for s in sites)}")
    return chosen


def crawl(cfg: Config, site: SiteConfig, *, max_pages: int | None = None, session: requests.Session,
          clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
          refetch: bool = False, progress: bool = True) -> CrawlStats:
    """Crawl one site into cfg.scrape.cache_path; stop after max_pages network fetches."""
    cache = PageCache(cfg.scrape.cache_path)
    try:
        return _Crawler(cfg, site, session, clock, sleep, cache, refetch).run(max_pages, progress)
    finally:
        cache.close()


class _Crawler:
    """One crawl of one site: the frontier, per-host politeness state and the fetch loop."""

    def __init__(self, cfg: Config, site: SiteConfig, session: requests.Session,
                 clock: Callable[[], float], sleep: Callable[[float], None], cache: PageCache,
                 refetch: bool) -> None:
        self.scfg, self.site, self.session = cfg.scrape, site, session
        self.clock, self.sleep, self.cache, self.refetch = clock, sleep, cache, refetch
        self.domains = [d.lower() for d in site.allowed_domains] or [
            (urlsplit(u).hostname or "") for u in site.start_urls]
        self.hosts: dict[str, _Host] = {}
        self.stats = CrawlStats()

    def run(self, max_pages: int | None, progress: bool) -> CrawlStats:
        """Breadth-first over the site; cached pages are read back, not fetched."""
        from tqdm import tqdm

        queue = deque(u for u in dict.fromkeys(urldefrag(s)[0] for s in self.site.start_urls) if self._onsite(u))
        seen = set(queue)
        with tqdm(total=len(queue), unit="page", disable=not progress, desc=self.site.name) as bar:
            while queue and (max_pages is None or self.stats.fetched < max_pages):
                page = self._get(queue.popleft())
                for link in self._links(page) if page else []:
                    if link not in seen:
                        seen.add(link)
                        queue.append(link)
                bar.total = bar.n + 1 + len(queue)
                bar.set_postfix(fetched=self.stats.fetched, queued=len(queue), refresh=False)
                bar.update(1)
        self.stats.queued = len(queue)
        log.info("crawl %s: %s", self.site.name, self.stats)
        return self.stats

    def _get(self, url: str) -> Page | None:
        """The page from the cache, else fetched (and cached unless the failure was transient)."""
        page = None if self.refetch else self.cache.get(url)
        if page is not None:
            self.stats.from_cache += 1
            return page
        if not self._allowed(url):
            self.stats.robots_blocked += 1
            log.info("robots.txt disallows %s", url)
            return None
        page = self._fetch(url)
        self.stats.fetched += 1
        if page.error or page.status != 200:
            key = page.error or f"http_{page.status}"
            self.stats.errors[key] = self.stats.errors.get(key, 0) + 1
        if page.error != "transient":
            self.cache.put(page)
        return page

    def _links(self, page: Page) -> list[str]:
        """Links on a page that stay inside allowed_domains."""
        if not page.is_html:
            return []
        links = extract_links(parse(page.body, page.content_type), page.final_url or page.url, self.site)
        onsite = [u for u in links if self._onsite(u)]
        self.stats.offsite += len(links) - len(onsite)
        return onsite

    def _onsite(self, url: str) -> bool:
        """http(s) and a host equal to, or under, an allowed domain."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        return parts.scheme in ("http", "https") and any(
            host == d or host.endswith("." + d) for d in self.domains)

    def _host(self, url: str) -> _Host:
        """Politeness state of url's host, reading its robots.txt on first contact."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self.hosts:
            self.hosts[origin] = _Host(RobotFileParser(), self.site.delay_seconds)
            self._read_robots(origin, self.hosts[origin])
        return self.hosts[origin]

    def _read_robots(self, origin: str, host: _Host) -> None:
        """Fetch and parse robots.txt; 4xx = no rules; 401/403/429/5xx/unreachable/oversized = stay out."""
        rp = host.robots
        rp.set_url(origin + "/robots.txt")
        status, _, body, _ = self._request(origin + "/robots.txt", host, redirects=True, cap=_ROBOTS_MAX)
        if status == 200 and body is None:  # over the size cap: we cannot know its rules
            log.warning("robots.txt of %s is too large to read: not crawling that host", origin)
            rp.disallow_all = True
        elif status == 200:
            rp.parse(decode_body(body, "text/plain; charset=utf-8").splitlines())
        elif status in (401, 403, 429) or status == 0 or status >= 500:  # 429: rate-limited, stay out
            log.warning("robots.txt of %s answered %s: not crawling that host", origin, status or "nothing")
            rp.disallow_all = True
        else:
            rp.allow_all = True
        ua = self.scfg.user_agent
        rate = rp.request_rate(ua)
        delay = max(self.site.delay_seconds, float(rp.crawl_delay(ua) or 0),
                    rate.seconds / rate.requests if rate and rate.requests else 0.0)
        host.next_ok += delay - host.delay  # the robots.txt request itself waits out the full delay
        host.delay = delay
        rp.modified()  # robotparser's can_fetch says False until it believes the file was read

    def _allowed(self, url: str) -> bool:
        """robots.txt lets our User-Agent fetch url."""
        return self._host(url).robots.can_fetch(self.scfg.user_agent, url)

    def _fetch(self, url: str) -> Page:
        """GET url following redirects by hand: capped in number, on-site, robots-checked, loop-free."""
        hops, current = [url], url
        for _ in range(self.scfg.max_redirects + 1):
            status, headers, body, error = self._request(current, self._host(current))
            location = headers.get("location") if 300 <= status < 400 else None
            if error or not location:
                return self._page(url, status, error, current, headers, body)
            nxt = urldefrag(urljoin(current, location))[0]
            error = ("redirect_loop" if nxt in hops else "offsite_redirect" if not self._onsite(nxt)
                     else "robots_redirect" if not self._allowed(nxt) else None)
            if error:
                log.info("%s: %s -> %s", error, current, nxt)
                return self._page(url, status, error, current, headers, b"")
            hops.append(nxt)
            current = nxt
        return self._page(url, status, "too_many_redirects", current, headers, b"")

    def _page(self, url: str, status: int, error: str | None, final: str, headers: dict, body: bytes | None) -> Page:
        """A Page row for the cache."""
        return Page(url, self.site.name, status, error, time.time(), final,
                    headers.get("content-type", ""), body or b"")

    def _request(self, url: str, host: _Host, *, redirects: bool = False,
                 cap: int | None = None) -> tuple[int, dict, bytes | None, str | None]:
        """One GET with the host delay and retries of transient failures; (status, headers, body, error)."""
        status, headers, error = 0, {}, "transient"
        for attempt in range(self.scfg.retries + 1):
            if attempt:  # 1x, 2x, 4x the base (s), or longer when the server asks with Retry-After
                self.sleep(max(self.scfg.backoff_s * 2 ** (attempt - 1), _retry_after(headers)))
            self._wait(host)
            try:
                status, headers, body, error = self._get_capped(url, redirects, cap or self.scfg.max_page_bytes)
            except requests.RequestException as exc:  # connection refused, reset, timeout
                log.info("attempt %s of %s failed: %s", attempt + 1, url, exc)
                status, headers, body, error = 0, {}, None, "transient"
                continue
            if status not in _TRANSIENT:
                return status, headers, body, error
            error = "transient"
            log.info("attempt %s of %s: HTTP %s", attempt + 1, url, status)
        log.warning("giving up on %s after %s attempts (last: %s)", url, self.scfg.retries + 1, status or error)
        return status, headers, None, "transient"

    def _wait(self, host: _Host) -> None:
        """Sleep until host.delay seconds have passed since the last request to this host."""
        wait = host.next_ok - self.clock()
        if wait > 0:
            self.sleep(wait)
        host.next_ok = self.clock() + host.delay

    def _get_capped(self, url: str, redirects: bool, cap: int) -> tuple[int, dict, bytes | None, str | None]:
        """Stream the body and stop past `cap` bytes (error too_large)."""
        headers = {"User-Agent": self.scfg.user_agent}
        resp = self.session.get(url, headers=headers, timeout=self.scfg.timeout_s,
                                allow_redirects=redirects, stream=True)
        with resp:
            hdrs = {k.lower(): v for k, v in resp.headers.items()}
            if _int(hdrs.get("content-length")) > cap:
                return resp.status_code, hdrs, None, "too_large"
            body = bytearray()
            for chunk in resp.iter_content(_CHUNK):
                body += chunk
                if len(body) > cap:
                    return resp.status_code, hdrs, None, "too_large"
            return resp.status_code, hdrs, bytes(body), None


def _int(value: str | None) -> int:
    """A header's integer value; 0 when absent or malformed."""
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _retry_after(headers: dict) -> float:
    """Seconds a 429/503 asked us to wait (numeric Retry-After only), capped at 10 minutes."""
    return float(min(_int(headers.get("retry-after")), 600))


def open_cache(cfg: Config) -> PageCache:
    """The page cache, or ScrapeError when there is none yet."""
    if not cfg.scrape.cache_path.exists():
        raise ScrapeError(f"no scrape cache at {cfg.scrape.cache_path}: run `djbios scrape` first")
    return PageCache(cfg.scrape.cache_path)
