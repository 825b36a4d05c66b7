"""Reading a follower's mention: which artist they want a bio of, and with which pronouns. Pure.

The rules, in order (docs/OPERATING.md, "Replies", says them for people):
1. The status's HTML becomes plain text; text longer than MAX_REQUEST_CHARS, or holding control or
   format characters (bidi overrides, zero-width ones), is refused whole.
2. Every mention (Mastodon's own rules, bot/filters/hazards.py) is removed.
3. Pronouns: "(she/her)", "she/her", "with they/them pronouns", "pronouns: he", "(they)". Only the
   three families of bot/text.py; a pair must be of one family ("she/they" is refused, not guessed).
4. The name: a quoted part ("...", “...”) if there is one; else the text without a leading request
   ("hi", "please", "can you", "write", "a bio", "one", "for") and trailing courtesies ("please",
   "thanks", "!", emoji). Without such a leading request the name must be written as a name: every
   word capitalised, a number, or a particle (de, van, DJ ...), and a question ("?") is no request.
5. A name is 1-6 words of letters, digits and & . - ' only, at most MAX_NAME_CHARS, with a letter;
   no URL, no @, no #.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.filters.hazards import find_mentions
from bot.filters.links import find_urls
from bot.posting.publishers import html_to_text
from bot.text import PRONOUNS

MAX_REQUEST_CHARS = 500  # a mention longer than this (plain text) is no request: a paste, or a probe
MAX_NAME_CHARS = 80
MAX_NAME_WORDS = 6
NAME_PUNCT = "&.-'"  # besides letters and digits, the characters a stage name may use
PARTICLES = frozenset(
    {
        "de",
        "da",
        "di",
        "du",
        "del",
        "della",
        "der",
        "den",
        "van",
        "von",
        "la",
        "le",
        "el",
        "y",
        "e",
        "bin",
        "al",
        "dj",
        "mc",
        "the",
        "of",
        "and",
        "&",
    }
)
_ALLOWED_FORMAT = {"\u200d"}  # the emoji joiner: harmless, and common in names of emoji

_FAMILY = "he|she|they"
_FORMS = "|".join(sorted({f for forms in PRONOUNS.values() for f in forms}, key=len, reverse=True))
_PRONOUN_RX = re.compile(
    rf"\(\s*(?:pronouns?\s*[:=]?\s*)?({_FAMILY})(?:\s*/\s*({_FORMS}))?\s*\)"  # (she/her), (they)
    rf"|\bpronouns?\s*[:=]?\s*({_FAMILY})(?:\s*/\s*({_FORMS}))?\b"  # pronouns: she, pronouns he/him
    rf"|(?:\b(?:with|using)\s+)?\b({_FAMILY})\s*/\s*({_FORMS})\b(?:\s+pronouns?\b)?",  # with they/them pronouns
    re.IGNORECASE,
)
_QUOTED_RX = re.compile(r"\"([^\"]+)\"|“([^”]+)”|«([^»]+)»|„([^“”]+)[“”]|(?<!\w)'([^']+)'(?!\w)")
_GREETING = (
    r"(?:hi|hey|hello|yo|hiya|dear|please|pls|plz|kindly|pretty\s+please|ok|okay|thanks|thank\s+you"
    r"|now|and|also|next|then)"
)
_ASK = (
    r"(?:(?:could|can|would|will)\s+you(?:\s+please)?|i'?d\s+like|i\s+would\s+like|i\s+want"
    r"|(?:please\s+)?(?:write|make|do|generate|create|give|gimme|send|tell)(?:\s+me|\s+us)?)"
)
_NOUN = (
    r"(?:(?:a|an|the|another|some|one\s+more)\s+)?(?:(?:fake|new|short|little|dj)\s+)*"
    r"(?:bio|bios|biography|profile|one)"
)
_LEAD_RX = re.compile(
    rf"^[\s,!.:;-]*(?:{_GREETING}\b[\s,!.:]*)*"  # hi, please
    rf"(?:{_ASK}\b\s*)*(?:{_NOUN}\b\s*)?(?:(?:for|of|about|on)\b)?[\s:,-]*",
    re.IGNORECASE,
)
_COURTESY_RX = re.compile(r"[\s,;:!?]*\b(?:please|pls|plz|thanks|thank\s+you|thx|ty|cheers)\s*$", re.IGNORECASE)
_INITIALS_RX = re.compile(r"(?:^|\s)(?:\w\.)+$")


@dataclass(frozen=True)
class Parsed:
    """What a mention asks for: a name (and pronouns), or why it is no request."""

    name: str | None = None
    pronouns: str | None = None
    reason: str | None = None  # set when there is no name: shown in `djbios requests`

    @property
    def ok(self) -> bool:
        """A name was understood."""
        return self.name is not None


def plain_text(content_html: str) -> str:
    """A status's HTML as one line of plain text (as the bot reads and stores a request)."""
    return html_to_text(content_html or "")


def parse_request(content_html: str) -> Parsed:
    """The name and pronouns a mention asks for (the rules are in the module docstring)."""
    text = plain_text(content_html)
    if len(text) > MAX_REQUEST_CHARS:
        return Parsed(reason=f"too long ({len(text)} characters; a request is at most {MAX_REQUEST_CHARS})")
    if bad := _control(text):
        return Parsed(reason=f"control character U+{ord(bad):04X}")
    text = without_mentions(text)
    pronouns, text, why = _pronouns(text)
    if why:
        return Parsed(reason=why)
    quoted = _QUOTED_RX.search(text)
    if quoted:
        name, asked = next(g for g in quoted.groups() if g is not None), True
    else:
        name, asked = _strip_lead(text)
        if not asked and text.rstrip().endswith("?"):
            return Parsed(reason="a question, not a request")
    if sigil := next((ch for ch in "@#" if ch in name), None):
        return Parsed(reason=f"a name has no {sigil}")
    name = _strip_tail(name.replace("\u2019", "'"))  # typographic apostrophe: one spelling
    if not name:
        return Parsed(reason="no name")
    why = _bad_name(name) or (None if asked else _not_name_like(name))
    return Parsed(reason=why) if why else Parsed(name=name, pronouns=pronouns)


def _control(text: str) -> str | None:
    """The first control or format character (bidi overrides, zero-width spaces), if any."""
    for ch in text:
        cat = unicodedata.category(ch)
        if (cat == "Cc" and ch not in "\t\n\r") or (cat in ("Cf", "Co", "Cs") and ch not in _ALLOWED_FORMAT):
            return ch
    return None


def without_mentions(text: str) -> str:
    """The text with every @user and @user@host removed."""
    for start, end in sorted(find_mentions(text), reverse=True):
        text = text[:start] + " " + text[end:]
    return " ".join(text.split())


def _pronouns(text: str) -> tuple[str | None, str, str | None]:
    """(family, text without the pronoun phrases, why refused)."""
    found: set[str] = set()
    for m in _PRONOUN_RX.finditer(text):
        groups = m.groups()
        for family, form in (groups[0:2], groups[2:4], groups[4:6]):
            if family is None:
                continue
            family = family.lower()
            if form is not None and form.lower() not in PRONOUNS[family]:
                return None, text, f"pronouns {family}/{form.lower()}: say one of he/him, she/her, they/them"
            found.add(family)
    if len(found) > 1:
        return None, text, f"two sets of pronouns ({', '.join(sorted(found))})"
    rest = " ".join(_PRONOUN_RX.sub(" ", text).split())
    return (found.pop() if found else None), rest, None


def _strip_lead(text: str) -> tuple[str, bool]:
    """(the text after a leading "hi, can you write a bio for", whether there was such a request)."""
    m = _LEAD_RX.match(text)
    lead = m.group(0) if m else ""
    asked = bool(re.search(rf"\b(?:{_NOUN}|for|write|make|generate|create)\b", lead, re.IGNORECASE))
    return text[len(lead) :], asked


def _strip_tail(name: str) -> str:
    """The name without trailing courtesies, punctuation and emoji (initials keep their dots)."""
    while True:
        before = name
        name = _COURTESY_RX.sub("", name).strip()
        while name and not (name[-1].isalnum() or name[-1] in NAME_PUNCT):
            name = name[:-1].rstrip()
        while name and not (name[0].isalnum() or name[0] in "'&."):
            name = name[1:].lstrip()
        if name.endswith((".", "-", "'")) and not _INITIALS_RX.search(name):
            name = name[:-1].rstrip()
        if name == before:
            return name


def _bad_name(name: str) -> str | None:
    """Why `name` cannot be a stage name, or None."""
    if len(name) > MAX_NAME_CHARS:
        return f"name too long ({len(name)} characters; at most {MAX_NAME_CHARS})"
    words = name.split()
    if len(words) > MAX_NAME_WORDS:
        return f"name too long ({len(words)} words; at most {MAX_NAME_WORDS})"
    if "://" in name or find_urls(name):  # the cheap checks first: the URL grammar loads in ~1 s, once
        return "a name has no URL"
    odd = next((ch for ch in name if not (ch.isalnum() or ch.isspace() or ch in NAME_PUNCT)), None)
    if odd is not None:
        return f"a name has no {odd!r}"
    if not any(ch.isalpha() for ch in name):
        return "a name has a letter"
    return None


def _not_name_like(name: str) -> str | None:
    """Without "bio for", the words must look like a name (capitalised, a number or a particle)."""
    for word in name.split():
        if not (word[0].isupper() or word[0].isdigit() or word.lower() in PARTICLES or not word[0].isalpha()):
            return f'not a request ("{word}" is not written as a name; try "bio for NAME")'
    return None
