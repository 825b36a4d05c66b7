"""Every HTTP outcome has a final answer: unknown 4xx fail for good (alert, re-queue by hand); 429 waits."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from bot.cli import cli
from bot.config import database_url, load_config
from bot.posting.jobs import post_next, reconcile
from bot.posting.publishers import html_to_text, make_publisher
from bot.store.store import Store
from tests.fixtures_servers import OPERATOR_TOKEN

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BIOS = [
    "DJ Final Answer plays only records with a crack in them, in a bus shelter, since 1998.",
    "DJ Second Chance mixes polka into gabber at a garden centre every other bank holiday.",
]


def _setup(tmp_path: Path, mock):
    path = mock.write_config(tmp_path)
    cfg = load_config(path)
    store = Store.open(database_url(cfg))
    ids = [store.approve(store.add(t, source="test", now=T0).id, now=T0).id for t in BIOS]
    return path, cfg, store, ids


def _faults(mock) -> list[dict]:
    r = requests.get(f"{mock.base_url}/api/v1/_mock/faults", timeout=10)
    r.raise_for_status()
    return r.json()


@pytest.mark.parametrize("code", [400, 404, 410])
def test_an_unknown_4xx_fails_for_good_alerts_and_can_be_requeued(tmp_path, mastodon, code):
    path, cfg, store, (a, b) = _setup(tmp_path, mastodon)
    pub = make_publisher(cfg)
    mastodon.fault({"type": "status", "status": code})
    out = post_next(T0, store, pub, cfg)
    c = store.get(a)
    assert (out.result, c.status, c.retry_at) == ("failed", "failed", None)
    assert f"HTTP {code}" in c.last_error and "djbios approve" in c.last_error
    (conv,) = mastodon.client(OPERATOR_TOKEN).conversations()
    assert "will not be retried" in conv["last_status"]["content"]
    assert post_next(T0 + timedelta(days=7), store, pub, cfg).candidate_id == b  # not retried by itself
    assert post_next(T0 + timedelta(days=8), store, pub, cfg).result == "idle"
    r = CliRunner().invoke(cli, ["--config", str(path), "approve", str(a)])
    assert r.exit_code == 0 and f"#{a} approved" in r.output, r.output
    r = CliRunner().invoke(cli, ["--config", str(path), "post"])
    assert r.exit_code == 0 and "posted bio" in r.output, r.output
    public = [html_to_text(s["content"]) for s in mastodon.statuses() if s["visibility"] != "direct"]
    assert sorted(public) == sorted(BIOS)  # each once


def test_cli_post_says_how_to_requeue_a_bio_failed_for_good(tmp_path, mastodon):
    path, _, _, (a, _) = _setup(tmp_path, mastodon)
    mastodon.fault({"type": "status", "status": 404})
    r = CliRunner().invoke(cli, ["--config", str(path), "post"])
    assert r.exit_code == 1 and f"bio {a}: failed, not retried" in r.output and "djbios approve" in r.output


def test_429_while_reconciling_waits_for_the_reset_without_asking_again(tmp_path, mastodon):
    _, cfg, store, (a, b) = _setup(tmp_path, mastodon)
    pub = make_publisher(cfg)
    pub.account_id()  # cached: every request below is a status read
    for cid in (a, b):
        store.start_posting(cid, now=T0)  # a crash left both in `posting`
    reset = int(time.time()) + 600
    mastodon.fault(
        {"type": "ratelimit", "headers": {"X-RateLimit-Reset": str(reset)}}, methods=("GET",), path="/api/v1/accounts/*"
    )
    outs = reconcile(store, pub, T0, cfg=cfg)
    assert [o.result for o in outs] == ["unknown", "unknown"]  # b was not asked about: same wait
    assert outs[0].retry_at == outs[1].retry_at
    assert timedelta(seconds=580) <= outs[0].retry_at - T0.replace(tzinfo=None) <= timedelta(seconds=610)
    assert [store.get(x).status for x in (a, b)] == ["posting", "posting"]
    mastodon.fault({"type": "status", "status": 500}, methods=("GET",), path="/api/v1/accounts/*")
    assert [o.result for o in reconcile(store, pub, T0 + timedelta(seconds=60), cfg=cfg)] == ["unknown"] * 2
    assert len(_faults(mastodon)) == 1  # the 500 is still there: no request was made
    mastodon.clear_faults()
    outs = reconcile(store, pub, T0 + timedelta(seconds=700), cfg=cfg)
    assert [o.result for o in outs] == ["retry", "retry"]  # looked, not online: retried with their keys
