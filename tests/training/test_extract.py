"""training.extract: decoding, Discogs markup, cleaning and selector-based extraction."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import SiteConfig
from training.extract import clean_text, decode_body, extract_links, extract_record, parse, unwrap_discogs

SITE = Path(__file__).resolve().parents[1] / "site"
BOILERPLATE = ["read more", "show more", "cookie", "accept all"]
CFG = SiteConfig(
    name="fixture", link_selector="a.artist", bio_selector="div.bio", name_selector="h1", next_page_selector="a.next"
)


@pytest.mark.parametrize(
    "raw, want",
    [
        ("with [a=Theo Lanning] on [l=Tidewater Radio].", "with Theo Lanning on Tidewater Radio."),
        ("see [url=https://example.invalid/x]Glass Orchard[/url] now", "see Glass Orchard now"),
        ("home: [url]https://example.invalid[/url]", "home:"),
        ("[b]Loud[/b] and [i]quiet[/i]", "Loud and quiet"),
        ("member of [a12345], [a=Kid Vale] and [a678].", "member of Kid Vale."),
        ("alias of [a=12] on [r=99] [m99] [l123]", "alias of Mia Noon on"),
        ("produced by [a12] (with [a777])", "produced by Mia Noon"),
    ],
)
def test_unwrap_discogs(raw, want):
    assert unwrap_discogs(raw, {12: "Mia Noon"}).strip() == want


def test_clean_text_drops_boilerplate_and_normalises():
    raw = (
        "First   line &amp; more\n\nRead more\nWe use cookies to improve things.\nA long line mentioning "
        "cookie in passing " + "and more words " * 10 + "\nLast line. Read more…"
    )
    out = clean_text(raw, BOILERPLATE)
    assert out.startswith("First line & more A long line mentioning cookie")  # long prose lines stay
    assert out.endswith("Last line.")
    assert "Read more" not in out and "We use cookies" not in out and "  " not in out


def test_clean_text_removes_gpt2_delimiters():
    assert clean_text("a <|endoftext|>b<|startoftext|>", []) == "a b"


@pytest.mark.parametrize(
    "ctype, body, want",
    [
        ("text/html; charset=windows-1252", "<p>señor’s café</p>".encode("cp1252"), "señor’s café"),
        ("text/html; charset=ISO-8859-1", "<p>Zürich “x”</p>".encode("cp1252"), "Zürich “x”"),  # read as cp1252
        ("text/html", b'<meta charset="latin-1"><p>Malm\xf6</p>', "Malmö"),
        ("text/html", "<p>déjà vu, naïve café, Ménilmontant</p>".encode(), "déjà vu"),
        ("", b"\xef\xbb\xbf<p>Bj\xc3\xb6rk</p>", "Björk"),
    ],
)
def test_decode_body(ctype, body, want):
    assert want in decode_body(body, ctype)


def test_decode_body_detects_undeclared_cp1252():
    page = (SITE / "artists/ines-cp1252.html").read_bytes()
    text = decode_body(page, "text/html")
    assert "“Café Noir”" in text and "Inès" in text


def test_extract_record_from_artist_page():
    url = "http://127.0.0.1/artists/nova-reyes.html"
    rec = extract_record(parse((SITE / "artists/nova-reyes.html").read_bytes()), url, CFG, BOILERPLATE)
    assert rec is not None and rec.name == "Nova Reyes" and rec.url == url
    assert rec.bio.startswith(
        "Nova Reyes is a DJ and producer from Leeds who has spent a decade digging "
        "through dusty crates of broken beat & jazz-funk. She runs the Quiet Harbour "
        "label with her partner Theo Lanning and hosts a monthly show on Tidewater Radio."
    )
    assert rec.bio.endswith("her remix of Glass Orchard was played on every terrace of the summer.")
    assert "Read more" not in rec.bio and "cookie" not in rec.bio and "Booking" not in rec.bio


def test_extract_record_meta_charset_page():
    rec = extract_record(parse((SITE / "artists/zoe-latin1.html").read_bytes(), "text/html"), "u", CFG, [])
    assert rec is not None and rec.name == "Zoë Hartmann" and "café in Zürich" in rec.bio


def test_listing_page_has_no_record_but_links():
    soup = parse((SITE / "artists/index.html").read_bytes())
    assert extract_record(soup, "u", CFG, BOILERPLATE) is None
    links = extract_links(soup, "http://127.0.0.1:8000/artists/index.html", CFG)
    assert "http://127.0.0.1:8000/artists/kai-brenner.html" in links  # relative, fragment dropped
    assert links[-1] == "http://127.0.0.1:8000/artists/page2.html"  # the next page comes last
    assert not any(x.startswith("mailto:") for x in links)


def test_decode_body_refuses_binary_with_a_reason():
    import zlib

    from training.extract import UndecodableError

    with pytest.raises(UndecodableError, match="no text encoding fits"):
        decode_body(zlib.compress((SITE / "artists/nova-reyes.html").read_bytes()), "text/html; charset=zlib")


@pytest.mark.parametrize(
    "ctype, body, want",
    [
        ("text/html; charset=base64", "<p>Zoë</p>".encode(), "Zoë"),  # no text encoding: detection reads it
        ("text/html; charset=latin-1", "<p>Zoë</p>".encode(), "Zoë"),  # no WHATWG label either
        ("text/html; charset=windows-1252", b"\xef\xbb\xbf<p>Bj\xc3\xb6rk</p>", "Björk"),  # a BOM beats the header
        ("text/html", b'<meta charset="utf-16"><p>Bj\xc3\xb6rk</p>', "Björk"),  # <meta> utf-16 means utf-8
        ("text/html; charset=iso-2022-kr", "<p>Zoë</p>".encode(), "Zoë"),  # WHATWG "replacement": ignored
    ],
)
def test_decode_body_follows_whatwg_labels(ctype, body, want):
    assert want in decode_body(body, ctype)


def test_extract_links_skips_links_urllib_cannot_parse():
    soup = parse(b'<a class="artist" href="http://[oops/">x</a><a class="artist" href="/ok">y</a>')
    assert extract_links(soup, "http://127.0.0.1/", CFG) == ["http://127.0.0.1/ok"]
