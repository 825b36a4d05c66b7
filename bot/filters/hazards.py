"""Mastodon's own rules for mentions, hashtags and links, and a defuser built on them.

Every pattern is a translation of a Ruby regex from mastodon/mastodon or from the twitter-text gem 3.x
(rb/lib/twitter-text/regex.rb, extractor.rb), which Mastodon extends in
config/initializers/twitter_regex.rb; each carries its source. Ruby semantics kept: Ruby `\\w` is
ASCII-only, `[[:word:]]`, `[[:alpha:]]` and `\\p{Alnum}` are Unicode (Onigmo: word = Alphabetic + Mark +
Decimal_Number + Connector_Punctuation, from Ruby's tool/enc-unicode.rb), `^`/`$` match at every line,
and String#scan resumes after each match (as finditer does). Mastodon changed its hashtag and mention
rules between releases and the bot cannot know which release reads its posts, so the detectors report
what ANY of the encoded releases would detect. Links live in bot/filters/links.py.

defuse() then goes further than detection on purpose: it puts a ZWSP after every sigil that could
start a name and removes every linkified scheme wherever it stands, because the context rules are what
keeps changing; the result is checked to be a fixed point of the detectors.
"""

from __future__ import annotations

import re
from collections import Counter

import regex  # the `regex` library: Unicode properties (\p{Alphabetic}, \p{White_Space}) and \X graphemes

from bot.config import FiltersConfig
from bot.filters.check import Check
from bot.filters.links import LATIN_ACCENTS, SCHEMES, extract_urls, find_urls
from bot.text import URL_CHARS

ZWSP = "\u200b"  # zero-width space after a sigil: "@\u200bname" reads the same and is no mention
MODES = {
    "mentions": ("defuse", "reject", "keep"),
    "hashtags": ("defuse", "reject", "keep"),
    "urls": ("remove", "placeholder", "reject"),
}
KINDS = ("mention", "hashtag", "url", "email", "phone", "artefact")
_FLAGS = regex.MULTILINE | regex.VERSION0  # Ruby's ^ and $ are always line anchors
__all__ = [
    "SCHEMES",
    "defuse",
    "find_hashtags",
    "find_mentions",
    "find_urls",
    "graphemes",
    "mastodon_length",
    "rejected",
]

# Onigmo's POSIX classes, written for use inside [...].
_WORD = r"\p{Alphabetic}\p{M}\p{Nd}\p{Pc}"  # [[:word:]]
_ALPHA = r"\p{Alphabetic}"  # [[:alpha:]]
_ALNUM = r"\p{Alphabetic}\p{Nd}"  # \p{Alnum}
# [a-z0-9_] under Ruby's /i: Onigmo case folding adds U+017F (long s) and U+212A (Kelvin sign).
_USER = "A-Za-z0-9_\u017f\u212a"

# --- hashtags: app/models/tag.rb Tag::HASHTAG_SEPARATORS, HASHTAG_FIRST_SEQUENCE_CHUNK_ONE/_TWO,
# HASHTAG_LAST_SEQUENCE and HASHTAG_NAME_PAT (moved to app/models/concerns/tag/naming.rb in 4.6). ---
_SEP = "_\u00b7\u30fb\u200c"
_TAG_NAME = (
    rf"(?:[{_WORD}_][{_WORD}{_SEP}]*[{_ALPHA}{_SEP}][{_WORD}{_SEP}]*[{_WORD}_])"
    rf"|(?:[{_WORD}_]*[{_ALPHA}][{_WORD}_]*)"
)
_HASHTAG_RULES = {
    # Tag::HASHTAG_RE to 4.2.0: %r{(?:^|[^/)\w])#(NAME)}i; \w is ASCII, the preceding character is
    # consumed. 4.2.1 (PR #27271) made it a lookbehind that also refuses "=": a subset of this one.
    "4.2": rf"(?:^|[^/)A-Za-z0-9_])#((?:{_TAG_NAME}))",
    # 4.3 to 4.5 (PR #30190; Tusky mirrors it as TAG_PATTERN_STRING): (?<![=/)\p{Alnum}])#(NAME)
    "4.3": rf"(?<![=/){_ALNUM}])#((?:{_TAG_NAME}))",
    # 4.6 (PRs #37684 and #38212, Tag::Naming): /(?<=^|[[:space:]])[#＃](NAME)/
    "4.6": rf"(?<=^|\p{{White_Space}})[#\uff03]((?:{_TAG_NAME}))",
}
# --- mentions: app/models/account.rb Account::USERNAME_RE and MENTION_RE. ProcessMentionsService
# notifies on every MENTION_RE match (gsub), even where TextFormatter would not link it. ---
_USER_OLD = rf"[{_USER}]+(?:[{_USER}.-]+[{_USER}]+)?"  # USERNAME_RE to 4.3
_USER_NEW = rf"[{_USER}]+(?:[.-]+[{_USER}]+)*"  # USERNAME_RE 4.4+
_MENTION_RULES = {
    # to 4.0: /(?<=^|[^\/[:word:]])@((USERNAME_RE)(?:@[[:word:]\.\-]+[[:word:]]+)?)/i
    "4.0": rf"(?<![/{_WORD}])@({_USER_OLD}(?:@[{_WORD}.-]+[{_WORD}]+)?)",
    # 4.1 to 4.3: %r{(?<![=/[:word:]])@((USERNAME_RE)(?:@[[:word:].-]+[[:word:]]+)?)}i
    "4.1": rf"(?<![=/{_WORD}])@({_USER_OLD}(?:@[{_WORD}.-]+[{_WORD}]+)?)",
    # 4.4+: %r{(?<![=/[:word:]])@((USERNAME_RE)(?:@[[:word:]]+([.-]+[[:word:]]+)*)?)}
    "4.4": rf"(?<![=/{_WORD}])@({_USER_NEW}(?:@[{_WORD}]+(?:[.-]+[{_WORD}]+)*)?)",
}
_HASHTAG_RX = {k: regex.compile(p, _FLAGS) for k, p in _HASHTAG_RULES.items()}
_MENTION_RX = {k: regex.compile(p, _FLAGS) for k, p in _MENTION_RULES.items()}
# twitter-text REGEXEN[:end_mention_match]: TextFormatter does not link a mention followed by these.
_END_MENTION = regex.compile(rf"(?:[@\uff20]|[{LATIN_ACCENTS}]|://)", _FLAGS)


def find_mentions(text: str, *, linked_only: bool = False) -> list[tuple[int, int]]:
    """Spans of "@user" / "@user@domain" any encoded Mastodon release would mention (and notify)."""
    if "@" not in text:
        return []
    spans: set[tuple[int, int]] = set()
    for rx in _MENTION_RX.values():
        for m in rx.finditer(text):
            if not linked_only or not _END_MENTION.match(text, m.end()):
                spans.add((m.start(1) - 1, m.end(1)))  # Extractor: char_begin(1) - 1 .. char_end(1)
    return sorted(spans)


def find_hashtags(text: str) -> list[tuple[int, int]]:
    """Spans of "#tag" any encoded Mastodon release would tag (Extractor.extract_hashtags_with_indices)."""
    if "#" not in text and "\uff03" not in text:
        return []
    spans: set[tuple[int, int]] = set()
    for rx in _HASHTAG_RX.values():
        for m in rx.finditer(text):
            end = m.end(1)
            if text.startswith("://", end):  # "#tagHTTP://x": Mastodon cuts "http(s)" off the tag
                cut = re.fullmatch(r"(.+)(https?)", m.group(1))
                end -= len(cut.group(2)) if cut else 0
            spans.add((m.start(1) - 1, end))
    return sorted(spans)


# --- the defuser. E-mail addresses, phone numbers and the "[email protected]" artefact keep the rules
# bot/filters.py had; an e-mail may not start right after a defused "@\u200b" (that is a mention). ---
_ARTEFACT = re.compile(r"\[\s*email[\s\u00a0]*(?:&#160;)?\s*protected\s*\]", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+@\u200b-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w+])(?:\+|\b0)\d[\d ()./-]{6,}\d\b|\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b")
# Any linkified scheme wherever it stands: Mastodon's preceding-character rules are what changes
# between releases and clients, so "xhttps://..." goes too although Mastodon would not link it.
_LOOSE_URL = regex.compile(
    r"(?:(?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://|xmpp:|magnet:\?)"
    r"(?:[^\s<>\"]*[^\s<>\".,;:!?)\]'\u2019])?",
    regex.I,
)
# Every sigil directly followed by a name character gets a ZWSP, whatever precedes it: no release's
# lookbehind can then matter, and one pass is a fixed point (a ZWSP starts no name and is no sigil).
_SIGILS = "@\uff20\ufe6b#\uff03\ufe5f"
_AT_SIGIL = regex.compile(rf"[@\uff20\ufe6b](?=[{_USER}])")
# "#1" stays as written: no release tags a name of digits only.
_HASH_SIGIL = regex.compile(rf"[#\uff03\ufe5f](?=\p{{Nd}}*[\p{{Alphabetic}}\p{{M}}\p{{Pc}}{_SEP}])")
_PLACEHOLDER = {"url": "[link]", "email": "[e-mail]", "phone": "[phone]"}


def defuse(text: str, *, mentions: str, hashtags: str, urls: str) -> tuple[str, dict[str, int]]:
    """Defuse mentions and hashtags, remove links, e-mail addresses, phone numbers and artefacts.

    "reject" kinds are defused or removed too, so the text returned is always safe to post; pass the
    counts to `rejected` to apply the policy. Counts are what Mastodon would have detected.
    """
    for name, mode in (("mentions", mentions), ("hashtags", hashtags), ("urls", urls)):
        if mode not in MODES[name]:
            raise ValueError(f"{name}={mode!r}: use one of {', '.join(MODES[name])}")
    counts: Counter[str] = Counter()
    out = text
    # A round can join pieces into a new hazard ("htt" + removed + "ps://", "@()x" tidied to "@x"),
    # so repeat to a fixed point. A changing round removes an artefact or one of the ':', '.', '@' and
    # digits every link, e-mail and phone number holds (placeholders hold none), or defuses a sigil;
    # nothing adds any of them back, so the loop ends long before the bound.
    for _ in range(2 * len(text) + 2):
        removed = _remove(out, counts, urls)
        new = _defuse_sigils(removed, counts, mentions, hashtags)
        if new == out:
            break
        out = _tidy(new) if removed != out else new  # a ZWSP leaves no gap to tidy
    if mentions == "keep":
        counts["mention"] = len(find_mentions(out))
    if hashtags == "keep":
        counts["hashtag"] = len(find_hashtags(out))
    return out, {k: counts[k] for k in KINDS}


def hazards(text: str, cfg: FiltersConfig) -> tuple[str, Check]:
    """The filter: the defused text to post, and a Check that fails on kinds [filters] rejects.

    A rejected text is returned as it was (the verdict keeps what the model wrote for the reviewer);
    a passing one is defused, and that defused text is what will be posted.
    """
    out, counts = defuse(text, mentions=cfg.mentions, hashtags=cfg.hashtags, urls=cfg.urls)
    bad = rejected(counts, mentions=cfg.mentions, hashtags=cfg.hashtags, urls=cfg.urls)
    found = {k: n for k, n in counts.items() if n}
    detail = ", ".join(f"{n} {k}" for k, n in sorted(found.items())) or "none"
    if bad:
        return text, Check(False, f"contains {', '.join(bad)} (configured to reject)", dict(counts))
    return out, Check(True, f"defused: {detail}" if out != text else f"found: {detail}", dict(counts))


def rejected(counts: dict[str, int], *, mentions: str, hashtags: str, urls: str) -> list[str]:
    """The kinds found in `counts` that the modes say to reject."""
    bad = [k for k, mode in (("mention", mentions), ("hashtag", hashtags)) if mode == "reject" and counts.get(k)]
    return bad + [k for k in ("url", "email", "phone") if urls == "reject" and counts.get(k)]


def _remove(text: str, counts: Counter[str], urls: str) -> str:
    """Artefacts, links, e-mail addresses and phone numbers out (or placeholders in)."""
    out = _subn(_ARTEFACT, text, "", counts, "artefact")
    spans = [s for s in find_urls(out) if _linkable(out, *s)] + [m.span() for m in _LOOSE_URL.finditer(out)]
    out = _cut(out, _merge(spans), _contact("url", urls), counts, "url")
    out = _subn(_EMAIL, out, _contact("email", urls), counts, "email")
    return _subn(_PHONE, out, _contact("phone", urls), counts, "phone")


def _defuse_sigils(text: str, counts: Counter[str], mentions: str, hashtags: str) -> str:
    """A ZWSP after every "@" and "#" that could start a name, counting Mastodon's mentions and tags."""
    if mentions != "keep":
        counts["mention"] += len(find_mentions(text))
        text = _AT_SIGIL.sub(r"\g<0>" + ZWSP, text)
    if hashtags != "keep":
        counts["hashtag"] += len(find_hashtags(text))
        text = _HASH_SIGIL.sub(r"\g<0>" + ZWSP, text)
    return text


def _subn(rx: re.Pattern[str], text: str, filler: str, counts: Counter[str], kind: str) -> str:
    """Replace every match of `rx` with `filler` (no backslashes in it), counting them."""
    out, n = rx.subn(filler, text)
    counts[kind] += n
    return out


def _linkable(text: str, start: int, end: int) -> bool:
    """Mastodon links no bare domain; of twitter-text's, spare a typo like "back.To London" and the
    host of a defused "@<ZWSP>user@host.example" (twitter-text would take it after the ZWSP)."""
    span = text[start:end]
    if ":" in span or "/" in span:
        return True
    after_sigil = start >= 2 and text[start - 1] == ZWSP and text[start - 2] in _SIGILS
    return not after_sigil and span.rsplit(".", 1)[-1].islower()


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans joined, in order."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(e, out[-1][1]))
        else:
            out.append((s, e))
    return out


def _cut(text: str, spans: list[tuple[int, int]], filler: str, counts: Counter[str], kind: str) -> str:
    """Replace each span with `filler`, counting them."""
    counts[kind] += len(spans)
    for s, e in reversed(spans):
        text = text[:s] + filler + text[e:]
    return text


def _contact(kind: str, mode: str) -> str:
    """What replaces a URL, e-mail address or phone number."""
    return _PLACEHOLDER[kind] if mode == "placeholder" else ""


def _tidy(text: str) -> str:
    """Clean the gaps left by removed pieces: double spaces, empty brackets, space before commas."""
    text = re.sub(r"\(\s*[,;:]?\s*\)|\[\s*\]", "", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"[ \t]+([,.;:!?)])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"[ \t]*[,;:]+(?=\s*(?:$|\n|[.!?]))", "", text, flags=re.MULTILINE)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def mastodon_length(text: str, spoiler_text: str = "") -> int:
    """Characters as StatusLengthValidator counts them: linked URLs 23, mentions as "@user"."""
    body = ""
    if text.strip():  # String#blank?
        found = [(s, e, "x" * URL_CHARS) for s, e in extract_urls(text, bare_domains=False)]
        rx = _MENTION_RX["4.4"]  # the current release's rule, as the formatter applies it
        found += [
            (m.start(1) - 1, m.end(1), "@" + m.group(1).split("@")[0])
            for m in rx.finditer(text)
            if not _END_MENTION.match(text, m.end()) and len(m.group(1).partition("@")[2]) <= 253
        ]
        last, parts = 0, []
        for s, e, new in sorted(found):  # Extractor.remove_overlapping_entities, then rewrite
            if s >= last:
                parts += [text[last:s], new]
                last = e
        body = "".join(parts) + text[last:]
    return graphemes(spoiler_text + body)


def graphemes(s: str) -> int:
    """User-perceived characters: Unicode extended grapheme clusters, as Ruby's grapheme_length."""
    if not s or max(s) < "\u0300":  # below the combining marks every character is a cluster but CR LF
        return len(s) - s.count("\r\n")
    return len(regex.findall(r"\X", s))
