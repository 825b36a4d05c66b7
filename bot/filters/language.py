"""English or not, one rule for the corpus builder and the language filter.

A stopword fast path for long English prose, then langdetect (seeded) on a prefix, and for short texts
English stopwords alone (langdetect misreads short, name-heavy English: "DJ from Oslo.").
"""

from __future__ import annotations

import time

from bot.config import CorpusConfig, FiltersConfig
from bot.filters.check import Check
from bot.text import detect_languages
from bot.text import words as text_words

# Words that are common in English prose and rare in the other languages of DJ bios ("in", "is",
# "was", "an", "a", "also" are left out: they are German, Dutch or Romance words too).
_EN = frozenset(
    "the and of to with for on his her he she by from at has have had that it are their they "
    "which this who been were into after its or but him them while when".split()
)


_OTHER = frozenset(
    "der die das und ist mit von ein eine auf den sich nicht auch wurde seine ihre bei aus im "
    "dem des el la los las y es con por una del que se su sus para como fue le les et est "
    "du avec il elle pour dans sur au aux qui sont di che della per sono nel gli het een van "
    "zijn werd voor ook não com uma em os pelo".split()
)


# Fast-path shares of the first 200 words: German/Spanish prose has ~30% _OTHER words and ~0 _EN ones;
# English bios have 10-25% _EN words (names dilute it): 99% of synthetic and 95% of Discogs bios of
# >= 20 words take the fast path (measured for bench/RESULTS.md).
_FAST_EN, _FAST_OTHER = 0.10, 0.02


class LanguageCheck:
    """English or not. Long texts with many English and no foreign stopwords are accepted without
    langdetect; otherwise langdetect (seeded) reads the first `prefix_chars` characters. Texts under
    `short_words` words are also accepted on stopwords alone (>= 2 English, no foreign ones), because
    langdetect misreads short, name-heavy English ("DJ from Oslo.")."""

    def __init__(self, min_prob: float, prefix_chars: int, short_words: int, fast_path: bool = True) -> None:
        self.min_prob, self.prefix, self.short, self.fast = min_prob, prefix_chars, short_words, fast_path
        self.seconds = 0.0  # spent in langdetect (s), for the benchmark
        self.calls = 0

    def is_english(self, text: str, words: list[str] | None = None) -> bool:
        """True when the text is English by the rules above (words: bot.text.words(text))."""
        rule = self.stopword_rule(text, words)
        if self.fast and rule == "fast":
            return True
        if self.p_english(text[: self.prefix]) >= self.min_prob:
            return True
        return rule == "short"

    def p_english(self, text: str) -> float:
        """langdetect's probability that text is English (0 when it finds no features)."""
        t0 = time.perf_counter()
        self.calls += 1
        try:
            return detect_languages(text).get("en", 0.0)
        finally:
            self.seconds += time.perf_counter() - t0

    def stopword_rule(self, text: str, words: list[str] | None = None) -> str | None:
        """Which stopword rule calls the text English without langdetect ("fast", "short"), or None."""
        tokens = (words if words is not None else text_words(text))[: self.prefix // 3]
        n = len(tokens)
        en = sum(map(_EN.__contains__, tokens))
        other = sum(map(_OTHER.__contains__, tokens))
        if n >= self.short and en >= _FAST_EN * n and other <= _FAST_OTHER * n:
            return "fast"
        if n < self.short and en >= 2 and other == 0:
            return "short"
        return None


# The corpus builder's window ([corpus] lang_prefix_chars, short_words): the filter reads a candidate as
# the builder read the bios it kept. These are the defaults; build_pipeline passes the configured ones.
ENGLISH_WINDOW = (CorpusConfig().lang_prefix_chars, CorpusConfig().short_words)


def language(text: str, cfg: FiltersConfig, window: tuple[int, int] = ENGLISH_WINDOW) -> Check:
    """The configured language, by langdetect's probability; for English also by the stopword rules
    the corpus builder keeps a bio by (`window`: its prefix chars and short-text word count, from
    [corpus]), so the filter never rejects what the corpus calls English."""
    prefix, short = window
    if cfg.min_lang_prob <= 0:
        return Check(True, "not checked (min_lang_prob = 0)")
    langs = {lang: round(p, 3) for lang, p in detect_languages(text[:prefix]).items()}
    p = langs.get(cfg.language, 0.0)
    rule = (
        LanguageCheck(cfg.min_lang_prob, prefix, short).stopword_rule(text)
        if cfg.language == "en" and p < cfg.min_lang_prob
        else None
    )
    ok = p >= cfg.min_lang_prob or rule is not None
    detail = f"{cfg.language} p={p:.2f} (min {cfg.min_lang_prob})"
    if rule:
        detail += f", English by stopwords ({rule})"
    if not langs and not rule:
        return Check(False, "no language detected", {"langs": {}, "prob": 0.0})
    return Check(ok, detail, {"langs": langs, "prob": p, "rule": rule})
