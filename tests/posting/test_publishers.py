"""The publishers against mastodon_mock over HTTP: posting, idempotency and the error mapping."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bot.config import Config, load_config
from bot.errors import AuthError, ConfigError, Rejected, RetryLater
from bot.posting.outbox import OutboxPublisher
from bot.posting.publishers import MastodonPublisher, html_to_text, make_publisher
from bot.store.store import Store

BIO = "DJ Test Pattern grew up between <two> record shops & a bus depot.\n\nNow plays slow techno."


def _setup(tmp_path: Path, mock, **sections) -> tuple[Config, Store]:
    cfg = load_config(mock.write_config(tmp_path, sections))
    store = Store.open(f"sqlite:///{tmp_path / 'djbios.db'}")
    return cfg, store


def _candidate(store: Store, text: str = BIO):
    c = store.add(text, source="test")
    store.approve(c.id)
    return store.start_posting(c.id)


def test_post_reads_back_with_visibility_cw_and_language(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon, mastodon={"spoiler_text": "AI-generated", "language": "en"})
    pub = make_publisher(cfg)
    status_id, url = pub.post(_candidate(store))
    st = mastodon.client().status(status_id)
    assert (st["visibility"], st["spoiler_text"], st["language"]) == ("unlisted", "AI-generated", "en")
    assert html_to_text(st["content"]) == " ".join(BIO.split())
    assert url == st["url"]


def test_same_idempotency_key_gives_one_status(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon)
    pub = make_publisher(cfg)
    c = _candidate(store)
    assert pub.post(c) == pub.post(c)
    assert len(mastodon.statuses()) == 1


def test_max_characters_is_read_once_and_cached(tmp_path, mastodon):
    cfg, _ = _setup(tmp_path, mastodon)
    pub = make_publisher(cfg)
    assert pub.max_characters() == 500  # what mastodon_mock advertises
    mastodon.fault({"type": "status", "status": 503}, count=None, methods=("GET",), path="/api/v2/instance")
    assert pub.max_characters() == 500  # cached: no second request


def test_find_bio_finds_the_text_and_skips_direct_messages(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon)
    pub = make_publisher(cfg)
    c = _candidate(store)
    mastodon.client().status_post(BIO, visibility="direct")
    assert pub.find_bio(c, [BIO]) is None
    sid, url = pub.post(c)
    assert pub.find_bio(c, [BIO]) == ([sid], url)
    assert pub.find_bio(c, [BIO], exclude={sid}) is None  # another bio's status is never taken


@pytest.mark.parametrize(
    "effect",
    [
        {"type": "status", "status": 500},
        {"type": "status", "status": 502},
        {"type": "status", "status": 503},
        {"type": "status", "status": 504},
        {"type": "malformed"},
        {"type": "timeout", "delay_ms": 0},
    ],
    ids=["500", "502", "503", "504", "malformed", "timeout"],
)
def test_transient_faults_raise_retry_later(tmp_path, mastodon, effect):
    cfg, store = _setup(tmp_path, mastodon, mastodon={"request_timeout_s": 1.0})
    mastodon.fault(effect)
    with pytest.raises(RetryLater):
        make_publisher(cfg).post(_candidate(store))


def test_429_retry_after_honours_the_reset_header(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon)
    reset = int(time.time()) + 120
    mastodon.fault({"type": "ratelimit", "headers": {"X-RateLimit-Reset": str(reset)}})
    with pytest.raises(RetryLater) as info:
        make_publisher(cfg).post(_candidate(store))
    assert 100 <= info.value.retry_after <= 125


@pytest.mark.parametrize("code", [401, 403])
def test_bad_token_raises_auth_error(tmp_path, mastodon, code):
    cfg, store = _setup(tmp_path, mastodon)
    mastodon.fault({"type": "status", "status": code})
    with pytest.raises(AuthError, match="djbios login"):
        make_publisher(cfg).post(_candidate(store))


def test_unknown_token_raises_auth_error(tmp_path, mastodon, monkeypatch):
    cfg, store = _setup(tmp_path, mastodon)
    monkeypatch.setenv("DJBIOS_ACCESS_TOKEN", "not-a-token")
    with pytest.raises(AuthError):
        make_publisher(cfg).post(_candidate(store))


def test_422_raises_rejected_with_the_server_message(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon)
    with pytest.raises(Rejected, match="too long"):
        make_publisher(cfg).post(_candidate(store, "x" * 600))


def test_alert_is_a_direct_message_to_the_operator(tmp_path, mastodon):
    from tests.fixtures_servers import OPERATOR_TOKEN

    cfg, _ = _setup(tmp_path, mastodon)
    make_publisher(cfg).alert("the queue is empty")
    (conv,) = mastodon.client(OPERATOR_TOKEN).conversations()
    assert conv["last_status"]["visibility"] == "direct"
    assert "the queue is empty" in conv["last_status"]["content"]
    assert all(s["visibility"] == "direct" for s in mastodon.statuses())


def test_update_profile_then_read_it_back(tmp_path, mastodon):
    cfg, _ = _setup(tmp_path, mastodon)
    pub = make_publisher(cfg)
    pub.update_profile(bot=True, note="AI-generated bios")
    me = pub.profile()
    assert me["bot"] is True and "AI-generated" in me["note"]
    assert pub.verify() == "djbios"


def test_token_file_readable_by_others_is_refused(tmp_path, mastodon):
    cfg, _ = _setup(tmp_path, mastodon)
    (tmp_path / "token").chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        MastodonPublisher.from_config(cfg)


def test_outbox_appends_once_per_key(tmp_path, mastodon):
    cfg, store = _setup(tmp_path, mastodon, mastodon={"publisher": "outbox"})
    pub = make_publisher(cfg)
    assert isinstance(pub, OutboxPublisher)
    c = _candidate(store)
    assert pub.post(c) == pub.post(c)
    assert pub.find_bio(c, [BIO]).ids == [c.idempotency_key]
    pub.alert("hello")
    lines = [json.loads(x) for x in cfg.mastodon.outbox_path.read_text().splitlines()]
    assert [x.get("text") for x in lines] == [BIO, None]


def test_a_thread_bio_posts_as_numbered_replies_once(tmp_path, mastodon):
    """too_long = "thread": the parts go out as replies, and a retry after a half thread adds none."""
    from bot.config import FiltersConfig
    from bot.filters.pipeline import Pipeline

    cfg, store = _setup(tmp_path, mastodon)
    long_bio = " ".join(f"Sentence {i} tells how DJ Thread Test spent year {i} digging in crates." for i in range(14))
    verdict = Pipeline(FiltersConfig(too_long="thread", skip=["repetition", "copy"])).check(long_bio)
    assert verdict.ok, verdict.reason
    c = store.add(verdict.text, source="test", scores=verdict.scores)
    store.approve(c.id)
    c = store.start_posting(c.id)
    parts = verdict.scores["length"]["thread"]
    assert len(parts) >= 2
    pub = make_publisher(cfg)
    mastodon.fault({"type": "status", "status": 503}, count=1, methods=("POST",), path="/api/v1/statuses")
    pub_first = None
    for _ in range(len(parts) + 2):  # first attempt fails at the first part; later ones complete
        try:
            pub_first = pub.post(c, parts)  # changed on purpose: the caller passes the parts
            break
        except RetryLater:
            continue
    assert pub_first is not None
    assert pub.post(c, parts) == pub_first  # a full retry re-sends every part as a no-op
    statuses = sorted(mastodon.statuses(), key=lambda s: int(s["id"]))
    assert [html_to_text(s["content"]) for s in statuses] == parts
    assert all(s["in_reply_to_id"] == statuses[i]["id"] for i, s in enumerate(statuses[1:]))
    found = pub.find_bio(c, parts)
    assert found.ids == [str(s["id"]) for s in statuses] and found.ids[0] == pub_first[0]
