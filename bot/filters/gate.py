"""The one gate: every way a text reaches `approved` runs the same pipeline, here.

Generated bios are judged by the refill (bot/generation/refill.py); `add`, `edit`, review's edit,
`filter --recheck`, `approve` and auto-approval all come through these functions. A verdict is stored
with the fingerprint of the filter settings it was made under, so a changed setting means a fresh
check before anything is approved. A failing bio stays pending with its reasons; the operator may still
approve it explicitly (`approve --force`), which the history records.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.config import Config
from bot.errors import BotError, IllegalTransition, NotFound
from bot.filters.pipeline import ORDER, Pipeline, build_pipeline
from bot.store.candidate import Candidate, naive_utc

if TYPE_CHECKING:
    from bot.filters.check import Verdict
    from bot.store.store import Store

log = logging.getLogger(__name__)

# Texts a candidate must not nearly duplicate when it is (re)judged: everything already on its way out
# or gone, but not the other pending bios (they compete, the reviewer picks).
SETTLED = ("approved", "posting", "posted", "failed", "retracted")


class GateRefused(BotError):
    """A bio failed the filters and was not approved (approve --force overrides)."""


def gate_pipeline(cfg: Config, store: Store, max_chars: int | None = None) -> Pipeline:
    """The pipeline a re-check uses: the near-duplicate set holds every settled text."""
    return build_pipeline(cfg, store.texts(SETTLED), max_chars=max_chars)


def record(v: Verdict, keep: dict[str, Any] | None = None) -> dict[str, Any]:
    """A verdict as the store keeps it; `keep` carries scores that are not filters' (tokens, timings)."""
    extra = {k: val for k, val in (keep or {}).items() if k not in ORDER}
    return {
        "reason": v.reason,
        "scores": {**extra, **v.scores},
        "quality": v.quality,
        "filter_fingerprint": v.fingerprint,
    }


def judge(pipe: Pipeline, c: Candidate, text: str | None = None) -> Verdict:
    """The verdict on a candidate's text (or a new text for it), with its prompt and pronouns."""
    complete = c.scores.get("complete") is not False  # stored by the generator
    return pipe.check(c.text if text is None else text, complete=complete, pronouns=c.pronouns, prompt=c.prompt)


def import_bios(
    store: Store, pipe: Pipeline, bios: Sequence[str], source: str, now: datetime | None = None
) -> list[tuple[Candidate, Verdict]]:
    """`djbios add`: every bio is judged and stored pending, a failing one with its reason."""
    verdicts = []
    for bio in bios:
        v = pipe.check(bio)
        if v.ok:
            pipe.remember(v.text)  # two copies of one bio in a file: the second is a duplicate
        verdicts.append(v)
    texts = [v.text if v.ok else bio for v, bio in zip(verdicts, bios)]  # a passing text is defused
    added = store.add_many(texts, source=source, now=now, verdicts=[record(v) for v in verdicts])
    return list(zip(added, verdicts))


def edit(store: Store, pipe: Pipeline, cid: int, text: str, now: datetime | None = None) -> tuple[Candidate, Verdict]:
    """`djbios edit` and review's edit: store the new text with its verdict (see Store.edit)."""
    c = store.get(cid)
    v = judge(pipe, c, text)
    return store.edit(cid, v.text if v.ok else text, now, verdict=record(v, c.scores)), v


def approve(
    store: Store, pipe: Pipeline, cid: int, *, force: bool = False, by: str = "operator", now: datetime | None = None
) -> Candidate:
    """Approve (or re-queue a failed bio) after judging its current text under the current settings.

    GateRefused when the text fails a filter and `force` is not set; the verdict is stored either way.
    """
    c = store.get(cid)
    if c.status not in ("pending", "failed"):
        raise IllegalTransition(f"candidate {cid} is {c.status}; approve needs pending or failed")
    if c.status == "failed":
        pipe.forget(c.text)  # a failed bio is among the settled texts: it is no duplicate of itself
    v = judge(pipe, c)
    if c.status == "pending":
        if v.text != c.text and v.ok:
            store.edit(cid, v.text, now, verdict=record(v, c.scores))  # the defused text is what goes out
        else:
            store.set_verdict(cid, verdict=record(v, c.scores), reject=False, now=now)
    if not v.ok and not force:
        detail = v.scores.get(str(v.reason), {}).get("detail", "")
        raise GateRefused(
            f"#{cid} fails the {v.reason} filter ({detail}); edit it, reject it, or "
            f"`djbios approve --force {cid}` to post it anyway"
        )
    pipe.remember(v.text)
    return store.approve(cid, now, by=by, force=not v.ok)


def recheck_pending(store: Store, pipe: Pipeline, now: datetime | None = None) -> Counter[str]:
    """`filter --recheck`: re-judge pending bios, best first; failing ones become rejected.

    Another process (a reviewer, the worker) may approve, reject or edit a row meanwhile: each row is
    read again just before it is judged, and one that is no longer pending is skipped.
    """
    out: Counter[str] = Counter()
    for listed in store.list("pending", order="quality"):
        try:
            c = store.get(listed.id)  # the current row, not the one listed before the loop began
            if c.status != "pending":
                raise IllegalTransition(f"candidate {c.id} is {c.status} now")
            v = judge(pipe, c)
            store.set_verdict(c.id, verdict=record(v, c.scores), text=v.text if v.ok else None, now=now)
        except (IllegalTransition, NotFound) as exc:  # not ours to judge any more
            log.info("recheck: skipped candidate %s, changed meanwhile (%s)", listed.id, exc)
            out["changed meanwhile"] += 1
            continue
        if v.ok:
            pipe.remember(v.text)
        out["pending" if v.ok else str(v.reason)] += 1
    return out


def auto_approve(store: Store, pipe: Pipeline, max_per_day: int, now: datetime | None = None) -> int:
    """Review mode "auto": approve the best passing bios, at most max_per_day in any 24 hours.

    Only a verdict made under the current settings counts: a stale one is made again first.
    """
    when = naive_utc(now)
    room = max_per_day - store.count_reviewed(by="auto", since=when - timedelta(days=1))
    n = 0
    for c in store.list("pending", order="quality"):
        if n >= room:
            break
        if c.last_error is not None or c.request_id is not None:  # refused (422) or a reply: not ours to approve
            continue
        if c.filter_fingerprint != pipe.fingerprint or c.reason is not None:
            v = judge(pipe, c)
            store.set_verdict(c.id, verdict=record(v, c.scores), text=v.text if v.ok else None, reject=False, now=now)
            if not v.ok:
                continue
        try:
            approve(store, pipe, c.id, by="auto", now=now)
        except (GateRefused, IllegalTransition) as exc:
            log.info("auto-approval skipped #%s: %s", c.id, exc)
            continue
        n += 1
    return n


def default_pipeline(cfg: Config, store: Store) -> Pipeline:
    """The gate's pipeline; [mastodon] max_characters, when set and lower, is the length limit.

    The limit is folded into [filters] max_chars (as the worker fits a batch to the instance), so a
    verdict made here and one made by a refill under the same limit share their fingerprint.
    """
    limit = cfg.mastodon.max_characters
    if limit and limit < cfg.filters.max_chars:
        cfg = dataclasses.replace(cfg, filters=dataclasses.replace(cfg.filters, max_chars=limit))
    return gate_pipeline(cfg, store)
