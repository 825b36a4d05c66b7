"""Facts about bio text that every stage shares: delimiters, words, pronouns, limits, language.

This is the one home of each: the corpus builder, the copy index, the filters, the generator and the
evaluation import them from here, so "a word" or "a pronoun of the subject" means the same everywhere.
Only the standard library at import time (langdetect is imported when a language is detected).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from bot.errors import InputError

# -- the corpus file format ----------------------------------------------------------------------
START = "<|startoftext|>"
END = "<|endoftext|>"
# The pieces a byte-level BPE splits the delimiters into ("<|", "startoftext", "|>"): none occurs in
# bio text, so a generated text holding one has fumbled a delimiter or begun the next bio.
DELIMITER_PIECES = ("<|", "|>", "startoftext", "endoftext")

# -- limits --------------------------------------------------------------------------------------
MAX_BIO_CHARS = 20_000  # nothing longer is a bio: a runaway sample or the wrong file
MASTODON_MAX_CHARS = 500  # Mastodon's default status limit, used when an instance does not say
URL_CHARS = 23  # Mastodon counts every URL as 23 characters, whatever its length

LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")  # half a UTF-16 pair: not text, cannot be stored as UTF-8


def bio_problem(text: str) -> str | None:
    """Why `text` cannot be stored as a bio (empty, over MAX_BIO_CHARS, a lone surrogate), or None."""
    if not text or not text.strip():
        return "is empty"
    if len(text) > MAX_BIO_CHARS:
        return f"has {len(text)} characters; the limit is {MAX_BIO_CHARS}"
    bad = LONE_SURROGATE.search(text)
    if bad:
        return (
            f"holds a lone surrogate \\u{ord(bad[0]):04x} (character {bad.start() + 1}): half of an "
            "escaped emoji, which is not text; fix that escape"
        )
    return None


# -- words ---------------------------------------------------------------------------------------
WORD = re.compile(r"[^\W_]+")  # letters and digits; punctuation, "_" and whitespace separate words
_NONWORD = re.compile(r"[\W_]+")
# A sentence ends at . ! ? or … followed by optional closing quotes/brackets and whitespace.
SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+")

# -- pronouns: the families a bio's subject can use ------------------------------------------------
PRONOUNS: dict[str, frozenset[str]] = {
    "he": frozenset({"he", "him", "his", "himself"}),
    "she": frozenset({"she", "her", "hers", "herself"}),
    "they": frozenset({"they", "them", "their", "theirs", "themselves", "themself"}),
}


def norm_word(word: str) -> str:
    """Case-fold and NFKC one token; drops characters that NFKC turns into punctuation."""
    w = _NONWORD.sub("", unicodedata.normalize("NFKC", word).casefold())
    return w or word.lower()


def normalise(words: list[str]) -> list[str]:
    """Normalised tokens, one per input token (fast path for ASCII)."""
    joined = " ".join(words)
    if joined.isascii():
        return joined.lower().split(" ") if words else []
    return [norm_word(w) for w in words]


def words(text: str) -> list[str]:
    """The normalised words of a text, as the copy index, the filters and the corpus see them."""
    return normalise(WORD.findall(text))


def squash_space(text: str) -> str:
    """Text with every run of whitespace as one space: how a posted status is compared to a bio."""
    return " ".join(text.split())


POST_SUFFIX_SEP = "\n\n"  # [profile] post_suffix stands as its own paragraph under the bio


def with_suffix(text: str, suffix: str) -> str:
    """A post's final text: the bio, then [profile] post_suffix as its own paragraph (when one is set)."""
    return f"{text}{POST_SUFFIX_SEP}{suffix.strip()}" if suffix.strip() else text


def sentences(text: str) -> list[str]:
    """The sentences of one line of text (the whole line when it has no sentence end)."""
    return [s for s in SENTENCE_END.split(text.strip()) if s]


def pronoun_counts(tokens: list[str]) -> dict[str, int]:
    """How often each pronoun family occurs among normalised tokens."""
    return {fam: sum(1 for t in tokens if t in forms) for fam, forms in PRONOUNS.items()}


# -- the corpus file -------------------------------------------------------------------------------
def block(bio: str) -> str:
    """One bio as a line of the corpus file, the way gpt-2-simple reads it."""
    return f"{START}{bio}{END}\n"


def iter_bios(path: Path, chunk: int = 1 << 22) -> Iterator[str]:
    """Stream the bios of a corpus file (chunk characters at a time), never holding it whole."""
    try:
        f = open(path, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the corpus ({exc}); run `djbios corpus build`") from exc
    with f:
        rest = ""
        while data := f.read(chunk):
            parts = (rest + data).split(END)
            rest = parts.pop()
            for p in parts:
                if bio := p.strip().removeprefix(START).strip():
                    yield bio
        if bio := rest.strip().removeprefix(START).strip():
            yield bio


def read_bios(path: Path) -> list[str]:
    """The bios of a corpus file, in file order."""
    return list(iter_bios(path))


# -- the terminal ---------------------------------------------------------------------------------
# Characters a terminal acts on instead of showing: C0 controls but tab and newline (ESC starts the
# sequences that recolour, move the cursor or clear the screen; CR overwrites a line), DEL, the C1
# controls (U+009B is a one-byte CSI in some terminals), and the bidirectional overrides and isolates
# that reorder a line so the reader sees something other than what is there; the line and paragraph
# separators (a line break the eye misses) and the tag characters (invisible text that still posts).
HIDDEN = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]"
)


def visible(text: str) -> str:
    """`text` with every character in HIDDEN shown as its escape (\\x1b, \\u202e), never sent raw."""
    return HIDDEN.sub(_escape, text)


def _escape(m: re.Match[str]) -> str:
    """One hidden character as Python writes it: \\x1b, \\u202e, \\U000e0041."""
    n = ord(m[0])
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


# -- language --------------------------------------------------------------------------------------
def detect_languages(text: str) -> dict[str, float]:
    """langdetect's language probabilities for text, seeded so a verdict never changes between runs.

    Empty when langdetect finds no features (digits and punctuation only, say).
    """
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0  # langdetect samples randomly; the seed makes verdicts repeatable
    try:
        return {lang.lang: lang.prob for lang in detect_langs(text)}
    except LangDetectException:
        return {}
