"""A blocklist that spelling tricks cannot dodge, with a maintained default list of slurs.

Text is folded to a Latin skeleton (NFKC, case folding, Unicode confusables, accents and invisible
characters dropped) that keeps a map back to the original offsets. Terms then match as whole words
with their inflections ("-s", "-es", "-ed", "-ing", "-er"), in leetspeak ("4", "@", "0", "$" ...),
with stretched letters ("frooobnicate") and with their letters spaced out ("f.r.o.b", "f r o b"),
but never inside a longer word: "Scunthorpe", "assassin" and "Dickens" pass.

The default list is wordfilter's (Darius Kazemi's list for text-generating bots: racist, sexist and
ableist slurs, deliberately without plain swear words), loaded from the installed package at run
time, less the few entries in DEFAULT_RELAXED whose everyday sense dominates in bios.
"""

from __future__ import annotations

import itertools
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from bot.config import FiltersConfig
from bot.errors import ConfigError
from bot.filters.check import Check

log = logging.getLogger(__name__)

# Entries of the default list left out because their everyday or music sense dominates in bios;
# each was seen in the sample bios or in real artist profiles, or is the same kind as one that was.
# Operators can block any of them again through [filters] blocklist.
DEFAULT_RELAXED = frozenset(
    {
        # intensifiers: "crazy basslines", "big dumb happy dance music", "danced like an idiot"
        "crazy",
        "crazie",
        "insane",
        "insanity",
        "insanitie",
        "lame",
        "dumb",
        "idiot",
        "lunatic",
        # names: Mick Clarke, Dick Dale, John Lee Hooker, Dego (4hero), the label Dago Breaks
        "mick",
        "dick",
        "hooker",
        "dego",
        "dago",
        "negro",  # Spanish and Portuguese "black": label and club names (Blanco y Negro, Caju Negro)
        "skank",  # the reggae and ska dance: "skanking offbeat guitars"
        "kraut",  # "kraut-rock", "kraut and kosmische"
        "spade",
        "spook",
        "nip",  # ordinary words: "spooky", "nipped out", "in spades"
    }
)
_INFLECTIONS = ("", "s", "es", "z", "ed", "ing", "ings", "er", "ers")  # "-z": "-s" as slang spells it
_LEET = {
    "0": "o",
    "1": "il",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "!": "i",
    "|": "il",
}  # digits and signs that stand for letters in leetspeak
_MAX_VARIANTS = 32  # de-leet/un-stretch readings tried per token: bounds the work on "1111111"
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800")  # fillers that render blank but are not Cf
_TOKEN = re.compile(r"[a-z0-9@$]+(?:[!|]+[a-z0-9@$]+)*")  # "!" and "|" stand for letters only inside
_SEP = r"[\s.\-_*·•~]"  # what people put between spaced-out letters
_RUN = re.compile(rf"(?<![a-z0-9@$])[a-z0-9@$](?:{_SEP}{{1,3}}[a-z0-9@$]){{2,}}(?![a-z0-9@$])")
_RUN_CHAR = re.compile(r"[a-z0-9@$]")
_STRETCH = re.compile(r"([a-z])\1\1+")  # three or more of one letter: "frooob"
_WORD = re.compile(r"[a-z0-9@$]+")
_LEETABLE = re.compile(r"(?!\d\d)\W*\w*[a-z]")  # has a letter; "90ies", "1990s" are numbers
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_PHRASE = re.compile(r"[a-z0-9@$]+(?:[\s\-_.]+[a-z0-9@$]+)+")


@dataclass(frozen=True)
class Hit:
    """One match: the blocklist entry, the original text it matched, and its span in that text."""

    term: str
    text: str
    start: int
    end: int


@lru_cache(maxsize=1)
def _confusables() -> dict[str, str]:
    """Non-ASCII character -> the ASCII letter or digit it is confusable with (Unicode TR39 data)."""
    from confusable_homoglyphs.confusables import confusables_data

    table: dict[str, str] = {}
    for ch, glyphs in confusables_data.items():
        if len(ch) != 1 or ch.isascii():
            continue
        ascii_ = [g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii() and g["c"].isalnum()]
        letters = [c for c in ascii_ if c.isalpha()] or ascii_
        if letters:
            # Unicode's prototype for I-like capitals is "l"; a capital that looks like "I" reads "i".
            low = letters[0].lower()
            table[ch] = "i" if low == "l" and ch.isupper() else low
    return table


# Categories a reader does not see as letters: format characters (Cf) and marks (Mn, Me), including
# the ones with combining class 0 (U+034F grapheme joiner, U+FE0F variation selector) that
# unicodedata.combining() calls 0 and so would keep.
_UNSEEN = frozenset({"Cf", "Mn", "Me"})
_SMALL_CAPITAL = "LATIN LETTER SMALL CAPITAL "


def _small_capital(c: str) -> str:
    """The letter a Latin small capital stands for ("ɴ" -> "n"), or ""."""
    name = unicodedata.name(c, "")
    rest = name[len(_SMALL_CAPITAL) :] if name.startswith(_SMALL_CAPITAL) else ""
    return rest.lower() if len(rest) == 1 else ""


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    """One original character as it reads in the Latin skeleton ("" for invisible ones)."""
    out = []
    for c in unicodedata.normalize("NFKC", ch):
        if c.isascii():
            out.append(c.lower())
        elif unicodedata.category(c) in _UNSEEN or c in _INVISIBLE:
            continue  # zero-width space/joiners, soft hyphen, bidi controls, BOM, joiners, variation selectors
        elif c in _confusables():
            out.append(_confusables()[c])
        elif small := _small_capital(c):
            out.append(small)  # ʙ, ɴ, ᴀ ...: no confusables entry, but their names say which letter
        else:
            for d in unicodedata.normalize("NFD", c.casefold()):
                if unicodedata.category(d) not in _UNSEEN:  # accents and other marks go
                    out.append(_confusables().get(d, d))
    return "".join(out)


def _normalise(text: str) -> tuple[str, list[int] | None]:
    """The skeleton and its offsets into `text`; None stands for the identity (ASCII text)."""
    if text.isascii():
        return text.lower(), None
    parts: list[str] = []
    offsets: list[int] = []
    pos = 0
    for m in _NON_ASCII.finditer(text):  # ASCII stretches in bulk: most bios are mostly ASCII
        parts.append(text[pos : m.start()].lower())
        offsets.extend(range(pos, m.start()))
        for i in range(m.start(), m.end()):
            f = _fold_char(text[i])
            parts.append(f)
            offsets.extend([i] * len(f))
        pos = m.end()
    parts.append(text[pos:].lower())
    offsets.extend(range(pos, len(text)))
    return "".join(parts), offsets


def normalise_for_match(text: str) -> tuple[str, list[int]]:
    """NFKC, casefold, confusables to Latin, invisibles dropped; offsets[i]: text index of the i-th char."""
    norm, offsets = _normalise(text)
    return norm, list(range(len(text))) if offsets is None else offsets


def _readings(token: str) -> list[str]:
    """The ways a token may be read: leetspeak decoded, stretched letters squeezed (bounded)."""
    bare = token.strip("@$")  # "@name" may be a mention and "$" a price: read them with and without
    bases = [token, bare] if bare and bare != token else [token]
    out: list[str] = []
    for b in bases:
        out += ["".join(p) for p in itertools.islice(itertools.product(*(_LEET.get(c, c) for c in b)), _MAX_VARIANTS)]
    for s in [s for s in out if _STRETCH.search(s)]:  # each run of 3+ letters reads as one or two
        pieces = _STRETCH.split(s)
        choices = [(p,) if i % 2 == 0 else (p, p * 2) for i, p in enumerate(pieces)]
        out += ["".join(c) for c in itertools.islice(itertools.product(*choices), _MAX_VARIANTS)]
    return out


class Blocklist:
    """Compiled entries (`terms`: every entry as configured); find() reports each match with its span."""

    def __init__(
        self,
        forms: dict[str, str],
        phrases: list[tuple[str, str, str | None]],
        regexes: list[tuple[str, re.Pattern[str]]],
    ) -> None:
        """Built by compile_blocklist(): inflected form -> entry, (entry, regex, first word), /regex/s."""
        self._forms = forms
        self.terms = frozenset(forms.values()) | {t for t, _, _ in phrases} | {e for e, _ in regexes}
        self._phrase = (
            re.compile("|".join(f"(?P<p{i}>{rx})" for i, (_, rx, _) in enumerate(phrases))) if phrases else None
        )
        self._phrase_terms = [t for t, _, _ in phrases]
        # A phrase can only match where its first word is a token: skip the scan when none is.
        self._firsts = {first for _, _, first in phrases if first is not None}
        self._always = any(first is None for _, _, first in phrases)  # literal entries always scan
        self._regexes = regexes

    def __len__(self) -> int:
        """How many entries (terms, phrases, regexes) are blocked."""
        return len(self.terms)

    def _lookup(self, token: str) -> str | None:
        """The entry this token spells, if any, read as written, in leetspeak or un-stretched."""
        term = self._forms.get(token)
        if term is not None or not _LEETABLE.match(token):
            return term
        return next((self._forms[r] for r in _readings(token) if r in self._forms), None)

    def find(self, text: str) -> list[Hit]:
        """Every blocked term in `text`, in order, with the original characters it spans."""
        norm, offsets = _normalise(text)
        spans: dict[tuple[int, int], str] = {}

        def add(start: int, end: int, term: str) -> None:
            """Record a match given in skeleton offsets."""
            if offsets is not None:
                start, end = offsets[start], offsets[end - 1] + 1
            spans.setdefault((start, end), term)

        stretchy = _STRETCH.search(norm) is not None
        words = set(_TOKEN.findall(norm))  # set algebra in C: most bios have no hit at all
        found = {w: self._forms[w] for w in words & self._forms.keys()}
        for w in words.difference(found):
            if not w.isalpha() or (stretchy and _STRETCH.search(w)):
                term = self._lookup(w)
                if term is not None:
                    found[w] = term
        if found:
            for m in _TOKEN.finditer(norm):
                if m.group() in found:
                    add(m.start(), m.end(), found[m.group()])
        for m in _RUN.finditer(norm):
            self._run(m, add)
        if self._phrase is not None and (self._always or not words.isdisjoint(self._firsts)):
            for m in self._phrase.finditer(norm):
                add(m.start(), m.end(), self._phrase_terms[int(str(m.lastgroup)[1:])])  # group "p<i>"
        for entry, rx in self._regexes:
            for m in rx.finditer(text):
                if m.end() > m.start():  # an empty match marks no text a reviewer could see
                    spans.setdefault((m.start(), m.end()), entry)
            if offsets is not None:  # ASCII: the skeleton is only lower case, which re.I already covers
                for m in rx.finditer(norm):
                    if m.end() > m.start():
                        add(m.start(), m.end(), entry)
        return [Hit(t, text[s:e], s, e) for (s, e), t in sorted(spans.items())]

    def _run(self, m: re.Match[str], add: Callable[[int, int, str], None]) -> None:
        """Letters spaced out ("f.r.o.b"): one word, less one-letter words ("a", "I") at either end."""
        chars = [c.group() for c in _RUN_CHAR.finditer(m.group())]
        where = [c.start() + m.start() for c in _RUN_CHAR.finditer(m.group())]
        starts = [0] + list(itertools.takewhile(lambda k: chars[k - 1] in "ai", range(1, len(chars))))
        ends = [len(chars)] + list(itertools.takewhile(lambda k: chars[k] in "ai", range(len(chars) - 1, 0, -1)))
        for i, j in itertools.product(starts, ends):
            term = self._lookup("".join(chars[i:j])) if j - i >= 3 else None
            if term is not None:
                add(where[i], where[j - 1] + 1, term)
                return


def _forms_of(term: str) -> list[str]:
    """The inflected forms a single-word term is matched in (short terms: plurals only)."""
    forms = [term + s for s in ("", "s", "es", "z")]
    if len(term) < 5:  # "-ed", "-er" on 3-4 letters make ordinary words: "spiced", "Spicer", "Niger"
        return forms
    forms += [term + s for s in _INFLECTIONS[4:]]
    if term.endswith("e"):
        forms += [term + s for s in ("d", "r", "rs")] + [term[:-1] + s for s in ("ing", "ings")]
    if term.endswith("y"):
        forms.append(term[:-1] + "ies")
    if term[-1] not in "aeiouywx" and term[-2] in "aeiou":  # consonant doubled: "scrub" -> "scrubbed"
        forms += [term + term[-1] + s for s in ("ed", "ing", "er", "ers")]
    return forms


def _phrase_rx(folded: str) -> str:
    """A regex for a multi-word term: any separators between its words, the last one inflected."""
    words = _WORD.findall(folded)
    body = r"[\s\-_.*·]*".join(re.escape(w) for w in words)
    return rf"(?<![a-z0-9@$]){body}(?:{'|'.join(s for s in _INFLECTIONS if s)})?(?![a-z0-9@$])"


@lru_cache(maxsize=1)
def default_terms() -> tuple[str, ...]:
    """The default list (wordfilter's, less DEFAULT_RELAXED), folded like the text it is matched against."""
    from wordfilter import Wordfilter

    folded = {_normalise(w.strip())[0] for w in Wordfilter().blacklist if w.strip()}
    return tuple(sorted(folded - DEFAULT_RELAXED))


def compile_blocklist(extra: Iterable[str], *, use_default: bool = True, allow: Iterable[str] = ()) -> Blocklist:
    """Words (whole word, with inflections and dodges) or "/regex/" entries, plus the default list."""
    return _compile(tuple(extra), use_default, tuple(allow))


@lru_cache(maxsize=32)
def _compile(extra: tuple[str, ...], use_default: bool, allow: tuple[str, ...]) -> Blocklist:
    """compile_blocklist() for hashable arguments: a pipeline compiles the same config once."""
    words: dict[str, str] = {}
    regexes: list[tuple[str, re.Pattern[str]]] = []
    if use_default:
        relaxed = {_normalise(a)[0] for a in allow}
        unknown = relaxed.difference(default_terms(), DEFAULT_RELAXED)
        if unknown:
            log.warning("[filters] blocklist_allow entries not in the default list: %s", sorted(unknown))
        words.update((t, t) for t in default_terms() if t not in relaxed)
    for e in extra:
        if len(e) > 2 and e.startswith("/") and e.endswith("/"):
            try:
                regexes.append((e, re.compile(e[1:-1], re.IGNORECASE)))
            except re.error as exc:
                raise ConfigError(f"[filters] blocklist entry {e!r} is not a valid regex: {exc}") from exc
        elif e.strip():
            words[_normalise(e.strip())[0]] = e
    forms: dict[str, str] = {}
    phrases: list[tuple[str, str, str | None]] = []
    forms.update((f, e) for f, e in words.items() if _WORD.fullmatch(f))  # a base form beats an inflection
    for folded, entry in words.items():
        if _WORD.fullmatch(folded):
            for f in _forms_of(folded):
                forms.setdefault(f, entry)
        elif _PHRASE.fullmatch(folded):
            forms.setdefault("".join(_WORD.findall(folded)), entry)  # "half-breed" as "halfbreed"
            phrases.append((entry, _phrase_rx(folded), _WORD.findall(folded)[0]))
        else:  # symbols or another script: the literal skeleton, not inside a longer word
            phrases.append((entry, rf"(?<!\w){re.escape(folded)}(?!\w)", None))
    return Blocklist(forms, phrases, regexes)


def blocklist_from_config(cfg: FiltersConfig) -> Blocklist:
    """The Blocklist that [filters] blocklist, blocklist_default and blocklist_allow describe."""
    return compile_blocklist(cfg.blocklist, use_default=cfg.blocklist_default, allow=cfg.blocklist_allow)


def blocklist(text: str, bl: Blocklist) -> Check:
    """Fail on any blocked term; the hits (entry, the text as written, span) go to the reviewer."""
    hits = bl.find(text)
    detail = f"blocked: {hits[0].term} ({hits[0].text!r})" if hits else "clean"
    return Check(not hits, detail, {"hits": [h.term for h in hits], "spans": [[h.start, h.end] for h in hits]})
