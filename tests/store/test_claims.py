"""The posting side of the store: the claim (compare-and-set), parts as they go out, retraction, leases."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from bot.errors import IllegalTransition, StoreError
from bot.store import leases
from bot.store.store import Store

T0 = datetime(2026, 1, 1, 12, 0, 0)
BIO = "DJ Claim Check has played every roundabout in the county since the floods."


def _posting(store: Store, holder: str | None = "me") -> int:
    c = store.add(BIO, source="test", now=T0)
    store.approve(c.id, now=T0)
    return store.start_posting(c.id, now=T0, holder=holder).id


def test_a_claim_is_settled_only_by_its_holder(store: Store) -> None:
    cid = _posting(store, holder="worker-a")
    with pytest.raises(IllegalTransition, match="claimed by worker-a"):
        store.mark_failed(cid, error="x", holder="hand-run-b")
    assert store.get(cid).status == "posting"
    store.mark_posted(cid, status_id="1", url="https://x/1", holder="worker-a")
    assert store.get(cid).status == "posted"


def test_the_loser_of_a_claim_gets_illegal_transition(store: Store) -> None:
    cid = _posting(store, holder="a")
    with pytest.raises(IllegalTransition, match="is posting"):
        store.start_posting(cid, holder="b")
    assert store.get(cid).claimed_by == "a"


def test_each_part_is_recorded_in_order_and_beats_the_claim(store: Store) -> None:
    cid = _posting(store)
    store.record_part(cid, 0, "10", "https://x/10", holder="me", now=T0 + timedelta(seconds=5))
    c = store.record_part(cid, 1, "11", "https://x/11", holder="me", now=T0 + timedelta(seconds=9))
    assert (c.status_ids, c.status_id, c.posted_url) == (["10", "11"], "10", "https://x/10")
    assert c.claimed_at == T0 + timedelta(seconds=9)
    with pytest.raises(StoreError, match="part 4 recorded before part 3"):
        store.record_part(cid, 3, "13", "https://x/13", holder="me")
    store.mark_posted(cid, status_id="10", url="https://x/10", holder="me")
    assert store.get(cid).status_ids == ["10", "11"]
    assert store.status_ids_of_others(cid) == set()
    assert store.status_ids_of_others(cid + 1) == {"10", "11"}


def test_a_bio_failed_for_good_waits_for_the_operator(store: Store) -> None:
    cid = _posting(store)
    store.mark_failed(cid, error="HTTP 404", retry_at=None)
    assert store.next_approved(now=T0 + timedelta(days=30)) is None  # no retry time: never by itself
    later = store.add("A later bio about a DJ who only plays in lifts.", source="test", now=T0)
    store.approve(later.id, now=T0 + timedelta(hours=1))
    assert store.approve(cid, now=T0 + timedelta(hours=2)).status == "approved"  # re-queued ...
    assert store.next_approved(now=T0 + timedelta(hours=2)).id == cid  # ... keeping its place


def test_edit_is_refused_while_parts_are_online(store: Store) -> None:
    cid = _posting(store)
    store.record_part(cid, 0, "10", "https://x/10")
    store.return_to_pending(cid, message="reply refused")
    with pytest.raises(IllegalTransition, match="djbios unpost"):
        store.edit(cid, "A new text.")


def test_retracted_bio_keeps_who_why_and_its_text_for_the_duplicate_filter(store: Store) -> None:
    cid = _posting(store)
    store.mark_posted(cid, status_id="1", url="https://x/1")
    c = store.retract(cid, by="alice", reason="names a real club", now=T0 + timedelta(days=1))
    assert c.status == "retracted" and c.retracted_at == T0 + timedelta(days=1)
    assert {"event": "retract", "by": "alice", "reason": "names a real club"}.items() <= c.history[-1].items()
    assert BIO in store.texts()


def test_defer_keeps_the_row_posting_with_a_time(store: Store) -> None:
    cid = _posting(store)
    c = store.defer(cid, until=T0 + timedelta(minutes=5), error="rate limited", holder="me")
    assert (c.status, c.retry_at) == ("posting", T0 + timedelta(minutes=5))


# -- leases ----------------------------------------------------------------------------------------
def test_one_holder_per_role_until_its_heartbeat_is_stale(store: Store) -> None:
    a, b = "hostx:1:a", "hostx:2:b"  # another host: liveness is the heartbeat alone
    assert leases.acquire(store, "post", a, T0, 120)
    assert not leases.acquire(store, "post", b, T0 + timedelta(seconds=60), 120)
    assert leases.renew(store, "post", a, T0 + timedelta(seconds=100))
    assert not leases.acquire(store, "post", b, T0 + timedelta(seconds=200), 120)  # beat at 100
    assert leases.acquire(store, "post", b, T0 + timedelta(seconds=221), 120)  # stale: taken over
    assert not leases.renew(store, "post", a, T0 + timedelta(seconds=222))  # a learns it lost it
    lease = leases.get(store, "post")
    assert (lease.holder, lease.started_at) == (b, T0 + timedelta(seconds=221))
    assert "host hostx pid 2 since 2026-01-01T12:03:41" in lease.describe(T0 + timedelta(seconds=231))
    leases.release(store, "post", a)  # not a's: nothing happens
    assert leases.get(store, "post").holder == b
    leases.release(store, "post", b)
    assert leases.get(store, "post") is None


def test_roles_are_independent(store: Store) -> None:
    assert leases.acquire(store, "post", "h:1:a", T0, 120)
    assert leases.acquire(store, "generate", "h:2:b", T0, 120)
    assert [x.role for x in leases.held_by(store, "h:1:a")] == ["post"]


def test_a_lease_of_a_dead_process_on_this_host_is_taken_at_once(store: Store) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = f"{socket.gethostname()}:{proc.stdout.strip()}:x"
    alive = leases.make_holder()
    assert leases.is_dead_here(dead) and not leases.is_dead_here(alive)
    assert leases.acquire(store, "post", dead, T0, 120)
    assert leases.acquire(store, "post", alive, T0 + timedelta(seconds=1), 120)  # no 120 s wait
