"""The operator's controls over replies: `djbios pause` holds them too; [replies] poll_seconds paces the poll."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner

from bot.cli import cli
from bot.filters.gate import approve, default_pipeline
from bot.posting.replies import answer_requests
from bot.posting.schedule import build_scheduler
from bot.posting.worker import Worker
from bot.store.requests import list_requests
from tests.fixtures_servers import OPERATOR_TOKEN
from tests.posting.replies_kit import NOW, FakeGenerator, follower, open_store, publisher, reply_config


def _bot_replies(mastodon, mention) -> list:
    return [s for s in mastodon.statuses() if str(s["in_reply_to_id"]) == str(mention["id"])]


def test_djbios_pause_holds_replies_not_only_posts(tmp_path, mastodon):
    cfg = reply_config(tmp_path, mastodon)
    path = tmp_path / "bot.toml"  # reply_config wrote it there
    store = open_store(cfg)
    worker = Worker(cfg, store, publisher(cfg), lambda **kw: None)  # the real clock: the CLI pauses from now
    worker.replies_job()  # the first poll only marks where "now" is
    mention = follower(mastodon, "fan").ask("@djbios bio for Nadia Ferro (she/her) please")
    worker.replies_job()
    answer_requests(cfg, store, lambda: FakeGenerator(), NOW)
    (pending,) = [c for c in store.list("pending") if c.request_id is not None]
    approve(store, default_pipeline(cfg, store), pending.id)

    r = CliRunner().invoke(cli, ["--config", str(path), "pause", "--hours", "2", "--reason", "holiday"])
    assert r.exit_code == 0, r.output
    mastodon.client(OPERATOR_TOKEN).status_post("@djbios queue", visibility="direct")
    assert worker.replies_job().errors == []
    assert worker.post_job().result == "paused"
    assert _bot_replies(mastodon, mention) == [] and store.get(pending.id).status == "approved"
    assert [r.state for r in list_requests(store, "done")] == ["done"]  # the operator is still answered

    r = CliRunner().invoke(cli, ["--config", str(path), "resume"])
    assert r.exit_code == 0, r.output
    worker.replies_job()
    assert len(_bot_replies(mastodon, mention)) == 1 and store.get(pending.id).status == "posted"


def test_poll_seconds_sets_the_polling_jobs_interval(tmp_path, mastodon):
    cfg = reply_config(tmp_path, mastodon, replies={"poll_seconds": 17.0})
    sched = build_scheduler(Worker(cfg, open_store(cfg), publisher(cfg), lambda **kw: None))
    for job in ("replies", "answer"):  # reading mentions (post side) and answering them (generate side)
        assert sched.get_job(job).trigger.interval == timedelta(seconds=17)
    cfg = reply_config(tmp_path, mastodon, replies={"poll_seconds": 300.0})
    sched = build_scheduler(Worker(cfg, open_store(cfg), publisher(cfg), lambda **kw: None, role="post"))
    assert sched.get_job("replies").trigger.interval == timedelta(minutes=5)
    assert sched.get_job("answer") is None  # the post role has no model
