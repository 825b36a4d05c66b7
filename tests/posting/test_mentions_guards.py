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
