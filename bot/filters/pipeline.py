"""The filter pipeline: text -> Verdict(ok, reason, scores, defused text), the same for every path.

Each filter returns a Check (ok, detail, numbers); the Pipeline runs all of them so the scores
explain every verdict, and the reason is the first filter that failed. Hazards are defused, not
rejected, where the config allows it: the defused text is exactly what will be posted.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.config import Config, FiltersConfig
from bot.errors import ConfigError, IllegalTransition, NotFound
from bot.filters.blocklist import blocklist, blocklist_from_config
from bot.filters.check import Check, Verdict
from bot.filters.content import completeness, language, pronouns, repetition
from bot.filters.copies import copies
from bot.filters.copyindex import CopyIndex
from bot.filters.duplicates import NearDuplicates
from bot.filters.hazards import hazards
from bot.filters.length import length

if TYPE_CHECKING:
    from bot.store.store import Store


log = logging.getLogger(__name__)


ORDER = ("completeness", "hazards", "length", "blocklist", "language", "repetition", "pronouns",
         "copy", "duplicate")


class Pipeline:
    """All filters in order; built once per batch with the copy index and the texts already stored."""

    def __init__(self, cfg: FiltersConfig, copy_index: CopyIndex | None = None,
                 existing: Iterable[str] = (), *, spoiler_text: str = "") -> None:
        self.cfg, self.index, self.spoiler_text = cfg, copy_index, spoiler_text
        self._block = blocklist_from_config(cfg)
        unknown = set(cfg.skip) - set(ORDER)
        if unknown:
            raise ConfigError(f"[filters] skip: unknown filter {sorted(unknown)[0]!r}; use {', '.join(ORDER)}")
        self._dups = NearDuplicates(existing)

    def check(self, text: str, *, complete: bool = True, pronouns: str | None = None,
              max_chars: int | None = None) -> Verdict:
        """Run every filter; the reason is the first that failed, the scores hold all of them."""
        cfg = self.cfg
        checks = {"completeness": completeness(text, complete)}
        posted, checks["hazards"] = hazards(text, cfg)
        checks["length"] = length(posted, cfg, max_chars, self.spoiler_text)
        checks["blocklist"] = blocklist(posted, self._block)
        checks["language"] = language(posted, cfg) if posted.strip() else Check(False, "empty")
        checks["repetition"] = repetition(posted, cfg)
        checks["pronouns"] = _pronoun_check(posted, pronouns)
        checks["copy"] = copies(posted, self.index, cfg)
        checks["duplicate"] = self._dups.check(posted, cfg.near_dup_jaccard)
        for name in self.cfg.skip:  # turned off in bot.toml: recorded, never failing
            checks[name] = Check(True, f"skipped ({checks[name].detail})", checks[name].scores)
        failed = [name for name in ORDER if not checks[name].ok]
        scores = {name: {"ok": c.ok, "detail": c.detail, **c.scores} for name, c in checks.items()}
        return Verdict(not failed, failed[0] if failed else None, scores, posted)

    def remember(self, text: str) -> None:
        """Add an accepted text to the near-duplicate set."""
        self._dups.add(text)


_pronoun_check = pronouns  # Pipeline.check has a keyword argument of the same name


def recheck_pending(store: Store, pipe: Pipeline, *, max_chars: int | None = None) -> Counter[str]:
    """Re-run the filters on pending candidates, oldest first; count "pending", "skipped" and each reason.

    Another process (a reviewer, the worker) may approve, reject or edit a row while this runs: a row
    that is no longer pending when its verdict is written is skipped, and the recheck goes on.
    """
    out: Counter[str] = Counter()
    for listed in store.list("pending"):
        try:
            v = _recheck_one(store, pipe, listed.id, max_chars)
        except (IllegalTransition, NotFound) as exc:
            log.info("recheck: skipped candidate %s, changed meanwhile (%s)", listed.id, exc)
            out["skipped"] += 1
            continue
        if v.ok:
            pipe.remember(v.text)
        out["pending" if v.ok else str(v.reason)] += 1
    return out


def _recheck_one(store: Store, pipe: Pipeline, cid: int, max_chars: int | None) -> Verdict:
    """Filter the candidate's current text and store the verdict; IllegalTransition if not pending now."""
    c = store.get(cid)  # the current row, not the one listed before the loop began
    if c.status != "pending":
        raise IllegalTransition(f"candidate {cid} is {c.status} now")
    complete = c.scores.get("complete") is not False  # stored by the generator
    v = pipe.check(c.text, complete=complete, pronouns=c.pronouns, max_chars=max_chars)
    kept = {k: val for k, val in c.scores.items() if k not in ORDER}  # tokens, timings, ...
    store.set_verdict(c.id, ok=v.ok, reason=v.reason, scores={**kept, **v.scores},
                      text=v.text if v.ok else None)
    return v


def build_pipeline(cfg: Config, existing: Iterable[str]) -> Pipeline:
    """A Pipeline with the copy index when it has been built (a warning otherwise)."""
    index = None
    if cfg.index_path.exists():
        index = CopyIndex.load(cfg.index_path)
        if index.stale(cfg.corpus.path):
            log.warning("%s does not match %s; run `djbios corpus index`", cfg.index_path, cfg.corpus.path)
    else:
        log.warning("no copy index at %s (run `djbios corpus index`); copies are not checked", cfg.index_path)
    return Pipeline(cfg.filters, index, existing, spoiler_text=cfg.mastodon.spoiler_text)
