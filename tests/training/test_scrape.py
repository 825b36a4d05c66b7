"""training.scrape against the local fixture site, with a fake clock (no real sleeps)."""

from __future__ import annotations

import dataclasses

import pytest
import requests

from training.scrape import PageCache, crawl, select_sites


class FakeClock:
    """A clock that moves only when the crawler sleeps."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


def run(cfg, site=None, clock=None, **kw):
    """Crawl with a fresh session and a fake clock; return (stats, clock, response times)."""
    clock = clock or FakeClock()
    times: list[tuple[float, str]] = []
    with requests.Session() as s:
        s.hooks["response"].append(lambda r, *a, **k: times.append((clock(), r.url)))
        stats = crawl(cfg, site or cfg.scrape.sites[0], session=s, clock=clock, sleep=clock.sleep, progress=False, **kw)
    return stats, clock, times


def cached(cfg) -> dict:
    """url path -> Page of everything in the cache."""
    cache = PageCache(cfg.scrape.cache_path)
    try:
        return {p.url.split(":", 2)[2].split("/", 1)[1]: p for p in cache.pages()}
    finally:
        cache.close()


def test_robots_txt_obeyed_and_site_never_left(scrape_site, tmp_path):
    stats, _, _ = run(scrape_site.config(tmp_path))
    assert "/private/hidden.html" not in scrape_site.paths
    assert stats.robots_blocked == 1
    assert all(host.startswith("127.0.0.1") for host, _, _ in scrape_site.log)  # never localhost
    assert stats.offsite >= 1
    assert all(ua.startswith("djbios/") for _, _, ua in scrape_site.log)
    assert scrape_site.paths[0] == "/robots.txt"


def test_crawl_delay_from_robots_holds_between_requests(scrape_site, tmp_path):
    _, clock, times = run(scrape_site.config(tmp_path))  # site delay 1 s, robots Crawl-delay 3 s
    gaps = [b[0] - a[0] for a, b in zip(times, times[1:])]
    assert len(times) > 8 and min(gaps) >= 3.0
    assert sum(clock.sleeps) >= 3.0 * (len(times) - 1)


def test_site_delay_wins_when_longer_than_crawl_delay(scrape_site, tmp_path):
    cfg = scrape_site.config(tmp_path, sites=[scrape_site.site_config(delay_seconds=7.5)])
    _, _, times = run(cfg)
    assert min(b[0] - a[0] for a, b in zip(times, times[1:])) >= 7.5


def test_interrupted_crawl_resumes_without_refetching(scrape_site, tmp_path):
    cfg = scrape_site.config(tmp_path)
    first, _, _ = run(cfg, max_pages=3)
    assert first.fetched == 3 and first.queued > 0
    n_first = len(scrape_site.log)
    first_pages = {p for p in scrape_site.paths if p != "/robots.txt"}
    second, _, _ = run(cfg)
    again = [p for p in scrape_site.paths[n_first:] if p in first_pages]
    assert again == []
    assert second.from_cache == 3 and second.queued == 0
    assert "artists/lucia-marquez.html" in cached(cfg)
    n_second = len(scrape_site.log)
    third, _, _ = run(cfg)  # all cached: only robots.txt, to judge the disallowed link again
    assert third.fetched == 0 and scrape_site.paths[n_second:] == ["/robots.txt"]


def test_refetch_fetches_cached_pages_again(scrape_site, tmp_path):
    cfg = scrape_site.config(tmp_path)
    run(cfg, max_pages=2)
    run(cfg, max_pages=2, refetch=True)
    assert scrape_site.hits["/artists/index.html"] == 2


def test_big_page_capped_loop_stopped_500_retried(scrape_site, tmp_path):
    cfg = scrape_site.config(tmp_path)
    stats, clock, _ = run(cfg)
    pages = cached(cfg)
    assert pages["artists/huge.html"].error == "too_large" and pages["artists/huge.html"].body == b""
    assert pages["loop/a"].error == "redirect_loop"
    assert scrape_site.hits["/loop/a"] == 1 and scrape_site.hits["/loop/b"] == 1
    assert pages["artists/flaky.html"].status == 200 and b"Mo Kettle" in pages["artists/flaky.html"].body
    assert scrape_site.hits["/artists/flaky.html"] == 2
    assert 2.0 in clock.sleeps  # the backoff before the retry went through the injected sleep
    assert stats.errors["too_large"] == 1 and stats.errors["redirect_loop"] == 1


def test_transient_failure_is_not_cached(scrape_site, tmp_path):
    cfg = scrape_site.config(tmp_path, retries=0)
    stats, _, _ = run(cfg)
    assert stats.errors["transient"] == 1
    assert "artists/flaky.html" not in cached(cfg)
    run(cfg)  # the rerun tries it again, and now it works
    assert cached(cfg)["artists/flaky.html"].status == 200


def test_too_many_redirects(scrape_site, tmp_path):
    cfg = scrape_site.config(tmp_path, max_redirects=0)
    run(cfg)
    assert cached(cfg)["loop/a"].error == "too_many_redirects"


def test_unreachable_robots_means_no_crawl(tmp_path, scrape_site):
    site = scrape_site.site_config(start_urls=["http://127.0.0.1:9/artists/index.html"])
    cfg = dataclasses.replace(scrape_site.config(tmp_path, retries=1, timeout_s=1.0))
    stats, _, _ = run(cfg, site=site)
    assert stats.fetched == 0 and stats.robots_blocked == 1


@pytest.mark.parametrize(
    "status, body",
    [
        (429, b"slow down"),  # rate-limited: stay out rather than crawl without rules
        (200, b"User-agent: *\nDisallow: /private\n" + b"#" * 600_000),  # too large to read
    ],
)
def test_unusable_robots_means_no_crawl(tmp_path, scrape_site, status, body):
    scrape_site.robots_override = (status, body)
    try:
        stats, _, _ = run(scrape_site.config(tmp_path, retries=0))
    finally:
        scrape_site.robots_override = None
    assert stats.fetched == 0 and stats.robots_blocked >= 1
    assert "/artists/index.html" not in scrape_site.paths


def test_select_sites(scrape_site, tmp_path):
    from bot.config import Config
    from bot.errors import ConfigError

    cfg = scrape_site.config(tmp_path)
    assert [s.name for s in select_sites(cfg, None)] == ["fixture"]
    with pytest.raises(ConfigError, match="no scrape site named 'nope'"):
        select_sites(cfg, "nope")
    with pytest.raises(ConfigError, match=r"\[\[scrape.sites\]\]") as err:
        select_sites(Config(), None)
    assert "bot.toml" in str(err.value) and "start_urls" in str(err.value) and ".md" not in str(err.value)


def test_progress_bar_shows_done_and_queued(scrape_site, tmp_path, capsys):
    cfg = scrape_site.config(tmp_path)
    clock = FakeClock()
    with requests.Session() as s:
        crawl(cfg, cfg.scrape.sites[0], max_pages=4, session=s, clock=clock, sleep=clock.sleep, progress=True)
    err = capsys.readouterr().err
    assert "fixture:" in err and "queued=" in err and "fetched=4" in err


def test_429_retry_after_is_honoured(scrape_site, tmp_path):
    cfg = scrape_site.config(tmp_path)
    stats, clock, _ = run(cfg, site=scrape_site.site_config(start_urls=[scrape_site.base_url + "/busy"]))
    assert 30.0 in clock.sleeps and stats.fetched == 1 and not stats.errors
    assert scrape_site.hits["/busy"] == 2


GOOGLE_ROBOTS = b"""User-agent: bot
Disallow: /

User-agent: DJBIOS
Disallow: /artists/*kai*
Allow: /artists/
Disallow: /private/
Allow: /private/hidden.html
Disallow: /loop/a$
"""


def test_robots_txt_read_with_googles_semantics(scrape_site, tmp_path):
    # Protego: wildcards, $, the longest match wins (not the first), the group chosen by our product token
    # only ("bot" appears in our User-Agent's comment, and its group must not apply), case-insensitive.
    scrape_site.robots_override = (200, GOOGLE_ROBOTS)
    stats, _, _ = run(scrape_site.config(tmp_path))
    assert "/artists/kai-brenner.html" not in scrape_site.paths  # a wildcard rule longer than Allow: /artists/
    assert "/private/hidden.html" in scrape_site.paths  # the longer Allow wins over Disallow: /private/
    assert "/loop/a" not in scrape_site.paths and "/artists/nova-reyes.html" in scrape_site.paths
    assert stats.robots_blocked == 2


@pytest.mark.parametrize("status, crawled", [(401, False), (403, False), (503, False), (404, True), (410, True)])
def test_robots_status_decides_stay_out_or_no_rules(tmp_path, scrape_site, status, crawled):
    scrape_site.robots_override = (status, b"nope")
    stats, _, _ = run(scrape_site.config(tmp_path, retries=0))
    assert ("/artists/index.html" in scrape_site.paths) is crawled
    assert ("/private/hidden.html" in scrape_site.paths) is crawled  # no rules: nothing is disallowed
    assert (stats.robots_blocked == 1 and stats.fetched == 0) is not crawled


def test_request_rate_from_robots_holds_between_requests(scrape_site, tmp_path):
    scrape_site.robots_override = (200, b"User-agent: *\nRequest-rate: 1/10s\n")
    _, _, times = run(scrape_site.config(tmp_path), max_pages=4)
    assert len(times) == 5 and min(b[0] - a[0] for a, b in zip(times, times[1:])) >= 10.0


@pytest.mark.parametrize(
    "key, value", [("deadline_s", 0.0), ("deadline_s", 7200.0), ("max_delay_s", 0.0), ("max_delay_s", 1e6)]
)
def test_new_scrape_keys_are_validated(tmp_path, key, value):
    from bot.config import load_config
    from bot.errors import ConfigError

    (tmp_path / "bot.toml").write_text(f"[scrape]\n{key} = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"scrape.{key}"):
        load_config(tmp_path / "bot.toml")


def test_start_url_with_credentials_is_refused_without_echoing_it(scrape_site, tmp_path):
    from bot.errors import ConfigError

    site = scrape_site.site_config(start_urls=[f"http://op:s3cret@127.0.0.1:{scrape_site.port}/"])
    with pytest.raises(ConfigError, match=r"start_urls\[0\]") as err:
        run(scrape_site.config(tmp_path), site=site)
    assert "s3cret" not in str(err.value) and scrape_site.log == []


def test_robots_group_is_chosen_by_our_product_token_only(scrape_site, tmp_path):
    # our User-Agent line says "...; bot for a corpus...": a "bot" group is not ours (RFC 9309 matches
    # the product token), so the crawl goes on
    scrape_site.robots_override = (200, b"User-agent: bot\nDisallow: /\n")
    stats, _, _ = run(scrape_site.config(tmp_path), max_pages=2)
    assert stats.fetched == 2 and stats.robots_blocked == 0
