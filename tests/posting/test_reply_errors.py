"""Replies and operator answers get a final answer too: an unknown 4xx fails for good, a refused token alerts."""

from __future__ import annotations

import pytest

from bot.filters.gate import approve, default_pipeline
from bot.posting.alerts import open_alerts
from bot.posting.mentions import poll_cycle
from bot.posting.replies import answer_requests
from bot.posting.worker import Worker
from bot.store.requests import list_requests
from tests.fixtures_servers import OPERATOR_TOKEN
from tests.fixtures_store import GOOD_BIOS
from tests.posting.replies_kit import NOW, FakeGenerator, follower, open_store, publisher, reply_config


def _worker(tmp_path, mastodon, webhook):
    cfg = reply_config(tmp_path, mastodon, alerts={"urls": [webhook.url]})
    store = open_store(cfg)
    worker = Worker(cfg, store, publisher(cfg), lambda **kw: None, clock=lambda: NOW)
    worker.replies_job()  # the first poll only marks where "now" is
    return cfg, store, worker


def _approved_reply(mastodon, cfg, store, worker):
    """A follower's mention, read and answered: (the mention, the approved reply candidate)."""
    mention = follower(mastodon, "fan").ask("@djbios bio for Nadia Ferro (she/her) please")
    worker.replies_job()
    answer_requests(cfg, store, lambda: FakeGenerator(), NOW)
    (pending,) = [c for c in store.list("pending") if c.request_id is not None]
    return mention, approve(store, default_pipeline(cfg, store), pending.id)


def _keys(store) -> list[str]:
    return [a.key for a in open_alerts(store)]


def _bot_replies(mastodon, mention) -> list:
    return [s for s in mastodon.statuses() if str(s["in_reply_to_id"]) == str(mention["id"])]


@pytest.mark.parametrize("where", ["post", "thread"])
def test_a_reply_refused_for_good_fails_its_request_alerts_and_waits_for_the_operator(
    tmp_path, mastodon, webhook, where
):
    cfg, store, worker = _worker(tmp_path, mastodon, webhook)
    mention, reply = _approved_reply(mastodon, cfg, store, worker)
    if where == "post":  # the reply itself is refused
        mastodon.fault({"type": "status", "status": 404})
    else:  # reading the mention's thread before posting is refused
        mastodon.fault(
            {"type": "status", "status": 410}, methods=("GET",), path=f"/api/v1/statuses/{mention['id']}/context"
        )
    assert worker.replies_job().errors != []
    c = store.get(reply.id)
    assert (c.status, c.retry_at) == ("failed", None) and "HTTP 4" in c.last_error
    (req,) = list_requests(store, "failed")
    assert req.reason.startswith(f"reply #{reply.id} failed: ")
    (msg,) = webhook.messages("will not be retried")
    assert f"djbios approve {reply.id}" in msg
    for _ in range(3):  # not retried by itself, and the alert stays open through liveness passes
        worker.replies_job()
        worker.liveness_job()
    assert _bot_replies(mastodon, mention) == []
    assert f"bio-failed:{reply.id}" in _keys(store)
    store.approve(reply.id)  # what `djbios approve ID` does: it goes out, the request is answered
    assert worker.replies_job().errors == []
    assert len(_bot_replies(mastodon, mention)) == 1
    assert list_requests(store)[0].state == "answered"


def test_a_refused_token_while_replying_raises_the_token_alert(tmp_path, mastodon, webhook):
    cfg, store, worker = _worker(tmp_path, mastodon, webhook)
    mention, reply = _approved_reply(mastodon, cfg, store, worker)
    mastodon.fault({"type": "status", "status": 401}, count=None)  # every post, a DM too, is refused
    worker.replies_job()
    assert worker.state.stopped and store.get(reply.id).status == "failed"
    assert _keys(store) == ["token"]  # not a "message:" alert sent by DM with the refused token
    (msg,) = webhook.messages("stopped posting")
    assert "refused the token (401" in msg
    mastodon.clear_faults()
    assert mastodon.client(OPERATOR_TOKEN).conversations() == []  # no DM was tried
    # a restart (a new token) sends it: the reply was kept, due now
    fresh = Worker(cfg, store, publisher(cfg), lambda **kw: None, clock=lambda: NOW)
    assert fresh.replies_job().errors == []
    assert len(_bot_replies(mastodon, mention)) == 1


def test_a_refused_token_while_reading_mentions_raises_its_own_alert_until_a_clean_read(tmp_path, mastodon, webhook):
    cfg, store, worker = _worker(tmp_path, mastodon, webhook)
    mastodon.fault({"type": "status", "status": 403}, methods=("GET",), path="/api/v1/notifications")
    out = worker.replies_job()
    assert out.refused is not None and "refused the token (403" in out.refused
    assert _keys(store) == ["token-read"]
    (msg,) = webhook.messages("cannot read its mentions")
    assert "refused the token (403" in msg and "djbios login" in msg
    # A post going out proves the token can post, not that it can read: the alert stays open.
    approve(store, default_pipeline(cfg, store), store.add(GOOD_BIOS[0], source="test").id)
    assert worker.post_job().result == "posted"
    assert "token-read" in _keys(store)
    worker.replies_job()  # the fault is spent: a clean read clears it
    assert "token-read" not in _keys(store)


def test_a_refused_answer_to_the_operator_does_not_block_the_next_command(tmp_path, mastodon):
    cfg = reply_config(tmp_path, mastodon)
    store, pub = open_store(cfg), publisher(cfg)
    poll_cycle(NOW, store, pub, cfg)  # marks where "now" is
    op = mastodon.client(OPERATOR_TOKEN)
    c = store.add(GOOD_BIOS[0], source="test")
    op.status_post(f"@djbios approve {c.id}", visibility="direct")
    op.status_post("@djbios queue", visibility="direct")
    mastodon.fault({"type": "status", "status": 400})  # the first answer only
    poll_cycle(NOW, store, pub, cfg)
    first, second = list_requests(store)
    assert (first.state, second.state) == ("done", "done")
    assert first.reason.startswith("answer not sent (") and first.reason.endswith(f"#{c.id} approved")
    assert store.get(c.id).status == "approved"  # carried out all the same
    dms = [s for s in mastodon.statuses() if s["visibility"] == "direct"]
    assert len(dms) == 1 and "approved 1" in dms[0]["content"]  # the queue's answer went out
