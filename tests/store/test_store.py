"""bot/store/store.py: every legal and illegal transition, one transaction each, concurrent writers.

Every test runs on SQLite and on PostgreSQL (`store`, `db_url` and `empty_db_url` are parametrized).
"""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.errors import IllegalTransition, NotFound, StoreError
from bot.store.candidate import HEAD_REVISION
from bot.store.store import Store

T0 = datetime(2026, 1, 1, 12, 0, 0)


def at(state: str, store: Store) -> int:
    """A candidate driven into `state` through legal transitions."""
    c = store.add("A bio about a DJ from nowhere.", source="test", now=T0)
    path = {
        "pending": [],
        "approved": ["approve"],
        "rejected": ["reject"],
        "posting": ["approve", "start_posting"],
        "posted": ["approve", "start_posting", "posted"],
        "failed": ["approve", "start_posting", "failed"],
        "retracted": ["approve", "start_posting", "posted", "retract"],
    }[state]
    for step in path:
        if step == "posted":
            store.mark_posted(c.id, status_id="1", url="https://x/1")
        elif step == "failed":
            store.mark_failed(c.id, error="boom")
        elif step == "retract":
            store.retract(c.id, by="test")
        else:
            getattr(store, step)(c.id)
    assert store.get(c.id).status == state
    return c.id


ACTIONS = {
    "approve": lambda s, i: s.approve(i),
    "reject": lambda s, i: s.reject(i, reason="meh"),
    "edit": lambda s, i: s.edit(i, "A new text."),
    "set_verdict": lambda s, i: s.set_verdict(i, verdict={"reason": "copy", "scores": {"x": 1}}),
    "start_posting": lambda s, i: s.start_posting(i),
    "mark_posted": lambda s, i: s.mark_posted(i, status_id="9", url="https://x/9"),
    "mark_failed": lambda s, i: s.mark_failed(i, error="503"),
    "return_to_pending": lambda s, i: s.return_to_pending(i, message="too long"),
    "retract": lambda s, i: s.retract(i, by="test", reason="why"),
}
LEGAL = {
    ("pending", "approve"): "approved",
    ("failed", "approve"): "approved",  # the operator re-queues a bio that failed for good
    ("pending", "reject"): "rejected",
    ("approved", "reject"): "rejected",
    ("failed", "reject"): "rejected",
    ("pending", "edit"): "pending",
    ("approved", "edit"): "approved",
    ("failed", "edit"): "failed",
    ("rejected", "edit"): "rejected",
    ("pending", "set_verdict"): "rejected",
    ("approved", "start_posting"): "posting",
    ("failed", "start_posting"): "posting",
    ("posting", "mark_posted"): "posted",
    ("posting", "mark_failed"): "failed",
    ("posting", "return_to_pending"): "pending",
    ("posted", "retract"): "retracted",
    # unpost checks that something is online; the store lets any bio that may have parts out go
    ("pending", "retract"): "retracted",
    ("approved", "retract"): "retracted",
    ("failed", "retract"): "retracted",
    ("rejected", "retract"): "retracted",
}
STATES = ["pending", "rejected", "approved", "posting", "posted", "failed", "retracted"]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_transition_is_legal_or_refused(store: Store, state: str, action: str) -> None:
    cid = at(state, store)
    before = store.get(cid)
    if (state, action) in LEGAL:
        ACTIONS[action](store, cid)
        after = store.get(cid)
        assert after.status == LEGAL[(state, action)]
        assert len(after.history) > len(before.history)
    else:
        with pytest.raises(IllegalTransition, match=f"candidate {cid} is {state}"):
            ACTIONS[action](store, cid)
        assert store.get(cid) == before  # nothing changed


def test_posted_keeps_status_id_and_url(store: Store) -> None:
    cid = at("posting", store)
    store.mark_posted(cid, status_id="123", url="https://m.example/@bot/123")
    c = store.get(cid)
    assert (c.status_id, c.posted_url, c.attempts) == ("123", "https://m.example/@bot/123", 1)
    assert c.posted_at is not None


def test_failed_bio_is_retried_first_once_due(store: Store) -> None:
    first = at("approved", store)
    second = at("approved", store)
    store.start_posting(second)
    store.mark_failed(second, error="503", retry_at=T0 + timedelta(minutes=5))
    assert store.next_approved(now=T0).id == first
    assert store.next_approved(now=T0 + timedelta(minutes=6)).id == second
    again = store.start_posting(second)
    assert again.attempts == 2 and again.uuid == store.get(second).uuid


def test_next_approved_random_order_uses_the_rng(store: Store) -> None:
    ids = {at("approved", store) for _ in range(5)}
    picks = {store.next_approved("random", random.Random(seed)).id for seed in range(30)}
    assert picks <= ids and len(picks) > 1
    assert store.next_approved("oldest").id == min(ids)


def test_edit_keeps_the_original_in_history(store: Store) -> None:
    cid = at("pending", store)
    store.edit(cid, "Better text.")
    c = store.get(cid)
    assert c.text == "Better text."
    assert any(h.get("previous_text") == "A bio about a DJ from nowhere." for h in c.history)


def test_return_to_pending_keeps_the_server_message(store: Store) -> None:
    cid = at("posting", store)
    c = store.return_to_pending(cid, message="Text character limit of 500 exceeded")
    assert c.status == "pending" and "500" in c.reason and c.last_error


def test_unknown_id_and_state(store: Store) -> None:
    with pytest.raises(NotFound, match="no candidate with id 99"):
        store.approve(99)
    with pytest.raises(StoreError, match="unknown status"):
        store.list("nope")


@pytest.mark.parametrize("text", ["", "   ", "x" * 20_001])
def test_bad_texts_are_refused_and_nothing_is_stored(store: Store, text: str) -> None:
    with pytest.raises(StoreError):
        store.add_many(["fine bio", text], source="t")
    assert store.list() == []


def test_batches_and_provenance(store: Store) -> None:
    bid = store.create_batch("model", checkpoint="ck/run1", step=200, params={"top_k": 40}, seed=7)
    c = store.add(
        "bio",
        source="model",
        batch_id=bid,
        checkpoint="ck/run1",
        step=200,
        seed=7,
        params={"top_k": 40},
        prompt="Stella",
        pronouns="she",
    )
    store.finish_batch(bid, seconds=1.5, made=1, queued=1)
    got = store.get(c.id)
    assert (got.batch_id, got.step, got.seed, got.prompt, got.pronouns) == (bid, 200, 7, "Stella", "she")
    assert got.params == {"top_k": 40}


def test_schema_is_migrated_and_wal_is_on(empty_db_url: str) -> None:
    Store.open(empty_db_url).close()
    s = Store.open(empty_db_url)  # second open: already at head, no migration
    with s.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION
        if s.engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    s.close()


def test_two_first_opens_at_once_migrate_once(empty_db_url: str) -> None:
    """A worker and a generator starting together on a new database: one migrates, the other waits."""
    code = "import sys; from bot.store.store import Store; Store.open(sys.argv[1]).close()"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, empty_db_url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    s = Store.open(empty_db_url)
    assert s.add("After the race.", source="t").id == 1
    s.close()


def test_head_revision_is_the_newest_migration() -> None:
    """HEAD_REVISION (read without importing Alembic) names the migration no other one revises."""
    import ast
    from pathlib import Path

    import bot.store

    revisions, parents = set(), set()
    for f in (Path(bot.store.__file__).parent / "migrations" / "versions").glob("*.py"):
        values = {
            t.id: n.value.value
            for n in ast.parse(f.read_text()).body
            if isinstance(n, ast.Assign)
            for t in n.targets
            if isinstance(t, ast.Name) and isinstance(n.value, ast.Constant)
        }
        if "revision" in values:
            revisions.add(values["revision"])
            parents.add(values.get("down_revision"))
    assert revisions - parents == {HEAD_REVISION}


WRITER = """
import sys
from bot.store.store import Store
s = Store.open(sys.argv[1], busy_timeout_s=30)
for i in range(int(sys.argv[3])):
    c = s.add(f"{sys.argv[2]} bio {i}", source=sys.argv[2])
    s.approve(c.id) if i % 2 else s.reject(c.id, reason="r")
"""


def test_two_processes_write_at_once_without_locking_errors(db_url: str) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, db_url, name, "150"], stderr=subprocess.PIPE, text=True)
        for name in ("worker", "review")
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    assert not any("locked" in e for e in errors)
    s = Store.open(db_url)
    counts = s.count_by_status()
    s.close()
    assert counts["approved"] + counts["rejected"] == 300


def test_fast_read_path_matches_the_store(store: Store) -> None:
    """bot/store/fastread.py decodes rows exactly as SQLAlchemy does."""
    from bot.store import fastread

    at("posted", store)
    at("failed", store)
    bid = store.create_batch("m", params={"top_k": 3})
    store.add("Ünïcode bio ✨", source="m", batch_id=bid, params={"t": 0.7}, scores={"copy": {"run": 3}})
    url = store.engine.url.render_as_string(hide_password=False)
    if store.engine.dialect.name != "sqlite":  # the fast path is SQLite's; others use the store
        assert fastread.list_candidates(url) is None
        return
    assert fastread.list_candidates(url) == store.list()
    assert fastread.list_candidates(url, "failed") == store.list("failed")
    assert fastread.list_candidates(url, cid=3) == [store.get(3)]
    assert fastread.list_candidates("postgresql://x/y") is None


def test_state_round_trips_and_deletes(store: Store) -> None:
    from bot.store.state import get_state, set_state

    assert get_state(store, "pause", {"none": True}) == {"none": True}
    set_state(store, "pause", {"until": None, "reason": "maintenance"})
    set_state(store, "notifications_since_id", "1234")
    assert get_state(store, "pause") == {"until": None, "reason": "maintenance"}
    set_state(store, "pause", None)
    assert get_state(store, "pause") is None and get_state(store, "notifications_since_id") == "1234"


def test_upgrade_from_0001_keeps_rows_and_records_their_status_ids(empty_db_url: str) -> None:
    """A database made by the first schema opens at head with its posted bio's status id kept."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import create_engine

    import bot.store

    acfg = AlembicConfig()
    acfg.set_main_option("script_location", str(Path(bot.store.__file__).parent / "migrations"))
    engine = create_engine(empty_db_url)
    with engine.begin() as conn:
        acfg.attributes["connection"] = conn
        command.upgrade(acfg, "0001")
        conn.execute(
            text(
                "INSERT INTO candidates (uuid, text, status, scores, source, params, created_at, attempts, history,"
                " status_id, posted_url) VALUES ('u1', 'An old bio.', 'posted', '{}', 'test', '{}',"
                " '2026-01-01 00:00:00', 1, '[]', '42', 'https://x/42')"
            )
        )
    engine.dispose()
    s = Store.open(empty_db_url)
    c = s.list()[0]
    assert c.status == "posted" and c.status_ids == ["42"] and c.quality is None
    s.close()


CLAIMER = """
import sys
from bot.errors import IllegalTransition
from bot.store.store import Store
s = Store.open(sys.argv[1], busy_timeout_s=30)
won = []
for cid in map(int, sys.argv[3].split(",")):
    try:
        s.start_posting(cid, holder=sys.argv[2])
        won.append(cid)
    except IllegalTransition:
        pass
print(",".join(map(str, won)))
"""


def test_a_claim_is_won_by_exactly_one_process(store: Store, db_url: str) -> None:
    """Four processes race start_posting over the same 40 bios: each bio is claimed exactly once."""
    ids = [at("approved", store) for _ in range(40)]
    arg = ",".join(map(str, ids))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, db_url, f"p{i}", arg],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    won = [int(x) for out, _ in outs for x in out.strip().split(",") if x]
    assert sorted(won) == ids  # every bio claimed, none twice
    holders = {c.id: c.claimed_by for c in store.list("posting")}
    assert len(holders) == 40 and all(h and h.startswith("p") for h in holders.values())
    assert all(c.attempts == 1 for c in store.list("posting"))


def test_busy_timeout_bounds_lock_waits_on_every_database(db_url: str) -> None:
    """SQLite's busy timeout and PostgreSQL's lock_timeout both come from busy_timeout_s."""
    s = Store.open(db_url.replace("postgresql+psycopg://", "postgresql://"), busy_timeout_s=2.5)
    with s.engine.connect() as conn:
        if s.engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 2500
        else:  # a plain postgresql:// URL means psycopg 3, the driver djbios ships
            assert s.engine.dialect.driver == "psycopg"
            assert conn.execute(text("SHOW lock_timeout")).scalar() == "2500ms"
    s.close()
