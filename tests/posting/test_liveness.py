"""Liveness: an empty queue, a failing refill and a silent day each alert once (injected clock, webhook)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from bot.cli import cli
from bot.config import Config, database_url, load_config
from bot.errors import ModelError
from bot.posting.jobs import PostOutcome, RefillOutcome
from bot.posting.liveness import failed_bios, queue_empty, refill_condition, silent, store_conditions
from bot.posting.pause import pause
from bot.posting.publishers import make_publisher
from bot.posting.worker import Worker
from bot.store.store import Store

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BIO = "DJ Liveness has played every multi-storey car park in the north and most of the south."


def _worker(tmp_path, mock, webhook, make_batch=None, **sections):
    sections.setdefault("alerts", {})["urls"] = [webhook.url]
    cfg = load_config(mock.write_config(tmp_path, sections))
    store = Store.open(database_url(cfg))
    now = [T0]
    worker = Worker(cfg, store, make_publisher(cfg), make_batch or (lambda **kw: None), clock=lambda: now[0])
    return worker, store, now


def test_an_empty_queue_alerts_once_and_clears_when_a_bio_is_approved(tmp_path, mastodon, webhook):
    worker, store, now = _worker(tmp_path, mastodon, webhook, schedule={"min_queue": 0})
    for _ in range(5):  # five post slots, an hour apart, nothing to post
        assert worker.post_job().result == "idle"
        now[0] += timedelta(hours=1)
    (msg,) = webhook.messages()
    assert "no approved bio" in msg and "djbios generate" in msg
    store.approve(store.add(BIO, source="test").id)
    worker.liveness_job()
    assert len(webhook.messages("resolved: no approved bio")) == 1


def test_a_failing_refill_alerts_once_then_clears(tmp_path, mastodon, webhook):
    fail = [True]

    def make_batch(*, n, now):
        if fail[0]:
            raise ModelError("checkpoint/run1 lacks hparams.json: run `djbios train`")
        store.add(BIO, source="generate", now=now)

    worker, store, now = _worker(tmp_path, mastodon, webhook, make_batch, alerts={"operator": ""})
    for _ in range(3):
        assert worker.refill_job().errors
        now[0] += timedelta(hours=1)
    (msg,) = webhook.messages("refill failed")
    assert "djbios train" in msg
    fail[0] = False
    assert worker.refill_job().queued == 1
    assert webhook.messages("resolved: refill failed") != []


def test_a_refill_that_queues_nothing_alerts(tmp_path, mastodon, webhook):
    def all_rejected(*, n, now):
        for i in range(n):
            store.add(f"{BIO} {i}", source="generate", status="rejected", reason="copy", now=now)

    worker, store, now = _worker(tmp_path, mastodon, webhook, all_rejected, generate={"nsamples": 3})
    worker.refill_job()
    now[0] += timedelta(hours=1)
    worker.refill_job()
    (msg,) = webhook.messages("refill made")
    assert "none passed the filters" in msg and "djbios queue --status rejected" in msg


def test_a_silent_day_alerts_once(tmp_path, mastodon, webhook):
    worker, store, now = _worker(
        tmp_path, mastodon, webhook, alerts={"silent_hours": 24.0}, schedule={"min_queue": 0, "post_cron": "0 9 * * *"}
    )
    c = store.add(BIO, source="test", now=T0)
    store.approve(c.id, now=T0)
    assert worker.post_job().result == "posted"
    for hours in (12, 23, 25, 26, 40):
        now[0] = T0 + timedelta(hours=hours)
        worker.liveness_job()
    (msg,) = webhook.messages("nothing posted")
    assert "for 25 h" in msg and "djbios status" in msg


def test_pure_checks(store):
    cfg = Config()
    assert queue_empty(store, cfg, T0, T0 + timedelta(hours=5)) is None  # no post soon: nothing to say
    assert not queue_empty(store, cfg, T0, T0 + timedelta(minutes=10)).ok
    assert silent(store, cfg, T0) is None  # an empty database is not silent: it is new
    store.add(BIO, source="test", now=T0)
    assert silent(store, cfg, T0 + timedelta(hours=30)).message.startswith("nothing ever posted for 30 h")
    assert refill_condition(RefillOutcome(), needed=False) is None  # the queue was full
    assert refill_condition(RefillOutcome(made=2, queued=1), needed=True).ok
    c = store.approve(store.add(BIO + " Twice.", source="test").id)
    for _ in range(cfg.schedule.max_attempts):
        store.start_posting(c.id)
        store.mark_failed(c.id, error="HTTP 404")
    (bad,) = failed_bios(store, cfg, [])
    assert bad.key == f"bio-failed:{c.id}" and "HTTP 404" in bad.message and f"djbios reject {c.id}" in bad.message
    store.reject(c.id)
    assert failed_bios(store, cfg, [bad.key]) == [type(bad)(bad.key, "", True)]  # recovered: it clears
    pause(store, T0, hours=48, reason="test")
    assert [c.key for c in store_conditions(store, cfg, T0 + timedelta(hours=30), T0)] == []


def test_a_post_clears_the_token_alert(tmp_path, mastodon, webhook):
    worker, store, now = _worker(tmp_path, mastodon, webhook)
    worker.alerter.send("token", "the instance refused the token; run `djbios login`")
    watch_post = PostOutcome("posted", candidate_id=1)
    worker.liveness_job(post=watch_post)
    assert webhook.messages("resolved: the instance refused") != []


def test_doctor_shows_the_conditions_and_fails_only_on_fail(tmp_path, mastodon):
    path = mastodon.write_config(tmp_path, {"schedule": {"post_cron": "every day"}})
    r = CliRunner().invoke(cli, ["--config", str(path), "doctor"])
    assert r.exit_code == 1 and "FAIL schedule: " in r.output and "schedule.post_cron" in r.output
    path = mastodon.write_config(tmp_path, {"schedule": {"post_every_minutes": 30.0}})
    store = Store.open(database_url(load_config(path)))
    store.add(BIO, source="test", now=T0)
    pause(store, datetime.now(UTC), hours=1, reason="moving house")
    r = CliRunner().invoke(cli, ["--config", str(path), "doctor"])
    assert "WARN pause: paused by" in r.output and "moving house" in r.output
    assert "WARN profile: the worker will set bot, fields, note at start" in r.output
    assert "FAIL model:" in r.output  # the tmp folder has no model: still a FAIL
    assert "vocabulary" not in r.output  # ...said once, not twice


def test_a_generate_worker_alerts_an_empty_queue_only_when_the_schedule_posts_soon(tmp_path, mastodon, webhook):
    sections = {"alerts": {"urls": [webhook.url]}, "schedule": {"min_queue": 0, "post_every_minutes": 240.0}}
    cfg = load_config(mastodon.write_config(tmp_path, sections))
    store = Store.open(database_url(cfg))
    worker = Worker(cfg, store, None, lambda **kw: None, clock=lambda: T0, role="generate")
    worker.refill_job()  # no post job of its own: the next post is the schedule's, four hours away
    assert webhook.messages() == []
    soon = load_config(
        mastodon.write_config(tmp_path, {**sections, "schedule": {"min_queue": 0, "post_every_minutes": 30.0}})
    )
    Worker(soon, store, None, lambda **kw: None, clock=lambda: T0, role="generate").refill_job()
    (msg,) = webhook.messages()
    assert "no approved bio" in msg


def test_answering_requests_that_fails_alerts_once_then_clears(tmp_path, mastodon, webhook):
    from bot.store.requests import list_requests, set_request_state
    from tests.posting.replies_kit import follower, open_store, publisher, reply_config

    # no checkpoint in tmp_path: the request child fails, as with a broken model on the generate box
    cfg = reply_config(tmp_path, mastodon, alerts={"urls": [webhook.url], "operator": ""}, schedule={"min_queue": 0})
    store = open_store(cfg)
    now = [T0]
    worker = Worker(cfg, store, publisher(cfg), lambda **kw: None, clock=lambda: now[0])
    worker.replies_job()  # the first poll marks "now"
    follower(mastodon, "fan").ask("@djbios bio for Nadia Ferro (she/her) please")
    assert worker.replies_job().new == 1
    store.approve(store.add(BIO, source="test").id)  # the queue is fine: only the answers alert
    assert worker.answer_job().errors
    (msg,) = webhook.messages()
    assert "answering follower requests failed" in msg
    (req,) = list_requests(store, "new")
    set_request_state(store, req.id, "failed", "given up by the operator", now=now[0])
    now[0] += timedelta(minutes=5)
    assert worker.answer_job().errors == []  # nothing new to answer: a clean run clears it
    assert len(webhook.messages("resolved: answering follower requests failed")) == 1
