"""The operator's hand on the bot: `djbios pause`, `resume` and `status`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from bot.cli.common import App, listing, pass_app
from bot.text import visible

if TYPE_CHECKING:
    from bot.config import Config
    from bot.store.store import Store


def _now() -> datetime:
    return datetime.now(UTC)


@click.command()
@click.option(
    "--hours",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Resume by itself after this many hours (default: until `djbios resume`).",
)
@click.option("--reason", default="", help="Why; shown by `djbios status` and `djbios doctor`.")
@pass_app
def pause(app: App, hours: float | None, reason: str) -> None:
    """Stop posting and replies, for every worker and cron run on this database.

    The queue keeps filling; nothing goes out until the pause ends or `djbios resume`.

    \b
    Example:
      djbios pause --hours 12 --reason "instance maintenance"
      djbios pause
    """
    from bot.posting.pause import pause as set_pause

    store = app.store()
    try:
        p = set_pause(store, _now(), hours=hours, reason=reason)
    finally:
        store.close()
    click.echo(p.describe())


@click.command()
@pass_app
def resume(app: App) -> None:
    """End a pause: the next post slot posts again.

    \b
    Example:
      djbios resume
    """
    from bot.posting.pause import resume as lift

    store = app.store()
    try:
        was = lift(store, _now())
    finally:
        store.close()
    click.echo(f"resumed (was {was.describe()})" if was else "not paused; nothing to resume")


@click.command()
@pass_app
@listing
def status(app: App) -> None:
    """Say whether the bot posts: pause, queue, last and next post, workers, open alerts.

    \b
    Example:
      djbios status
    """
    store = app.store()
    try:
        for line in status_lines(app.config, store, _now()):
            click.echo(visible(line))  # alert texts quote servers' errors
    finally:
        store.close()


def status_lines(cfg: Config, store: Store, now: datetime) -> list[str]:
    """The lines of `djbios status`."""
    from bot.posting.alerts import open_alerts
    from bot.posting.pause import active_pause

    paused = active_pause(store, now)
    counts = store.count_by_status()
    lines = [
        f"posting: {paused.describe() if paused else 'on'}",
        "queue: " + ", ".join(f"{n} {s}" for s, n in counts.items()),
        _last_post(store, now),
        _next_post(cfg, now),
    ]
    lines += _leases(store, now)
    alerts = open_alerts(store)
    lines.append(f"alerts: {len(alerts)} open" if alerts else "alerts: none open")
    for a in alerts:
        sent = f", last sent {_ago(a.last_sent_at, now)}" if a.last_sent_at else ", not sent yet"
        lines.append(f"  {a.key} since {a.first_at:%Y-%m-%d %H:%M} UTC ({a.count}x{sent}): {a.message}")
    return lines


def _ago(when: datetime, now: datetime) -> str:
    """'3 h ago' for a naive-UTC time."""
    hours = (now.replace(tzinfo=None) - when).total_seconds() / 3600
    return f"{hours * 60:.0f} min ago" if hours < 1 else f"{hours:.1f} h ago"


def _last_post(store: Store, now: datetime) -> str:
    """When and where the last bio went out."""
    from sqlalchemy import select

    from bot.store.tables import CandidateRow

    q = (
        select(CandidateRow)
        .where(CandidateRow.posted_at.is_not(None), CandidateRow.status == "posted")
        .order_by(CandidateRow.posted_at.desc())
        .limit(1)
    )
    with store.read_session() as s:
        row = s.scalars(q).first()
        if row is None or row.posted_at is None:
            return "last post: none yet"
        return (
            f"last post: bio {row.id} at {row.posted_at:%Y-%m-%d %H:%M} UTC ({_ago(row.posted_at, now)}) "
            f"{row.posted_url or ''}".rstrip()
        )


def _next_post(cfg: Config, now: datetime) -> str:
    """When the schedule posts next."""
    from bot.errors import ConfigError
    from bot.posting.schedule import next_post_at

    try:
        nxt = next_post_at(cfg, now)
    except ConfigError as exc:
        return f"next post: unknown ({exc})"
    return f"next post: by {nxt.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if nxt else "next post: none scheduled"


def _leases(store: Store, now: datetime) -> list[str]:
    """The workers holding a role on this database (leases), if any."""
    from sqlalchemy import select

    from bot.store.tables import LeaseRow

    with store.read_session() as s:
        rows = list(s.scalars(select(LeaseRow).order_by(LeaseRow.role)))
    return [f"worker: {r.role} held by {r.holder}, heartbeat {_ago(r.heartbeat_at, now)}" for r in rows]
