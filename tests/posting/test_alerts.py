"""Alerts through apprise to a local webhook, de-duplicated in the `alerts` table, against mastodon_mock."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import database_url, load_config
from bot.errors import ConfigError
from bot.posting.alerts import Alerter, alert_urls, apprise_channels, open_alerts
from bot.posting.jobs import PostingState, post_next
from bot.posting.publishers import make_publisher
from bot.posting.worker import wire_publisher
from bot.store.store import Store
from tests.fixtures_servers import OPERATOR_TOKEN

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BIOS = [
    "DJ Alert One has played every lighthouse on the coast and two that were never built.",
    "DJ Alert Two spins only records found in second-hand shops in towns without a station.",
]


def _setup(tmp_path, mock, webhook=None, **sections):
    if webhook is not None:
        sections.setdefault("alerts", {})["urls"] = [webhook.url]
    cfg = load_config(mock.write_config(tmp_path, sections))
    store = Store.open(database_url(cfg))
    for t in BIOS:
        store.approve(store.add(t, source="test", now=T0).id, now=T0)
    return cfg, store


def test_a_refused_token_reaches_the_webhook_once_within_repeat_hours(tmp_path, mastodon, webhook):
    cfg, store = _setup(tmp_path, mastodon, webhook, alerts={"repeat_hours": 24.0})
    now = [T0]
    _, pub = wire_publisher(make_publisher(cfg), store, cfg, clock=lambda: now[0])
    mastodon.fault({"type": "status", "status": 401}, count=None)
    for hours in (0, 1, 2):  # cron runs: each a fresh state (a restart), each refused again
        now[0] = T0 + timedelta(hours=hours)
        assert post_next(now[0], store, pub, cfg, state=PostingState()).result == "auth"
    (msg,) = webhook.messages()
    assert "stopped posting" in msg and "djbios login" in msg  # says what to run
    assert mastodon.client(OPERATOR_TOKEN).conversations() == []  # never a DM sent with the bad token
    now[0] = T0 + timedelta(hours=25)  # still refused a day later: said again
    post_next(now[0], store, pub, cfg, state=PostingState())
    assert len(webhook.messages("stopped posting")) == 2
    (row,) = open_alerts(store)
    assert row.key == "token" and row.count == 4
    assert (tmp_path / "var" / "alerts.log").read_text().count("[token]") == 2  # the local record


def test_a_404_on_post_ends_failed_with_an_alert(tmp_path, mastodon, webhook):
    """The posting core maps an unknown 4xx to failed + an alert; the routing brings it to the webhook."""
    cfg, store = _setup(tmp_path, mastodon, webhook, schedule={"max_attempts": 1})
    _, pub = wire_publisher(make_publisher(cfg), store, cfg, clock=lambda: T0)
    mastodon.fault({"type": "status", "status": 404})
    out = post_next(T0, store, pub, cfg)
    assert store.get(out.candidate_id).status == "failed"
    (msg,) = webhook.messages(f"bio {out.candidate_id} failed")
    assert "404" in msg and "djbios queue --status failed" in msg
    (conv,) = mastodon.client(OPERATOR_TOKEN).conversations()  # a bio problem: the DM goes too
    assert "failed" in conv["last_status"]["content"]


def test_without_channels_a_mastodon_alert_is_logged_and_written_down(tmp_path, mastodon, caplog):
    cfg, store = _setup(tmp_path, mastodon, alerts={"operator": ""})
    alerter = Alerter(store, cfg, clock=lambda: T0)
    with caplog.at_level(logging.WARNING):
        assert alerter.send("token", "the instance refused the token; run `djbios login`")
    assert "reached no channel outside Mastodon" in caplog.text
    assert "[token] the instance refused the token" in cfg.alerts.file.read_text()


def test_secrets_come_from_the_environment_and_are_never_logged(tmp_path, mastodon, webhook, monkeypatch, caplog):
    url = f"json://bot:${{HOOK_SECRET}}@127.0.0.1:{webhook.port}/hook"
    cfg, store = _setup(tmp_path, mastodon, alerts={"urls": [url]})
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    with pytest.raises(ConfigError, match=r"alerts.urls\[0\]: \$\{HOOK_SECRET\} is not set") as err:
        apprise_channels(cfg.alerts)
    assert "127.0.0.1" not in str(err.value)  # the place, never the URL
    monkeypatch.setenv("HOOK_SECRET", "s3cr3t-pw")
    webhook.status = 500  # a failing channel is logged too: by number and scheme, never the URL
    with caplog.at_level(logging.DEBUG):
        Alerter(store, cfg, clock=lambda: T0).send("refill", "refill failed: boom; see `djbios doctor`")
    assert webhook.received and webhook.received[0]["authorization"]  # basic auth from the secret
    assert "s3cr3t-pw" not in caplog.text and "/hook" not in caplog.text
    assert "alert channel 1 (json) did not take the alert refill" in caplog.text


def test_urls_file_must_be_private(tmp_path, mastodon, webhook):
    path = tmp_path / "alert-urls"
    path.write_text(f"# my phone\n{webhook.url}\n", encoding="utf-8")
    os.chmod(path, 0o644)
    cfg, store = _setup(tmp_path, mastodon, alerts={"urls_file": str(path)})
    with pytest.raises(ConfigError, match="chmod 600"):
        alert_urls(cfg.alerts)
    os.chmod(path, 0o600)
    assert [w for w, _ in alert_urls(cfg.alerts)] == [f"{path} line 2"]
    Alerter(store, cfg, clock=lambda: T0).send("silent", "nothing posted for 25 h")
    assert webhook.messages() == ["nothing posted for 25 h"]


def test_an_unknown_url_is_a_config_error(tmp_path, mastodon):
    cfg, _ = _setup(tmp_path, mastodon, alerts={"urls": ["nosuchservice://x"]})
    with pytest.raises(ConfigError, match=r"alerts.urls\[0\]: apprise cannot use this URL"):
        apprise_channels(cfg.alerts)


def test_resolved_then_raised_again_is_a_new_alert(tmp_path, mastodon, webhook):
    cfg, store = _setup(tmp_path, mastodon, webhook)
    alerter = Alerter(store, cfg, clock=lambda: T0)
    assert alerter.send("refill", "refill failed: x", T0)
    assert not alerter.send("refill", "refill failed: x", T0 + timedelta(hours=1))
    assert alerter.resolve("refill", T0 + timedelta(hours=2))
    assert not alerter.resolve("refill", T0 + timedelta(hours=3))  # already resolved: said once
    assert alerter.send("refill", "refill failed: y", T0 + timedelta(hours=4))  # a new episode
    assert webhook.messages() == ["refill failed: x", "resolved: refill failed: x", "refill failed: y"]
    assert [a.key for a in open_alerts(store)] == ["refill"]


def test_an_alert_nobody_received_is_tried_again(tmp_path, mastodon, webhook):
    cfg, store = _setup(tmp_path, mastodon, webhook, alerts={"operator": ""})
    alerter = Alerter(store, cfg, clock=lambda: T0)
    webhook.status = 503
    assert not alerter.send("queue-empty", "no approved bio", T0)
    webhook.status = 200
    assert alerter.send("queue-empty", "no approved bio", T0 + timedelta(minutes=30))
    assert not alerter.send("queue-empty", "no approved bio", T0 + timedelta(hours=1))
    assert len(webhook.received) == 2


def test_doctor_warns_when_nothing_outside_mastodon_would_carry_an_alert(tmp_path, mastodon, webhook):
    path = mastodon.write_config(tmp_path, {"model": {"checkpoint_dir": str(tmp_path)}})
    r = CliRunner().invoke(cli, ["--config", str(path), "doctor"])
    assert "WARN alerts: Mastodon DM to @operator" in r.output and "add [alerts] urls" in r.output
    path = mastodon.write_config(tmp_path, {"alerts": {"urls": [webhook.url]}})
    r = CliRunner().invoke(cli, ["--config", str(path), "doctor"])
    assert "OK   alerts: 1 apprise (json) + Mastodon DM to @operator" in r.output
    assert str(webhook.port) not in r.output


def test_the_old_operator_key_says_where_it_moved(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text('[mastodon]\noperator_account = "@me@example.social"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'mastodon.operator_account' moved to \[alerts\] operator"):
        load_config(path)


def test_a_worker_stopped_by_a_refused_token_says_so_again_after_repeat_hours(tmp_path, mastodon, webhook):
    from bot.posting.worker import Worker

    cfg, store = _setup(tmp_path, mastodon, webhook, alerts={"repeat_hours": 24.0}, schedule={"min_queue": 0})
    now = [T0]
    worker = Worker(cfg, store, make_publisher(cfg), lambda **kw: None, clock=lambda: now[0])
    mastodon.fault({"type": "status", "status": 401}, count=None)
    assert worker.post_job().result == "auth"
    for hours in (1, 2, 23):  # the same long-lived worker: stopped, the alert not repeated yet
        now[0] = T0 + timedelta(hours=hours)
        assert worker.post_job().result == "stopped"
    assert len(webhook.messages("stopped posting")) == 1
    now[0] = T0 + timedelta(hours=25)  # still stopped a day later: said again, as OPERATING.md §8 promises
    assert worker.post_job().result == "stopped"
    assert len(webhook.messages("stopped posting")) == 2
    assert mastodon.client(OPERATOR_TOKEN).conversations() == []  # never a DM sent with the bad token
