"""The real world assembled: `djbios run` (a Worker of a role, refills in a child process) and `djbios post`."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.config import Config, database_url
from bot.errors import ConfigError, LeaseHeld
from bot.posting.jobs import PostOutcome, RefillOutcome, post_next, reconcile
from bot.posting.pause import active_pause
from bot.posting.publishers import Publisher
from bot.posting.wiring import fit_to_instance, utcnow, wire_publisher
from bot.posting.worker import LEASE_LOST, Worker
from bot.redact import scrub_logging
from bot.store.leases import make_holder

log = logging.getLogger(__name__)


def child_batch_maker(worker: Worker) -> Callable[..., Any]:
    """make_batch for refill(): one batch in a child process (bot/generation/child.py), fitted to the instance."""

    def make_batch(*, n: int, now: datetime, **request: Any) -> Any:
        from bot.generation.child import generate_in_child

        limit = fit_to_instance(worker.cfg, worker.publisher).filters.max_chars
        return generate_in_child(
            worker.cfg,
            n=n,
            now=now,
            on_start=worker.track_child,
            max_chars=limit if limit < worker.cfg.filters.max_chars else None,
            **request,
        )

    return make_batch


def build_worker(cfg: Config, role: str = "all") -> Worker:
    """The real store and publisher, and refills in a child process, for one role."""
    from bot.extras import MissingExtra, require
    from bot.posting.publishers import make_publisher
    from bot.store.store import Store

    try:
        if role != "post":
            require("model")  # the refill child needs it; checked here without importing it
    except MissingExtra as exc:
        if role == "generate":
            raise
        log.warning("refills will fail: %s (or run with --role post)", exc)
    store = Store.open(database_url(cfg), busy_timeout_s=cfg.database.busy_timeout_s)
    publisher: Publisher | None
    try:
        publisher = make_publisher(cfg)
    except ConfigError:
        if role != "generate":
            raise
        publisher = None  # a generate box without the token: bot.toml's max_chars is the limit
    worker = Worker(cfg, store, publisher, lambda **kw: None, role=role)
    worker.make_batch = child_batch_maker(worker)
    return worker


def run(
    cfg: Config,
    *,
    once: bool = False,
    role: str = "all",
) -> tuple[RefillOutcome | None, PostOutcome | None] | None:
    """`djbios run`: the worker of a role, forever or each job once."""
    scrub_logging()  # no log line or traceback of the worker shows the token (bot/redact.py)
    worker_log = logging.getLogger("bot.posting.worker")
    if not worker_log.isEnabledFor(logging.INFO):
        worker_log.setLevel(logging.INFO)  # the one line per job run is the worker's heartbeat
    worker = build_worker(cfg, role)
    if once:
        return worker.run_once()
    worker.run_forever()
    if worker.state.reason == LEASE_LOST:  # exit non-zero: the supervisor must hear of it
        raise LeaseHeld(LEASE_LOST)
    return None


def post_now(cfg: Config, *, dry_run: bool = False, rng: random.Random | None = None) -> PostOutcome:
    """`djbios post`: reconcile crash leftovers, then post the next approved bio now."""
    from bot.posting.publishers import make_publisher
    from bot.store.store import Store

    store = Store.open(database_url(cfg), busy_timeout_s=cfg.database.busy_timeout_s)
    try:
        if dry_run:  # needs no token and touches nothing
            return post_next(utcnow(), store, None, cfg, rng=rng, dry_run=True)  # type: ignore[arg-type]
        if (paused := active_pause(store, utcnow())) is not None:
            return PostOutcome("paused", error=paused.describe())
        _, publisher = wire_publisher(make_publisher(cfg), store, cfg)
        holder = make_holder()  # per call: a forked process is a holder of its own
        # only stale claims: a running worker's in-flight post is left alone
        reconcile(store, publisher, utcnow(), cfg=cfg, holder=holder)
        return post_next(utcnow(), store, publisher, cfg, rng=rng, holder=holder)
    finally:
        store.close()
