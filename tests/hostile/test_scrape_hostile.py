"""The crawler against hostile sites: every case here once hung, crashed or left allowed_domains.

Real local servers only: `scrape_site` on 127.0.0.1 with hostile routes added per test, and
`outside_site` on 127.0.0.2, the host no config allows, whose request log must stay empty.
"""

from __future__ import annotations

import codecs
import dataclasses
import email.utils
import encodings.aliases
import logging
import pkgutil
import random
import threading
import time

import pytest
import requests
import webencodings

from tests.training.test_scrape import FakeClock, cached, run
from training.corpus.build import build_corpus
from training.extract import UndecodableError, decode_body, extract_links, parse
from training.fetch import retry_after_s, safe_url
from training.pagecache import Page, PageCache

BIO = (
    "{name} is a DJ and producer from Leeds who has spent a decade digging through crates of broken "
    "beat and jazz-funk records, and who hosts a monthly radio show about them."
)


def page(name: str) -> bytes:
    """An artist page the fixture site config extracts a record from (UTF-8, no charset inside)."""
    return (f"<html><body><h1>{name}</h1><div class=bio><p>{BIO.format(name=name)}</p></div></body></html>").encode()


def listing(links: list[str]) -> bytes:
    """A listing page whose artist links are `links`, verbatim."""
    items = "".join(f'<a class="artist" href="{h}">x</a>' for h in links)
    return f"<html><body>{items}</body></html>".encode()


def redirect(target: str):
    """A route answering 302 to target (sent as raw latin-1 bytes, backslashes and all)."""
    return lambda h: h.send(302, b"", "text/plain", {"Location": target})


def serve(body: bytes, ctype: str = "text/html; charset=utf-8"):
    """A route answering 200 with body."""
    return lambda h: h.send(200, body, ctype)


def hostile_links(inside: str, outside: str) -> list[str]:
    """Links that must never be requested: each either reaches `outside` for some parser or is no http(s)."""
    return [
        f"http://{outside}\\@{inside}/artists/nova-reyes.html",  # urllib.parse: inside; urllib3: outside
        f"http://{outside}\\\\@{inside}/artists/nova-reyes.html",
        f"http:\\\\{outside}/x",
        f"\\\\{outside}/x",
        f"/\\{outside}/x",  # browsers read "\" as "/"
        f"http://{outside}@{inside}/artists/kai-brenner.html",  # userinfo: inside for both, still refused
        f"http://user:pw@{inside}/artists/kai-brenner.html",
        f"http://{inside}@{outside}/x",
        f"http://{outside}%2f@{inside}/x",
        f"http://{inside}:99999/x",
        "http://[oops/",
        f"ftp://{inside}/x",
        "file:///etc/passwd",
        "data:text/html,<p>hi</p>",
        f"gopher://{inside}/x",
        f"ws://{inside}/x",
        f"//{outside}/x",
        f"http://{outside}/x",
        f"HTTP://{outside}/x",
        f"http://{inside.split(':')[0]}\x00.evil/x",
        f"http://{outside}\x7f@{inside}/x",
    ]


# ---- 1. never leave allowed_domains ---------------------------------------------------------------


@pytest.mark.parametrize("ref", hostile_links("127.0.0.1:8000", "127.0.0.2:8000"))
def test_safe_url_refuses_or_keeps_the_host_requests_would_use(ref):
    url = safe_url(ref, "http://127.0.0.1:8000/a/b.html")
    if url is not None:  # only plain off-site URLs pass: the crawler's domain check then drops them
        assert url.startswith("http://127.0.0.2:8000/") and url == safe_url(url)
        assert requests.Request("GET", url).prepare().url == url  # what we check is what is sent


@pytest.mark.parametrize(
    "ref, want",
    [
        ("/artists/a b.html#bio", "http://127.0.0.1:8000/artists/a%20b.html"),
        ("HTTP://Example.ORG", "http://example.org/"),
        ("http://bücher.example/x", "http://xn--bcher-kva.example/x"),
        ("?page=2", "http://127.0.0.1:8000/a/b.html?page=2"),
    ],
)
def test_safe_url_normalises_honest_links(ref, want):
    assert safe_url(ref, "http://127.0.0.1:8000/a/b.html") == want


def test_hostile_links_are_never_requested(scrape_site, outside_site, tmp_path):
    inside, outside = f"127.0.0.1:{scrape_site.port}", f"127.0.0.2:{outside_site.port}"
    html = listing(hostile_links(inside, outside))
    scrape_site.routes["/hostile/links.html"] = serve(html)
    site = scrape_site.site_config(start_urls=[scrape_site.base_url + "/hostile/links.html"])
    stats, _, _ = run(scrape_site.config(tmp_path), site=site)
    assert outside_site.log == []
    assert scrape_site.paths == ["/robots.txt", "/hostile/links.html"]
    links = extract_links(parse(html), site.start_urls[0], site)  # "http://[oops/" is dropped already
    assert stats.fetched == 1 and stats.offsite == len(links)
    assert stats.unsafe == sum(safe_url(u) is None for u in links) >= 15


def test_hostile_redirects_are_never_followed(scrape_site, outside_site, tmp_path):
    inside, outside = f"127.0.0.1:{scrape_site.port}", f"127.0.0.2:{outside_site.port}"
    targets = [t for t in hostile_links(inside, outside) if "\x00" not in t and "\x7f" not in t]  # header-safe
    for i, target in enumerate(targets):
        scrape_site.routes[f"/r/{i}"] = redirect(target)
    scrape_site.routes["/hostile/links.html"] = serve(listing([f"/r/{i}" for i in range(len(targets))]))
    site = scrape_site.site_config(start_urls=[scrape_site.base_url + "/hostile/links.html"])
    cfg = scrape_site.config(tmp_path)
    stats, _, _ = run(cfg, site=site)
    assert outside_site.log == []
    assert set(scrape_site.paths) == {"/robots.txt", "/hostile/links.html"} | {f"/r/{i}" for i in range(len(targets))}
    errors = {p.error for path, p in cached(cfg).items() if path.startswith("r/")}
    assert errors == {"unsafe_redirect", "offsite_redirect"}
    assert stats.errors["unsafe_redirect"] + stats.errors["offsite_redirect"] == len(targets)


def test_robots_redirect_to_another_host_is_not_followed(scrape_site, outside_site, tmp_path, caplog):
    inside, outside = f"127.0.0.1:{scrape_site.port}", f"127.0.0.2:{outside_site.port}"
    scrape_site.routes["/robots.txt"] = redirect(f"http://{outside}\\@{inside}/robots.txt")
    with caplog.at_level(logging.WARNING, "training.scrape"):
        stats, _, _ = run(scrape_site.config(tmp_path))
    assert outside_site.log == [] and scrape_site.paths == ["/robots.txt"]
    assert stats.fetched == 0 and stats.robots_blocked == 1 and "unsafe_redirect" in caplog.text


# ---- 2. no unbounded or silent waits --------------------------------------------------------------


def drip(prefix: bytes, seconds: float = 10.0):
    """A route that sends prefix, then one byte every 50 ms: each read is quick, the answer never ends."""

    def handler(h) -> None:
        h.wfile.write(prefix)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            h.wfile.write(b"a")
            time.sleep(0.05)

    return handler


DRIPS = {
    "body, close-delimited": b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body><p>",
    "body, Content-Length": b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: 99999\r\n\r\n<p>",
    "headers": b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nX-Drip: ",
}


@pytest.mark.parametrize("prefix", DRIPS.values(), ids=DRIPS.keys())
def test_slow_drip_page_hits_the_deadline(scrape_site, tmp_path, prefix):
    scrape_site.routes["/drip.html"] = drip(prefix)
    cfg = scrape_site.config(tmp_path, deadline_s=0.4, timeout_s=5.0)  # each read is well within timeout_s
    site = scrape_site.site_config(start_urls=[scrape_site.base_url + "/drip.html"])
    t0 = time.monotonic()
    stats, _, _ = run(cfg, site=site)
    assert time.monotonic() - t0 < 3.0
    assert stats.errors == {"deadline": 1} and scrape_site.hits["/drip.html"] == 1  # a drip is not retried
    assert cached(cfg)["drip.html"].error == "deadline" and cached(cfg)["drip.html"].body == b""
    assert not [t for t in threading.enumerate() if isinstance(t, threading.Timer)]  # no watchdog left


def test_redirect_body_is_never_read(scrape_site, tmp_path):
    # requests itself reads a redirect's whole body (for Response.next) even with allow_redirects=False
    scrape_site.routes["/moved"] = drip(b"HTTP/1.0 302 Found\r\nLocation: /artists/nova-reyes.html\r\n\r\n")
    cfg = scrape_site.config(tmp_path, deadline_s=5.0)
    t0 = time.monotonic()
    stats, _, _ = run(cfg, site=scrape_site.site_config(start_urls=[scrape_site.base_url + "/moved"]))
    assert time.monotonic() - t0 < 2.0 and not stats.errors
    assert cached(cfg)["moved"].final_url.endswith("/artists/nova-reyes.html")


def test_slow_drip_robots_hits_the_deadline_and_we_stay_out(scrape_site, tmp_path, caplog):
    scrape_site.routes["/robots.txt"] = drip(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nUser-agent: *\n")
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING):
        stats, _, _ = run(scrape_site.config(tmp_path, deadline_s=0.4, timeout_s=5.0))
    assert time.monotonic() - t0 < 3.0
    assert stats.fetched == 0 and stats.robots_blocked == 1 and scrape_site.paths == ["/robots.txt"]
    assert "deadline" in caplog.text


@pytest.mark.parametrize(
    "robots",
    [
        "Crawl-delay: 86400",
        "Request-rate: 1/1d",
        "Request-rate: 1/" + "9" * 400,
        "Crawl-delay: 1e308",
    ],
)
def test_huge_crawl_delay_means_we_leave_the_host_alone(scrape_site, tmp_path, caplog, robots):
    scrape_site.robots_override = (200, f"User-agent: *\n{robots}\n".encode())
    with caplog.at_level(logging.WARNING, "training.scrape"):
        stats, clock, _ = run(scrape_site.config(tmp_path, max_delay_s=60.0))
    assert "max_delay_s = 60.0" in caplog.text and "not crawling that host" in caplog.text
    assert max(clock.sleeps, default=0) <= 60.0 and scrape_site.paths == ["/robots.txt"]
    assert stats.errors == {"host_given_up": 1} and stats.fetched == 0


@pytest.mark.parametrize("retry_after", ["86400", "99999999999999999999999999", "in-date"])
def test_huge_retry_after_means_we_leave_the_host_alone(scrape_site, tmp_path, caplog, retry_after):
    if retry_after == "in-date":
        retry_after = email.utils.formatdate(time.time() + 86400, usegmt=True)
    scrape_site.routes["/slow"] = lambda h: h.send(429, b"later", "text/plain", {"Retry-After": retry_after})
    site = scrape_site.site_config(start_urls=[scrape_site.base_url + p for p in ("/slow", "/artists/index.html")])
    cfg = scrape_site.config(tmp_path, max_delay_s=60.0)
    with caplog.at_level(logging.WARNING, "training.scrape"):
        stats, clock, _ = run(cfg, site=site)
    assert "Retry-After" in caplog.text and "max_delay_s = 60.0" in caplog.text
    assert max(clock.sleeps, default=0) <= 60.0
    assert scrape_site.paths == ["/robots.txt", "/slow"]  # asked once, then the whole host is left alone
    assert stats.errors == {"transient": 1, "host_given_up": 1} and cached(cfg) == {}  # a rerun tries again


@pytest.mark.parametrize(
    "value, want",
    [
        ("30", 30.0),
        ("²", 0.0),
        ("-5", 0.0),
        ("garbage", 0.0),
        ("", 0.0),
        ("1" * 400, float("inf")),
        ("Mon, 01 Jan 99999 00:00:00 GMT", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # past: no wait
    ],
)
def test_retry_after_values_never_raise(value, want):
    assert retry_after_s({"retry-after": value}) == want


def test_retry_after_as_a_date_is_honoured(scrape_site, tmp_path):
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    scrape_site.routes["/busy-date"] = lambda h: (
        h.send(429, b"later", "text/plain", {"Retry-After": when})
        if scrape_site.hits["/busy-date"] == 1
        else h.send(200, page("Mo Kettle"), "text/html")
    )
    site = scrape_site.site_config(start_urls=[scrape_site.base_url + "/busy-date"])
    stats, clock, _ = run(scrape_site.config(tmp_path), site=site)
    assert any(27.0 <= s <= 31.0 for s in clock.sleeps) and stats.fetched == 1 and not stats.errors


def test_robots_redirect_loop_keeps_the_delay_and_stays_out(scrape_site, tmp_path, caplog):
    scrape_site.routes["/robots.txt"] = redirect("/robots-b.txt")
    scrape_site.routes["/robots-b.txt"] = redirect("/robots.txt")
    with caplog.at_level(logging.WARNING, "training.scrape"):
        stats, _, times = run(scrape_site.config(tmp_path))  # site delay 1 s
    assert scrape_site.paths == ["/robots.txt", "/robots-b.txt"] and "redirect_loop" in caplog.text
    assert stats.fetched == 0 and stats.robots_blocked == 1
    assert len(times) == 2 and times[1][0] - times[0][0] >= 1.0


def test_robots_redirect_chain_is_capped_and_paced(scrape_site, tmp_path):
    for i in range(20):
        scrape_site.routes["/robots.txt" if i == 0 else f"/rb/{i}"] = redirect(f"/rb/{i + 1}")
    stats, _, times = run(scrape_site.config(tmp_path, max_redirects=5))
    assert len(scrape_site.paths) == 6 and stats.robots_blocked == 1  # too_many_redirects: stay out
    assert min(b[0] - a[0] for a, b in zip(times, times[1:])) >= 1.0


def test_robots_redirect_on_site_is_followed_and_obeyed(scrape_site, tmp_path):
    rules = b"User-agent: djbios\nDisallow: /private/\nCrawl-delay: 3\n"
    scrape_site.routes["/robots.txt"] = redirect("/rules/robots.txt")
    scrape_site.routes["/rules/robots.txt"] = serve(rules, "text/plain")
    stats, _, times = run(scrape_site.config(tmp_path))
    gaps = [b[0] - a[0] for a, b in zip(times, times[1:])]
    assert gaps[0] >= 1.0 and min(gaps[1:]) >= 3.0  # site delay between the hops, then Crawl-delay
    assert "/private/hidden.html" not in scrape_site.paths and stats.robots_blocked == 1


# ---- 3. one hostile page never breaks the crawl or `corpus build` ----------------------------------


def _labels() -> list[str]:
    """Every label Python's codecs.lookup() knows that is no WHATWG text encoding (base64, zlib, idna ...)."""
    names = set(encodings.aliases.aliases) | set(encodings.aliases.aliases.values())
    names |= {m.name for m in pkgutil.iter_modules(encodings.__path__)}
    out = []
    for name in sorted(names):
        try:
            codecs.lookup(name)
        except LookupError:
            continue
        enc = webencodings.lookup(name)
        if enc is None or enc.name == "replacement":
            out.append(name)
    return out


LABELS = _labels()
NON_TEXT = [n for n in LABELS if not getattr(codecs.lookup(n), "_is_text_encoding", True)]  # every alias
# Text codecs no browser knows, which raise on or mangle a page: with NON_TEXT, the labels a crawl meets.
ODD_TEXT = [
    "idna",
    "punycode",
    "unicode_escape",
    "raw_unicode_escape",
    "undefined",
    "utf_7",
    "iso2022_kr",
    "charmap",
    "cp037",
    "utf_32",
]


def _transformed(label: str, body: bytes) -> bytes | None:
    """body run through a bytes-to-bytes codec (zlib, base64 ...), None when the codec is no such thing."""
    try:
        out = codecs.encode(body, label)
    except (TypeError, LookupError, ValueError, AttributeError):  # a text codec: wants str
        return None
    return out if isinstance(out, bytes) else None


def test_the_hostile_label_list_is_complete():
    assert set(ODD_TEXT) <= set(LABELS) and len(LABELS) > 300
    assert {"base64", "zlib", "rot13", "hex", "uu", "bz2", "quopri", "zip", "base64_codec"} <= set(NON_TEXT)


@pytest.mark.parametrize("where", ["header", "meta"])
def test_every_non_web_label_falls_back_to_detection(where):
    for label in LABELS:
        ctype, body = (
            ("text/html; charset=" + label, page("Zoë"))
            if where == "header"
            else ("text/html", f'<meta charset="{label}">'.encode() + page("Zoë"))
        )
        assert "<h1>Zoë</h1>" in decode_body(body, ctype), label
        transformed = _transformed(label, page("Zoë"))
        if transformed is not None:  # really in that codec: text or UndecodableError, nothing else
            try:
                decode_body(transformed, ctype)
            except UndecodableError:
                pass


def test_random_bytes_under_every_web_label_decode_or_refuse_cleanly():
    rng = random.Random(0)
    blobs = [bytes(rng.randrange(256) for _ in range(300)) for _ in range(3)] + [b"\x1b$)C\x0e\xff", b"\x00" * 7]
    for label in sorted(webencodings.LABELS):
        for blob in blobs:
            if webencodings.lookup(label).name != "replacement":  # a declared text encoding: always text
                assert isinstance(decode_body(blob, f"text/html; charset={label}"), str)
            meta = f'<meta charset="{label}">'.encode() + blob
            for body, ctype in ((blob, f"text/html; charset={label}"), (meta, "")):
                try:
                    decode_body(body, ctype)
                except UndecodableError:  # replacement labels count as absent: detection may refuse
                    pass


def test_non_text_charsets_never_break_the_crawl_or_corpus_build(scrape_site, tmp_path, caplog):
    routes = {}
    for i, label in enumerate(NON_TEXT + ODD_TEXT):  # hostile label, honest UTF-8 body: detection reads it
        routes[f"/cs/h{i}.html"] = serve(page(f"Header Label {i}"), f"text/html; charset={label}")
        routes[f"/cs/m{i}.html"] = serve(f'<meta charset="{label}">'.encode() + page(f"Meta Label {i}"), "text/html")
    encoded = {label: b for label in NON_TEXT if (b := _transformed(label, page("Encoded"))) is not None}
    for i, (label, body) in enumerate(encoded.items()):  # and the body really in that codec
        routes[f"/cs/e{i}.html"] = serve(body, f"text/html; charset={label}")
    scrape_site.routes.update(routes)
    scrape_site.routes["/cs/index.html"] = serve(listing(sorted(routes)))
    site = scrape_site.site_config(start_urls=[scrape_site.base_url + "/cs/index.html"], delay_seconds=0.0)
    scrape_site.crawl_delay = 0
    cfg = scrape_site.config(tmp_path, sites=[site])
    cfg = dataclasses.replace(cfg, corpus=dataclasses.replace(cfg.corpus, validation_share=0.0))
    with caplog.at_level(logging.WARNING):
        stats, _, _ = run(cfg, site=site)
    pages = cached(cfg)
    assert stats.fetched == len(routes) + 1 and len(pages) == len(routes) + 1
    undecodable = {p for p, pg in pages.items() if pg.error == "undecodable"}
    assert undecodable and undecodable <= {p for p in pages if p.startswith("cs/e")}  # zlib, bz2: binary
    assert stats.errors == {"undecodable": len(undecodable)} and "cannot decode" in caplog.text
    st = build_corpus(None, tmp_path / "corpus.txt", cfg, index=False)
    assert st["kept"] >= 1
    names = (tmp_path / "corpus.manifest.jsonl").read_text(encoding="utf-8")
    assert all(f'Header Label {i}"' in names and f'Meta Label {i}"' in names for i in range(len(NON_TEXT + ODD_TEXT)))


def test_corpus_build_survives_an_old_cache_of_undecodable_pages(scrape_site, tmp_path, caplog):
    cfg = scrape_site.config(tmp_path)
    cache = PageCache(cfg.scrape.cache_path)
    for i, label in enumerate(["zlib", "bz2", "base64", "rot13", "idna", "uu", "hex"]):
        body = _transformed(label, page("Old")) or page(f"Old {label}")
        cache.put(Page(f"http://127.0.0.1/old/{i}", "fixture", 200, None, 0.0, "", f"text/html; charset={label}", body))
    cache.put(Page("http://127.0.0.1/old/ok", "fixture", 200, None, 0.0, "", "text/html; charset=base64", page("Fine")))
    cache.close()
    with caplog.at_level(logging.WARNING, "training.corpus"):
        build_corpus(None, tmp_path / "corpus.txt", cfg, index=False)
    assert caplog.text.count("cannot decode") == 2  # zlib, bz2
    assert '"name": "Fine"' in (tmp_path / "corpus.manifest.jsonl").read_text(encoding="utf-8")
    clock = FakeClock()  # and a crawl reading that cache marks them, so it never parses them again
    with requests.Session() as s:
        from training.scrape import crawl

        site = scrape_site.site_config(start_urls=["http://127.0.0.1/old/0"], allowed_domains=["127.0.0.1"])
        crawl(cfg, site, session=s, clock=clock, sleep=clock.sleep, progress=False)
    cache = PageCache(cfg.scrape.cache_path)
    try:
        assert cache.get("http://127.0.0.1/old/0").error == "undecodable"
    finally:
        cache.close()
