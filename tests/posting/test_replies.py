"""Bios on request against mastodon_mock over HTTP: listening, answering, posting, the guards."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.cli.reviewer import render
from bot.filters.gate import approve, default_pipeline
from bot.posting.jobs import post_next, reconcile
from bot.posting.mentions import SINCE_KEY, poll_cycle, poll_mentions
from bot.posting.publishers import html_to_text
from bot.posting.replies import CANNED, answer_requests
from bot.posting.reply_post import post_replies
from bot.store.requests import get_request, list_requests
from bot.store.state import get_state
from tests.posting.replies_kit import NOW, FakeGenerator, follower, open_store, publisher, reply_config


def _setup(tmp_path, mastodon, **sections):
    cfg = reply_config(tmp_path, mastodon, **sections)
    store, pub = open_store(cfg), publisher(cfg)
    poll_mentions(NOW, store, pub, cfg)  # the first poll only marks where "now" is
    return cfg, store, pub


def _reply_of(mastodon, status_id):
    """The bot's statuses that reply to status_id."""
    return [s for s in mastodon.statuses() if str(s["in_reply_to_id"]) == str(status_id)]


def test_a_request_becomes_a_reviewed_reply_to_the_mention_only(tmp_path, mastodon):
    cfg, store, pub = _setup(tmp_path, mastodon)
    follower(mastodon, "early")  # mentioned in the request: must not be in the reply
    fan = follower(mastodon, "nadia_fan")
    gen = FakeGenerator()
    mention = fan.ask("@djbios bio for Nadia Ferro (she/her) please @early")
    out = poll_mentions(NOW, store, pub, cfg)
    assert (out.read, out.new, out.ignored) == (1, 1, 0)
    (req,) = list_requests(store)
    assert (req.name, req.pronouns, req.state, req.acct) == ("Nadia Ferro", "she", "new", "nadia_fan")

    answered = answer_requests(cfg, store, lambda: gen, NOW)
    assert (answered.queued, answered.approved) == (1, 0)  # manual mode: it waits for review
    assert gen.prefixes == ["<|startoftext|>Nadia Ferro is a DJ. She"]  # the name and the pronoun steer it
    (pending,) = [c for c in store.list("pending") if c.request_id == req.id]
    assert (pending.prompt, pending.pronouns, pending.source) == ("Nadia Ferro", "she", "reply")
    others = [c for c in store.list("rejected") if c.request_id == req.id]
    assert len(others) == cfg.replies.candidates - 1
    assert {c.reason for c in others} == {"not chosen", "pronouns"}  # "he" bodies fail for "she"
    assert all(pending.quality >= c.quality for c in others if c.reason == "not chosen")
    shown = " ".join(render(pending).split())  # render wraps to the terminal's width
    assert "REPLY to @nadia_fan" in shown and "Nadia Ferro (she/her)" in shown
    assert get_request(store, req.id).state == "queued"

    assert poll_cycle(NOW, store, pub, cfg).errors == []  # nothing approved: nothing posted
    assert _reply_of(mastodon, mention["id"]) == []
    approve(store, default_pipeline(cfg, store), pending.id)  # what `djbios review` does
    assert poll_cycle(NOW, store, pub, cfg).errors == []
    (reply,) = _reply_of(mastodon, mention["id"])
    assert [m["acct"] for m in reply["mentions"]] == ["nadia_fan"]  # only the requester, never @early
    assert reply["visibility"] == "unlisted"
    assert html_to_text(reply["content"]) == "@nadia_fan " + pending.text
    assert get_request(store, req.id).state == "answered"
    assert store.get(pending.id).status == "posted"
    poll_cycle(NOW, store, pub, cfg)
    assert len(_reply_of(mastodon, mention["id"])) == 1


def test_pronoun_steering_can_be_turned_off(tmp_path, mastodon):
    cfg, store, pub = _setup(tmp_path, mastodon, replies={"steer": False})
    follower(mastodon, "fan").ask("@djbios bio for Nadia Ferro (they/them)")
    poll_mentions(NOW, store, pub, cfg)
    gen = FakeGenerator()
    answer_requests(cfg, store, lambda: gen, NOW)
    assert gen.prefixes == ["<|startoftext|>Nadia Ferro"]


def test_the_reply_is_never_wider_than_the_mention(tmp_path, mastodon):
    cfg, store, pub = _setup(tmp_path, mastodon, replies={"mode": "auto", "visibility": "public"})
    fan = follower(mastodon, "fan")
    private = fan.ask("@djbios bio for Nadia Ferro", visibility="private")
    public = fan.ask("@djbios bio for Lena Quarry", visibility="public")
    poll_mentions(NOW, store, pub, cfg)
    out = answer_requests(cfg, store, lambda: FakeGenerator(), NOW)
    assert out.approved == 2  # auto mode: approved through the gate
    assert all(c.reviewed_by == "auto-reply" for c in store.list("approved"))
    post_replies(NOW, store, pub, cfg)
    assert _reply_of(mastodon, private["id"])[0]["visibility"] == "private"
    assert _reply_of(mastodon, public["id"])[0]["visibility"] == "public"


def test_post_next_dispatches_a_reply_and_a_crash_mid_post_never_doubles_it(tmp_path, mastodon):
    cfg, store, pub = _setup(tmp_path, mastodon, replies={"mode": "auto"})
    fan = follower(mastodon, "fan")
    mention = fan.ask("@djbios write one for DJ Quillon")
    poll_mentions(NOW, store, pub, cfg)
    answer_requests(cfg, store, lambda: FakeGenerator(), NOW)
    (c,) = store.list("approved")
    req = get_request(store, c.request_id)
    # a crash after the HTTP call went through and before it was recorded:
    store.start_posting(c.id, now=NOW)
    pub.client.status_post(
        "@fan " + c.text, in_reply_to_id=mention["id"], visibility="unlisted", idempotency_key=req.idempotency_key
    )
    reconcile(store, pub, NOW)  # the bios' reconciliation cannot tell: retry with the same key
    out = post_next(NOW + timedelta(minutes=1), store, pub, cfg)
    assert (out.result, out.candidate_id) == ("posted", c.id)
    assert len(_reply_of(mastodon, mention["id"])) == 1  # found under the mention, not posted again
    assert get_request(store, req.id).state == "answered"


def test_restart_neither_repeats_nor_loses_a_mention(tmp_path, mastodon):
    cfg, store, pub = _setup(tmp_path, mastodon)
    fan = follower(mastodon, "fan")
    for name in ("Ana Quell", "Bo Strand"):
        fan.ask(f"@djbios bio for {name}")
    assert poll_mentions(NOW, store, pub, cfg).new == 2
    store.close()
    store, pub = open_store(cfg), publisher(cfg)  # a restart: a new process, the same database
    assert poll_mentions(NOW, store, pub, cfg).read == 0
    fan.ask("@djbios bio for Cy Marlow")
    assert poll_mentions(NOW, store, pub, cfg).new == 1
    assert [r.name for r in list_requests(store)] == ["Ana Quell", "Bo Strand", "Cy Marlow"]
    assert get_state(store, SINCE_KEY) == list_requests(store)[-1].notification_id


def test_every_page_is_read_oldest_first(tmp_path, mastodon, monkeypatch):
    import bot.posting.mentions as mentions

    monkeypatch.setattr(mentions, "PAGE", 2)  # 5 mentions: three pages
    cfg, store, pub = _setup(tmp_path, mastodon, replies={"per_account_per_day": 10})
    fan = follower(mastodon, "fan")
    names = [f"Ana Quell {n}" for n in ("One", "Two", "Three", "Four", "Five")]
    for name in names:
        fan.ask(f"@djbios bio for {name}")
    assert poll_mentions(NOW, store, pub, cfg).new == 5
    assert [r.name for r in list_requests(store)] == names


@pytest.mark.parametrize("effect", [{"type": "status", "status": 503}, {"type": "malformed"}, {"type": "ratelimit"}])
def test_faults_on_the_notifications_endpoint_lose_nothing(tmp_path, mastodon, effect):
    cfg, store, pub = _setup(tmp_path, mastodon)
    fan = follower(mastodon, "fan")
    for name in ("Ana Quell", "Bo Strand", "Cy Marlow"):
        fan.ask(f"@djbios bio for {name}")
    mastodon.fault(effect, methods=("GET",), path="/api/v1/notifications")
    out = poll_mentions(NOW, store, pub, cfg)
    assert out.errors and list_requests(store) == []
    mastodon.fault(effect, methods=("GET",), path="/api/v1/accounts/relationships")  # mid-page this time
    out = poll_mentions(NOW, store, pub, cfg)
    assert out.errors and list_requests(store) == []
    assert poll_mentions(NOW, store, pub, cfg).new == 3
    assert poll_mentions(NOW, store, pub, cfg).read == 0


def test_guards_ignore_and_keep_a_row_with_the_reason(tmp_path, mastodon):
    cfg, store, pub = _setup(tmp_path, mastodon)
    follower(mastodon, "robot", bot=True).ask("@djbios bio for Nadia Ferro")
    follower(mastodon, "quiet", note="<p>Artist. #NoBot please</p>").ask("@djbios bio for Nadia Ferro")
    follower(mastodon, "fieldy", fields=[("policy", "#noai")]).ask("@djbios bio for Nadia Ferro")
    pest = follower(mastodon, "pest")
    pub.client.account_block(pest.id)
    pest.ask("@djbios bio for Nadia Ferro")
    muted = follower(mastodon, "muted")
    pub.client.account_mute(muted.id)
    muted.ask("@djbios bio for Nadia Ferro")
    stranger = follower(mastodon, "stranger", display_name="Operator")
    stranger.ask("@djbios approve 1", visibility="direct")
    greedy = follower(mastodon, "greedy")
    for i in range(6):
        greedy.ask(f"@djbios bio for Greedy Number {i + 1}")
    follower(mastodon, "chatty").ask("@djbios how are you today")
    poll_mentions(NOW, store, pub, cfg)
    why = {(r.acct, r.reason) for r in list_requests(store, "ignored")}
    assert why == {
        ("robot", "a bot account"),
        ("quiet", "#nobot in the profile"),
        ("fieldy", "#noai in the profile"),
        ("pest", "relationship: blocking"),
        ("muted", "relationship: muting"),
        ("stranger", "a direct message from a non-operator"),
        ("greedy", "over the daily limit for this account (5)"),
        ("chatty", 'not understood: not a request ("how" is not written as a name; try "bio for NAME")'),
    }
    assert [r.name for r in list_requests(store, "new")] == [f"Greedy Number {i}" for i in range(1, 6)]
    poll_cycle(NOW, store, pub, cfg)
    assert len(mastodon.statuses()) == 0  # nobody ignored was answered
    # the next day the limit is fresh
    greedy.ask("@djbios bio for Greedy Number 7")
    assert poll_mentions(NOW + timedelta(days=1, minutes=1), store, pub, cfg).new == 1


def test_hourly_limit(tmp_path, mastodon):
    cfg, store, pub = _setup(tmp_path, mastodon, replies={"per_hour": 2})
    for i, who in enumerate(("a1", "a2", "a3")):
        follower(mastodon, who).ask(f"@djbios bio for Nadia Ferro {i}")
    poll_mentions(NOW, store, pub, cfg)
    assert [r.state for r in list_requests(store)] == ["new", "new", "ignored"]


def test_no_answer_in_a_thread_deeper_than_max_depth(tmp_path, mastodon):
    cfg, store, pub = _setup(tmp_path, mastodon, replies={"mode": "auto", "max_depth": 2})
    fan = follower(mastodon, "fan")
    first = fan.ask("@djbios bio for Nadia Ferro")
    poll_cycle(NOW, store, pub, cfg)
    answer_requests(cfg, store, lambda: FakeGenerator(), NOW)
    poll_cycle(NOW, store, pub, cfg)
    (reply,) = _reply_of(mastodon, first["id"])
    again = fan.ask("@djbios now one for Lena Quarry", in_reply_to_id=reply["id"])  # depth 2: answered
    poll_mentions(NOW, store, pub, cfg)
    assert list_requests(store)[-1].state == "new", list_requests(store)[-1]
    answer_requests(cfg, store, lambda: FakeGenerator(FakeGenerator().bodies[1:]), NOW)
    poll_cycle(NOW, store, pub, cfg)
    (reply2,) = _reply_of(mastodon, again["id"])
    fan.ask("@djbios and Cy Marlow", in_reply_to_id=reply2["id"])  # depth 4, the bot in it: no
    poll_mentions(NOW, store, pub, cfg)
    last = list_requests(store)[-1]
    assert (last.state, last.reason) == ("ignored", "a thread the bot is in, 4 deep (max_depth 2)")


def test_a_corpus_artist_is_never_auto_answered(tmp_path, mastodon):
    from bot.filters.names import names_path, write_name_index

    cfg, store, pub = _setup(tmp_path, mastodon, replies={"mode": "auto"})
    cfg.corpus.path.parent.mkdir(parents=True, exist_ok=True)
    write_name_index(names_path(cfg.corpus.path), ["Nadia Ferro"])
    follower(mastodon, "fan").ask("@djbios bio for Nadia Ferro")
    poll_mentions(NOW, store, pub, cfg)
    out = answer_requests(cfg, store, lambda: FakeGenerator(), NOW)
    assert (out.queued, out.approved) == (1, 0)
    (req,) = list_requests(store)
    assert req.reason.startswith("names a corpus artist (Nadia Ferro)")
    assert [c.request_id for c in store.list("pending")] == [req.id]  # for the operator


def test_a_corpus_artist_is_declined_politely_when_asked_to(tmp_path, mastodon):
    from bot.filters.names import names_path, write_name_index

    cfg, store, pub = _setup(tmp_path, mastodon, replies={"decline_real_artists": True})
    cfg.corpus.path.parent.mkdir(parents=True, exist_ok=True)
    write_name_index(names_path(cfg.corpus.path), ["Nadia Ferro"])
    mention = follower(mastodon, "fan").ask("@djbios bio for Nadia Ferro")
    poll_mentions(NOW, store, pub, cfg)
    gen = FakeGenerator()
    answer_requests(cfg, store, lambda: gen, NOW)
    assert gen.prefixes == []  # no bio was generated
    poll_cycle(NOW, store, pub, cfg)
    (reply,) = _reply_of(mastodon, mention["id"])
    assert html_to_text(reply["content"]) == "@fan " + CANNED["decline"]


def test_help_reply_only_when_switched_on(tmp_path, mastodon):
    cfg, store, pub = _setup(tmp_path, mastodon, replies={"help_reply": True})
    mention = follower(mastodon, "fan").ask("@djbios what do you do?")
    poll_mentions(NOW, store, pub, cfg)
    answer_requests(cfg, store, lambda: FakeGenerator(), NOW)
    poll_cycle(NOW, store, pub, cfg)
    (reply,) = _reply_of(mastodon, mention["id"])
    assert html_to_text(reply["content"]) == "@fan " + CANNED["help"]
    assert list_requests(store)[0].state == "answered"


def test_review_auto_mode_leaves_replies_alone(tmp_path, mastodon):
    from bot.posting.jobs import refill

    cfg, store, pub = _setup(tmp_path, mastodon, review={"mode": "auto"}, schedule={"min_queue": 0})
    follower(mastodon, "fan").ask("@djbios bio for Nadia Ferro")
    poll_mentions(NOW, store, pub, cfg)
    answer_requests(cfg, store, lambda: FakeGenerator(), NOW)
    assert refill(NOW, store, cfg, lambda **kw: None).approved == 0  # [replies] mode decides, not [review]


def test_a_rejected_reply_fails_the_request_and_a_deleted_mention_gets_none(tmp_path, mastodon):
    cfg, store, pub = _setup(tmp_path, mastodon)
    fan = follower(mastodon, "fan")
    fan.ask("@djbios bio for Nadia Ferro")
    gone = fan.ask("@djbios bio for Lena Quarry")
    poll_mentions(NOW, store, pub, cfg)
    answer_requests(cfg, store, lambda: FakeGenerator(), NOW)
    first, second = [c for c in store.list("pending", order="oldest")]
    store.reject(first.id, reason="not funny")
    answer_requests(cfg, store, lambda: FakeGenerator(), NOW)
    assert list_requests(store)[0].state == "failed"
    approve(store, default_pipeline(cfg, store), second.id)
    fan.client.status_delete(gone["id"])
    poll_cycle(NOW, store, pub, cfg)
    assert store.get(second.id).status == "rejected" and mastodon.statuses() == []
    assert list_requests(store)[1].reason == "the mention was deleted"


def test_no_candidate_passing_retries_then_fails(tmp_path, mastodon):
    cfg, store, pub = _setup(tmp_path, mastodon, replies={"max_batches": 2})
    follower(mastodon, "fan").ask("@djbios bio for Nadia Ferro (she/her)")
    poll_mentions(NOW, store, pub, cfg)
    bad = FakeGenerator([FakeGenerator().bodies[-1]])  # "he" every time
    assert answer_requests(cfg, store, lambda: bad, NOW).retry == 1
    assert answer_requests(cfg, store, lambda: bad, NOW).failed == 1
    (req,) = list_requests(store)
    assert req.state == "failed" and "pronouns 16" in req.reason


def test_a_crash_after_the_bios_were_stored_adopts_them_instead_of_generating_again(tmp_path, mastodon):
    from bot.posting.replies import generate_answer, reply_pipeline

    cfg, store, pub = _setup(tmp_path, mastodon, replies={"mode": "auto"})
    follower(mastodon, "fan").ask("@djbios bio for Nadia Ferro")
    poll_mentions(NOW, store, pub, cfg)
    (req,) = list_requests(store)
    gen = FakeGenerator()
    chosen = generate_answer(cfg, store, gen, reply_pipeline(cfg, store, req.acct), req, NOW)  # then: kill -9
    assert get_request(store, req.id).state == "new"
    out = answer_requests(cfg, store, lambda: gen, NOW)
    assert (out.queued, out.approved, len(gen.prefixes)) == (1, 1, 1)  # no second batch
    assert store.get(chosen.id).status == "approved"
    assert get_request(store, req.id).state == "queued"


def test_the_same_notification_never_makes_two_rows(store):
    from bot.store.requests import add_request

    row = {
        "notification_id": "77",
        "status_id": "5",
        "account_id": "9",
        "acct": "fan",
        "visibility": "public",
        "text": "@djbios bio for Nadia Ferro",
        "state": "new",
        "name": "Nadia Ferro",
        "now": NOW,
    }
    assert add_request(store, **row) is not None
    assert add_request(store, **{**row, "state": "ignored"}) is None
    assert [(r.notification_id, r.state) for r in list_requests(store)] == [("77", "new")]
