"""The operator's commands by direct message, against mastodon_mock: by account id, answered by DM."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.posting.mentions import poll_cycle, poll_mentions
from bot.posting.operator import Command, parse_command
from bot.posting.pause import active_pause
from bot.posting.publishers import html_to_text
from bot.store.requests import list_requests
from bot.store.state import get_state
from tests.fixtures_servers import OPERATOR_TOKEN
from tests.fixtures_store import GOOD_BIOS
from tests.posting.replies_kit import NOW, follower, open_store, publisher, reply_config


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("@djbios approve 12", Command("approve", 12)),
        ("@djbios Approve #12", Command("approve", 12)),
        ("@djbios reject 12 not funny at all", Command("reject", 12, "not funny at all")),
        ("@djbios pause 6h", Command("pause", seconds=6 * 3600)),
        ("@djbios pause 30m", Command("pause", seconds=1800)),
        ("@djbios pause 2d", Command("pause", seconds=2 * 86400)),
        ("@djbios pause 3", Command("pause", seconds=3 * 3600)),
        ("@djbios pause", Command("pause")),
        ("@djbios resume", Command("resume")),
        ("@djbios queue", Command("queue")),
        ("@djbios approve twelve", None),
        ("@djbios pause forever", None),
        ("@djbios pause 90 minutes", Command("pause", seconds=90 * 60)),
        ("@djbios pause 2 hours", Command("pause", seconds=2 * 3600)),
        ("@djbios pause 1 day", Command("pause", seconds=86400)),
        ("@djbios pause 45 min", Command("pause", seconds=45 * 60)),
        ("@djbios pause 1.5h", None),  # not 1 hour: a decimal is refused with the help text
        ("@djbios pause 0h", None),  # not "until resume": zero is refused
        ("@djbios pause 0", None),
        ("@djbios pause 6h please", None),  # anything after the duration: not understood
        ("@djbios pause 6 weeks", None),
        ("@djbios please approve 12", None),
        ("@djbios delete everything", None),
    ],
)
def test_parse_command(text, want):
    assert parse_command(text) == want


def _setup(tmp_path, mastodon):
    cfg = reply_config(tmp_path, mastodon)
    store, pub = open_store(cfg), publisher(cfg)
    poll_mentions(NOW, store, pub, cfg)
    return cfg, store, pub, mastodon.client(OPERATOR_TOKEN)


def _dms(mastodon):
    """The bot's direct answers, oldest first, as plain text."""
    return [html_to_text(s["content"]) for s in reversed(mastodon.statuses()) if s["visibility"] == "direct"]


def test_each_command_works_and_is_answered_by_dm(tmp_path, mastodon):
    cfg, store, pub, op = _setup(tmp_path, mastodon)
    a, b = (store.add(t, source="test") for t in GOOD_BIOS[:2])
    for text in (f"approve {a.id}", f"reject {b.id} too long", "pause 6h", "queue", "resume", "sing"):
        op.status_post(f"@djbios {text}", visibility="direct")
        poll_cycle(NOW, store, pub, cfg)
        if text == "pause 6h":
            assert active_pause(store, NOW).by == "dm:operator"
            assert active_pause(store, NOW + timedelta(hours=7)) is None
    assert store.get(a.id).status == "approved" and store.get(a.id).reviewed_by == "dm:operator"
    assert store.get(b.id).status == "rejected" and store.get(b.id).reason == "too long"
    assert get_state(store, "pause") is None  # resumed
    dms = _dms(mastodon)
    assert dms[0] == f"@operator #{a.id} approved"
    assert dms[1] == f"@operator #{b.id} rejected"
    assert dms[2] == "@operator paused until 2026-11-27 18:00 UTC"
    assert dms[3].startswith("@operator rejected 1, approved 1")
    assert dms[4] == "@operator resumed"
    assert dms[5].startswith("@operator commands: approve ID")
    for st in mastodon.statuses():
        assert [m["acct"] for m in st["mentions"]] == ["operator"]
    assert {r.state for r in list_requests(store)} == {"done"}


def test_a_failing_bio_is_not_approved_by_dm(tmp_path, mastodon):
    cfg, store, pub, op = _setup(tmp_path, mastodon)
    c = store.add("too short", source="test")
    op.status_post(f"@djbios approve {c.id}", visibility="direct")
    poll_cycle(NOW, store, pub, cfg)
    assert store.get(c.id).status == "pending"
    assert "fails the" in _dms(mastodon)[0]


def test_a_spoofed_display_name_and_a_public_command_do_nothing(tmp_path, mastodon):
    cfg, store, pub, op = _setup(tmp_path, mastodon)
    c = store.add(GOOD_BIOS[0], source="test")
    spoof = follower(mastodon, "0perator", display_name="Operator")
    spoof.ask(f"@djbios approve {c.id}", visibility="direct")
    spoof.ask("@djbios pause 6h", visibility="direct")
    op.status_post(f"@djbios approve {c.id}", visibility="public")  # not a DM: an ordinary mention
    poll_cycle(NOW, store, pub, cfg)
    assert store.get(c.id).status == "pending" and get_state(store, "pause") is None
    assert _dms(mastodon) == []  # the spoofer is never answered
    reasons = [r.reason for r in list_requests(store, "ignored")]
    assert reasons.count("a direct message from a non-operator") == 2


def test_the_operator_is_found_by_id_once(tmp_path, mastodon):
    cfg, store, pub, op = _setup(tmp_path, mastodon)
    op.status_post("@djbios queue", visibility="direct")
    poll_cycle(NOW, store, pub, cfg)
    known = get_state(store, "operator")
    assert known == {"acct": "operator", "id": str(op.account_verify_credentials()["id"])}
    mastodon.fault({"type": "status", "status": 500}, methods=("GET",), path="/api/v1/accounts/lookup", count=None)
    op.status_post("@djbios queue", visibility="direct")
    poll_cycle(NOW, store, pub, cfg)  # no second look-up needed
    assert len(_dms(mastodon)) == 2


def test_a_command_carried_out_is_only_re_sent_after_a_failed_answer(tmp_path, mastodon):
    cfg, store, pub, op = _setup(tmp_path, mastodon)
    c = store.add(GOOD_BIOS[0], source="test")
    op.status_post(f"@djbios approve {c.id}", visibility="direct")
    mastodon.fault({"type": "status", "status": 503}, methods=("POST",), path="/api/v1/statuses")
    poll_cycle(NOW, store, pub, cfg)
    assert store.get(c.id).status == "approved" and _dms(mastodon) == []
    (req,) = list_requests(store)
    assert (req.state, req.reason) == ("command", f"#{c.id} approved")
    poll_cycle(NOW, store, pub, cfg)
    assert _dms(mastodon) == [f"@operator #{c.id} approved"]  # not "already approved"
