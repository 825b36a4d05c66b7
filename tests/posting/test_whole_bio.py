"""A bio goes out whole and once: parts from the current text, look-ups that match the whole bio only."""

from __future__ import annotations

import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli
from bot.config import database_url, load_config
from bot.posting.jobs import post_next, reconcile
from bot.posting.publishers import html_to_text, make_publisher
from bot.posting.reconcile import plan_parts
from bot.store.store import Store

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
OPENING = (
    "DJ Twin Opening learned to mix on two broken turntables in a church hall, then spent a decade "
    "playing warm-up sets for brass bands, bingo nights and one very confused wedding, and still "
    "insists that a good warm-up is the hardest set of the night to play well, bar none at all."
)


PLACES = ["Leeds", "Porto", "Oslo", "Quito", "Accra", "Tbilisi", "Hanoi", "Perth", "Riga", "Cork", "Lima"]
DEEDS = [
    "dug through crates of forgotten soul",
    "ran a pirate radio show from a garage",
    "played warm-up sets at a roller disco",
    "pressed a single record of tape loops",
    "toured small clubs with a borrowed mixer",
    "taught teenagers to scratch on weekends",
    "hosted a monthly party under a railway arch",
    "recorded church bells for a slow techno track",
    "swapped records with sailors at the harbour",
    "built a sound system from salvaged speakers",
    "wrote long letters to every label in town",
]


def _long(tag: str, n: int = 9) -> str:
    """A bio too long for one post whose sentences differ (the filters see no repetition)."""
    return " ".join(
        f"In {2000 + i}, DJ {tag} {DEEDS[i % len(DEEDS)]} in {PLACES[(i * 3) % len(PLACES)]}." for i in range(n)
    )


def _tail(what: str) -> str:
    return (
        f"These days the sets are {what}, always on vinyl, always too loud, and always ending with "
        f"the same record that nobody in the room has ever managed to name, not even the owner of "
        f"the place, who has asked every single week since the very first night of {what}."
    )


def _setup(tmp_path: Path, mock, **sections):
    path = mock.write_config(tmp_path, {"filters": {"too_long": "thread"}, **sections})
    cfg = load_config(path)
    return path, cfg, Store.open(database_url(cfg))


def _approve(store: Store, text: str, **kw) -> int:
    c = store.add(text, source="test", now=T0, **kw)
    return store.approve(c.id, now=T0).id


def _online(mock) -> list[dict]:
    return sorted((s for s in mock.statuses() if s["visibility"] != "direct"), key=lambda s: int(s["id"]))


def test_an_edited_thread_bio_posts_its_edited_parts(tmp_path, mastodon):
    path, cfg, store = _setup(tmp_path, mastodon)
    old, new = _long("Before Edit"), _long("After Edit", 10)
    stale = {"length": {"thread": ["stale part one (1/2)", "stale part two (2/2)"]}}  # what the filter kept
    cid = _approve(store, old, scores=stale)
    (tmp_path / "new.txt").write_text(new, encoding="utf-8")
    editor = tmp_path / "editor.sh"
    editor.write_text(f'#!/bin/sh\ncp "{tmp_path / "new.txt"}" "$1"\n', encoding="utf-8")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    runner = CliRunner()
    r = runner.invoke(cli, ["--config", str(path), "edit", str(cid)], env={"EDITOR": str(editor)})
    assert r.exit_code == 0 and "edited" in r.output, r.output
    r = runner.invoke(cli, ["--config", str(path), "post"])
    assert r.exit_code == 0 and "posted bio" in r.output, r.output
    expected = plan_parts(store.get(cid), make_publisher(cfg), cfg)
    assert len(expected) >= 2 and "After Edit" in expected[0]
    assert [html_to_text(s["content"]) for s in _online(mastodon)] == expected


def test_two_thread_bios_sharing_a_first_part_both_go_out_whole(tmp_path, mastodon):
    _, cfg, store = _setup(tmp_path, mastodon)
    pub = make_publisher(cfg)
    a = _approve(store, f"{OPENING} {_tail('acid house in a lighthouse')}")
    assert post_next(T0, store, pub, cfg).candidate_id == a
    b = _approve(store, f"{OPENING} {_tail('dub techno in a laundrette')}")
    pa, pb = (plan_parts(store.get(x), pub, cfg) for x in (a, b))
    assert pa[0] == pb[0] and pa[1] != pb[1]
    store.start_posting(b, now=T0)  # a crash before B's first request
    assert [o.result for o in reconcile(store, pub, T0, cfg=cfg)] == ["retry"]  # A's part 1 is not B's
    out = post_next(T0 + timedelta(hours=2), store, pub, cfg)  # a look-up first: B is not online
    assert (out.result, out.candidate_id) == ("posted", b)
    online = _online(mastodon)
    assert [html_to_text(s["content"]) for s in online] == pa + pb
    ca, cb = store.get(a), store.get(b)
    assert ca.status_ids == [str(s["id"]) for s in online[:2]]
    assert cb.status_ids == [str(s["id"]) for s in online[2:]] and cb.status_id != ca.status_id
    assert str(online[3]["in_reply_to_id"]) == cb.status_id


def test_a_timed_out_part_is_not_sent_twice_and_the_rest_follows(tmp_path, mastodon):
    # The timeout leaves room for a loaded machine's ordinary requests; the fault's delay is well past it.
    _, cfg, store = _setup(tmp_path, mastodon, mastodon={"request_timeout_s": 2.5})
    pub = make_publisher(cfg)
    cid = _approve(store, _long("Three Parts", 14))
    c = store.start_posting(cid, now=T0)
    parts = plan_parts(c, pub, cfg)
    assert len(parts) == 3
    pub.post(c, parts[:1], on_part=lambda i, sid, url: store.record_part(cid, i, sid, url))
    store.mark_failed(cid, error="killed", retry_at=T0, now=T0)
    mastodon.fault({"type": "latency", "delay_ms": 4000})  # part 2 times out here, but is created
    assert post_next(T0, store, pub, cfg).result == "retry"
    time.sleep(2.0)  # the server finishes part 2 under its key
    assert post_next(T0 + timedelta(hours=1), store, pub, cfg).result == "posted"
    online = _online(mastodon)
    assert [html_to_text(s["content"]) for s in online] == parts  # part 2 once (same key), then 3
    assert store.get(cid).status_ids == [str(s["id"]) for s in online]


def test_reconcile_finds_a_bio_the_server_re_rendered(tmp_path, mastodon):
    _, cfg, store = _setup(tmp_path, mastodon)
    pub = make_publisher(cfg)
    text = "*DJ Emphasis* & **friends** play `dub` and ~~disco~~ <records> in a barn every Friday night."
    cid = _approve(store, text)
    store.start_posting(cid, now=T0)
    st = mastodon.client().status_post(text, visibility="unlisted")  # went out, then the crash
    assert "<em>DJ Emphasis</em>" in st["content"]
    outs = reconcile(store, pub, T0, cfg=cfg)
    assert [(o.result, o.status_id) for o in outs] == [("posted", str(st["id"]))]
    assert store.get(cid).status_ids == [str(st["id"])] and len(_online(mastodon)) == 1
