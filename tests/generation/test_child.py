"""bot/generation/child.py and the worker's roles: the model runs in a child, never in the worker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import database_url, load_config
from bot.errors import ConfigError, GenerationError
from bot.generation.child import generate_in_child, parse_summary, summary_line
from bot.generation.refill import BatchSummary
from bot.posting.publishers import make_publisher
from bot.posting.schedule import build_scheduler
from bot.posting.worker import Worker
from bot.store.store import Store

# The worker in its own interpreter (the test process has TensorFlow loaded by other tests):
# one run_once of a role, then what it imported and what it did, as JSON.
WORKER = """
import json, sys
from bot.config import load_config
from bot.posting.launch import build_worker
w = build_worker(load_config(sys.argv[1]), sys.argv[2])
filled, posted = w.run_once()
print(json.dumps({"tensorflow": "tensorflow" in sys.modules, "gpt_2_simple": "gpt_2_simple" in sys.modules,
                  "made": filled and filled.made, "errors": filled and filled.errors,
                  "post": posted and posted.result}))
"""

# The tiny model is seconds old: it writes fragments, so these filters only score here.
SKIP = ["completeness", "repetition", "pronouns", "language", "duplicate", "length"]


def _config(folder: Path, mock, ckpt, **generate) -> Path:  # type: ignore[no-untyped-def]
    return mock.write_config(
        folder,
        {
            "model": {"checkpoint_dir": str(ckpt.checkpoint_dir), "run_name": ckpt.run_name},
            "corpus": {"path": str(folder / "no-corpus.txt")},
            "generate": {"batch_size": 4, "nsamples": 4, "max_tokens": 60, "seed": 1, **generate},
            "filters": {"skip": SKIP},
            "review": {"mode": "auto"},
            "schedule": {"min_queue": 2},
        },
    )


def _run_worker(config: Path, role: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, str(config), role], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_summary_line_round_trips() -> None:
    s = BatchSummary(batch_id=3, made=4, queued=2, rejected={"copy": 2}, seconds=1.5, seed=7, queued_ids=[1, 2])
    assert parse_summary("noise\n" + summary_line(s) + "\n") == s
    assert parse_summary("no summary here\n") is None


@pytest.mark.slow
def test_refill_runs_in_a_child_and_the_worker_never_imports_tensorflow(tmp_path, mastodon, tiny_checkpoint):
    cfg_path = _config(tmp_path, mastodon, tiny_checkpoint)
    out = _run_worker(cfg_path, "all")
    assert (out["tensorflow"], out["gpt_2_simple"]) == (False, False)
    assert out["errors"] == [] and out["made"] == 4 and out["post"] == "posted"
    store = Store.open(database_url(load_config(cfg_path)))
    rows = store.list()
    assert len(rows) == 4 and all(r.batch_id == rows[0].batch_id and r.step == 20 for r in rows)
    with store.read_session() as s:  # the child recorded how its batch ended
        from bot.store.tables import BatchRow

        (batch,) = s.query(BatchRow).all()
        assert batch.finished_at is not None and batch.made == 4
    store.close()


def test_a_crashing_child_is_a_failed_refill_with_its_error(tmp_path, mastodon):
    cfg_path = mastodon.write_config(
        tmp_path,
        {"model": {"checkpoint_dir": str(tmp_path / "nowhere"), "run_name": "run1"}, "schedule": {"min_queue": 2}},
    )
    out = _run_worker(cfg_path, "generate")
    assert out["tensorflow"] is False and out["post"] is None and out["made"] == 0
    (err,) = out["errors"]
    assert err.startswith("refill child exited with 1") and "nowhere" in err  # the child's own message


@pytest.mark.slow
def test_a_child_past_its_timeout_is_killed(tmp_path, mastodon, tiny_checkpoint):
    cfg = load_config(_config(tmp_path, mastodon, tiny_checkpoint))
    started = []
    with pytest.raises(GenerationError, match=r"killed after 0.5 s \(\[generate\] timeout_s\)"):
        generate_in_child(cfg, n=4, timeout_s=0.5, on_start=started.append)  # importing TF alone takes longer
    assert started[0].poll() is not None  # gone, not left running


def test_roles_choose_the_jobs(tmp_path, mastodon):
    cfg = load_config(mastodon.write_config(tmp_path))
    store = Store.open(database_url(cfg))
    pub = make_publisher(cfg)
    jobs = {
        role: sorted(j.id for j in build_scheduler(Worker(cfg, store, pub, print, role=role)).get_jobs())
        for role in ("all", "post", "generate")
    }
    assert jobs == {
        "all": ["lease", "liveness", "post", "refill"],
        "post": ["lease", "liveness", "post"],
        "generate": ["lease", "refill"],
    }
    with pytest.raises(ConfigError, match="unknown worker role 'gpu'"):
        Worker(cfg, store, pub, print, role="gpu")
    store.close()


def test_the_post_role_posts_and_never_generates(tmp_path, mastodon):
    cfg_path = mastodon.write_config(tmp_path, {"model": {"checkpoint_dir": str(tmp_path / "none")}})
    store = Store.open(database_url(load_config(cfg_path)))
    store.approve(store.add("DJ Role has played the lighthouse stage every winter since 1999.", source="t").id)
    store.close()
    out = _run_worker(cfg_path, "post")
    assert out == {"tensorflow": False, "gpt_2_simple": False, "made": None, "errors": None, "post": "posted"}
    assert len([s for s in mastodon.statuses() if s["visibility"] != "direct"]) == 1  # alerts are DMs
