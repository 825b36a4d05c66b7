"""Extraction: HTML pages -> records {name, url, bio}; text cleaning shared by every corpus input.

Decoding follows the browser order: the HTTP charset, else a BOM or <meta charset>, else detection
(charset-normalizer). Cleaning unescapes entities, unwraps Discogs markup ([a=Name] -> Name),
drops boilerplate lines ("Read more", cookie notices) and collapses whitespace to single spaces.
"""

from __future__ import annotations

import codecs
import html
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin

from bs4 import BeautifulSoup

from bot.config import SiteConfig
from bot.text import END, START

log = logging.getLogger(__name__)

# Browsers read these labels as windows-1252 (WHATWG Encoding): cp1252 is a superset for text.
_AS_CP1252 = {"iso-8859-1", "latin-1", "latin1", "l1", "ascii", "us-ascii", "iso8859-1", "cp819"}
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_BLOCK_TAGS = ("p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
               "tr", "blockquote", "section", "article", "dd", "dt", "pre", "hr")
_BOILERPLATE_LINE_CHARS = 120  # longer lines are prose that merely mentions e.g. "cookie"


@dataclass(frozen=True)
class Record:
    """One bio found on a page or in an input file."""

    name: str
    url: str
    bio: str


def _codec(label: str | None) -> str | None:
    """A Python codec for an HTML charset label, or None when unknown."""
    if not label:
        return None
    label = label.strip().lower()
    if label in _AS_CP1252:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_body(body: bytes, content_type: str = "") -> str:
    """Bytes -> str: HTTP charset, else BOM / <meta charset>, else charset-normalizer's guess."""
    m = _HTTP_CHARSET.search(content_type or "")
    enc = _codec(m.group(1)) if m else None
    if enc is None and body.startswith(codecs.BOM_UTF8):
        enc = "utf-8-sig"
    if enc is None:
        meta = _META_CHARSET.search(body[:4096])  # the spec's prescan reads the first 1024 bytes
        enc = _codec(meta.group(1).decode("ascii", "replace")) if meta else None
    if enc is None:
        enc = _guess(body)
    return body.decode(enc, errors="replace")


def _guess(body: bytes) -> str:
    """Strict UTF-8 when it decodes, else charset-normalizer's guess, cp1252 winning a tie."""
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # lazy: only pages with no declared charset need it

    matches = list(from_bytes(body))
    if not matches:
        return "cp1252"
    # Latin code pages tie on Western text (cp1250 reads "è" as "č"); the web's default wins a tie.
    if any(m.encoding == "cp1252" and m.chaos <= matches[0].chaos + 0.01 for m in matches):
        return "cp1252"
    return _codec(matches[0].encoding) or "cp1252"


_GAP = "\x00"  # marks where a reference we cannot name was dropped


def unwrap_discogs(text: str, names: Mapping[int, str] | None = None) -> str:
    """Discogs markup -> plain text: [a=Name] -> Name, [url=..]t[/url] -> t, [a123] -> a known name or ''."""
    text = re.sub(r"\[url=[^\]]*\](.*?)\[/url\]", r"\1", text, flags=re.I | re.S)
    text = re.sub(r"\[url\](.*?)\[/url\]", "", text, flags=re.I | re.S)  # a bare URL says nothing
    text = re.sub(r"\[a=?(\d+)\]", lambda m: (names or {}).get(int(m.group(1)), _GAP), text, flags=re.I)
    text = re.sub(r"\[(?:l|r|m|t|g)=?\d+\]", _GAP, text, flags=re.I)
    text = re.sub(r"\[(?:a|l|r|m|u|g|t)=([^\]]+)\]", r"\1", text, flags=re.I)
    text = re.sub(r"\[/?(?:b|i|u|s|quote|img|code)\]", "", text, flags=re.I)
    return _close_gaps(text) if _GAP in text else text


def _close_gaps(text: str) -> str:
    """Drop the list glue around removed references: "of [a1], X and [a2]." -> "of X."."""
    glue = r"(?:[ \t]*,[ \t]*|[ \t]+(?:and|&)[ \t]+|[ \t]*/[ \t]*)"
    text = re.sub(rf"{_GAP}(?:{glue}{_GAP})+", _GAP, text)
    text = re.sub(rf"\([ \t]*(?:with[ \t]+|feat\.?[ \t]+)?{_GAP}[ \t]*\)", "", text)
    text = re.sub(rf"{_GAP}{glue}|{glue}{_GAP}", "", text).replace(_GAP, "")
    return re.sub(r"[ \t]+([,.;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text))


def _is_boilerplate(line: str, phrases: list[str]) -> bool:
    """A short line that carries a boilerplate phrase (cookie notice, 'Read more')."""
    low = line.lower()
    return len(line) <= _BOILERPLATE_LINE_CHARS and any(p in low for p in phrases)


def clean_text(text: str, boilerplate: list[str], names: Mapping[int, str] | None = None) -> str:
    """Unescape, unwrap markup, drop boilerplate lines and trailing 'Read more', one space between words."""
    if "&" in text:
        text = html.unescape(text)
    if "[" in text:
        text = unwrap_discogs(text, names)
    phrases = [p.lower() for p in boilerplate if p]
    alternatives = "|".join(map(re.escape, phrases))
    tail = re.compile(rf"\s*(?:{alternatives})\s*[.…»>]*\s*$", re.I) if phrases else None
    lines = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if tail and any(p in line.lower() for p in phrases):  # the regex is slow; most lines skip it
            line = tail.sub("", line)
            if _is_boilerplate(line, phrases):
                continue
        if line:
            lines.append(line)
    return " ".join(lines).replace(START, "").replace(END, "").strip()


def parse(page: str | bytes, content_type: str = "") -> BeautifulSoup:
    """An lxml soup of a page, decoding bytes by the rules of decode_body."""
    if isinstance(page, bytes):
        page = decode_body(page, content_type)
    return BeautifulSoup(page, "lxml")


def _block_text(el: object) -> str:
    """An element's text with a newline at each block boundary; source line breaks are spaces."""
    for tag in el.find_all(_BLOCK_TAGS):  # type: ignore[attr-defined]
        # a private-use mark, not \x1e: str.split() counts the ASCII separators as whitespace
        tag.insert_before("\ue000")
        tag.insert_after("\ue000")
    text = " ".join(el.get_text("").split())  # type: ignore[attr-defined]
    return text.replace("\ue000", "\n")


def extract_record(soup: BeautifulSoup, url: str, site: SiteConfig, boilerplate: list[str]) -> Record | None:
    """The bio on an artist page (None when the page has no bio_selector match)."""
    bios = soup.select(site.bio_selector)
    if not bios:
        return None
    bio = clean_text("\n".join(_block_text(b) for b in bios), boilerplate)
    name_el = soup.select_one(site.name_selector) if site.name_selector else None
    name = " ".join(name_el.get_text(" ").split()) if name_el else ""
    return Record(name=name, url=url, bio=bio) if bio else None


def extract_links(soup: BeautifulSoup, url: str, site: SiteConfig) -> list[str]:
    """Absolute, fragment-free links to follow: artist links, then the next listing page."""
    selectors = [s for s in (site.link_selector, site.next_page_selector) if s]
    out: list[str] = []
    for sel in selectors:
        for a in soup.select(sel):
            href = a.get("href")
            if isinstance(href, str) and href.strip() and not href.startswith(("mailto:", "javascript:")):
                link = urldefrag(urljoin(url, href.strip()))[0]
                if link not in out:
                    out.append(link)
    return out
