"""The whole way with the real tiny model: worker jobs, `djbios approve`, `djbios requests`, `stats`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.filters.content import pronouns as pronoun_check
from bot.posting.mentions import poll_mentions
from bot.posting.publishers import html_to_text
from bot.posting.schedule import build_scheduler
from bot.posting.worker import Worker
from bot.store.requests import list_requests
from tests.posting.replies_kit import NOW, follower, open_store, publisher, reply_config

# The tiny model writes fragments: the filters it cannot pass are relaxed; the pronoun filter (what
# this test is about), hazards, length (max) and the real-artist guard stay on.
RELAXED = {
    "skip": ["completeness", "language", "fluency", "repetition", "blocklist", "copy", "duplicate"],
    "min_chars": 1,
}


@pytest.mark.slow
def test_request_answered_with_the_tiny_model_through_the_worker(tmp_path, mastodon, tiny_checkpoint):
    cfg = reply_config(
        tmp_path,
        mastodon,
        filters=RELAXED,
        replies={"candidates": 8, "max_batches": 3},
        model={"checkpoint_dir": str(tiny_checkpoint.checkpoint_dir), "run_name": "run1"},
        mastodon={"set_bot_flag": False},
    )
    store = open_store(cfg)
    worker = Worker(cfg, store, publisher(cfg), lambda **kw: None)
    worker.replies_job()  # the first poll marks "now"
    fan = follower(mastodon, "nadia_fan")
    mention = fan.ask("@djbios bio for Nadia Ferro (she/her) please", visibility="public")
    assert worker.replies_job().new == 1
    for _ in range(cfg.replies.max_batches):
        if worker.answer_job().queued:
            break
    (req,) = list_requests(store)
    assert req.state == "queued", req
    (c,) = [c for c in store.list("pending") if c.request_id == req.id]
    assert (c.prompt, c.pronouns, c.source, c.step) == ("Nadia Ferro", "she", "reply", tiny_checkpoint.step)
    assert c.text.startswith("Nadia Ferro is a DJ. She")
    assert c.params["prefix"] == "<|startoftext|>Nadia Ferro is a DJ. She"

    config = str(cfg.source)
    review = CliRunner().invoke(cli, ["--config", config, "show", str(c.id)])
    assert "REPLY to @nadia_fan" in review.output
    res = CliRunner().invoke(cli, ["--config", config, "approve", str(c.id)])
    assert res.exit_code == 0, res.output
    worker.replies_job()
    (reply,) = [s for s in mastodon.statuses() if str(s["in_reply_to_id"]) == str(mention["id"])]
    assert [m["acct"] for m in reply["mentions"]] == ["nadia_fan"] and reply["visibility"] == "unlisted"
    text = html_to_text(reply["content"])
    assert text.startswith("@nadia_fan Nadia Ferro")
    assert pronoun_check(text.removeprefix("@nadia_fan "), "she", "Nadia Ferro").ok  # only the wanted ones

    res = CliRunner().invoke(cli, ["--config", config, "requests", "--json"])
    (row,) = [json.loads(line) for line in res.output.splitlines()]
    assert (row["state"], row["name"], row["pronouns"], row["acct"]) == ("answered", "Nadia Ferro", "she", "nadia_fan")
    assert {"id": c.id, "status": "posted", "reason": None} in row["candidates"]
    assert "answered" in CliRunner().invoke(cli, ["--config", config, "requests"]).output
    assert "requests: answered 1" in CliRunner().invoke(cli, ["--config", config, "stats"]).output


def test_scheduler_runs_the_reply_jobs_only_when_enabled(tmp_path, mastodon):
    on = reply_config(tmp_path, mastodon)
    ids = {j.id for j in build_scheduler(Worker(on, open_store(on), publisher(on), lambda **kw: None)).get_jobs()}
    assert ids == {"refill", "post", "replies", "answer", "liveness", "lease"}
    (tmp_path / "off").mkdir()
    off = reply_config(tmp_path / "off", mastodon, replies={"enabled": False})
    ids = {j.id for j in build_scheduler(Worker(off, open_store(off), publisher(off), lambda **kw: None)).get_jobs()}
    assert ids == {"refill", "post", "liveness", "lease"}


def test_requests_command_lists_and_filters(tmp_path, mastodon):
    cfg = reply_config(tmp_path, mastodon)
    store, pub = open_store(cfg), publisher(cfg)
    poll_mentions(NOW, store, pub, cfg)
    follower(mastodon, "robot", bot=True).ask("@djbios bio for Nadia Ferro")
    follower(mastodon, "fan").ask("@djbios bio for Lena Quarry (they/them)")
    poll_mentions(NOW, store, pub, cfg)
    out = CliRunner().invoke(cli, ["--config", str(cfg.source), "requests"]).output
    assert "@robot" in out and "a bot account" in out and "Lena Quarry (they)" in out
    out = CliRunner().invoke(cli, ["--config", str(cfg.source), "requests", "--state", "ignored", "--json"]).output
    assert [json.loads(line)["acct"] for line in out.splitlines()] == ["robot"]
    assert "requests: new 1, ignored 1" in CliRunner().invoke(cli, ["--config", str(cfg.source), "stats"]).output
