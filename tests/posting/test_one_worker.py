"""One worker per role per database, and a hand-run post that cannot hurt the worker's in-flight post."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli
from bot.config import database_url, load_config
from bot.posting.jobs import post_next, reconcile
from bot.posting.publishers import html_to_text, make_publisher
from bot.store import leases
from bot.store.store import Store

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DJBIOS = [sys.executable, "-m", "bot.cli"]
BIOS = [
    "DJ In Flight plays only records bought at airport lounges, and only at cruising altitude.",
    "DJ Hand Run mixes field recordings of car washes into deep house on Sunday mornings.",
]


def _setup(tmp_path: Path, mock, **sections):
    path = mock.write_config(tmp_path, sections)
    cfg = load_config(path)
    store = Store.open(database_url(cfg))
    ids = [store.approve(store.add(t, source="test").id).id for t in BIOS]
    return path, cfg, store, ids


def _wait(cond, timeout_s: float = 20.0) -> bool:
    deadline = time.time() + timeout_s
    while not cond() and time.time() < deadline:
        time.sleep(0.02)
    return bool(cond())


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)
    return err


def test_a_second_worker_on_the_same_database_exits_naming_the_first(tmp_path, mastodon):
    path, _, store, _ = _setup(tmp_path, mastodon, schedule={"post_every_minutes": 600, "min_queue": 0})
    first = subprocess.Popen([*DJBIOS, "--config", str(path), "run"], stderr=subprocess.PIPE, text=True)
    try:
        assert _wait(lambda: leases.get(store, "generate") is not None), "the first worker never started"
        for args in (["run"], ["run", "--once"]):
            second = subprocess.run([*DJBIOS, "--config", str(path), *args], capture_output=True, text=True, timeout=60)
            assert second.returncode != 0
            assert "another worker holds the 'post' lease" in second.stderr
            assert f"pid {first.pid} since" in second.stderr, second.stderr
        assert first.poll() is None  # the first one runs on, unharmed
    finally:
        err = _stop(first)
    assert first.returncode == 0, err[-2000:]
    assert leases.get(store, "post") is None  # released at a clean stop
    again = subprocess.run(
        [*DJBIOS, "--config", str(path), "run", "--once"], capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0, again.stderr[-2000:]


def test_a_hand_run_post_leaves_the_workers_in_flight_bio_alone(tmp_path, mastodon):
    path, _, store, (a, b) = _setup(
        tmp_path, mastodon, mastodon={"request_timeout_s": 10.0}, schedule={"post_every_minutes": 0.01, "min_queue": 0}
    )
    mastodon.fault({"type": "latency", "delay_ms": 2500})  # holds the worker's first POST open
    worker = subprocess.Popen([*DJBIOS, "--config", str(path), "run"], stderr=subprocess.PIPE, text=True)
    try:
        assert _wait(lambda: [c.id for c in store.list("posting")] == [a]), "the worker never posted"
        r = CliRunner().invoke(cli, ["--config", str(path), "post"])  # while the worker's POST hangs
        assert r.exit_code == 0 and f"posted bio {b}:" in r.output, r.output
        assert store.get(a).status == "posting"  # not marked failed under the worker
        assert _wait(lambda: store.get(a).status == "posted")
    finally:
        err = _stop(worker)
    assert "result=error" not in err and "post: result=posted" in err, err[-3000:]
    texts = sorted(html_to_text(s["content"]) for s in mastodon.statuses() if s["visibility"] != "direct")
    assert texts == sorted(BIOS)  # the worker's bio once, the hand-run's once


class _Raced:
    """A real store where another process claims each bio between our read and our claim."""

    def __init__(self, store: Store, other: Store) -> None:
        self._store, self._other = store, other
        self.raced: set[int] = set()

    def __getattr__(self, name):
        return getattr(self._store, name)

    def next_approved(self, **kw):
        c = self._store.next_approved(**kw)
        if c is not None and c.id not in self.raced:
            self.raced.add(c.id)
            self._other.start_posting(c.id, holder="other-host:1:x")
        return c


def test_the_loser_of_a_claim_moves_on_and_never_fails_the_winners_bio(tmp_path, mastodon):
    _, cfg, store, (a, b) = _setup(tmp_path, mastodon)
    raced = _Raced(store, Store.open(database_url(cfg)))
    raced.raced.add(b)  # only the first bio is taken from under us
    out = post_next(T0, raced, make_publisher(cfg), cfg, holder="me")
    assert (out.result, out.candidate_id) == ("posted", b)
    assert store.get(a).status == "posting" and store.get(a).claimed_by == "other-host:1:x"
    raced.raced.clear()
    c = store.add("DJ Third Wheel spins only the B-sides of singles nobody bought in 1987.", source="t")
    store.approve(c.id)
    assert post_next(T0, raced, make_publisher(cfg), cfg, holder="me").result == "idle"  # all taken


def test_reconcile_leaves_a_live_holders_claim_and_settles_it_once_stale(tmp_path, mastodon):
    _, cfg, store, (a, _) = _setup(tmp_path, mastodon)
    worker = "other-host:42:w"
    now = datetime.now(UTC)
    assert leases.acquire(store, "post", worker, now, cfg.schedule.lease_stale_s)
    store.start_posting(a, now=now, holder=worker)
    pub = make_publisher(cfg)
    assert [o.result for o in reconcile(store, pub, now, cfg=cfg, holder="me")] == ["held"]
    later = now + timedelta(seconds=cfg.schedule.lease_stale_s + 1)  # its heartbeat stopped
    assert [o.result for o in reconcile(store, pub, later, cfg=cfg, holder="me")] == ["retry"]
    assert store.get(a).status == "failed"
