"""The long-running worker: APScheduler 3 wiring, signals and logging; the real world is assembled here.

Two jobs: refill (interval) and post (cron or every N minutes, jitter, quiet hours), both with
coalesce=True, max_instances=1 and a misfire grace time. A post cycle and every store write of a
batch hold one lock, so SIGTERM waits for them and the process never stops mid-transaction.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from bot.config import Config, database_url
from bot.errors import ConfigError, PublishError
from bot.posting.jobs import PostingState, PostOutcome, RefillOutcome, post_next, reconcile, refill
from bot.posting.publishers import Publisher

if TYPE_CHECKING:
    from bot.store.store import Store

log = logging.getLogger(__name__)

SHUTDOWN_WAIT_S = 45.0  # longest wait for an in-flight post (request timeout is ~30 s)


def utcnow() -> datetime:
    """The real clock (tests pass their own)."""
    return datetime.now(UTC)


class _Locked:
    """A store whose every call holds the worker's lock (so shutdown never cuts a write)."""

    def __init__(self, store: Any, lock: threading.RLock) -> None:
        self._store, self._lock = store, lock

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attr(*args, **kwargs)

        return call


class Worker:
    """The jobs with their dependencies bound; `run_once` or `run_forever`."""

    def __init__(self, cfg: Config, store: Store, publisher: Publisher, make_batch: Callable[..., Any], *,
                 rng: random.Random | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.cfg, self.publisher, self.clock = cfg, publisher, clock
        self.lock = threading.RLock()  # held by a post cycle and by each store call of a batch
        self.store = cast("Store", _Locked(store, self.lock))  # the same interface, every call locked
        self.make_batch = make_batch
        self.rng = rng or random.Random()
        self.state = PostingState()
        self.scheduler: Any = None
        self.load_generator: Callable[[], Any] = lazy_generator(cfg)  # shared by refill and replies
        self._busy = 0  # jobs running now (shutdown abandons a batch still being generated)

    # -- start-up --------------------------------------------------------------------------------
    def startup(self) -> None:
        """Reconcile rows a crash left in `posting`, then mark the account as a bot."""
        self._reconcile()
        if self.cfg.mastodon.set_bot_flag and hasattr(self.publisher, "set_bot_profile"):
            try:
                self.publisher.set_bot_profile(self.cfg.mastodon.bot_note)
            except PublishError as exc:
                log.warning("could not set the bot flag and note: %s", exc)

    def _reconcile(self) -> None:
        with self.lock:
            outs = reconcile(self.store, self.publisher, self.clock())
        self.state.reconciled = all(o.result != "unknown" for o in outs)

    # -- the jobs --------------------------------------------------------------------------------
    def refill_job(self) -> RefillOutcome:
        """Top the queue up; one log line."""
        self._busy += 1
        try:
            out = refill(self.clock(), self.store, self.cfg, self.make_batch)
        except Exception as exc:  # the worker keeps running; the next run tries again
            log.exception("refill failed")
            out = RefillOutcome(errors=[repr(exc)])
        finally:
            self._busy -= 1
        log.info("refill: made=%d queued=%d approved=%d posted=0 errors=%d",
                 out.made, out.queued, out.approved, len(out.errors))
        return out

    def post_job(self) -> PostOutcome:
        """Post the next approved bio unless in quiet hours; one log line."""
        now = self.clock()
        if now.astimezone().hour in self.cfg.schedule.quiet_hours:
            out = PostOutcome("quiet")
        else:
            out = self._post(now)
        posted = int(out.result == "posted")
        errors = int(out.result in ("retry", "auth", "rejected", "error", "stopped"))
        log.info("post: result=%s made=0 queued=0 posted=%d errors=%d%s", out.result, posted, errors,
                 f" bio={out.candidate_id}" if out.candidate_id else "")
        if out.retry_at is not None:
            self._schedule_retry(out.retry_at)
        return out

    def _post(self, now: datetime) -> PostOutcome:
        self._busy += 1
        try:
            with self.lock:  # the whole cycle: start_posting -> HTTP -> mark_*
                if not self.state.reconciled:
                    self._reconcile()
                return post_next(now, self.store, self.publisher, self.cfg, rng=self.rng,
                                 state=self.state)
        except Exception as exc:  # database trouble or a bug: log it, keep the worker alive
            log.exception("post failed")
            # a row may be left in `posting` (e.g. mark_posted failed after the HTTP post): without
            # this it would wait for a restart; the next cycle reconciles it first
            self.state.reconciled = False
            return PostOutcome("error", error=repr(exc))
        finally:
            self._busy -= 1

    def replies_job(self) -> Any:
        """Read mentions, answer operator DMs, post approved replies (bot/posting/mentions.py); one line."""
        from bot.posting.mentions import PollOutcome, poll_cycle

        try:
            with self.lock:  # posts replies: the same lock as a post cycle
                out = poll_cycle(self.clock(), self.store, self.publisher, self.cfg, self.state)
        except Exception as exc:  # the worker keeps running; the next poll starts where this one stopped
            log.exception("replies failed")
            out = PollOutcome(errors=[repr(exc)])
        log.info("replies: read=%d new=%d ignored=%d commands=%d errors=%d",
                 out.read, out.new, out.ignored, out.commands, len(out.errors))
        return out

    def answer_job(self) -> Any:
        """Generate the answers to new requests (bot/posting/replies.py); one log line."""
        from bot.posting.replies import AnswerOutcome, answer_requests

        self._busy += 1
        try:
            cfg = fit_to_instance(self.cfg, self.publisher)  # bios that fit the instance's limit
            out = answer_requests(cfg, self.store, self.load_generator, self.clock())
        except Exception as exc:
            log.exception("answering requests failed")
            out = AnswerOutcome(errors=[repr(exc)])
        finally:
            self._busy -= 1
        log.info("answers: queued=%d approved=%d retry=%d failed=%d errors=%d",
                 out.queued, out.approved, out.retry, out.failed, len(out.errors))
        return out

    def _schedule_retry(self, when: datetime) -> None:
        """Retry a failed post at its retry time instead of waiting for the next post slot."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.add_job(self.post_job, "date", run_date=when + timedelta(seconds=1),
                                   id="retry", replace_existing=True, coalesce=True, max_instances=1,
                                   misfire_grace_time=self.cfg.schedule.misfire_grace_s)

    # -- running ---------------------------------------------------------------------------------
    def run_once(self) -> tuple[RefillOutcome, PostOutcome]:
        """Each job once (cron-style use)."""
        self.startup()
        if self.cfg.replies.enabled:
            self.replies_job()
            self.answer_job()
            self.replies_job()  # post what was just approved
        return self.refill_job(), self.post_job()

    def run_forever(self) -> None:
        """The BlockingScheduler until SIGTERM/SIGINT; then wait for the in-flight post and stop."""
        stop = threading.Event()

        def on_signal(signum: int, _frame: Any) -> None:
            log.info("signal %s: stopping after the running job's transaction", signum)
            stop.set()
            if self.scheduler is not None and self.scheduler.running:
                self.scheduler.shutdown(wait=False)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.startup()
        self.scheduler = build_scheduler(self)
        if stop.is_set():  # signalled during start-up
            self._finish()
            return
        log.info("worker started: %s", ", ".join(f"{j.id} {j.trigger}"
                                                  for j in self.scheduler.get_jobs()))
        self.scheduler.start()  # blocks until shutdown
        self._finish()

    def _finish(self) -> None:
        """Wait for the post cycle or store write in flight; never leave one half done."""
        if not self.lock.acquire(timeout=SHUTDOWN_WAIT_S):
            log.error("a post did not finish in %s s; stopping anyway (reconciled at the next start)",
                      SHUTDOWN_WAIT_S)
        if self._busy:  # a batch still sampling: nothing of it is half-written, so leave it
            log.info("worker stopped (abandoned a batch being generated)")
            logging.shutdown()
            os._exit(0)  # its thread would otherwise be joined at exit and block on our lock
        log.info("worker stopped")
        self.lock.release()


def build_scheduler(worker: Worker) -> Any:
    """A BlockingScheduler with the refill and post jobs from [schedule]."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    s = worker.cfg.schedule
    # coalesce: after a pause run a missed job once, not once per missed slot (no burst of posts)
    once = {"coalesce": True, "max_instances": 1, "misfire_grace_time": s.misfire_grace_s}
    threads = 4 if worker.cfg.replies.enabled else 2  # one per job: a slow batch never delays a post
    sched = BlockingScheduler(executors={"default": ThreadPoolExecutor(threads)},
                              job_defaults=once)
    sched.add_job(worker.refill_job, IntervalTrigger(minutes=s.refill_every_minutes), id="refill",
                  next_run_time=worker.clock(), **once)  # fill the queue right away
    sched.add_job(worker.post_job, post_trigger(worker.cfg), id="post", **once)
    if worker.cfg.replies.enabled:  # bios on request: own pace, [replies] poll_seconds
        every = IntervalTrigger(seconds=worker.cfg.replies.poll_seconds)
        sched.add_job(worker.replies_job, every, id="replies", next_run_time=worker.clock(), **once)
        sched.add_job(worker.answer_job, every, id="answer", **once)
    return sched


def post_trigger(cfg: Config) -> Any:
    """A CronTrigger for [schedule] post_cron, else every post_every_minutes; both with jitter."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    s = cfg.schedule
    jitter = s.jitter_seconds or None
    if not s.post_cron:
        return IntervalTrigger(minutes=s.post_every_minutes, jitter=jitter)
    try:
        trigger = CronTrigger.from_crontab(s.post_cron)
    except ValueError as exc:
        raise ConfigError(f"{cfg.source}: 'schedule.post_cron' is not a crontab line "
                          f"(minute hour day month weekday): {exc}") from exc
    trigger.jitter = jitter
    return trigger


def lazy_generator(cfg: Config) -> Callable[[], Any]:
    """A loader of the configured model that loads it on first call only (loading takes seconds)."""
    generator: Any = None

    def load() -> Any:
        nonlocal generator
        from bot.generation.refill import load_generator

        if generator is None:
            generator = load_generator(cfg)
        return generator

    return load


def batch_maker(cfg: Config, store: Any, publisher: Any = None,
                load: Callable[[], Any] | None = None) -> Callable[..., Any]:
    """generate_batch bound to this config and store; the model loads on first use."""
    load = load or lazy_generator(cfg)

    def make_batch(*, n: int, now: datetime) -> Any:
        from bot.generation.refill import generate_batch

        generator = load()  # once per worker
        batch_cfg = fit_to_instance(cfg, publisher)
        return generate_batch(batch_cfg, store, generator, n=n, prompt=None, pronouns=None, seed=None,
                              now=now)

    return make_batch


def fit_to_instance(cfg: Config, publisher: Any) -> Config:
    """Filter to the instance's status limit (cached by the publisher) so approved bios fit."""
    if publisher is None:
        return cfg
    try:
        limit = publisher.max_characters()
    except PublishError as exc:  # the instance is down: bot.toml's limit will do for this batch
        log.warning("could not read the instance's status limit: %s", exc)
        return cfg
    if cfg.filters.max_chars <= limit:
        return cfg
    return dataclasses.replace(cfg, filters=dataclasses.replace(cfg.filters, max_chars=limit))


def build_worker(cfg: Config) -> Worker:
    """The real store, publisher and lazily loaded generator."""
    from bot.posting.publishers import make_publisher
    from bot.store.store import Store

    store = Store.open(database_url(cfg), busy_timeout_s=cfg.database.busy_timeout_s)
    worker = Worker(cfg, store, make_publisher(cfg), lambda **kw: None)
    worker.make_batch = batch_maker(cfg, worker.store, worker.publisher, worker.load_generator)  # writes locked
    return worker


def run(cfg: Config, *, once: bool = False) -> tuple[RefillOutcome, PostOutcome] | None:
    """`djbios run`: the worker, forever or each job once."""
    if not log.isEnabledFor(logging.INFO):
        log.setLevel(logging.INFO)  # the one line per job run is the worker's heartbeat
    worker = build_worker(cfg)
    if once:
        return worker.run_once()
    worker.run_forever()
    return None


def post_now(cfg: Config, *, dry_run: bool = False, rng: random.Random | None = None) -> PostOutcome:
    """`djbios post`: reconcile crash leftovers, then post the next approved bio now."""
    from bot.posting.publishers import make_publisher
    from bot.store.store import Store

    store = Store.open(database_url(cfg), busy_timeout_s=cfg.database.busy_timeout_s)
    try:
        if dry_run:  # needs no token and touches nothing
            return post_next(utcnow(), store, None, cfg, rng=rng, dry_run=True)  # type: ignore[arg-type]
        publisher = make_publisher(cfg)
        reconcile(store, publisher, utcnow())
        return post_next(utcnow(), store, publisher, cfg, rng=rng)
    finally:
        store.close()
