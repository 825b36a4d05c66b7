"""Links as Mastodon finds them: twitter-text's URL grammar with Mastodon's overrides, and its TLDs.

Sources: the twitter-text gem 3.x (rb/lib/twitter-text/regex.rb REGEXEN and extractor.rb
extract_urls_with_indices), which Mastodon overrides in config/initializers/twitter_regex.rb and extends
in app/lib/extractor.rb (extract_extra_uris_with_indices). Ruby's `^`/`$` are line anchors (MULTILINE
here); every REGEXEN entry is /i, kept as scoped (?i:...) around the parts with letters in them, which
is the same and lets the engine skip case folding on the large negated classes. Not checked:
IDN::Idna.toASCII on the domain and the 4,096-character limit (is_valid_domain); both only make
Mastodon link less, so find_urls may report a span Mastodon would leave as text, never the reverse.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

import regex  # Unicode properties (\p{White_Space}, \p{Cyrillic}, \p{Pd}) and possessive quantifiers

# twitter-text LATIN_ACCENTS (for REGEXEN[:latin_accents], [:valid_ascii_domain], [:end_mention_match])
LATIN_ACCENTS = (
    "\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263"
    "\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
# Mastodon's linkified schemes: REGEXEN[:valid_url] protocol group in config/initializers/
# twitter_regex.rb, plus xmpp: and magnet: from REGEXEN[:valid_extended_uri]; the same list as
# app/lib/sanitize_config.rb Sanitize::Config::LINK_PROTOCOLS.
SCHEMES = ("http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "gemini", "xmpp", "magnet")


def _tlds(name: str) -> list[str]:
    """twitter-text's TLD list (lib/assets/tld_lib.yml) as the twitter-text-parser package ships it."""
    # Load the one file: importing the package runs its __init__, which compiles an emoji regex (0.6 s).
    spec = importlib.util.find_spec("twitter_text")
    assert spec and spec.origin, "twitter-text-parser is not installed"
    path = Path(spec.origin).parent / "regexp" / f"{name}.py"
    file_spec = importlib.util.spec_from_file_location(f"_tt_{name}", path)
    assert file_spec and file_spec.loader, f"no {path}"
    mod = importlib.util.module_from_spec(file_spec)
    file_spec.loader.exec_module(mod)
    pattern = getattr(mod, name).pattern
    assert pattern.startswith("(?:(?:"), "twitter-text-parser changed its TLD layout"
    return pattern[6 : pattern.index(")(?=")].split("|")


def _trie(words: list[str]) -> str:
    """One alternation of `words` shaped as a trie, so the engine stops trying 1,574 TLDs in turn.

    Same matches as Ruby's list: two TLDs can only both match at one place when one is a prefix of the
    other (else they differ in a letter), and there Ruby's lists put the longer first (no gTLD is a
    prefix of a ccTLD; tests check both) while the trie's greedy `?` also takes the longer.
    """
    tree: dict[str, dict] = {}
    for w in words:
        node = tree
        for ch in w.lower():
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        branches = [regex.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not branches:
            return ""
        return f"(?:{'|'.join(branches)}){'?' if '' in node else ''}"

    return emit(tree)


@functools.cache
def _url_rx() -> tuple[regex.Pattern[str], regex.Pattern[str], regex.Pattern[str]]:
    """REGEXEN[:valid_url] and [:valid_extended_uri] as Mastodon overrides them, and [:valid_ascii_domain]."""
    spaces = r"\x09-\x0d\x20\x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"  # UNICODE_SPACES
    directional = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # DIRECTIONAL_CHARACTERS
    invalid = r"\ufffe\ufeff\uffff"  # INVALID_CHARACTERS
    # DOMAIN_VALID_CHARS
    dvc = rf"[^{directional}!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{{|}}~{spaces}\x00-\x1f\x7f{invalid}]"
    # valid_gTLD | valid_ccTLD (both end in the same lookahead) | valid_punycode
    tld = rf"(?i:{_trie(_tlds('valid_gtld') + _tlds('valid_cctld'))}(?=[^0-9a-z@+-]|$)|(?:xn--[0-9a-z]+))"
    # valid_subdomain* valid_domain_name, each `(?:DVC(?:[_-]|DVC)*)?DVC\.` written possessively: a
    # label can only end at a "." and "." is no label character, so the language is the same and a
    # long word costs one pass instead of a backtrack per character.
    domain = rf"(?:(?:{dvc}(?:[_-]|{dvc})*+(?<![_-])\.)*(?:{dvc}(?:-|{dvc})*+(?<!-)\.){tld})"
    before = rf"(?i:[^A-Z0-9@\uff20$#\uff03{invalid}]|[{directional}]|^)"  # valid_url_preceding_chars
    gen = r"[^\p{White_Space}<>()?]"  # Mastodon's valid_general_url_path_chars
    # Mastodon's valid_url_path_ending_chars embeds twitter-text's ORIGINAL balanced parens: Ruby
    # interpolates it before the override below replaces it.
    tt_gen = rf"(?i:[a-z\p{{Cyrillic}}0-9!*';:=+,.$/%#\[\]\p{{Pd}}_~&|@{LATIN_ACCENTS}])"
    ending = (
        rf"(?:[^\p{{White_Space}}()?!*\"'\u300c\u300d<>;:=,.$%\[\]~&|@]"
        rf"|\((?:{tt_gen}+|(?:{tt_gen}*\({tt_gen}+\){tt_gen}*))\))"
    )
    balanced = rf"\((?:{gen}+|(?:{gen}*\({gen}+\){gen}*))\)"
    path = rf"(?:(?:{gen}*(?:{balanced}{gen}*)*{ending})|(?:{gen}+/))"
    uchars = (
        r"\xa0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U0002fffd"
        r"\U00030000-\U0003fffd\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
        r"\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd\U000a0000-\U000afffd"
        r"\U000b0000-\U000bfffd\U000c0000-\U000cfffd\U000d0000-\U000dfffd\U000e1000-\U000efffd"
        r"\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
    )  # Mastodon's UCHARS
    query = rf"\?(?i:[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@\^{uchars}]*[a-z0-9_&=#/\-{uchars}])"
    url = (
        rf"(?P<before>{before})(?P<url>(?P<protocol>(?i:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://)?"
        rf"(?P<domain>{domain})(?::[0-9]+)?(?P<path>/{path}*)?(?:{query})?)"
    )
    node = r"(?i:[a-z\p{Cyrillic}0-9\p{Pd}._~]|%[0-9a-f]{2}|[!$()*+,;=])"  # validate_nodeid
    res = r"(?i:[a-z\p{Cyrillic}0-9\p{Pd}._~]|%[0-9a-f]{2}|[!$&'()*+,;=])"  # validate_resid
    extended = (
        rf"(?P<before>{before})(?P<url>(?i:xmpp:)(?:(?://{node}+@{domain}/)?(?:{node}+@)?{domain}"
        rf"(?:/{res}+)?(?:{query})?)|(?i:magnet:){query})"
    )
    # valid_ascii_domain, with `[LATIN]+` inside `(...)+` written as `[LATIN]`: the same language
    # without the exponential backtracking Ruby suffers on long accented runs.
    ascii_domain = rf"(?:(?:(?i:[a-z0-9\-_])|[{LATIN_ACCENTS}])+\.)+{tld}"
    flags = regex.MULTILINE | regex.VERSION0
    return regex.compile(url, flags), regex.compile(extended, flags), regex.compile(ascii_domain, flags)


def find_urls(text: str, *, bare_domains: bool = True) -> list[tuple[int, int]]:
    """Spans Mastodon links (any scheme it linkifies); bare_domains adds what twitter-text autolinks."""
    return sorted(set(extract_urls(text, bare_domains=bare_domains) + _extra_uris(text)))


def extract_urls(text: str, *, bare_domains: bool) -> list[tuple[int, int]]:
    """Extractor.extract_urls_with_indices (twitter-text), extract_url_without_protocol=bare_domains."""
    url_rx, _, ascii_rx = _url_rx()
    if ":" not in text and not (bare_domains and "." in text):
        return []
    spans: list[tuple[int, int]] = []
    for m in (m for a, b in _dotted_runs(text) for m in url_rx.finditer(text, max(a - 1, 0), b)):
        start, end = m.span("url")
        if m.group("protocol"):
            tco = regex.match(r"https?://t\.co/([a-z0-9]+)", m.group("url"), regex.I)
            if tco and len(tco.group(1)) > 40:  # MAX_TCO_SLUG_LENGTH
                continue
            spans.append((start, start + tco.end() if tco else end))
        elif bare_domains and m.group("before") not in ("-", "_", ".", "/"):
            found = [(start + a.start(), start + a.end()) for a in ascii_rx.finditer(m.group("domain"))]
            if found and m.group("path"):
                found[-1] = (found[-1][0], end)  # the last ASCII domain takes the path along
            spans += found
    return spans


def _dotted_runs(text: str) -> list[tuple[int, int]]:
    """The runs between ASCII whitespace that hold a ".": the only places a valid_url match can be.

    No part of valid_url matches ASCII whitespace except the preceding character, and its domain
    needs a ".", so scanning each such run from the character before it finds exactly what scanning
    the whole text finds, several times faster.
    """
    return [m.span() for m in re.finditer(r"[^ \t\n\r\f\v]*\.[^ \t\n\r\f\v]*", text)]


def _extra_uris(text: str) -> list[tuple[int, int]]:
    """Mastodon's Extractor.extract_extra_uris_with_indices: xmpp: and magnet: URIs."""
    return [m.span("url") for m in _url_rx()[1].finditer(text)] if ":" in text else []
