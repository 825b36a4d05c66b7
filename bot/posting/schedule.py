"""The worker's schedule: APScheduler 3 jobs for a role, and when the next post is due.

Jobs run with coalesce=True (after a pause a missed job runs once, not once per missed slot: no burst
of posts), max_instances=1 and a misfire grace time; the lease heartbeat has a thread of its own, so a
long refill or post never makes the lease look stale.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.config import Config
from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.posting.worker import Worker


def build_scheduler(worker: Worker) -> Any:
    """A BlockingScheduler with the role's jobs (refill, post) from [schedule]."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    s = worker.cfg.schedule
    # coalesce: after a pause run a missed job once, not once per missed slot (no burst of posts)
    once = {"coalesce": True, "max_instances": 1, "misfire_grace_time": s.misfire_grace_s}
    threads = 4 if worker.cfg.replies.enabled else 2  # one per job: a slow batch never delays a post
    sched = BlockingScheduler(
        executors={"default": ThreadPoolExecutor(threads), "lease": ThreadPoolExecutor(1)},  # nor the heartbeat
        job_defaults=once,
    )
    replies = worker.cfg.replies.enabled  # bios on request: own pace, [replies] poll_seconds
    every = IntervalTrigger(seconds=worker.cfg.replies.poll_seconds)
    if worker.role != "post":
        sched.add_job(
            worker.refill_job,
            IntervalTrigger(minutes=s.refill_every_minutes),
            id="refill",
            next_run_time=worker.clock(),
            **once,
        )  # fill the queue right away
        if replies:
            sched.add_job(worker.answer_job, every, id="answer", **once)
    if worker.role != "generate":
        sched.add_job(worker.post_job, post_trigger(worker.cfg), id="post", **once)
        # its own job, at the refill's pace (the queue check looks one refill ahead), so a stuck refill
        # cannot silence it
        sched.add_job(worker.liveness_job, IntervalTrigger(minutes=s.refill_every_minutes), id="liveness", **once)
        if replies:
            sched.add_job(worker.replies_job, every, id="replies", next_run_time=worker.clock(), **once)
    sched.add_job(
        worker.lease_job, IntervalTrigger(seconds=worker.leases.renew_every_s), id="lease", executor="lease", **once
    )
    return sched


def next_post_at(cfg: Config, now: datetime) -> datetime | None:
    """When the schedule posts next after `now` (an interval counts from the worker's start: at most this)."""
    trigger = post_trigger(cfg)
    if not cfg.schedule.post_cron:
        return now + timedelta(minutes=cfg.schedule.post_every_minutes)
    fire: datetime | None = trigger.get_next_fire_time(None, now)
    return fire


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
        raise ConfigError(
            f"{cfg.source}: 'schedule.post_cron' is not a crontab line (minute hour day month weekday): {exc}"
        ) from exc
    trigger.jitter = jitter
    return trigger
