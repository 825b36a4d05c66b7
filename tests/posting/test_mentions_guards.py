"""The guards before a mention becomes a request: opt-out tags however written, a notification that cannot be read."""

from __future__ import annotations

import pytest

from bot.posting.mentions import opted_out, poll_mentions
from bot.store.requests import list_requests
from tests.posting.replies_kit import NOW, follower, open_store, publisher, reply_config


@pytest.mark.parametrize(
    ("note", "want"),
    [
        ("<p>#nobot</p>", "#nobot"),
        ("<p>\uff03nobot</p>", "#nobot"),  # full-width number sign
        ("<p>#no\u200bbot</p>", "#nobot"),  # a zero-width space inside the tag
        ("<p>#\u2060NoAI</p>", "#noai"),  # a word joiner, and capitals
        ("<p>\uff03\uff4e\uff4f\uff41\uff49</p>", "#noai"),  # every letter full-width
        ("<p>#no bot</p>", None),  # two words: not the tag
        ("<p>#nobody knows</p>", None),
    ],
)
def test_opt_out_tags_are_found_however_they_are_written(note, want):
    assert opted_out({"note": note, "fields": []}) == want


def test_a_full_width_nobot_in_a_real_profile_is_ignored(tmp_path, mastodon):
    cfg = reply_config(tmp_path, mastodon)
    store, pub = open_store(cfg), publisher(cfg)
    poll_mentions(NOW, store, pub, cfg)  # marks where "now" is
    follower(mastodon, "wide", note="Artist. \uff03nobot").ask("@djbios bio for Nadia Ferro")
    follower(mastodon, "hidden", fields=[("bots", "#no\u200bai")]).ask("@djbios bio for Nadia Ferro")
    poll_mentions(NOW, store, pub, cfg)
    why = {(r.acct, r.reason) for r in list_requests(store, "ignored")}
    assert why == {("wide", "#nobot in the profile"), ("hidden", "#noai in the profile")}


@pytest.mark.parametrize("where", ["relationships", "thread"])
def test_a_notification_refused_for_good_is_ignored_with_the_error_and_the_rest_are_read(tmp_path, mastodon, where):
    cfg = reply_config(tmp_path, mastodon)
    store, pub = open_store(cfg), publisher(cfg)
    poll_mentions(NOW, store, pub, cfg)  # marks where "now" is
    fan, other = follower(mastodon, "fan"), follower(mastodon, "other")
    if where == "relationships":  # the first guard's look-up of the first mention is refused
        fan.ask("@djbios bio for Ana Quell")
        mastodon.fault({"type": "status", "status": 404}, methods=("GET",), path="/api/v1/accounts/relationships")
    else:  # the thread of a mention written as a reply is gone
        root = fan.ask("@djbios hello there")
        poll_mentions(NOW, store, pub, cfg)
        reply = fan.ask("@djbios bio for Ana Quell", in_reply_to_id=root["id"])
        mastodon.fault(
            {"type": "status", "status": 410}, methods=("GET",), path=f"/api/v1/statuses/{reply['id']}/context"
        )
    other.ask("@djbios bio for Bo Strand")
    out = poll_mentions(NOW, store, pub, cfg)
    assert out.errors == [] and out.new == 1
    (ignored,) = [r for r in list_requests(store, "ignored") if r.acct == "fan" and "Ana Quell" in r.text]
    assert ignored.reason.startswith("could not be checked: HTTP 4"), ignored.reason
    assert [r.name for r in list_requests(store, "new")] == ["Bo Strand"]
    assert poll_mentions(NOW, store, pub, cfg).read == 0  # the cursor moved past both


def test_a_transient_error_in_a_guard_keeps_the_cursor_for_the_next_poll(tmp_path, mastodon):
    cfg = reply_config(tmp_path, mastodon)
    store, pub = open_store(cfg), publisher(cfg)
    poll_mentions(NOW, store, pub, cfg)
    follower(mastodon, "fan").ask("@djbios bio for Ana Quell")
    mastodon.fault({"type": "status", "status": 503}, methods=("GET",), path="/api/v1/accounts/relationships")
    out = poll_mentions(NOW, store, pub, cfg)
    assert out.errors and list_requests(store) == []
    assert poll_mentions(NOW, store, pub, cfg).new == 1
