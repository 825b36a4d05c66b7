"""Failures that will not change (an unknown 4xx, a refused token) stay alerted until the operator acts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.config import database_url, load_config
from bot.posting.alerts import open_alerts
from bot.posting.publishers import make_publisher
from bot.posting.worker import Worker
from bot.store.store import Store

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BIO = "DJ Four Hundred plays only B-sides, in a laundrette, on the first Tuesday of every month."


def _worker(tmp_path, mock, webhook, **sections):
    sections.setdefault("alerts", {})["urls"] = [webhook.url]
    cfg = load_config(mock.write_config(tmp_path, sections))
    store = Store.open(database_url(cfg))
    now = [T0]
    worker = Worker(cfg, store, make_publisher(cfg), lambda **kw: None, clock=lambda: now[0])
    return worker, store, now


def _open(store) -> dict[str, str]:
    return {a.key: a.message for a in open_alerts(store)}


def test_a_bio_failed_for_good_stays_alerted_until_the_operator_acts(tmp_path, mastodon, webhook):
    worker, store, now = _worker(tmp_path, mastodon, webhook, schedule={"min_queue": 0})
    c = store.approve(store.add(BIO, source="test", now=T0).id, now=T0)
    mastodon.fault({"type": "status", "status": 404})
    assert worker.post_job().result == "failed"  # the post job's own liveness pass runs after it
    key = f"bio-failed:{c.id}"
    assert key in _open(store)
    now[0] += timedelta(hours=1)
    worker.liveness_job()  # the next pass: still failed for good, so still open (and not sent twice)
    assert key in _open(store)
    assert len(webhook.messages("will not be retried")) == 1
    assert webhook.messages("resolved:") == []
    store.reject(c.id, now=now[0])  # the operator settles it: the alert clears
    worker.liveness_job()
    assert key not in _open(store)


def test_a_bio_failed_for_good_does_not_fill_the_queue(tmp_path, mastodon, webhook):
    worker, store, now = _worker(tmp_path, mastodon, webhook, schedule={"min_queue": 0})
    store.approve(store.add(BIO, source="test", now=T0).id, now=T0)
    mastodon.fault({"type": "status", "status": 410})
    assert worker.post_job().result == "failed"
    now[0] += timedelta(hours=1)
    assert worker.post_job().result == "idle"  # the next slot has nothing it may post
    (msg,) = webhook.messages("no approved bio")
    assert "queue-empty" in _open(store) and "djbios generate" in msg
