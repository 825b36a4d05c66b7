"""`djbios pause`, `resume` and `status` against a real store and mastodon_mock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from bot.cli import cli
from bot.config import database_url, load_config
from bot.posting.pause import active_pause, pause
from bot.store.store import Store

BIO = "DJ Pause has played every bandstand in the county, some of them twice and one in the rain."


def _cli(path, *args):
    return CliRunner().invoke(cli, ["--config", str(path), *args], catch_exceptions=False)


def _setup(tmp_path, mock):
    path = mock.write_config(tmp_path, {"schedule": {"min_queue": 0}})
    store = Store.open(database_url(load_config(path)))
    store.approve(store.add(BIO, source="test").id)
    return path, store


def _posts(mock):
    return [s for s in mock.statuses() if s["visibility"] != "direct"]


def test_pause_stops_run_once_and_post_until_resumed(tmp_path, mastodon):
    path, store = _setup(tmp_path, mastodon)
    r = _cli(path, "pause", "--hours", "2", "--reason", "instance maintenance")
    assert r.exit_code == 0 and "paused by" in r.output and "instance maintenance" in r.output
    r = _cli(path, "run", "--once")
    assert r.exit_code == 0 and "post: paused" in r.output and "djbios resume" in r.output
    r = _cli(path, "post")
    assert r.exit_code == 1 and "nothing posted" in r.output and "djbios resume" in r.output
    assert _posts(mastodon) == [] and store.count_by_status()["approved"] == 1
    r = _cli(path, "status")
    assert "posting: paused by" in r.output and "until" in r.output and "instance maintenance" in r.output
    assert "1 approved" in r.output and "last post: none yet" in r.output
    assert "resumed" in _cli(path, "resume").output
    r = _cli(path, "run", "--once")
    assert r.exit_code == 0 and "post: posted" in r.output and len(_posts(mastodon)) == 1
    assert "not paused" in _cli(path, "resume").output


def test_status_shows_the_last_post_and_open_alerts(tmp_path, mastodon):
    path, store = _setup(tmp_path, mastodon)
    assert _cli(path, "post").exit_code == 0
    _cli(path, "run", "--once")  # nothing approved left: the queue alert opens
    r = _cli(path, "status")
    assert "posting: on" in r.output and "1 posted" in r.output
    assert "last post: bio 1 at" in r.output and "https://" in r.output
    assert "alerts: 1 open" in r.output and "queue-empty since" in r.output and "djbios generate" in r.output


def test_a_pause_ends_by_itself(tmp_path, store):
    t0 = datetime(2026, 11, 27, 12, tzinfo=UTC)
    p = pause(store, t0, hours=3, reason="", by="ana")
    assert active_pause(store, t0 + timedelta(hours=2)) == p
    assert active_pause(store, t0 + timedelta(hours=3)) is None
    assert pause(store, t0, by="ana").describe().endswith("until `djbios resume`")
