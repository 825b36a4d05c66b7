"""kill -9 a reply worker at random points, on SQLite and PostgreSQL: each mention recorded and answered once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.posting.jobs import reconcile
from bot.posting.mentions import poll_cycle, poll_mentions
from bot.posting.replies import answer_requests
from bot.store.requests import list_requests
from tests.posting.replies_kit import NOW, FakeGenerator, follower, open_store, publisher, reply_config

ROOT = Path(__file__).resolve().parents[2]
# A warm parent (every import and the filters loaded) forks one reply worker per line on stdin and
# prints its pid; each runs the worker's two reply jobs in a loop, with the fixed-output generator,
# until it is killed. Forking a warm process puts the kills inside cycles, not inside imports.
ZYGOTE = r"""
import os, signal, sys
sys.path.insert(0, sys.argv[2])
from datetime import UTC, datetime
from bot.config import load_config
from bot.filters.pipeline import build_pipeline
from bot.posting.mentions import poll_cycle
from bot.posting.replies import answer_requests
from bot.posting.requests_parse import parse_request
from tests.posting.replies_kit import FakeGenerator, open_store, publisher
cfg = load_config(sys.argv[1])
build_pipeline(cfg, []).check("Warm up the filters with a sentence of plain English words in it.")
parse_request("bio for Warm Up")
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the killed children
print("ready", flush=True)
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        store, pub, gen = open_store(cfg), publisher(cfg), FakeGenerator()
        while True:
            now = datetime.now(UTC)
            poll_cycle(now, store, pub, cfg)
            answer_requests(cfg, store, lambda: gen, now)
    print(pid, flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_9_mid_cycle_neither_repeats_nor_loses(tmp_path, mastodon, db_url):
    """On SQLite and on PostgreSQL (db_url)."""
    cfg = reply_config(
        tmp_path,
        mastodon,
        database={"url": db_url},
        replies={"mode": "auto", "per_account_per_day": 50, "per_hour": 100},
        filters={"near_dup_jaccard": 1.0},
    )  # the fixed bodies repeat on purpose
    store, pub = open_store(cfg), publisher(cfg)
    poll_mentions(NOW, store, pub, cfg)
    fans = [follower(mastodon, f"fan{i}") for i in range(3)]
    rng = random.Random(5)
    mentions: list = []
    zygote = subprocess.Popen(
        [sys.executable, "-c", ZYGOTE, str(cfg.source), str(ROOT)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert zygote.stdin is not None and zygote.stdout is not None
    try:
        assert zygote.stdout.readline().strip() == "ready"
        for trial in range(8):
            for fan in fans:  # new mentions arrive while the worker keeps being killed
                mentions.append(fan.ask(f"@djbios bio for Trial Number {trial} {fan.acct.capitalize()}"))
            zygote.stdin.write("fork\n")
            zygote.stdin.flush()
            pid = int(zygote.stdout.readline())
            time.sleep(rng.uniform(0.2, 2.0))  # a cycle takes about a second here: kills land anywhere in it
            os.kill(pid, signal.SIGKILL)
    finally:
        zygote.kill()
        zygote.wait()
    by_killed = (len(list_requests(store)), len(mastodon.statuses()))
    assert by_killed[0] > 0, by_killed  # the killed workers did part of the work
    # then a clean worker finishes the work (on the real clock, as the killed ones ran)
    reconcile(store, pub, datetime.now(UTC))
    for _ in range(3):
        poll_cycle(datetime.now(UTC), store, pub, cfg)
        answer_requests(cfg, store, lambda: FakeGenerator(), datetime.now(UTC))
    poll_cycle(datetime.now(UTC), store, pub, cfg)
    rows = list_requests(store)
    assert sorted(r.status_id for r in rows) == sorted(str(m["id"]) for m in mentions)  # each once
    live = {c.request_id: (c.id, c.status, c.last_error) for c in store.list() if c.status != "rejected"}
    assert {r.state for r in rows} == {"answered"}, [(r, live.get(r.id)) for r in rows if r.state != "answered"]
    replies = [str(s["in_reply_to_id"]) for s in mastodon.statuses()]
    assert sorted(replies) == sorted(str(m["id"]) for m in mentions)  # each answered exactly once
