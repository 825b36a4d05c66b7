"""The worker's leases: taken at start (or a clear refusal naming the holder), renewed, released at stop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from bot.errors import LeaseHeld
from bot.store import leases

if TYPE_CHECKING:
    from bot.store.store import Store

log = logging.getLogger(__name__)


class LeaseKeeper:
    """The leases of `roles` for `holder` on one database."""

    def __init__(
        self, store: Store, holder: str, roles: tuple[str, ...], stale_after_s: float, clock: Callable[[], datetime]
    ) -> None:
        self.store, self.holder, self.roles = store, holder, roles
        self.stale_after_s, self.clock = stale_after_s, clock
        self.held: list[str] = []

    @property
    def renew_every_s(self) -> float:
        """Heartbeat interval (s): a quarter of the stale time, so one late beat never loses the lease."""
        return max(1.0, self.stale_after_s / 4)

    def take(self) -> None:
        """Take every role, or none: LeaseHeld names the holder of the first one that is taken."""
        now = self.clock()
        for role in self.roles:
            if not leases.acquire(self.store, role, self.holder, now, self.stale_after_s):
                self.release()
                other = leases.get(self.store, role)
                who = other.describe(now) if other else "another process"
                raise LeaseHeld(
                    f"another worker holds the {role!r} lease on this database: {who}. "
                    f"Stop it first; a lease is released at a clean stop, or taken over "
                    f"{self.stale_after_s:.0f} s after its last heartbeat ([schedule] lease_stale_s)"
                )
            self.held.append(role)
        log.info("took the %s lease(s) as %s", "/".join(self.roles), self.holder)

    def renew(self) -> bool:
        """Beat for every held role; False if one was taken over (we stalled past the stale time)."""
        now = self.clock()
        lost = [role for role in self.held if not leases.renew(self.store, role, self.holder, now)]
        for role in lost:
            other = leases.get(self.store, role)
            log.error("lost the %r lease to %s", role, other.describe(now) if other else "nobody")
            self.held.remove(role)
        return not lost

    def release(self) -> None:
        """Give back every held role."""
        for role in self.held:
            leases.release(self.store, role, self.holder)
        self.held = []

    @contextmanager
    def beating(self, on_lost: Callable[[], object]) -> Iterator[None]:
        """Renew every renew_every_s in a thread of its own while the block runs (`run --once`).

        The long-lived worker beats from its scheduler; a one-off run can take longer than the stale
        time too (a slow refill child, a post waiting on its timeout). `on_lost` runs once if a lease
        is taken over meanwhile."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.renew_every_s):
                if not self.renew():
                    on_lost()
                    return

        thread = threading.Thread(target=beat, name="lease-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
