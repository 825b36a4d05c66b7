"""The filter pipeline: text -> Verdict(ok, reason, scores, defused text), the same for every path.

Each filter returns a Check (ok, detail, numbers); the Pipeline runs all of them so the scores
explain every verdict, and the reason is the first filter that failed. Hazards are defused, not
rejected, where the config allows it: the defused text is exactly what will be posted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Iterable

from bot.config import Config, FiltersConfig
from bot.errors import ConfigError
from bot.filters.blocklist import blocklist, blocklist_from_config
from bot.filters.check import Check, Verdict
from bot.filters.content import completeness, pronouns, repetition
from bot.filters.copies import copies
from bot.filters.copyindex import CopyIndex
from bot.filters.duplicates import NearDuplicates
from bot.filters.fluency import fluency_check
from bot.filters.hazards import hazards
from bot.filters.language import ENGLISH_WINDOW, language
from bot.filters.length import length
from bot.filters.names import NameIndex, names_check, names_path
from bot.filters.quality import quality
from bot.text import with_suffix

log = logging.getLogger(__name__)


ORDER = (
    "completeness",
    "hazards",
    "length",
    "blocklist",
    "language",
    "fluency",
    "repetition",
    "pronouns",
    "names",
    "copy",
    "duplicate",
)


def fingerprint(
    cfg: FiltersConfig,
    spoiler_text: str = "",
    max_chars: int | None = None,
    english_window: tuple[int, int] = ENGLISH_WINDOW,
) -> str:
    """A short hash of every setting a verdict depends on: a changed one means check again."""
    data: dict[str, object] = {
        "filters": dataclasses.asdict(cfg),
        "spoiler": spoiler_text,
        "max_chars": max_chars,
        "order": ORDER,
    }
    if english_window != ENGLISH_WINDOW:  # only when set: verdicts made under the defaults stay current
        data["english_window"] = list(english_window)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Pipeline:
    """All filters in order; built once per batch with the copy index and the texts already stored."""

    def __init__(
        self,
        cfg: FiltersConfig,
        copy_index: CopyIndex | None = None,
        existing: Iterable[str] = (),
        *,
        spoiler_text: str = "",
        names: NameIndex | None = None,
        max_chars: int | None = None,
        english_window: tuple[int, int] = ENGLISH_WINDOW,
    ) -> None:
        self.cfg, self.index, self.spoiler_text, self.names = cfg, copy_index, spoiler_text, names
        self.max_chars = max_chars  # the instance's limit when lower than [filters] max_chars
        self.english_window = english_window  # [corpus] lang_prefix_chars, short_words
        self.fingerprint = fingerprint(cfg, spoiler_text, max_chars, english_window)
        self._block = blocklist_from_config(cfg)
        unknown = set(cfg.skip) - set(ORDER)
        if unknown:
            raise ConfigError(f"[filters] skip: unknown filter {sorted(unknown)[0]!r}; use {', '.join(ORDER)}")
        self._dups = NearDuplicates(existing)

    def check(
        self, text: str, *, complete: bool = True, pronouns: str | None = None, prompt: str | None = None
    ) -> Verdict:
        """Run every filter; the reason is the first that failed, the scores hold all of them.

        `prompt` is the name the bio was asked for: it may appear (names guard) and is not judged
        as a word (fluency); `pronouns` is the family the bio must use for its subject.
        """
        cfg = self.cfg
        asked = [prompt] if prompt else []
        checks = {"completeness": completeness(text, complete)}
        posted, checks["hazards"] = hazards(text, cfg)
        checks["length"] = length(posted, cfg, self.max_chars, self.spoiler_text)
        checks["blocklist"] = blocklist(posted, self._block)
        checks["language"] = language(posted, cfg, self.english_window) if posted.strip() else Check(False, "empty")
        checks["fluency"] = fluency_check(posted, cfg, asked)
        checks["repetition"] = repetition(posted, cfg)
        checks["pronouns"] = _pronoun_check(posted, pronouns, prompt or "")
        checks["names"] = names_check(posted, self.names, prompt)
        checks["copy"] = copies(posted, self.index, cfg)
        checks["duplicate"] = self._dups.check(posted, cfg.near_dup_jaccard)
        for name in self.cfg.skip:  # turned off in bot.toml: recorded, never failing
            checks[name] = Check(True, f"skipped ({checks[name].detail})", checks[name].scores)
        failed = [name for name in ORDER if not checks[name].ok]
        scores = {name: {"ok": c.ok, "detail": c.detail, **c.scores} for name, c in checks.items()}
        return Verdict(not failed, failed[0] if failed else None, scores, posted, quality(scores), self.fingerprint)

    def remember(self, text: str) -> None:
        """Add an accepted text to the near-duplicate set."""
        self._dups.add(text)

    def forget(self, text: str) -> None:
        """Take one copy of a text out of the near-duplicate set (a stored bio judged again)."""
        self._dups.forget(text)


_pronoun_check = pronouns  # Pipeline.check has a keyword argument of the same name


def build_pipeline(cfg: Config, existing: Iterable[str], *, max_chars: int | None = None) -> Pipeline:
    """A Pipeline with the copy and name indexes when they have been built (a warning otherwise)."""
    index = None
    if cfg.index_path.exists():
        index = CopyIndex.load(cfg.index_path)
        if index.stale(cfg.corpus.path):
            log.warning("%s does not match %s; run `djbios corpus index`", cfg.index_path, cfg.corpus.path)
    else:
        log.warning("no copy index at %s (run `djbios corpus index`); copies are not checked", cfg.index_path)
    names = NameIndex.load(names_path(cfg.corpus.path))
    if not len(names) and cfg.corpus.path.exists():
        log.warning(
            "no corpus names at %s (run `djbios corpus index`); real artists are not checked",
            names_path(cfg.corpus.path),
        )
    # The suffix the publisher appends to every post counts like the CW: the length filter sees the final size.
    counted = cfg.mastodon.spoiler_text + with_suffix("", cfg.profile.post_suffix)
    return Pipeline(
        cfg.filters,
        index,
        existing,
        spoiler_text=counted,
        names=names,
        max_chars=max_chars,
        english_window=(cfg.corpus.lang_prefix_chars, cfg.corpus.short_words),
    )
