"""The requests table on SQLite and PostgreSQL: one row per notification across processes, transitions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import IllegalTransition
from bot.store.requests import add_request, count_by_state, count_requests, list_requests, set_request_state
from bot.store.store import Store

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


def _row(nid: str, **kw: object) -> dict:
    return {
        "notification_id": nid,
        "status_id": f"s{nid}",
        "account_id": "9",
        "acct": "fan",
        "visibility": "unlisted",
        "text": "@djbios bio for Nadia Ferro",
        "state": "new",
        "name": "Nadia Ferro",
        "now": NOW,
        **kw,
    }


def test_one_row_per_notification_when_two_stores_race(db_url: str) -> None:
    """Two processes' stores insert the same notifications at once: the unique index keeps one row each."""
    stores = [Store.open(db_url) for _ in range(2)]
    won: list[str] = []
    start = threading.Barrier(8)

    def insert(store: Store) -> None:
        start.wait()
        for n in range(10):
            if add_request(store, **_row(str(n))) is not None:
                won.append(str(n))

    threads = [threading.Thread(target=insert, args=(stores[i % 2],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sorted(won, key=int) == [str(n) for n in range(10)]  # each inserted exactly once
        assert [r.notification_id for r in list_requests(stores[0])] == [str(n) for n in range(10)]
    finally:
        for s in stores:
            s.close()


def test_states_move_only_forward_and_are_counted(store: Store) -> None:
    req = add_request(store, **_row("1"))
    assert req is not None
    with pytest.raises(IllegalTransition):
        set_request_state(store, req.id, "answered", now=NOW)  # new cannot skip to answered
    set_request_state(store, req.id, "queued", now=NOW)
    with pytest.raises(IllegalTransition):
        set_request_state(store, req.id, "queued", now=NOW, expect="new")
    set_request_state(store, req.id, "failed", "reply #3 failed: HTTP 404", now=NOW)
    set_request_state(store, req.id, "answered", now=NOW)  # the operator re-approved the reply
    assert add_request(store, **_row("2", account_id="8", state="ignored", reason="bot account")) is not None
    assert count_by_state(store)["answered"] == 1 and count_by_state(store)["ignored"] == 1
    assert count_requests(store, since=NOW - timedelta(hours=1), account_id="9", states=("answered",)) == 1
