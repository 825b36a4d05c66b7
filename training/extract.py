"""Extraction: HTML pages -> records {name, url, bio}; text cleaning shared by every corpus input.

Decoding follows the browser order (WHATWG): a BOM, else the HTTP charset, else <meta charset>, else
detection (charset-normalizer); only WHATWG text encodings count (webencodings' label table), and bytes
no text encoding fits raise UndecodableError. Cleaning unescapes entities, unwraps Discogs markup
([a=Name] -> Name), drops boilerplate lines ("Read more", cookie notices) and collapses whitespace.
"""

from __future__ import annotations

import codecs
import html
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin

import webencodings
from bs4 import BeautifulSoup

from bot.config import SiteConfig
from bot.text import END, START

log = logging.getLogger(__name__)

_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_BLOCK_TAGS = (
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "blockquote",
    "section",
    "article",
    "dd",
    "dt",
    "pre",
    "hr",
)
_BOILERPLATE_LINE_CHARS = 120  # longer lines are prose that merely mentions e.g. "cookie"


@dataclass(frozen=True)
class Record:
    """One bio found on a page or in an input file."""

    name: str
    url: str
    bio: str


class UndecodableError(ValueError):
    """A page whose bytes are no text we can read (no usable charset, and detection finds none)."""


def _web_encoding(label: str | None) -> webencodings.Encoding | None:
    """The WHATWG text encoding a charset label names; None for unknown, non-text or 'replacement' labels.

    Python's codecs.lookup() also knows base64, zlib, rot13, idna, uu, hex, bz2, unicode_escape, utf-7 ...
    which are no web text encodings and raise on (or mangle) a page; the WHATWG label table is the
    list browsers accept, so only those count.
    """
    enc = webencodings.lookup(label) if label else None
    return None if enc is None or enc.name == "replacement" else enc


def _python_to_web() -> dict[str, webencodings.Encoding]:
    """Python codec name -> WHATWG encoding, to read charset-normalizer's answers."""
    out = {}
    for name in set(webencodings.LABELS.values()) - {"replacement", "x-user-defined"}:
        enc = webencodings.lookup(name)
        out[codecs.lookup(webencodings.PYTHON_NAMES.get(name, name)).name] = enc
    return out


_WINDOWS_1252 = webencodings.lookup("windows-1252")
# WHATWG reads latin-1 and ASCII labels as windows-1252 (a superset for text), and so do we.
_PY_TO_WEB = {**_python_to_web(), "iso8859-1": _WINDOWS_1252, "ascii": _WINDOWS_1252}


def decode_body(body: bytes, content_type: str = "") -> str:
    """Bytes -> str the browser way: BOM, HTTP charset, <meta charset>, else detection.

    Unknown and non-text charset labels count as absent. Raises UndecodableError (only) when nothing
    usable is declared and detection finds no text encoding (compressed or binary bytes).
    """
    m = _HTTP_CHARSET.search(content_type or "")
    enc = _web_encoding(m.group(1)) if m else None
    if enc is None and body.startswith(_BOMS):
        enc = webencodings.UTF8  # decode() below reads the BOM and uses its encoding
    if enc is None:
        meta = _META_CHARSET.search(body[:4096])  # the spec's prescan reads the first 1024 bytes
        enc = _web_encoding(meta.group(1).decode("ascii", "replace")) if meta else None
        if enc is not None and enc.name in ("utf-16le", "utf-16be", "x-user-defined"):
            # WHATWG: a <meta> readable as ASCII cannot mean UTF-16; x-user-defined means windows-1252
            enc = webencodings.UTF8 if enc.name.startswith("utf-16") else _WINDOWS_1252
    text, _ = webencodings.decode(body, enc or _guess(body), errors="replace")  # a BOM wins, as in browsers
    return text


def _guess(body: bytes) -> webencodings.Encoding:
    """Strict UTF-8 when it decodes, else charset-normalizer's guess, windows-1252 winning a tie."""
    try:
        body.decode("utf-8")
        return webencodings.UTF8
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # lazy: only pages with no declared charset need it

    found = list(from_bytes(body))
    if not found:  # compressed or binary bytes: no text encoding reads them without chaos
        raise UndecodableError(f"no charset declared and no text encoding fits its {len(body)} bytes")
    matches = [m for m in found if _py_web(m.encoding) is not None]
    # Latin code pages tie on Western text (cp1250 reads "è" as "č"); the web's default wins a tie,
    # and is the answer too when only non-web encodings fit.
    if not matches or any(m.encoding == "cp1252" and m.chaos <= matches[0].chaos + 0.01 for m in matches):
        return _WINDOWS_1252
    return _py_web(matches[0].encoding)


def _py_web(name: str) -> webencodings.Encoding | None:
    """The WHATWG encoding of a Python codec name, None when the web has no such encoding."""
    try:
        return _PY_TO_WEB.get(codecs.lookup(name).name)
    except LookupError:
        return None


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
                try:
                    link = urldefrag(urljoin(url, href.strip()))[0]
                except ValueError:  # e.g. "http://[oops/": urllib.parse refuses it, and so do we
                    continue
                if link not in out:
                    out.append(link)
    return out
