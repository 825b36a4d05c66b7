"""The copy rule: a bio must not repeat a long run of one training bio, nor be mostly corpus n-grams.

The one home of the rule: the pipeline rejects by it and `djbios evaluate` reports its copy rate by it.
"""

from __future__ import annotations

from bot.config import FiltersConfig
from bot.filters.check import Check
from bot.filters.copyindex import CopyIndex
from bot.text import WORD


def copy_run_limit(words: int, run_words: int) -> int:
    """markovify's rule: min(run_words - 1, round(0.7 * words)) + 1 (16 for a long bio)."""
    return min(run_words - 1, round(0.7 * words)) + 1


def copies(text: str, index: CopyIndex | None, cfg: FiltersConfig) -> Check:
    """Fail on a run of copied words from one training bio, or too many 8-grams from the corpus."""
    if index is None:
        return Check(True, "not checked: no copy index (run `djbios corpus index`)", {"checked": False})
    nwords = len(WORD.findall(text))
    limit = copy_run_limit(nwords, cfg.copy_run_words)
    m = index.check(text, limit)
    s = {"checked": True, **m.to_dict(), "run_limit": limit, "overlap_max": cfg.copy_overlap_max}
    if m.span_chars:
        a, z = m.span_chars
        s["span_in_context"] = f"{text[max(0, a - 80) : a]}»{text[a:z]}«{text[z : z + 80]}"
    where = f" of {m.bio_name!r}" if m.bio_name else ""
    if m.longest_run >= limit:
        return Check(False, f"{m.longest_run}-word run copied from bio {m.bio_index}{where} (limit {limit})", s)
    if m.overlap > cfg.copy_overlap_max:
        return Check(False, f"{m.overlap:.0%} of 8-grams are in the corpus (max {cfg.copy_overlap_max:.0%})", s)
    return Check(True, f"longest run {m.longest_run} words (limit {limit}), 8-gram overlap {m.overlap:.0%}", s)
