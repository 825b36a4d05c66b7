"""Answering: each new request becomes k candidates for its name, and the best passing one is the reply.

The generate side calls answer_requests() every cycle; it needs no Mastodon client. A request's bio is
sampled from "<|startoftext|>NAME is a DJ. She" ([replies] steer; bench/bench_replies.py measures
what steering buys), judged by the whole filter pipeline with the wanted pronouns and the name as the
prompt (allowed by the real-artist guard, not judged by fluency), and the best passing candidate by
quality becomes the reply (pending, request_id set, source "reply"); the others are kept rejected
("not chosen", or their own reason). The bio leaves room for "@acct " which is added when posting
(bot/posting/reply_post.py), so the stored text stays defused and the gate can re-judge it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.config import Config
from bot.errors import BotError
from bot.store.requests import (
    Request,
    count_batches,
    list_requests,
    reply_candidates,
    set_request_state,
)

if TYPE_CHECKING:
    from bot.filters.check import Verdict
    from bot.filters.pipeline import Pipeline
    from bot.generation.sampler import Generator, Sample
    from bot.store.candidate import Candidate
    from bot.store.store import Store

log = logging.getLogger(__name__)

SOURCE = "reply"  # candidates.source of every reply
AUTO_BY = "auto-reply"  # reviewed_by of an auto-approved reply: apart from [review] auto_max_per_day's "auto"
SUBJECT = {"he": "He", "she": "She", "they": "They"}
# What steers the model to the asked pronouns: the bio opens with a sentence about the name and the
# next one starts with the pronoun. bench/bench_replies.py compares it with the bare name.
STEER = "{name} is a DJ. {subject}"
# Canned replies, written by the team: no model or follower text in them, so they skip the filters.
CANNED = {
    "help": "I write made-up DJ bios on request. Mention me with a name and, if you like, pronouns: "
    '"bio for Mara Quillon (she/her)".',
    "decline": "Sorry, that is the name of a real artist from my training data, so I won't invent a bio "
    "for them. Try a name of your own making!",
}
LIVE = ("pending", "approved", "posting", "failed")  # a reply candidate in these may still go out


@dataclass
class AnswerOutcome:
    """What one answer cycle did."""

    queued: int = 0  # requests with a reply candidate now (help and decline included)
    approved: int = 0  # of them approved at once ([replies] mode = "auto")
    retry: int = 0  # no candidate passed; another batch next cycle
    failed: int = 0
    settled: int = 0  # queued requests whose reply was posted or rejected meanwhile
    errors: list[str] = field(default_factory=list)


def steer_prefix(name: str, pronouns: str | None, steer: bool = True) -> str:
    """The text a requested bio starts from (after <|startoftext|>)."""
    if not steer or pronouns not in SUBJECT:
        return name
    return STEER.format(name=name, subject=SUBJECT[pronouns])


def visibility_for(request_visibility: str, widest: str) -> str:
    """The narrower of [replies] visibility and the mention's own (a reply never reaches further)."""
    order = ("public", "unlisted", "private", "direct")
    ranks = [order.index(v) if v in order else len(order) - 1 for v in (request_visibility, widest)]
    return order[max(ranks)]


def mention_prefix(acct: str) -> str:
    """What a reply starts with: the requester's handle, the only mention in it."""
    return f"@{acct} "


def answer_requests(cfg: Config, store: Store, load: Callable[[], Generator], now: datetime) -> AnswerOutcome:
    """Settle queued requests, then answer every new one; the model loads only if a bio is needed."""
    out = AnswerOutcome()
    out.settled = settle_requests(store, now)
    for req in list_requests(store, "new"):
        try:
            state = answer_one(cfg, store, load, req, now)
        except BotError as exc:  # the model or the store: this request stays new, the next cycle retries
            log.error("answering request %s failed: %s", req.id, exc)
            out.errors.append(f"request {req.id}: {exc}")
            continue
        if state == "approved":
            out.queued, out.approved = out.queued + 1, out.approved + 1
        elif state in ("queued", "failed", "retry"):
            setattr(out, state, getattr(out, state) + 1)
    return out


def answer_one(cfg: Config, store: Store, load: Callable[[], Generator], req: Request, now: datetime) -> str:
    """Answer one new request: queued, approved, retry (stays new) or failed.

    The request's state is written last: a crash before it leaves the request new with its reply
    candidate already stored, and the next cycle adopts that candidate instead of generating again.
    """
    adopted = [cid for cid, st, why in reply_candidates(store, req.id) if st in (*LIVE, "posted") and not why]
    if req.name is None:  # understood as no request, and [replies] help_reply is on
        if not adopted:
            queue_canned(store, req, "help", now)
        set_request_state(store, req.id, "queued", req.reason, now=now)
        return "queued"
    pipe = reply_pipeline(cfg, store, req.acct)
    real = pipe.names.find(req.name) if pipe.names is not None else []
    if real and cfg.replies.decline_real_artists:
        if not adopted:
            queue_canned(store, req, "decline", now)
        set_request_state(store, req.id, "queued", f"declined: {req.name} is a corpus artist", now=now)
        return "queued"
    chosen: Candidate | None
    if adopted:
        chosen = store.get(adopted[0])
    else:
        chosen = generate_answer(cfg, store, load(), pipe, req, now)
    if chosen is None:
        return _no_answer(cfg, store, req, now)
    state = "queued"
    if real:  # a real artist is never answered without the operator
        why = f"names a corpus artist ({', '.join(real)}): reply #{chosen.id} waits for the operator"
    else:
        why = f"reply #{chosen.id}"
        if cfg.replies.mode == "auto" and chosen.status == "pending":
            state = _auto_approve(store, reply_pipeline(cfg, store, req.acct, gate=True), chosen.id, now)
    set_request_state(store, req.id, "queued", why, now=now)
    return state


def _auto_approve(store: Store, pipe: Pipeline, cid: int, now: datetime) -> str:
    """[replies] mode = "auto": approve through the gate; "approved", or "queued" when the gate says no."""
    from bot.filters.gate import GateRefused, approve

    try:
        approve(store, pipe, cid, by=AUTO_BY, now=now)
        return "approved"
    except (GateRefused, BotError) as exc:
        log.info("reply #%s not auto-approved: %s", cid, exc)
        return "queued"


def reply_pipeline(cfg: Config, store: Store, acct: str, *, gate: bool = False) -> Pipeline:
    """The filters for a reply's bio: one post (no thread), short enough for "@acct " before it.

    gate=True: the pipeline approval judges with (bot/filters/gate.py), whose near-duplicate set holds
    only settled texts, so a pending reply is not a duplicate of itself.
    """
    from bot.filters.gate import gate_pipeline
    from bot.filters.pipeline import build_pipeline

    limit = min(cfg.filters.max_chars, cfg.mastodon.max_characters or cfg.filters.max_chars)
    room = max(1, limit - len(mention_prefix(acct)))
    rcfg = dataclasses.replace(cfg, filters=dataclasses.replace(cfg.filters, too_long="reject"))
    return gate_pipeline(rcfg, store, room) if gate else build_pipeline(rcfg, store.texts(), max_chars=room)


def generate_answer(
    cfg: Config, store: Store, generator: Generator, pipe: Pipeline, req: Request, now: datetime
) -> Candidate | None:
    """Sample [replies] candidates bios for the request, store them all; the best passing one is pending."""
    from bot.filters.gate import record
    from bot.generation.refill import resolve_seed, run_generator, sampling_params

    prefix = steer_prefix(str(req.name), req.pronouns, cfg.replies.steer)
    params = {**sampling_params(cfg, prefix), "reply_to": reply_note(req)}
    seed = resolve_seed(cfg, None)
    prov = generator.provenance
    batch_id = store.create_batch(
        f"reply:{req.id}",
        checkpoint=prov["checkpoint"],
        step=prov["step"],
        params=params,
        seed=seed,
        prompt=req.name,
        now=now,
    )
    samples, seconds = run_generator(generator, params, cfg.replies.candidates, seed)
    judged = [(s, pipe.check(s.text, complete=s.complete, pronouns=req.pronouns, prompt=req.name)) for s in samples]
    passing = sorted((x for x in judged if x[1].ok), key=lambda x: -x[1].quality)
    fields = {
        "source": SOURCE,
        "batch_id": batch_id,
        "checkpoint": prov["checkpoint"],
        "step": prov["step"],
        "seed": seed,
        "params": params,
        "prompt": req.name,
        "pronouns": req.pronouns,
        "request_id": req.id,
        "now": now,
    }
    chosen = None
    if passing:
        best, v = passing[0]
        (chosen,) = store.add_many([v.text], status="pending", verdicts=[_record(record, best, v, seconds)], **fields)
    rest = [(s, v) for s, v in judged if not passing or s is not passing[0][0]]
    rest = [(s, v) for s, v in rest if (v.text if v.ok else s.text).strip()]  # the store keeps no empty text
    if rest:
        store.add_many(
            [v.text if v.ok else s.text for s, v in rest],
            status="rejected",
            verdicts=[_record(record, s, v, seconds, "not chosen") for s, v in rest],
            **fields,
        )
    store.finish_batch(batch_id, seconds=seconds, made=len(samples), queued=int(chosen is not None), now=now)
    log.info(
        "request %s (%s, %s): %s of %s candidates pass; chose %s",
        req.id,
        req.name,
        req.pronouns,
        len(passing),
        len(samples),
        chosen.id if chosen else None,
    )
    return chosen


def _record(
    record: Callable[..., dict[str, Any]], s: Sample, v: Verdict, seconds: float, not_chosen: str | None = None
) -> dict[str, Any]:
    """A verdict as stored; a passing candidate that lost to a better one is rejected as "not chosen"."""
    out = record(v, {"tokens": s.tokens, "complete": s.complete, "generation_seconds": round(seconds, 3)})
    if v.ok and not_chosen:
        out["reason"] = not_chosen
    return out


def _no_answer(cfg: Config, store: Store, req: Request, now: datetime) -> str:
    """No candidate passed: another batch next cycle, or give up after [replies] max_batches."""
    batches = count_batches(store, f"reply:{req.id}")
    if batches < cfg.replies.max_batches:
        return "retry"
    reasons = Counter(r for _, _, r in reply_candidates(store, req.id) if r)
    top = ", ".join(f"{r.split(':')[0]} {n}" for r, n in reasons.most_common(3)) or "none stored"
    set_request_state(store, req.id, "failed", f"no candidate passed the filters in {batches} batches ({top})", now=now)
    return "failed"


def reply_note(req: Request) -> dict[str, Any]:
    """What the reviewer is shown about the request a reply answers (kept in the candidate's params)."""
    return {
        "request": req.id,
        "acct": req.acct,
        "visibility": req.visibility,
        "text": req.text[:300],
        "name": req.name,
        "pronouns": req.pronouns,
    }


def queue_canned(store: Store, req: Request, kind: str, now: datetime) -> Candidate:
    """A help or decline reply: the team's fixed text, approved at once (no model or follower text in it)."""
    (c,) = store.add_many(
        [CANNED[kind]],
        source=f"{SOURCE}:{kind}",
        status="pending",
        request_id=req.id,
        params={"reply_to": reply_note(req)},
        now=now,
    )
    return store.approve(c.id, now, by=SOURCE)


def settle_requests(store: Store, now: datetime) -> int:
    """Queued requests whose reply went out become answered; all of whose replies were rejected, failed."""
    n = 0
    for req in list_requests(store, "queued"):
        cands = reply_candidates(store, req.id)
        posted = [cid for cid, st, _ in cands if st == "posted"]
        if posted:
            set_request_state(store, req.id, "answered", f"reply #{posted[0]}", now=now)
        elif cands and not any(st in LIVE for _, st, _ in cands):
            set_request_state(store, req.id, "failed", "the reply was rejected", now=now)
        else:
            continue
        n += 1
    return n
