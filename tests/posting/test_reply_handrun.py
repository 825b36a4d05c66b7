"""A hand-run `djbios post` cannot take over a reply the worker is sending (its claim names the worker)."""

from __future__ import annotations

import threading
import time
from typing import Any

from bot.filters.gate import approve, default_pipeline
from bot.posting.launch import post_now
from bot.posting.replies import answer_requests
from bot.posting.worker import Worker
from tests.posting.replies_kit import NOW, FakeGenerator, follower, open_store, publisher, reply_config


def _wait(cond: Any, timeout_s: float = 20.0) -> bool:
    deadline = time.time() + timeout_s
    while not cond() and time.time() < deadline:
        time.sleep(0.02)
    return bool(cond())


def test_a_hand_run_post_leaves_the_workers_in_flight_reply_alone(tmp_path, mastodon):
    cfg = reply_config(tmp_path, mastodon, mastodon={"request_timeout_s": 10.0})
    store = open_store(cfg)
    worker = Worker(cfg, store, publisher(cfg), lambda **kw: None)  # the real clock, as `djbios run`
    worker.leases.take()
    try:
        worker.replies_job()  # the first poll only marks where "now" is
        mention = follower(mastodon, "fan").ask("@djbios bio for Nadia Ferro (she/her) please")
        worker.replies_job()
        answer_requests(cfg, store, lambda: FakeGenerator(), NOW)
        (pending,) = [c for c in store.list("pending") if c.request_id is not None]
        reply = approve(store, default_pipeline(cfg, store), pending.id)
        mastodon.fault({"type": "latency", "delay_ms": 2500})  # holds the worker's POST open
        outs: list[Any] = []
        sender = threading.Thread(target=lambda: outs.append(worker.replies_job()))
        sender.start()
        assert _wait(lambda: store.get(reply.id).status == "posting"), "the worker never sent the reply"
        hand = post_now(cfg)  # while the worker's POST hangs: no raise, and nothing of the worker's is taken
        assert hand.result == "idle", hand
        assert store.get(reply.id).status == "posting"
        sender.join(timeout=30)
    finally:
        worker.leases.release()
    assert outs and outs[0].errors == [], outs
    assert store.get(reply.id).status == "posted"
    replies = [s for s in mastodon.statuses() if str(s["in_reply_to_id"]) == str(mention["id"])]
    assert len(replies) == 1  # sent once, by the worker


class _Raced:
    """A real store where another process claims each listed reply between our read and our claim."""

    def __init__(self, store: Any, other: Any) -> None:
        self._store, self._other = store, other

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def list(self, *args: Any, **kw: Any) -> Any:
        rows = self._store.list(*args, **kw)
        for c in rows:
            if c.request_id is not None and c.status == "approved":
                self._other.start_posting(c.id, holder="other-host:1:x")
        return rows


def test_a_reply_claimed_by_another_process_is_skipped_not_raised(tmp_path, mastodon):
    from bot.posting.mentions import poll_cycle

    cfg = reply_config(tmp_path, mastodon)
    store, pub = open_store(cfg), publisher(cfg)
    poll_cycle(NOW, store, pub, cfg, holder="me")  # marks where "now" is
    follower(mastodon, "fan").ask("@djbios bio for Nadia Ferro (she/her) please")
    poll_cycle(NOW, store, pub, cfg, holder="me")
    answer_requests(cfg, store, lambda: FakeGenerator(), NOW)
    (pending,) = [c for c in store.list("pending") if c.request_id is not None]
    approve(store, default_pipeline(cfg, store), pending.id)
    out = poll_cycle(NOW, _Raced(store, open_store(cfg)), pub, cfg, holder="me")
    assert out.errors == []
    c = store.get(pending.id)
    assert (c.status, c.claimed_by) == ("posting", "other-host:1:x")  # the winner's, untouched
