"""The jobs against a real store and mastodon_mock: exactly once through every fault kind."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Config, database_url, load_config
from bot.posting.jobs import PostingState, backoff_s, post_next, reconcile, refill
from bot.posting.publishers import html_to_text, make_publisher
from bot.posting.reconcile import plan_parts
from bot.store.store import Store
from tests.fixtures_servers import OPERATOR_TOKEN

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BIOS = [
    f"DJ Number {i} mixes {g} records in a converted {p} every other weekend since {1990 + i}."
    for i, (g, p) in enumerate(
        [
            ("dub", "laundrette"),
            ("acid", "chapel"),
            ("garage", "ferry"),
            ("ambient", "greenhouse"),
            ("electro", "car park"),
        ]
    )
]


def _setup(tmp_path: Path, mock, **sections) -> tuple[Config, Store]:
    cfg = load_config(mock.write_config(tmp_path, sections))
    return cfg, Store.open(database_url(cfg))


def _approve(store: Store, texts=BIOS) -> list[int]:
    ids = []
    for t in texts:
        c = store.add(t, source="test", now=T0)
        store.approve(c.id, now=T0)
        ids.append(c.id)
    return ids


def _drain(store, pub, cfg, now=T0, limit=50):
    """Run post_next until nothing is left, an hour apart (a fresh state = a worker restart)."""
    outcomes, state = [], PostingState()
    for _ in range(limit):
        out = post_next(now, store, pub, cfg, state=state)
        outcomes.append(out)
        if out.result == "idle":
            break
        if out.result == "stopped":
            state = PostingState()
            reconcile(store, pub, now)
        now += timedelta(hours=1)
    return outcomes


def _assert_exactly_once(mock, store, texts=BIOS):
    public = [s for s in mock.statuses() if s["visibility"] != "direct"]
    got = sorted(html_to_text(s["content"]) for s in public)
    assert got == sorted(texts)  # nothing lost, nothing twice
    posted = store.list("posted")
    assert len(posted) == len(texts) and store.count_by_status()["posted"] == len(texts)
    assert {c.status_id for c in posted} == {str(s["id"]) for s in public}


def test_post_next_posts_oldest_first_then_idles(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon)
    ids = _approve(store, BIOS[:2])
    pub = make_publisher(cfg)
    first = post_next(T0, store, pub, cfg)
    assert (first.result, first.candidate_id) == ("posted", ids[0])
    assert store.get(ids[0]).posted_url == first.url
    assert post_next(T0, store, pub, cfg).candidate_id == ids[1]
    assert post_next(T0, store, pub, cfg).result == "idle"


def test_dry_run_changes_nothing(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon)
    (cid,) = _approve(store, BIOS[:1])
    out = post_next(T0, store, make_publisher(cfg), cfg, dry_run=True)
    assert (out.result, out.text) == ("dry-run", BIOS[0])
    assert store.get(cid).status == "approved" and mastodon.statuses() == []


def test_random_order_is_seeded(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon, schedule={"order": "random"})
    _approve(store)
    picks = [
        post_next(T0, store, make_publisher(cfg), cfg, rng=random.Random(7), dry_run=True).candidate_id
        for _ in range(3)
    ]
    assert len(set(picks)) == 1


FAULTS = {
    "500": {"type": "status", "status": 500},
    "502": {"type": "status", "status": 502},
    "503": {"type": "status", "status": 503},
    "504": {"type": "status", "status": 504},
    "timeout": {"type": "latency", "delay_ms": 1500},  # longer than request_timeout_s = 1
    "429": {"type": "ratelimit"},
    "401": {"type": "status", "status": 401},
    "malformed": {"type": "malformed"},
}


@pytest.mark.parametrize("kind", list(FAULTS))
def test_every_fault_kind_posts_each_bio_exactly_once(tmp_path, mastodon, kind):
    cfg, store = _setup(tmp_path, mastodon, mastodon={"request_timeout_s": 1.0})
    _approve(store)
    pub = make_publisher(cfg)
    mastodon.fault(FAULTS[kind], count=2)
    outcomes = _drain(store, pub, cfg)
    failed = [o for o in outcomes if o.result in ("retry", "stopped", "auth")]
    assert failed, "the fault should have been seen"
    if kind == "401":
        assert any(o.result == "auth" for o in outcomes)
    if kind == "timeout":
        time.sleep(1.0)  # let the slow request finish server-side before counting
    _assert_exactly_once(mastodon, store)


def test_retry_waits_for_the_rate_limit_reset(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon)
    (cid,) = _approve(store, BIOS[:1])
    reset = int(time.time()) + 600
    mastodon.fault({"type": "ratelimit", "headers": {"X-RateLimit-Reset": str(reset)}})
    out = post_next(T0, store, make_publisher(cfg), cfg)
    assert out.result == "retry" and timedelta(seconds=580) <= out.retry_at - T0 <= timedelta(seconds=610)
    assert post_next(T0 + timedelta(seconds=60), store, make_publisher(cfg), cfg).result == "idle"
    assert post_next(out.retry_at, store, make_publisher(cfg), cfg).result == "posted"


def test_auth_error_stops_posting_and_alerts_the_operator(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon)
    ids = _approve(store, BIOS[:2])
    pub, state = make_publisher(cfg), PostingState()
    mastodon.fault({"type": "status", "status": 401})
    assert post_next(T0, store, pub, cfg, state=state).result == "auth"
    assert post_next(T0, store, pub, cfg, state=state).result == "stopped"
    assert [store.get(i).status for i in ids] == ["failed", "approved"]  # kept, nothing lost
    (conv,) = mastodon.client(OPERATOR_TOKEN).conversations()
    assert "stopped posting" in conv["last_status"]["content"]


def test_repeated_failures_alert_after_max_attempts(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon, schedule={"max_attempts": 2})
    _approve(store, BIOS[:1])
    pub, now = make_publisher(cfg), T0
    mastodon.fault({"type": "status", "status": 503}, count=2)
    for _ in range(3):
        out = post_next(now, store, pub, cfg)
        now = out.retry_at or now
    assert out.result == "posted"
    (conv,) = mastodon.client(OPERATOR_TOKEN).conversations()
    assert "failed 2 times" in conv["last_status"]["content"]


def test_422_returns_the_bio_to_pending_with_the_message(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon)
    (cid,) = _approve(store, ["x" * 600])
    out = post_next(T0, store, make_publisher(cfg), cfg)
    c = store.get(cid)
    assert out.result == "rejected" and c.status == "pending" and "too long" in c.last_error


def test_reconcile_marks_a_post_that_went_out_before_the_crash(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon)
    a, b = _approve(store, BIOS[:2])
    pub = make_publisher(cfg)
    for cid in (a, b):
        store.start_posting(cid, now=T0)  # the crash: posting committed ...
    sid, _ = pub.post(store.get(a))  # ... and only `a` reached the server
    outs = reconcile(store, pub, T0)
    assert [(o.candidate_id, o.result) for o in outs] == [(a, "posted"), (b, "retry")]
    assert store.get(a).status_id == sid and store.get(b).status == "failed"
    _drain(store, pub, cfg)
    _assert_exactly_once(mastodon, store, BIOS[:2])


def test_reconcile_leaves_posting_rows_while_the_server_is_down(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon)
    (a,) = _approve(store, BIOS[:1])
    store.start_posting(a, now=T0)
    mastodon.fault({"type": "status", "status": 503}, methods=("GET",), path="/api/v1/accounts/*")
    assert [o.result for o in reconcile(store, make_publisher(cfg), T0)] == ["unknown"]
    assert store.get(a).status == "posting"


def test_failed_bio_found_online_is_not_posted_again(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon)
    (a,) = _approve(store, BIOS[:1])
    pub = make_publisher(cfg)
    c = store.start_posting(a, now=T0)
    mastodon.client().status_post(BIOS[0], visibility="unlisted")  # went out under another key
    store.mark_failed(a, error="timeout", retry_at=T0, now=T0)
    assert post_next(T0, store, pub, cfg).result == "posted"
    assert len(mastodon.statuses()) == 1 and store.get(a).attempts == c.attempts + 1


def test_backoff_grows_and_honours_the_server_hint():
    assert [backoff_s(n, 0) for n in (1, 2, 3)] == [60, 120, 240]
    assert backoff_s(2, 0, base_s=0.5) == 1.0
    assert backoff_s(1, 900) == 900 and backoff_s(30, 0) == 6 * 3600


def _batch_maker(store, texts):
    def make_batch(*, n, now):
        for t in texts[:n]:
            store.add(t, source="test", now=now)
        store.add("nope", source="test", status="rejected", reason="length", now=now)

    return make_batch


def test_refill_tops_up_below_min_queue_and_auto_approves(tmp_path, mastodon):
    cfg, store = _setup(
        tmp_path, mastodon, schedule={"min_queue": 3}, review={"mode": "auto"}, generate={"nsamples": 4}
    )
    out = refill(T0, store, cfg, _batch_maker(store, BIOS))
    assert (out.made, out.queued, out.approved, out.errors) == (5, 4, 4, [])
    assert refill(T0, store, cfg, _batch_maker(store, BIOS)).made == 0  # 4 >= min_queue


def test_refill_in_manual_mode_leaves_bios_pending(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon, schedule={"min_queue": 3})
    out = refill(T0, store, cfg, _batch_maker(store, BIOS))
    assert out.approved == 0 and store.count_by_status()["pending"] == 5


def test_refill_reports_a_missing_model_without_raising(tmp_path, mastodon):
    from bot.errors import ModelError

    cfg, store = _setup(tmp_path, mastodon)

    def broken(*, n, now):
        raise ModelError("no checkpoint; run `djbios train`")

    assert refill(T0, store, cfg, broken).errors == ["no checkpoint; run `djbios train`"]


def test_reapproved_bio_whose_first_part_went_out_is_not_posted_again(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon)
    (a,) = _approve(store, BIOS[:1])
    pub = make_publisher(cfg)
    store.start_posting(a, now=T0)
    mastodon.client().status_post(BIOS[0], visibility="unlisted")  # part 1 out, then a reply got 422
    store.return_to_pending(a, message="reply refused", now=T0)
    store.approve(a, now=T0)  # the operator approves it again hours later (the key has expired)
    assert post_next(T0 + timedelta(hours=3), store, pub, cfg).result == "posted"
    assert len(mastodon.statuses()) == 1 and store.get(a).status == "posted"


def test_auth_error_while_checking_a_failed_bio_stops_and_alerts(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon)
    (a,) = _approve(store, BIOS[:1])
    store.start_posting(a, now=T0)
    store.mark_failed(a, error="timeout", retry_at=T0, now=T0)
    pub, state = make_publisher(cfg), PostingState()
    mastodon.fault({"type": "status", "status": 401}, methods=("GET",), path="/api/v1/accounts/*")
    assert post_next(T0, store, pub, cfg, state=state).result == "auth"
    assert post_next(T0, store, pub, cfg, state=state).result == "stopped"
    assert store.get(a).status == "failed"  # kept for after the restart
    (conv,) = mastodon.client(OPERATOR_TOKEN).conversations()
    assert "stopped posting" in conv["last_status"]["content"]


def test_backoff_stays_capped_after_very_many_attempts():
    assert backoff_s(5000, 0.0) == 6 * 3600.0  # no OverflowError: the row must still be marked failed


def test_half_posted_thread_is_finished_not_marked_posted_or_resent(tmp_path, mastodon):
    # changed on purpose: part 1's id is recorded as it goes out (candidates.status_ids), not found by text
    cfg, store = _setup(tmp_path, mastodon, filters={"too_long": "thread"})
    text = " ".join(f"Sentence {i} says DJ Half Thread spent year {i} in a lighthouse with crates." for i in range(9))
    c = store.add(text, source="test", now=T0)
    store.approve(c.id, now=T0)
    c = store.start_posting(c.id, now=T0)
    pub = make_publisher(cfg)
    parts = plan_parts(c, pub, cfg)
    assert len(parts) == 2
    pub.post(c, parts[:1], on_part=lambda i, sid, url: store.record_part(c.id, i, sid, url))  # part 1 out
    store.mark_failed(c.id, error="503 on part 2", retry_at=T0, now=T0)  # ... part 2 failed
    out = post_next(T0 + timedelta(hours=9), store, pub, cfg)
    statuses = sorted(mastodon.statuses(), key=lambda s: int(s["id"]))
    assert out.result == "posted" and [html_to_text(s["content"]) for s in statuses] == parts
    assert statuses[1]["in_reply_to_id"] == statuses[0]["id"] and out.status_id == str(statuses[0]["id"])
    assert store.get(c.id).status_ids == [str(s["id"]) for s in statuses]


def test_auto_mode_refills_when_the_pending_bios_all_fail_the_filters(tmp_path, mastodon):
    from click.testing import CliRunner

    from bot.cli import cli
    from bot.posting.worker import Worker
    from tests.fixtures_store import GOOD_BIOS

    cfg, store = _setup(
        tmp_path, mastodon, schedule={"min_queue": 2}, review={"mode": "auto"}, generate={"nsamples": 2}
    )
    failing = tmp_path / "failing.txt"
    failing.write_text("Too short.\n\nAlso too short.\n", encoding="utf-8")  # `add` keeps them pending, failing
    r = CliRunner().invoke(cli, ["--config", str(cfg.source), "add", str(failing)])
    assert r.exit_code == 0 and "0 pass the filters, 2 fail" in r.output, r.output
    asked: list[int] = []

    def make_batch(*, n, now):
        asked.append(n)
        for t in GOOD_BIOS[:n]:
            store.add(t, source="generate", now=now)

    worker = Worker(cfg, store, None, make_batch, clock=lambda: T0, role="generate")
    filled, _ = worker.run_once()  # what `djbios run --once --role generate` does, the batch in-process
    assert asked == [2], "two failing bios were taken for stock: the refill never ran"
    assert filled is not None and filled.approved == 2
