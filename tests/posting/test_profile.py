"""The honest profile, set once (against mastodon_mock), and the per-post suffix the length filter counts."""

from __future__ import annotations

from datetime import UTC, datetime

import requests

from bot.config import database_url, load_config
from bot.filters.pipeline import build_pipeline
from bot.posting.jobs import post_next, reconcile
from bot.posting.profile import FIELD_OPERATOR, FIELD_POSTS, POSTS_VALUE, ensure_profile, plain, plan
from bot.posting.publishers import html_to_text, make_publisher
from bot.posting.worker import Worker
from bot.store.store import Store

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
OWN_NOTE = "Run with love from a basement in Leeds.\n\nQuestions: ask Ana."
BIO = "DJ Suffix Test has played every roundabout in the county and one that was only a rumour."
PATCH = "/api/v1/accounts/update_credentials"


def _setup(tmp_path, mock, **sections):
    cfg = load_config(mock.write_config(tmp_path, {"profile": {"operator": "@ana@example.social"}, **sections}))
    return cfg, Store.open(database_url(cfg))


def _count_patches(mock) -> dict:
    """A pass-through fault rule on the PATCH: the mock counts the requests down for us."""
    return mock.fault({"type": "latency", "delay_ms": 0}, count=1000, methods=("PATCH",), path=PATCH)


def _patches(mock, rule) -> int:
    rules = requests.get(f"{mock.base_url}/api/v1/_mock/faults", timeout=10).json()
    left = next((r["remaining"] for r in rules if r["id"] == rule["id"]), 0)
    return 1000 - left


def test_profile_keeps_the_operators_words_and_is_sent_once_in_ten_starts(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon)
    mastodon.client().account_update_credentials(note=OWN_NOTE, fields=[("Website", "https://example.org")])
    rule = _count_patches(mastodon)
    for _ in range(10):  # ten worker starts (or cron runs), each with a fresh client
        Worker(cfg, store, make_publisher(cfg), lambda **kw: None).startup()
    assert _patches(mastodon, rule) == 1
    me = mastodon.client().account_verify_credentials()
    note = me["source"]["note"]
    assert me["bot"] is True and note.startswith(OWN_NOTE) and note.count(cfg.profile.disclosure) == 1
    fields = [(f["name"], f["value"]) for f in me["source"]["fields"]]
    assert fields == [
        ("Website", "https://example.org"),
        (FIELD_OPERATOR, "@ana@example.social"),
        (FIELD_POSTS, POSTS_VALUE["manual"]),
    ]


def test_a_changed_review_mode_updates_only_its_field(tmp_path, mastodon):
    cfg, _ = _setup(tmp_path, mastodon)
    assert ensure_profile(make_publisher(cfg), cfg) == ["bot", "fields", "note"]
    auto, _ = _setup(tmp_path, mastodon, review={"mode": "auto"})
    assert ensure_profile(make_publisher(auto), auto) == ["fields"]
    me = mastodon.client().account_verify_credentials()
    assert dict((f["name"], f["value"]) for f in me["fields"])[FIELD_POSTS] == POSTS_VALUE["auto"]
    assert ensure_profile(make_publisher(auto), auto) == []


def test_plan_reads_rendered_html_when_the_instance_sends_no_source(tmp_path, mastodon):
    cfg, _ = _setup(tmp_path, mastodon)
    account = {
        "bot": True,
        "note": f"<p>Hello &amp; welcome.</p><p>{cfg.profile.disclosure}</p>",
        "fields": [
            {"name": "Operator", "value": '<a href="https://example.social/@ana">@ana@example.social</a>'},
            {"name": "Posts", "value": POSTS_VALUE["manual"]},
        ],
    }
    assert plan(account, cfg) == {}
    assert plain("<p>a<br>b</p><p>c &lt;3</p>") == "a\nb\n\nc <3"


def test_a_full_note_is_not_cut_and_full_fields_are_not_replaced(tmp_path, mastodon):
    cfg, _ = _setup(tmp_path, mastodon)
    own = [{"name": f"F{i}", "value": "v"} for i in range(4)]
    account = {"bot": True, "note": "x" * 490, "source": {"note": "x" * 490, "fields": own}}
    assert plan(account, cfg) == {}  # nothing of the operator's is dropped to make room


def test_post_suffix_is_posted_counted_and_found_again(tmp_path, mastodon):
    suffix = "#AIgenerated (a bot; see profile)"
    limit = {"max_chars": len(BIO) + 10}  # the bio fits; the bio and the suffix do not
    cfg, store = _setup(tmp_path, mastodon, profile={"post_suffix": suffix}, filters=limit)
    assert build_pipeline(cfg, []).check(BIO).reason == "length"
    plain_cfg = load_config(mastodon.write_config(tmp_path, {"filters": limit}))
    assert build_pipeline(plain_cfg, []).check(BIO).scores["length"]["ok"]
    c = store.add(BIO, source="test", now=T0)
    store.approve(c.id, now=T0)
    worker = Worker(cfg, store, make_publisher(cfg), lambda **kw: None, clock=lambda: T0)
    assert worker.post_job().result == "posted"
    (st,) = [s for s in mastodon.statuses() if s["visibility"] != "direct"]
    assert html_to_text(st["content"]) == f"{BIO} {suffix}"
    # a crash after the post: reconcile finds the status by its final text, so it is not posted twice
    c2 = store.add("DJ Second Suffix plays records at the wrong speed on purpose, every Sunday.", source="t")
    store.approve(c2.id, now=T0)
    c2 = store.start_posting(c2.id, now=T0)
    worker.publisher.post(c2)  # out, but the process died before mark_posted
    (out,) = reconcile(store, worker.publisher, T0)
    assert out.result == "posted" and store.get(c2.id).status == "posted"
    assert post_next(T0, store, worker.publisher, cfg).result == "idle"
    assert len([s for s in mastodon.statuses() if s["visibility"] != "direct"]) == 2
