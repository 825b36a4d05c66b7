"""One worker per role per database: a lease row per role, renewed by its holder's heartbeat.

A lease is taken over only when its heartbeat is older than `stale_after` seconds ([schedule]
lease_stale_s), or when its holder is a process on this host that no longer exists (a crash, so a
restarted worker need not wait). Holders are "host:pid:random" (`make_holder`), computed per process:
a forked child is a new holder.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.store.candidate import naive_utc
from bot.store.tables import LeaseRow

if TYPE_CHECKING:
    from bot.store.store import Store

ROLES = ("post", "generate")  # `djbios run` holds both


@dataclass(frozen=True)
class Lease:
    """Who holds a role, since when, and their last heartbeat (naive UTC)."""

    role: str
    holder: str
    started_at: datetime
    heartbeat_at: datetime

    def describe(self, now: datetime | None = None) -> str:
        """For people: host H pid P since T (heartbeat N s ago)."""
        host, pid = host_and_pid(self.holder)
        ago = (naive_utc(now) - self.heartbeat_at).total_seconds()
        return (
            f"host {host} pid {pid} since {self.started_at.isoformat(timespec='seconds')} UTC "
            f"(heartbeat {ago:.0f} s ago)"
        )


def make_holder() -> str:
    """This process's holder id: host, pid and a random tag (a reused pid is still a new holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def host_and_pid(holder: str) -> tuple[str, int | None]:
    """The host and pid of a holder id (pid None when it is not one of ours)."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    return host, int(pid) if pid.isdigit() else None


def is_dead_here(holder: str) -> bool:
    """True when the holder ran on this host and its process is gone (kill -9, a crash)."""
    host, pid = host_and_pid(holder)
    if host != socket.gethostname() or pid is None:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by someone else
        return False
    return False


def is_live(lease: Lease | None, now: datetime | None, stale_after: float) -> bool:
    """A lease whose holder still beats (heartbeat within `stale_after` seconds) and is not known dead."""
    if lease is None:
        return False
    fresh = naive_utc(now) - lease.heartbeat_at <= timedelta(seconds=stale_after)
    return fresh and not is_dead_here(lease.holder)


def get(store: Store, role: str) -> Lease | None:
    """The lease of `role`, if any row exists."""
    with store.read_session() as s:
        row = s.get(LeaseRow, role)
        return None if row is None else Lease(row.role, row.holder, row.started_at, row.heartbeat_at)


def held_by(store: Store, holder: str) -> list[Lease]:
    """Every lease this holder has (a claim of a holder with a live lease is not stale)."""
    return [lease for role in ROLES if (lease := get(store, role)) is not None and lease.holder == holder]


def acquire(store: Store, role: str, holder: str, now: datetime | None, stale_after: float) -> bool:
    """Take `role` for `holder`: True if free, stale, already ours, or its holder died here."""
    when = naive_utc(now)
    with store.write_session() as s:  # BEGIN IMMEDIATE: two starters take turns, one wins
        row = s.get(LeaseRow, role, with_for_update=True)
        if row is None:
            s.add(LeaseRow(role=role, holder=holder, started_at=when, heartbeat_at=when))
            return True
        current = Lease(row.role, row.holder, row.started_at, row.heartbeat_at)
        if row.holder != holder and is_live(current, when, stale_after):
            return False
        if row.holder != holder:
            row.holder, row.started_at = holder, when
        row.heartbeat_at = when
        return True


def renew(store: Store, role: str, holder: str, now: datetime | None) -> bool:
    """The heartbeat; False when the lease is no longer ours (taken over after we stalled)."""
    with store.write_session() as s:
        row = s.get(LeaseRow, role, with_for_update=True)
        if row is None or row.holder != holder:
            return False
        row.heartbeat_at = naive_utc(now)
        return True


def release(store: Store, role: str, holder: str) -> None:
    """Give `role` up (at a clean stop), if it is still ours."""
    with store.write_session() as s:
        row = s.get(LeaseRow, role, with_for_update=True)
        if row is not None and row.holder == holder:
            s.delete(row)
