"""How much of a bio is English words: a fluency score for text made of non-words.

langdetect gives English p=1.00 to "Ingii Petti is a Slaanan producer who splica, ranémessional
sound ...": character n-grams look English even when the words are not. This module counts words
instead, with wordfreq's English list (Robyn Speer's, Apache-2.0; ~321k words with frequencies,
shipped inside the package, so it works offline and needs no download at run time).

Rules, in the order a token meets them:
  - tokens with digits ("1990s", "12", "b2b", "808s") are neutral: numbers are not words to judge;
  - capitalised tokens are neutral (invented names are expected), except at a sentence start,
    where a known word counts as good ("The", "After") and an unknown one stays neutral ("Ingii");
  - tokens of the prompt's `names` (case-folded) are neutral wherever they are;
  - a lowercase token is good when wordfreq knows it at or above MIN_ZIPF, or it is on a small
    domain allowlist; hyphenated compounds are judged part by part ("rain-soaked", "2-step");
  - an unknown lowercase word right after a subject ("who splica", "she trundles" when unlisted)
    stands where a verb belongs: genres and places ("plays champeta") come after a verb, so it is
    counted apart (`verb_slot`) as well as in the share;
  - glued function words ("ofthe", "theclub") and broken contractions ("does n't", "it' s",
    "don t") are bad even though wordfreq lists them or their pieces ("ofthe" is a web typo);
    an unlisted glued pair ("recordlabel") is simply unknown.
score = (good) / (good + unknown + fused + broken); no judged word scores 1.0 but fails `check_fluency`.
It measures words, not grammar: real-word nonsense ("a child of the decks and a year") scores 1.0.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from bot.config import FiltersConfig
from bot.filters.check import Check
from bot.text import WORD

log = logging.getLogger(__name__)

# The highest min_score (0.01 steps) at which every team-written sample bio passes (bench/bench_fluency.py:
# the worst of 2,729 scores 0.882, a bio naming two Ivorian genres, "coupé-décalé" and "zouglou", in 17 judged).
RECOMMENDED_MIN_SCORE = 0.88
MIN_ZIPF = 1.0  # wordfreq's 'large' list stops at zipf 1.0 (once per 10^8 words): "in the list"
MIN_WORDS = 5  # fewer judged words than this is no prose to score (a name, a tracklist)
SHOW_UNKNOWN = 8  # unknown words kept for the reviewer
# Electronic-music words that real bios (the team's samples, public artist profiles) use and
# wordfreq 3.1 does not list at all (each checked: zipf 0.0). Plurals of these come free.
DOMAIN_WORDS = frozenset(
    """
        afrohouse afroswing amapiano beatmaking beatmatch bleepy clubnight coldwave dubplate folktronica
        frenchcore ghettotech gqom groovebox hardgroove hardstep hardtechno housier hyperpop longplayer
        microhouse mixdown netlabel plunderphonics rawstyle selecta soundsystem sublabel supersaw
        tearout technoid techstep terrorcore triphop
    """.split()
)
PLURAL_STEM_ZIPF = 1.5  # "funiculars": unlisted plurals of listed nouns; a junk stem is rarer than this
# Fusions a weak model writes: a preposition or conjunction glued to a determiner ("ofthe"),
# or "the" glued to a content word ("theclub"). wordfreq lists some of them as web typos.
_GLUE_FIRST = frozenset(
    """
        of in on to at for with from by and is was as that into onto but or
    """.split()
)
_GLUE_DET = frozenset("the his her their its this these those".split())
_FUNCTION = _GLUE_FIRST | _GLUE_DET | frozenset("a an me my he she it we us re".split())
# Not bot.text.WORD on purpose: a token keeps its apostrophes and hyphens ("don't", "drum-and-bass"),
# so a broken contraction or a glued pair is judged as the reader sees it.
_TOKEN = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*['’]?")
_SENTENCE_END = frozenset(".!?:;…\n")  # a token after one of these (in the gap before it) opens a sentence
_DIGIT = re.compile(r"\d")
# Contractions split by a tokenizer or a weak model: "does n't", "it' s", "it 's", "don t". The
# pattern starts at the gap (one cheap character test per position); the bare-letter forms
# ("don t", "it s") are confirmed against the word before them in _BARE.
_BROKEN = re.compile(
    r"(?<=[^\W\d_])(?: n['’]t| ['’](?:s|t|re|ve|ll|d|m)|['’] (?:s|t|re|ve|ll|d|m)"
    r"| (t|s|re|ve|ll|m))\b(?!['’])"
)
_BARE = {
    "t": frozenset(
        """
            don doesn didn isn wasn aren weren can couldn wouldn shouldn won hasn haven hadn ain mustn needn
        """.split()
    ),
    "s": frozenset("it that there what who here let he she".split()),
    "re": {"you", "we", "they", "who"},
    "ve": frozenset("i you we they could would should might must".split()),
    "ll": frozenset("i you he she we they it that".split()),
    "m": {"i"},
}
_WORD_BEFORE = re.compile(r"[^\W\d_]+$")
# Subjects a verb follows; "it", "that", "which" also come before nouns ("which taarab", in a team bio).
_SUBJECTS = frozenset("i we you he she they who".split())


@dataclass(frozen=True)
class FluencyScore:
    """Share of judged words that are English, and what was judged against the text."""

    score: float  # good / (good + bad), 0..1
    counted: int  # judged words: good + unknown + fused + broken
    unknown: tuple[str, ...]  # first SHOW_UNKNOWN unknown or fused words, in text order
    n_unknown: int
    fused: int
    broken: int
    broken_forms: tuple[str, ...] = ()  # first SHOW_UNKNOWN broken contractions as written
    verb_slot: int = 0  # unknown words right after a subject ("who splica")
    verb_slot_forms: tuple[str, ...] = ()  # first SHOW_UNKNOWN of them with their subject

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe numbers for the candidate's stored scores."""
        d = asdict(self)
        d["unknown"], d["broken_forms"] = list(self.unknown), list(self.broken_forms)
        d["verb_slot_forms"] = list(self.verb_slot_forms)
        return d


@lru_cache(maxsize=1)
def _freqs() -> dict[str, float]:
    """wordfreq's English frequencies (~0.15 s to unpack; once per process)."""
    from wordfreq import get_frequency_dict

    return get_frequency_dict("en", "best")


def zipf(word: str) -> float:
    """wordfreq's zipf value of one already case-folded word (0.0 when unlisted)."""
    f = _freqs().get(word)
    return math.log10(f) + 9 if f else 0.0


def warm() -> None:
    """Load the word list now (the first fluency() call does it otherwise)."""
    _freqs()


def _key(token: str) -> str:
    """The form wordfreq stores: NFC, case-folded, straight apostrophes."""
    return unicodedata.normalize("NFC", token).casefold().replace("’", "'")


def _fused(word: str, z: float) -> bool:
    """Glue wordfreq lists as a word: "ofthe", "theclub" (not "onstage", "theme").

    An unlisted pair ("recordlabel") is simply unknown: splitting unlisted words would call
    real compounds ("frenchcore", "microhouse") fused too, and both count against the text.
    """
    if len(word) < 4:
        return False
    for i in range(2, len(word) - 1):
        a, b = word[:i], word[i:]
        if a in _GLUE_FIRST and b in _GLUE_DET and z < 4.0:
            return True  # "ofthe" is 3.33 in wordfreq; real prep+det words ("into") are not split so
        if a == "the" and b not in _FUNCTION and zipf(b) >= 3.0 and z < zipf(b) - 2.0:
            return True  # "thebest"; "theme" (4.6 vs "me" 6.6) and "thesis" stay words
    return False


@lru_cache(maxsize=65536)
def judge_lower(word: str) -> str:
    """'good', 'unknown' or 'fused' for one case-folded word (cached: each word is looked up once)."""
    base = word[:-2] if word.endswith("'s") else word.rstrip("'")  # "artist's", "djs'"
    z = zipf(word)
    if z < MIN_ZIPF and base != word:
        z = zipf(base)
    if _fused(word, z):
        return "fused"
    if z >= MIN_ZIPF or base in DOMAIN_WORDS:
        return "good"
    if base.endswith("s") and (base[:-1] in DOMAIN_WORDS or zipf(base[:-1]) >= PLURAL_STEM_ZIPF):
        return "good"
    return "unknown"


@lru_cache(maxsize=65536)
def _judge(token: str, initial: bool) -> str:
    """'good', 'unknown', 'fused' or 'neutral' for one token as written (names aside)."""
    if "-" in token:  # a compound: bad if any judged part is bad, neutral if none is judged
        verdicts = [_judge(p, initial and i == 0) for i, p in enumerate(token.split("-")) if p]
        bad = [v for v in verdicts if v in ("unknown", "fused")]
        return bad[0] if bad else ("good" if "good" in verdicts else "neutral")
    if _DIGIT.search(token):
        return "neutral"
    key = _key(token)
    if token[0].isupper():
        if not initial or token.isupper() and len(token) > 1:
            return "neutral"  # a name, or an acronym ("BPM", "NTS")
        return "good" if judge_lower(key) == "good" else "neutral"  # "Ingii" may open a sentence
    return judge_lower(key)


def _is_name(token: str, names: frozenset[str]) -> bool:
    """Whether every part of a token is a word of the given names."""
    if token.isalpha():
        return _key(token) in names
    return all(_key(p) in names for p in WORD.findall(token))


def name_tokens(names: Iterable[str]) -> frozenset[str]:
    """Case-folded word tokens of the given names ("DJ Pockethaze" -> {"dj", "pockethaze"})."""
    return frozenset(_key(t) for n in names for t in WORD.findall(n))


def broken_contractions(text: str) -> list[tuple[int, int]]:
    """(start, end) of each broken contraction, the word before it included ("does n't")."""
    out = []
    for m in _BROKEN.finditer(text):
        w = _WORD_BEFORE.search(text, max(0, m.start() - 12), m.start())
        if w and (m.group(1) is None or w.group().lower() in _BARE[m.group(1)]):
            out.append((w.start(), m.end()))
    return out


def fluency(text: str, names: Iterable[str] = ()) -> FluencyScore:
    """Score how much of `text` is English words; names and capitalised tokens are neutral."""
    known = name_tokens(names)
    spans = broken_contractions(text)
    clean = text
    for a, z in spans:  # blanked, so their pieces ("n't", "s") are not judged again; same offsets
        clean = clean[:a] + " " * (z - a) + clean[z:]
    good = bad = fused = 0
    unknown: list[str] = []
    slots: list[str] = []
    prev, last = 0, ""
    for m in _TOKEN.finditer(clean):
        tok = m.group().rstrip("'’")
        gap = clean[prev : m.start()]
        initial = prev == 0 or not _SENTENCE_END.isdisjoint(gap)
        subject = last if last in _SUBJECTS and gap.isspace() else ""  # "who splica", not "who, splica"
        prev, last = m.end(), tok.lower()
        v = _judge(tok, initial)
        if v == "neutral" or known and _is_name(tok, known):
            continue
        if v == "good":
            good += 1
        else:
            bad += 1
            fused += v == "fused"
            unknown.append(m.group())
            if v == "unknown" and subject:
                slots.append(f"{subject} {tok}")
    counted = good + bad + len(spans)
    score = good / counted if counted else 1.0
    return FluencyScore(
        round(score, 4),
        counted,
        tuple(unknown[:SHOW_UNKNOWN]),
        len(unknown),
        fused,
        len(spans),
        tuple(text[a:z] for a, z in spans[:SHOW_UNKNOWN]),
        len(slots),
        tuple(slots[:SHOW_UNKNOWN]),
    )


def fluency_check(text: str, cfg: FiltersConfig, names: Iterable[str] = ()) -> Check:
    """The pipeline's fluency filter: [filters] min_fluency, max_fused_words, max_broken_contractions,
    max_unknown_verbs."""
    ok, detail, scores = check_fluency(
        text,
        cfg.min_fluency,
        names,
        max_fused=cfg.max_fused_words,
        max_broken=cfg.max_broken_contractions,
        max_verb_slot=cfg.max_unknown_verbs,
    )
    return Check(ok, detail, scores)


def check_fluency(
    text: str,
    min_score: float,
    names: Iterable[str] = (),
    *,
    max_fused: int = 0,
    max_broken: int = 0,
    max_verb_slot: int = 0,
) -> tuple[bool, str, dict[str, Any]]:
    """ok, a one-line detail for the reviewer, and JSON-safe scores.

    One fused word or broken contraction already reads as broken to anyone ("does n't"), while
    one unknown word in 20 may be a Colombian genre: so those two fail on a count, not the share.
    So does an unknown word where a verb belongs ("who splica"): no team-written bio has one.
    """
    f = fluency(text, names)
    s = {**f.to_dict(), "min": min_score}
    parts = [f"fluency {f.score:.2f} (min {min_score})"]
    if f.unknown:
        parts.append(f"unknown: {', '.join(f.unknown)}")
    if f.broken:
        parts.append(f"broken: {', '.join(repr(b) for b in f.broken_forms)}")
    detail = "; ".join(parts)
    if f.counted < MIN_WORDS:
        return False, f"only {f.counted} judged words (need {MIN_WORDS}); {detail}", s
    if f.fused > max_fused or f.broken > max_broken:
        return False, f"{f.fused} fused words, {f.broken} broken contractions; {detail}", s
    if f.score < min_score:
        return False, detail, s
    if f.verb_slot > max_verb_slot:  # a fluent share that still reads as broken
        forms = ", ".join(repr(v) for v in f.verb_slot_forms)
        return False, f"{f.verb_slot} unknown words where a verb belongs: {forms}; {detail}", s
    return True, detail, s
