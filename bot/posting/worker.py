"""The long-running worker: its jobs, APScheduler 3, signals and logging (bot/posting/launch.py builds a real one).

Two jobs: refill (interval) and post (cron or every N minutes, jitter, quiet hours), both with
coalesce=True, max_instances=1 and a misfire grace time. A post cycle and every store write
hold one lock, so SIGTERM waits for them and the process never stops mid-transaction. A third,
short job renews the worker's leases (one worker per role per database, bot/store/leases.py).

Roles (ROLES): "post" runs the post job (no model), "generate" the refill job (the GPU box), "all"
both; processes of different roles share one database. A refill runs the model in a child process
(bot/generation/child.py), so this process never imports TensorFlow.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from bot.config import Config
from bot.errors import ConfigError
from bot.posting.jobs import PostingState, PostOutcome, RefillOutcome, post_next, queue_size, reconcile, refill
from bot.posting.leasekeeper import LeaseKeeper
from bot.posting.liveness import watch
from bot.posting.pause import active_pause
from bot.posting.profile import ensure_profile
from bot.posting.publishers import Publisher
from bot.posting.schedule import build_scheduler, next_post_at
from bot.posting.wiring import fit_to_instance, utcnow, wire_publisher
from bot.store.leases import ROLES as LEASE_ROLES
from bot.store.leases import make_holder

if TYPE_CHECKING:
    from bot.store.store import Store

log = logging.getLogger(__name__)

SHUTDOWN_WAIT_S = 45.0  # longest wait for an in-flight post (request timeout is ~30 s)
LEASE_LOST = "another process took over this worker's lease (it stalled past [schedule] lease_stale_s)"
ROLES = ("all", "post", "generate")  # `djbios run --role`; "all" is one process doing both


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

    def __init__(
        self,
        cfg: Config,
        store: Store,
        publisher: Publisher | None,
        make_batch: Callable[..., Any],
        *,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utcnow,
        role: str = "all",
    ) -> None:
        if role not in ROLES:
            raise ConfigError(f"unknown worker role {role!r}; one of {', '.join(ROLES)}")
        self.cfg, self.clock, self.role = cfg, clock, role
        self.lock = threading.RLock()  # held by a post cycle and by each store call of a batch
        self.store = cast("Store", _Locked(store, self.lock))  # the same interface, every call locked
        self.alerter, self.publisher = wire_publisher(publisher, self.store, cfg, clock)
        self.make_batch = make_batch
        self.rng = rng or random.Random()
        self.state = PostingState()
        self.scheduler: Any = None
        self._busy = 0  # jobs running now (shutdown abandons a batch still being generated)
        self.child: subprocess.Popen[str] | None = None  # the refill's model process, while it runs
        self.holder = make_holder()  # names this process in leases and claims
        # the raw store: a heartbeat must not wait for a post cycle holding the lock
        held = LEASE_ROLES if role == "all" else (role,)
        self.leases = LeaseKeeper(store, self.holder, held, cfg.schedule.lease_stale_s, clock)

    @property
    def poster(self) -> Publisher:
        """The publisher of a role that posts (only a generate-only box runs without one)."""
        if self.publisher is None:
            raise ConfigError("this worker has no publisher: set [mastodon] token_file, or run with --role generate")
        return self.publisher

    # -- start-up --------------------------------------------------------------------------------
    def startup(self) -> None:
        """Reconcile rows a crash left in `posting`, then make sure the profile says it is a bot (once)."""
        if self.role == "generate":  # posts nothing, so settles no posts
            return
        self._reconcile()
        ensure_profile(self.poster, self.cfg)

    def track_child(self, proc: subprocess.Popen[str]) -> None:
        """Remember the refill's child process, so shutdown can stop it."""
        self.child = proc

    def _reconcile(self) -> None:
        with self.lock:
            outs = reconcile(self.store, self.poster, self.clock(), cfg=self.cfg, holder=self.holder)
        self.state.reconciled = all(o.result != "unknown" for o in outs)

    # -- the jobs --------------------------------------------------------------------------------
    def refill_job(self) -> RefillOutcome:
        """Top the queue up (the generate role's cycle); one log line."""
        self._busy += 1
        needed = False
        try:
            needed = queue_size(self.store, self.cfg) < self.cfg.schedule.min_queue  # did this run have work to do
            now = self.clock()
            # the instance's limit, as the batch was filtered: auto-approval judges under the same settings
            out = refill(now, self.store, fit_to_instance(self.cfg, self.publisher), self.make_batch)
        except Exception as exc:  # the worker keeps running; the next run tries again
            log.exception("refill failed")
            out = RefillOutcome(errors=[repr(exc)])
        finally:
            self._busy -= 1
        log.info(
            "refill: made=%d queued=%d approved=%d posted=0 errors=%d%s",
            out.made,
            out.queued,
            out.approved,
            len(out.errors),
            f" error={out.errors[-1]}" if out.errors else "",
        )
        self.liveness_job(refill=(out, needed))
        return out

    def post_job(self) -> PostOutcome:
        """Post the next approved bio unless in quiet hours; one log line."""
        now = self.clock()
        paused = active_pause(self.store, now)
        if paused is not None:  # `djbios pause`: every worker and cron run sees it in the database
            out = PostOutcome("paused", error=paused.describe())
        elif now.astimezone().hour in self.cfg.schedule.quiet_hours:
            out = PostOutcome("quiet")
        else:
            out = self._post(now)
        posted = int(out.result == "posted")
        errors = int(out.result in ("retry", "failed", "auth", "rejected", "error", "stopped"))
        log.info(
            "post: result=%s made=0 queued=0 posted=%d errors=%d%s",
            out.result,
            posted,
            errors,
            f" bio={out.candidate_id}" if out.candidate_id else "",
        )
        if out.retry_at is not None:
            self._schedule_retry(out.retry_at)
        self.liveness_job(post=out)
        return out

    def liveness_job(self, **outcome: Any) -> None:
        """Alert what is wrong (queue, failures, silence, this job's outcome), resolve what cleared."""
        now = self.clock()
        try:
            job = self.scheduler.get_job("post") if self.scheduler is not None else None
            # without a scheduler (run --once, a test) every call is a post slot: the next one is now;
            # a generate-only worker posts nothing itself: the schedule says when the post side posts
            next_post = job.next_run_time if job is not None else now
            if job is None and self.role == "generate":
                next_post = next_post_at(self.cfg, now)
            watch(self.alerter, self.store, self.cfg, now, next_post, **outcome)
        except Exception:  # a check must never stop the worker
            log.exception("liveness check failed")

    def _post(self, now: datetime) -> PostOutcome:
        self._busy += 1
        try:
            with self.lock:  # the whole cycle: start_posting -> HTTP -> mark_*
                if not self.state.reconciled:
                    self._reconcile()
                return post_next(
                    now, self.store, self.poster, self.cfg, rng=self.rng, state=self.state, holder=self.holder
                )
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
                out = poll_cycle(self.clock(), self.store, self.poster, self.cfg, self.state, holder=self.holder)
        except Exception as exc:  # the worker keeps running; the next poll starts where this one stopped
            log.exception("replies failed")
            out = PollOutcome(errors=[repr(exc)])
        log.info(
            "replies: read=%d new=%d ignored=%d commands=%d errors=%d",
            out.read,
            out.new,
            out.ignored,
            out.commands,
            len(out.errors),
        )
        return out

    def answer_job(self) -> Any:
        """Answer new follower requests in a child process with the model (bot/generation/child.py)."""
        from bot.generation.child import answer_in_child
        from bot.posting.replies import AnswerOutcome

        self._busy += 1
        try:
            limit = fit_to_instance(self.cfg, self.publisher).filters.max_chars  # bios that fit the instance
            out = answer_in_child(
                self.cfg,
                self.store,
                self.clock(),
                on_start=self.track_child,
                max_chars=limit if limit < self.cfg.filters.max_chars else None,
            )
        except Exception as exc:
            log.exception("answering requests failed")
            out = AnswerOutcome(errors=[repr(exc)])
        finally:
            self._busy -= 1
        log.info(
            "answers: queued=%d approved=%d retry=%d failed=%d errors=%d",
            out.queued,
            out.approved,
            out.retry,
            out.failed,
            len(out.errors),
        )
        self.liveness_job(answers=out)  # the log alone would not tell the operator
        return out

    def _schedule_retry(self, when: datetime) -> None:
        """Retry a failed post at its retry time instead of waiting for the next post slot."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.add_job(
                self.post_job,
                "date",
                run_date=when + timedelta(seconds=1),
                id="retry",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=self.cfg.schedule.misfire_grace_s,
            )

    def lease_job(self) -> bool:
        """Renew the leases; one taken over means another worker runs now: stop posting and stop."""
        if self.leases.renew():
            return True
        self._lease_lost()
        return False

    def _lease_lost(self) -> None:
        """Another worker runs now: post nothing more, and stop the scheduler if there is one."""
        self.state.stopped, self.state.reason = True, LEASE_LOST
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    # -- running ---------------------------------------------------------------------------------
    def run_once(self) -> tuple[RefillOutcome | None, PostOutcome | None]:
        """Each job of the role once (cron-style use), holding its leases; None for a job it does not run.

        The leases beat from a thread of their own meanwhile, as the long-lived worker's do: a slow
        refill must not let another worker take over while this one still posts."""
        self.leases.take()
        try:
            with self.leases.beating(self._lease_lost):
                return self._each_job_once()
        finally:
            self.leases.release()

    def _each_job_once(self) -> tuple[RefillOutcome | None, PostOutcome | None]:
        self.startup()
        posts, generates = self.role != "generate", self.role != "post"
        if self.cfg.replies.enabled:
            if posts:
                self.replies_job()  # read mentions into requests
            if generates:
                self.answer_job()
            if posts:
                self.replies_job()  # post what was just approved
        filled = self.refill_job() if generates else None
        return filled, (self.post_job() if posts else None)

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
        self.leases.take()  # a second worker on this database stops here, naming the first
        self.startup()
        self.scheduler = build_scheduler(self)
        if stop.is_set():  # signalled during start-up
            self._finish()
            return
        log.info("worker started: %s", ", ".join(f"{j.id} {j.trigger}" for j in self.scheduler.get_jobs()))
        self.scheduler.start()  # blocks until shutdown
        self._finish()

    def _finish(self) -> None:
        """Wait for the post cycle or store write in flight; never leave one half done."""
        if not self.lock.acquire(timeout=SHUTDOWN_WAIT_S):
            log.error("a post did not finish in %s s; stopping anyway (reconciled at the next start)", SHUTDOWN_WAIT_S)
        self.leases.release()
        if self._busy:  # a batch still sampling: its rows are whole transactions, so stop it there
            if self.child is not None and self.child.poll() is None:
                self.child.kill()
            log.info("worker stopped (abandoned a batch being generated)")
            logging.shutdown()
            os._exit(0)  # its thread would otherwise be joined at exit and block on our lock
        log.info("worker stopped")
        self.lock.release()
