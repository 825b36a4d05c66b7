"""The worker, its scheduler and the CLI commands against a real store and mastodon_mock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import database_url, load_config
from bot.errors import ConfigError
from bot.posting.publishers import html_to_text, make_publisher
from bot.posting.schedule import build_scheduler, post_trigger
from bot.posting.worker import Worker
from bot.store.store import Store

BIOS = [
    f"DJ Worker {i} has played every ferry terminal on the {c} coast since {1995 + i}."
    for i, c in enumerate(["north", "south", "east", "west"])
]
DJBIOS = [sys.executable, "-m", "bot.cli"]


def _config(tmp_path: Path, mock, **sections):
    path = mock.write_config(tmp_path, sections)
    return path, load_config(path)


def _approved(cfg, texts=BIOS) -> Store:
    store = Store.open(database_url(cfg))
    for t in texts:
        store.approve(store.add(t, source="test").id)
    return store


def _posts(mock):
    """The bot's statuses that are posts: alerts to the operator are direct messages, not posts."""
    return [s for s in mock.statuses() if s["visibility"] != "direct"]


def _adder(store, texts):
    def make_batch(*, n, now):
        for t in texts[:n]:
            store.add(t, source="test", now=now)

    return make_batch


def test_run_once_refills_auto_approves_and_posts(tmp_path, mastodon):
    _, cfg = _config(tmp_path, mastodon, review={"mode": "auto"}, schedule={"min_queue": 2})
    store = Store.open(database_url(cfg))
    worker = Worker(cfg, store, make_publisher(cfg), _adder(store, BIOS))
    filled, posted = worker.run_once()
    assert (filled.made, filled.approved, posted.result) == (4, 4, "posted")
    (st,) = _posts(mastodon)
    assert html_to_text(st["content"]) == BIOS[0]
    assert mastodon.client().account_verify_credentials()["bot"] is True  # set at start-up


def test_post_job_keeps_running_through_faults_and_in_quiet_hours(tmp_path, mastodon):
    _, cfg = _config(tmp_path, mastodon, mastodon={"request_timeout_s": 10.0})
    store = _approved(cfg)
    now = [datetime(2026, 11, 27, 12, tzinfo=UTC)]
    worker = Worker(cfg, store, make_publisher(cfg), _adder(store, []), clock=lambda: now[0])
    for effect in ({"type": "status", "status": 500}, {"type": "malformed"}, {"type": "ratelimit"}):
        mastodon.fault(effect)
        assert worker.post_job().result == "retry"
        now[0] += timedelta(hours=1)
    results = [worker.post_job().result for _ in range(6)]
    assert results.count("posted") == 4 and results[-1] == "idle"
    assert len(_posts(mastodon)) == 4


def test_quiet_hours_skip_posting(tmp_path, mastodon):
    now = datetime(2026, 11, 27, 3, tzinfo=UTC)
    _, cfg = _config(tmp_path, mastodon, schedule={"quiet_hours": [now.astimezone().hour]})
    store = _approved(cfg)
    worker = Worker(cfg, store, make_publisher(cfg), _adder(store, []), clock=lambda: now)
    assert worker.post_job().result == "quiet" and _posts(mastodon) == []


def test_scheduler_jobs_coalesce_with_one_instance(tmp_path, mastodon):
    _, cfg = _config(
        tmp_path, mastodon, schedule={"post_cron": "0 9,15,21 * * *", "jitter_seconds": 30, "misfire_grace_s": 120}
    )
    store = Store.open(database_url(cfg))
    sched = build_scheduler(Worker(cfg, store, make_publisher(cfg), _adder(store, [])))
    jobs = {j.id: j for j in sched.get_jobs()}
    assert set(jobs) == {"refill", "post", "liveness", "lease"}  # lease: the heartbeat
    for j in jobs.values():
        assert (j.coalesce, j.max_instances, j.misfire_grace_time) == (True, 1, 120)
    assert jobs["post"].trigger.jitter == 30 and "9,15,21" in str(jobs["post"].trigger)


def test_batches_are_filtered_to_the_instance_limit(tmp_path, mastodon):
    from bot.posting.worker import fit_to_instance

    _, cfg = _config(tmp_path, mastodon, filters={"max_chars": 800})
    assert fit_to_instance(cfg, make_publisher(cfg)).filters.max_chars == 500  # the mock's limit
    _, small = _config(tmp_path, mastodon, filters={"max_chars": 300})
    assert fit_to_instance(small, make_publisher(small)).filters.max_chars == 300


def test_bad_cron_names_the_key(tmp_path, mastodon):
    _, cfg = _config(tmp_path, mastodon, schedule={"post_cron": "every day"})
    with pytest.raises(ConfigError, match="schedule.post_cron"):
        post_trigger(cfg)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_during_a_post_stops_cleanly_after_it(tmp_path, mastodon, sig):
    path, cfg = _config(tmp_path, mastodon, schedule={"post_every_minutes": 0.01, "min_queue": 0})
    store = _approved(cfg, BIOS[:3])
    mastodon.fault({"type": "latency", "delay_ms": 800}, count=None)  # a slow post to land in
    proc = subprocess.Popen([*DJBIOS, "--config", str(path), "run"], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while not store.list("posting") and time.time() < deadline:
        time.sleep(0.02)  # wait until a post is in flight
    proc.send_signal(sig)
    t0 = time.time()
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert time.time() - t0 < 5
    assert "worker stopped" in err and "post: result=posted" in err
    assert store.count_by_status()["posting"] == 0  # never stopped mid-cycle
    assert len(_posts(mastodon)) == store.count_by_status()["posted"] >= 1


def test_running_worker_rides_out_faults_and_posts_each_bio_once(tmp_path, mastodon):
    path, cfg = _config(tmp_path, mastodon, schedule={"post_every_minutes": 0.01, "min_queue": 0, "retry_base_s": 0.3})
    store = _approved(cfg)
    for effect in ({"type": "status", "status": 503}, {"type": "malformed"}, {"type": "status", "status": 502}):
        mastodon.fault(effect)  # rules apply in order, one request each
    proc = subprocess.Popen([*DJBIOS, "--config", str(path), "run"], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while store.count_by_status()["posted"] < len(BIOS) and time.time() < deadline:
        time.sleep(0.1)
    alive = proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)
    assert alive and proc.returncode == 0, err[-2000:]
    assert err.count("errors=1") >= 3 and "post: result=posted" in err
    texts = sorted(html_to_text(s["content"]) for s in _posts(mastodon))
    assert texts == sorted(BIOS)  # each bio exactly once


# -- the CLI ---------------------------------------------------------------------------------------
def _cli(path, *args, input=None):
    return CliRunner().invoke(cli, ["--config", str(path), *args], input=input, catch_exceptions=False)


def test_cli_post_dry_run_then_post_then_idle(tmp_path, mastodon):
    path, cfg = _config(tmp_path, mastodon)
    _approved(cfg, BIOS[:1])
    r = _cli(path, "post", "--dry-run")
    assert r.exit_code == 0 and BIOS[0] in r.output and _posts(mastodon) == []
    r = _cli(path, "post")
    assert r.exit_code == 0 and "posted bio" in r.output and len(_posts(mastodon)) == 1
    assert "nothing approved" in _cli(path, "post").output


def test_cli_post_to_the_outbox_needs_no_token(tmp_path, mastodon, monkeypatch):
    path, cfg = _config(tmp_path, mastodon, mastodon={"publisher": "outbox", "token_file": ""})
    monkeypatch.delenv("DJBIOS_ACCESS_TOKEN", raising=False)
    _approved(cfg, BIOS[:1])
    r = _cli(path, "post")
    assert r.exit_code == 0 and "posted bio" in r.output
    assert BIOS[0] in cfg.mastodon.outbox_path.read_text() and _posts(mastodon) == []


def test_cli_post_reports_a_failure_with_exit_1(tmp_path, mastodon):
    path, cfg = _config(tmp_path, mastodon)
    _approved(cfg, BIOS[:1])
    mastodon.fault({"type": "status", "status": 503})
    r = _cli(path, "post")
    assert r.exit_code == 1 and "will retry" in r.output


def test_cli_login_saves_a_0600_token_that_works(tmp_path, mastodon):
    path, _ = _config(tmp_path, mastodon)
    token_file = tmp_path / "secrets" / "bot.token"
    r = _cli(path, "login", "--instance", mastodon.base_url, "--token-file", str(token_file), input="mockcode_djbios\n")
    assert r.exit_code == 0, r.output
    assert "/oauth/authorize" in r.output and f'token_file = "{token_file}"' in r.output
    assert token_file.stat().st_mode & 0o777 == 0o600
    token = token_file.read_text().strip()
    assert token not in r.output  # never printed
    assert mastodon.client(token).account_verify_credentials()["username"] == "djbios"


def test_cli_doctor_says_what_to_fix(tmp_path, mastodon):
    path, _ = _config(tmp_path, mastodon, filters={"max_chars": 600})
    r = _cli(path, "doctor")
    assert r.exit_code == 1
    assert "OK   token: logged in as @djbios" in r.output
    assert "FAIL model:" in r.output and "djbios train" in r.output
    assert "FAIL copy index:" in r.output and "djbios corpus index" in r.output
    assert "FAIL instance:" in r.output and "lower it to 500" in r.output
    assert "OK   database:" in r.output and "OK   config:" in r.output


def test_cli_doctor_flags_a_bad_token(tmp_path, mastodon, monkeypatch):
    path, _ = _config(tmp_path, mastodon)
    monkeypatch.setenv("DJBIOS_ACCESS_TOKEN", "wrong")
    r = _cli(path, "doctor")
    assert r.exit_code == 1 and "FAIL token:" in r.output and "djbios login" in r.output
    assert "wrong" not in r.output


def test_cli_doctor_flags_an_unreachable_instance(tmp_path, mastodon):
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path, _ = _config(tmp_path, mastodon, mastodon={"api_base_url": f"http://127.0.0.1:{port}"})
    r = _cli(path, "doctor")
    assert r.exit_code == 1 and "FAIL instance:" in r.output and "not reachable" in r.output
    assert "FAIL token:" in r.output and "api_base_url" in r.output


@pytest.mark.slow
def test_run_once_end_to_end_with_the_tiny_model(tmp_path, mastodon, request):
    tiny = request.getfixturevalue("tiny_checkpoint")
    path, _ = _config(
        tmp_path,
        mastodon,
        review={"mode": "auto"},
        schedule={"min_queue": 1},
        model={"checkpoint_dir": str(tiny.checkpoint_dir), "run_name": tiny.run_name},
        generate={"nsamples": 32, "batch_size": 32, "seed": 3, "max_tokens": 200},  # most tiny samples never end
        filters={
            "min_chars": 1,
            "min_lang_prob": 0.0,
            "max_line_repeats": 50,
            "max_list_repeats": 50,
            "near_dup_jaccard": 1.0,
            "copy_overlap_max": 1.0,
            "copy_run_words": 1000,
        },
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    r = subprocess.run(
        [*DJBIOS, "--config", str(path), "run", "--once"], capture_output=True, text=True, timeout=240, env=env
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "post: posted" in r.stdout, r.stdout + r.stderr[-3000:]
    (st,) = _posts(mastodon)
    store = Store.open(database_url(load_config(path)))
    (posted,) = store.list("posted")
    assert posted.status_id == str(st["id"]) and posted.source == "generate"
    assert html_to_text(st["content"]) == " ".join(posted.text.split())


def test_cli_run_once_exits_1_when_the_post_fails(tmp_path, mastodon):
    path, cfg = _config(tmp_path, mastodon, schedule={"min_queue": 0})
    _approved(cfg, BIOS[:1])
    mastodon.fault({"type": "status", "status": 503})
    r = _cli(path, "run", "--once")
    assert r.exit_code == 1 and "post: retry" in r.output and "503" in r.output


class _FailsMarkPostedOnce:
    """A real store whose first mark_posted fails (the database was locked after the post went out)."""

    def __init__(self, store):
        self._store, self.failed = store, False

    def __getattr__(self, name):
        return getattr(self._store, name)

    def mark_posted(self, *args, **kwargs):
        if not self.failed:
            self.failed = True
            raise OperationalErrorLike("database is locked")
        return self._store.mark_posted(*args, **kwargs)


class OperationalErrorLike(Exception):
    """Stands in for sqlalchemy's OperationalError."""


def test_row_left_posting_by_a_failed_commit_is_reconciled_without_a_restart(tmp_path, mastodon):
    _, cfg = _config(tmp_path, mastodon)
    store = _approved(cfg, BIOS[:2])
    worker = Worker(cfg, _FailsMarkPostedOnce(store), make_publisher(cfg), _adder(store, []))
    worker.startup()
    assert worker.post_job().result == "error" and store.list("posting")
    assert worker.post_job().result == "posted"
    assert store.list("posting") == [] and store.count_by_status()["posted"] == 2
    assert sorted(html_to_text(s["content"]) for s in _posts(mastodon)) == sorted(BIOS[:2])
