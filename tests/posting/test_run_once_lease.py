"""`djbios run --once` beats its leases while it runs, as the long-lived worker does (real SQLite, real clock)."""

from __future__ import annotations

import time

from bot.config import database_url, load_config
from bot.posting.publishers import make_publisher
from bot.posting.worker import LEASE_LOST, Worker
from bot.store import leases
from bot.store.store import Store
from bot.store.tables import LeaseRow

STALE_S = 5.0  # the smallest [schedule] lease_stale_s: a beat every 1.25 s


def _worker(tmp_path, mastodon, make_batch):
    cfg = load_config(mastodon.write_config(tmp_path, {"schedule": {"lease_stale_s": STALE_S, "min_queue": 2}}))
    store = Store.open(database_url(cfg))
    return store, Worker(cfg, store, make_publisher(cfg), make_batch)


def test_a_slow_run_once_keeps_its_lease_fresh(tmp_path, mastodon):
    beats = []

    def slow_batch(*, n, now):  # a refill child that takes longer than two heartbeats
        beats.append(leases.get(store, "generate").heartbeat_at)
        time.sleep(3.0)
        beats.append(leases.get(store, "generate").heartbeat_at)

    store, worker = _worker(tmp_path, mastodon, slow_batch)
    filled, posted = worker.run_once()
    assert filled is not None and posted is not None and posted.result == "idle"
    first, last = beats
    assert (last - first).total_seconds() >= 1.0  # renewed while the batch ran
    assert leases.get(store, "generate") is None and leases.get(store, "post") is None  # released at the end


def test_a_run_once_whose_lease_is_taken_over_posts_nothing_more(tmp_path, mastodon):
    def stalled_batch(*, n, now):  # meanwhile another worker took the post lease over
        with store.write_session() as s:
            s.get(LeaseRow, "post").holder = "elsewhere:1:abcd"
        time.sleep(2.0)

    store, worker = _worker(tmp_path, mastodon, stalled_batch)
    store.approve(
        store.add("DJ Heartbeat plays a metronome at 120 bpm for six hours straight, every Sunday.", source="test").id
    )
    _, posted = worker.run_once()
    assert (posted.result, posted.error) == ("stopped", LEASE_LOST)
    assert store.list("approved") != [] and [s for s in mastodon.statuses() if s["visibility"] != "direct"] == []
    assert leases.get(store, "post").holder == "elsewhere:1:abcd"  # not released: it is not ours
