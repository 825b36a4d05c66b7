"""The kill switch: `djbios unpost ID` deletes every part, marks the bio retracted, and keeps its text."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli
from bot.config import database_url, load_config
from bot.filters.pipeline import build_pipeline
from bot.posting.jobs import post_next
from bot.posting.publishers import make_publisher
from bot.store.store import Store

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
THREAD = " ".join(f"Sentence {i} tells how DJ Take Down spent year {i} digging in crates." for i in range(20))
SHORT = "DJ Quick Exit played one record at a funeral and was asked never to return."


def _setup(tmp_path: Path, mock):
    path = mock.write_config(tmp_path, {"filters": {"too_long": "thread"}})
    cfg = load_config(path)
    return path, cfg, Store.open(database_url(cfg))


def _posted(store, cfg, text) -> int:
    c = store.approve(store.add(text, source="test", now=T0).id, now=T0)
    assert post_next(T0, store, make_publisher(cfg), cfg).result == "posted"
    return c.id


def _unpost(path, *args):
    return CliRunner().invoke(cli, ["--config", str(path), "unpost", *map(str, args)])


def test_unpost_deletes_every_part_and_retracts(tmp_path, mastodon):
    path, cfg, store = _setup(tmp_path, mastodon)
    cid = _posted(store, cfg, THREAD)
    ids = store.get(cid).status_ids
    assert len(ids) == 3 and len(mastodon.statuses()) == 3
    mastodon.client().status_delete(ids[1])  # one part already gone: counts as deleted
    r = _unpost(path, cid, "--reason", "names a real venue")
    assert r.exit_code == 0, r.output
    assert f"retracted bio {cid}: deleted 2 status(es), 1 already gone" in r.output
    assert mastodon.statuses() == []
    c = store.get(cid)
    assert c.status == "retracted" and c.retracted_at is not None
    entry = c.history[-1]
    assert (entry["event"], entry["by"], entry["reason"]) == ("retract", getpass.getuser(), "names a real venue")
    verdict = build_pipeline(cfg, store.texts()).check(THREAD)
    assert verdict.scores["duplicate"]["ok"] is False  # never generated back
    again = _unpost(path, cid)  # safe to rerun
    assert again.exit_code == 0 and "deleted 0 status(es), 3 already gone" in again.output


def test_unpost_records_who_with_by(tmp_path, mastodon):
    path, cfg, store = _setup(tmp_path, mastodon)
    cid = _posted(store, cfg, SHORT)
    assert _unpost(path, cid, "--by", "night-shift").exit_code == 0
    assert store.get(cid).history[-1]["by"] == "night-shift" and mastodon.statuses() == []


def test_unpost_refuses_a_bio_with_nothing_online(tmp_path, mastodon):
    path, _, store = _setup(tmp_path, mastodon)
    c = store.approve(store.add(SHORT, source="test").id)
    r = _unpost(path, c.id)
    assert r.exit_code == 1 and "nothing online" in r.output and "djbios reject" in r.output
    assert store.get(c.id).status == "approved"


def test_unpost_of_a_half_posted_bio_stops_it_and_takes_the_part_down(tmp_path, mastodon):
    path, cfg, store = _setup(tmp_path, mastodon)
    c = store.approve(store.add(THREAD, source="test", now=T0).id, now=T0)
    c = store.start_posting(c.id, now=T0)
    make_publisher(cfg).post(
        c, ["DJ Take Down, part one. (1/3)"], on_part=lambda i, sid, url: store.record_part(c.id, i, sid, url)
    )
    store.return_to_pending(c.id, message="reply refused", now=T0)  # part 2 got a 422
    r = _unpost(path, c.id, "--reason", "half a thread")
    assert r.exit_code == 0 and "deleted 1 status(es)" in r.output, r.output
    assert store.get(c.id).status == "retracted" and mastodon.statuses() == []
