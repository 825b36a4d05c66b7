"""The polite crawler: robots.txt (Protego: Google's semantics, Crawl-delay, Request-rate), per-host
delay, capped pages and redirects, retries with backoff, and a SQLite page cache so that a rerun
resumes where the last one stopped.

Against hostile sites: every URL (link, redirect hop, robots.txt hop) is checked in the form requests
sends (training.fetch.safe_url); every request has a wall-clock deadline; a server that asks for a wait
longer than [scrape] max_delay_s (Crawl-delay, Request-rate, Retry-After) is left alone for this run
rather than crawled faster than it asked or waited on for hours; a page that cannot be decoded is
marked `undecodable` in the cache and skipped.

The HTTP session, the clock and sleep are passed in, so tests drive it against a local server with
a fake clock and never really sleep (the deadline alone runs on the real clock: it bounds real I/O).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import requests
from protego import Protego

from bot.config import Config, SiteConfig
from bot.errors import ConfigError
from training.extract import UndecodableError, decode_body, extract_links, parse
from training.fetch import Fetcher, Response, host_of, location, origin_of, retry_after_s, safe_url
from training.pagecache import Page, PageCache, open_cache  # noqa: F401 (open_cache: re-exported)

log = logging.getLogger(__name__)

_TRANSIENT = {429, 500, 502, 503, 504}  # worth a retry; other statuses are answers
_ROBOTS_MAX = 500_000  # bytes of robots.txt we read (Google's limit)
_DENY_ALL = "User-agent: *\nDisallow: /\n"


@dataclass
class CrawlStats:
    """What one crawl did."""

    fetched: int = 0  # pages requested over the network this run
    from_cache: int = 0
    robots_blocked: int = 0
    offsite: int = 0  # links never requested: outside allowed_domains, or unsafe
    unsafe: int = 0  # of those, links that are no plain http(s) URL (backslash, userinfo, odd scheme ...)
    errors: dict[str, int] = field(default_factory=dict)  # too_large, deadline, http_404, host_given_up ...
    queued: int = 0  # left in the frontier when the crawl stopped

    def count(self, key: str) -> None:
        """One more of errors[key]."""
        self.errors[key] = self.errors.get(key, 0) + 1


@dataclass
class _Host:
    """Politeness state of one origin (scheme://host:port)."""

    delay: float  # seconds between two requests to this host
    next_ok: float = 0.0  # clock() value before which we do not send
    rules: Protego | None = None  # its robots.txt; None until read
    closed: str | None = None  # why we gave up on this host for this run (it asked for too long a wait)


def select_sites(cfg: Config, name: str | None) -> list[SiteConfig]:
    """The configured sites to crawl (all, or the one named)."""
    sites = cfg.scrape.sites
    if not sites:
        raise ConfigError(
            "no [[scrape.sites]] in the config: add a table to bot.toml, e.g. [[scrape.sites]] with "
            'name = "agency", start_urls = ["https://agency.example/artists"], allowed_domains = '
            '["agency.example"], link_selector = "a.artist", bio_selector = "div.bio"; or pass corpus files'
        )
    if name is None:
        return list(sites)
    chosen = [s for s in sites if s.name == name]
    if not chosen:
        raise ConfigError(f"no scrape site named {name!r}; configured: {', '.join(s.name for s in sites)}")
    return chosen


def crawl(
    cfg: Config,
    site: SiteConfig,
    *,
    max_pages: int | None = None,
    session: requests.Session,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    refetch: bool = False,
    progress: bool = True,
) -> CrawlStats:
    """Crawl one site into cfg.scrape.cache_path; stop after max_pages network fetches.

    Mounts training.fetch.DeadlineAdapter on `session` for http:// and https://.
    """
    start = _start_urls(site)
    cache = PageCache(cfg.scrape.cache_path)
    try:
        return _Crawler(cfg, site, session, clock, sleep, cache, refetch).run(start, max_pages, progress)
    finally:
        cache.close()


def _start_urls(site: SiteConfig) -> list[str]:
    """The site's start URLs as sent, or ConfigError (the URL itself is not echoed: it may hold a password)."""
    out = []
    for i, url in enumerate(site.start_urls):
        safe = safe_url(url.strip())
        if safe is None:
            raise ConfigError(
                f"scrape site {site.name!r}: start_urls[{i}] is not a plain http(s) URL "
                "(no user:password@, backslashes or control characters)"
            )
        out.append(safe)
    return list(dict.fromkeys(out))


def _domain(name: str) -> str:
    """An allowed domain in the form host_of gives (lower case, IDNA, no trailing dot)."""
    url = safe_url(f"http://{name.strip()}/")
    return host_of(url) if url else name.strip().lower().rstrip(".")


class _Crawler:
    """One crawl of one site: the frontier, per-host politeness state and the fetch loop."""

    def __init__(
        self,
        cfg: Config,
        site: SiteConfig,
        session: requests.Session,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        cache: PageCache,
        refetch: bool,
    ) -> None:
        self.scfg, self.site = cfg.scrape, site
        self.clock, self.sleep, self.cache, self.refetch = clock, sleep, cache, refetch
        self.fetcher = Fetcher(session, self.scfg.user_agent, self.scfg.timeout_s, self.scfg.deadline_s)
        self.domains = [_domain(d) for d in site.allowed_domains] or [host_of(u) for u in _start_urls(site)]
        # robots.txt groups match our product token ("djbios"), not the whole User-Agent line (RFC 9309)
        self.token = (self.scfg.user_agent.split() or ["*"])[0].split("/")[0]
        self.hosts: dict[str, _Host] = {}
        self.stats = CrawlStats()

    def run(self, start: list[str], max_pages: int | None, progress: bool) -> CrawlStats:
        """Breadth-first over the site; cached pages are read back, not fetched."""
        from tqdm import tqdm

        queue = deque(u for u in start if self._onsite(u))
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
        why = self._verdict(url)
        if why == "robots":
            self.stats.robots_blocked += 1
            log.info("robots.txt disallows %s", url)
            return None
        if why:
            self.stats.count(why)
            return None
        page = self._fetch(url)
        self.stats.fetched += 1
        if page.error or page.status != 200:
            self.stats.count(page.error or f"http_{page.status}")
        if page.error != "transient":
            self.cache.put(page)
        return page

    def _links(self, page: Page) -> list[str]:
        """Links on a page that are plain http(s) URLs inside allowed_domains."""
        if not page.is_html:
            return []
        try:
            soup = parse(page.body, page.content_type)
        except UndecodableError as exc:  # mark it, so neither a rerun nor `corpus build` tries again
            log.warning("skipping %s: cannot decode it (%s)", page.url, exc)
            self.stats.count("undecodable")
            self.cache.put(replace(page, error="undecodable"))
            return []
        links = extract_links(soup, page.final_url or page.url, self.site)
        safe = [safe_url(u) for u in links]
        onsite = [u for u in safe if u is not None and self._onsite(u)]
        self.stats.unsafe += safe.count(None)
        self.stats.offsite += len(links) - len(onsite)
        return onsite

    def _onsite(self, url: str) -> bool:
        """A safe URL whose host equals, or is under, an allowed domain."""
        host = host_of(url)
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def _host(self, url: str) -> _Host:
        """Politeness state of a safe URL's origin (created on first contact; robots.txt read lazily)."""
        return self.hosts.setdefault(origin_of(url), _Host(self.site.delay_seconds))

    def _verdict(self, url: str) -> str | None:
        """Why we may not fetch url: robots, host_given_up; None when we may (reads robots.txt first)."""
        host = self._host(url)
        if host.rules is None:
            host.rules = self._read_robots(origin_of(url), host)
        if host.closed:
            return "host_given_up"
        return None if host.rules.can_fetch(url, self.token) else "robots"

    def _read_robots(self, origin: str, host: _Host) -> Protego:
        """robots.txt's rules: 4xx = none; 401/403/429/5xx/unreachable/too slow/too large/bad redirect = stay out."""
        resp, _ = self._follow(origin + "/robots.txt", _ROBOTS_MAX, robots=True)
        if resp.error or resp.status in (401, 403) or resp.status >= 500:  # 429 and 5xx end as "transient"
            why = f"answered {resp.status or 'nothing'}" if resp.error in (None, "transient") else resp.error
            log.warning("robots.txt of %s: %s: not crawling that host", origin, why)
            return Protego.parse(_DENY_ALL)
        if resp.status != 200:
            return Protego.parse("")
        rules = Protego.parse(decode_body(resp.body or b"", "text/plain; charset=utf-8"))
        asked = _asked_delay(rules, self.token)
        if asked > self.scfg.max_delay_s:  # polite: not faster than asked, and no hanging for hours
            log.warning(
                "robots.txt of %s asks for %.0f s between requests, more than [scrape] max_delay_s = "
                "%s s: not crawling that host (raise max_delay_s to crawl it that slowly)",
                origin,
                asked,
                self.scfg.max_delay_s,
            )
            host.closed = "crawl_delay"
            return rules
        delay = max(self.site.delay_seconds, asked)
        host.next_ok += delay - host.delay  # the robots.txt request itself waits out the full delay
        host.delay = delay
        return rules

    def _fetch(self, url: str) -> Page:
        """GET url following redirects by hand: capped in number, safe, on-site, robots-checked, loop-free."""
        resp, final = self._follow(url, self.scfg.max_page_bytes, robots=False)
        return Page(
            url,
            self.site.name,
            resp.status,
            resp.error,
            time.time(),
            final,
            resp.headers.get("content-type", ""),
            resp.body or b"",
        )

    def _follow(self, url: str, cap: int, *, robots: bool) -> tuple[Response, str]:
        """GET url and its redirects, each hop checked like a link and paced like any request."""
        hops = [url]
        for _ in range(self.scfg.max_redirects + 1):
            resp = self._request(hops[-1], cap)
            if resp.error or not 300 <= resp.status < 400 or "location" not in resp.headers:
                return resp, hops[-1]
            nxt = location(resp.headers, hops[-1])
            error = self._hop_error(hops, nxt, robots)
            if error:
                log.info("%s: %s -> %s", error, hops[-1], nxt or repr(resp.headers["location"][:200]))
                return resp._replace(body=b"", error=error), hops[-1]
            hops.append(nxt)  # type: ignore[arg-type]
        return resp._replace(body=b"", error="too_many_redirects"), hops[-1]

    def _hop_error(self, hops: list[str], nxt: str | None, robots: bool) -> str | None:
        """Why a redirect may not be followed; None when it may."""
        if nxt is None:
            return "unsafe_redirect"
        if nxt in hops:
            return "redirect_loop"
        if not self._onsite(nxt):
            return "offsite_redirect"
        why = None if robots else self._verdict(nxt)  # a robots.txt redirect is not judged by robots.txt
        return f"{why}_redirect" if why else None

    def _request(self, url: str, cap: int) -> Response:
        """One GET with the host delay and retries of transient failures (never cached)."""
        host = self._host(url)
        resp = Response(0, {}, None, "transient")
        for attempt in range(self.scfg.retries + 1):
            if attempt and not self._backoff(url, host, attempt, resp.headers):
                return resp._replace(body=None, error="transient")
            self._wait(host)
            try:
                resp = self.fetcher.get(url, cap)
            except requests.RequestException as exc:  # connection refused, reset, per-read timeout
                log.info("attempt %s of %s failed: %s", attempt + 1, url, exc)
                resp = Response(0, {}, None, "transient")
                continue
            if resp.status not in _TRANSIENT or resp.error == "deadline":  # a drip is not retried
                return resp
            log.info("attempt %s of %s: HTTP %s", attempt + 1, url, resp.status)
        log.warning(
            "giving up on %s after %s attempts (last: %s)", url, self.scfg.retries + 1, resp.status or "no answer"
        )
        return resp._replace(body=None, error="transient")

    def _backoff(self, url: str, host: _Host, attempt: int, headers: dict[str, str]) -> bool:
        """Sleep before a retry: 1x, 2x, 4x backoff_s, or the Retry-After asked; False = give the host up."""
        asked = retry_after_s(headers)
        if asked > self.scfg.max_delay_s:
            log.warning(
                "%s asks us to wait %.0f s (Retry-After), more than [scrape] max_delay_s = %s s: "
                "leaving %s alone for the rest of this run",
                url,
                asked,
                self.scfg.max_delay_s,
                origin_of(url),
            )
            host.closed = "retry_after"
            return False
        self.sleep(max(min(self.scfg.backoff_s * 2 ** (attempt - 1), self.scfg.max_delay_s), asked))
        return True

    def _wait(self, host: _Host) -> None:
        """Sleep until host.delay seconds have passed since the last request to this host."""
        wait = host.next_ok - self.clock()
        if wait > 0:
            self.sleep(wait)
        host.next_ok = self.clock() + host.delay


def _asked_delay(rules: Protego, token: str) -> float:
    """Seconds between requests robots.txt asks of us (Crawl-delay, Request-rate); inf when absurd."""
    delay = rules.crawl_delay(token) or 0.0
    rate = rules.request_rate(token)
    try:
        per = rate.seconds / rate.requests if rate and rate.requests > 0 else 0.0
    except OverflowError:  # Request-rate: 1/99999...: an int too big for a float
        per = math.inf
    asked = max(float(delay), float(per))
    return asked if asked >= 0 and not math.isnan(asked) else math.inf
