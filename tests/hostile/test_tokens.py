"""The access token never leaks: not to the terminal, the log, the database, `show`, `queue --json` or doctor.

A poisoned token (an inner newline, from the environment or a two-line token file) once made the
HTTP library raise an error quoting the whole Authorization header, and that text went everywhere.
A hostile instance (or proxy) that echoes the request back does the same with a good token. Every
channel is grepped after real runs of `djbios` against mastodon_mock on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from bot.config import load_config, read_token
from bot.errors import ConfigError, RetryLater
from bot.redact import remember_secret, scrub, scrub_logging
from tests.fixtures_servers import BOT_TOKEN
from tests.hostile.helpers import Run, database_dump, djbios

BIOS = [
    "DJ Leak Check plays four-hour sets of slow dub techno in a converted bus depot in Leeds.",
    "Marta Ondine runs a tape label from a flat above a launderette and plays every second Friday.",
]
LINE1, LINE2 = "pois0ned-token-first-line-7f3a", "second-line-of-the-token-9c2e"


def _queue_two_approved(folder: Path, config: Path, env: dict[str, str]) -> None:
    """Two approved bios, through the CLI."""
    (folder / "bios.txt").write_text("\n\n".join(BIOS), encoding="utf-8")
    assert djbios("--config", str(config), "add", "bios.txt", cwd=folder, env=env).code == 0
    assert djbios("--config", str(config), "approve", "1", "2", cwd=folder, env=env).code == 0


def _every_channel(folder: Path, config: Path, env: dict[str, str], log: Path) -> tuple[str, list[Run]]:
    """Run what the operator runs, then return all text they could see (and the runs)."""
    c = ["--config", str(config)]
    runs = [
        djbios(*c, *args, cwd=folder, env=env, log=log)
        for args in (
            ["post"],
            ["post"],
            ["run", "--once"],
            ["doctor"],
            ["show", "1"],
            ["show", "2"],
            ["show", "1", "--json"],
            ["queue"],
            ["queue", "--json"],
            ["stats"],
        )
    ]
    seen = "\n".join(r.text for r in runs) + log.read_text(encoding="utf-8")
    db = folder / "var" / "djbios.db"
    return seen + (database_dump(db) if db.exists() else ""), runs


@pytest.mark.parametrize("where", ["env", "file"])
def test_a_two_line_token_is_refused_and_never_shown(tmp_path: Path, mastodon, where: str) -> None:
    config = mastodon.write_config(tmp_path)
    token = f"{LINE1}\n{LINE2}"
    env = {"DJBIOS_ACCESS_TOKEN": token} if where == "env" else {}
    if where == "file":
        (tmp_path / "token").write_text(token + "\n", encoding="utf-8")
    _queue_two_approved(tmp_path, config, env)
    seen, runs = _every_channel(tmp_path, config, env, tmp_path / "djbios.log")
    for piece in (LINE1, LINE2, LINE1[:12], LINE2[-12:]):
        assert piece not in seen
    post = runs[0]
    assert post.code == 1 and "Traceback" not in post.text
    assert "2 lines" in post.err and ("$DJBIOS_ACCESS_TOKEN" if where == "env" else "token") in post.err
    assert "FAIL token" in runs[3].out
    assert mastodon.statuses() == []  # nothing posted with half a token


def test_a_hostile_instance_echoing_the_token_is_scrubbed_everywhere(tmp_path: Path, mastodon) -> None:
    """A good token, but the server's error pages quote it back in every form it could."""
    config = mastodon.write_config(tmp_path)
    _queue_two_approved(tmp_path, config, {})
    echo = (
        f"proxy saw Authorization: Bearer {BOT_TOKEN}; retry with ?access_token={BOT_TOKEN} "
        f"or {{'Authorization': 'Bearer {BOT_TOKEN}'}}"
    )
    mastodon.fault({"type": "status", "status": 502, "body": {"error": echo}}, count=1)
    mastodon.fault({"type": "status", "status": 422, "body": {"error": echo}}, count=None)
    mastodon.fault(
        {"type": "status", "status": 401, "body": {"error": echo}},
        count=None,
        methods=("GET",),
        path="/api/v1/accounts/verify_credentials",
    )
    seen, runs = _every_channel(tmp_path, config, {}, tmp_path / "djbios.log")
    assert BOT_TOKEN not in seen
    assert "proxy saw Authorization: Bearer [redacted]" in runs[4].out  # bio 1: failed, kept the message
    assert "refused by instance" in runs[5].out and "[redacted]" in runs[5].out  # bio 2: 422, pending
    assert "FAIL token" in runs[3].out and "[redacted]" in runs[3].out


@pytest.mark.parametrize(
    "token, what",
    [
        (f"{LINE1}\n{LINE2}", "2 lines"),
        (f"{LINE1} {LINE2}", "spaces"),
        (f"{LINE1}\x1b[2J", "not printable"),
        (f"{LINE1}é", "not printable"),
    ],
)
def test_a_malformed_token_is_described_never_quoted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str, what: str
) -> None:
    monkeypatch.setenv("DJBIOS_ACCESS_TOKEN", token)
    cfg = load_config(_toml(tmp_path, ""))
    with pytest.raises(ConfigError) as err:
        read_token(cfg)
    assert what in str(err.value) and "$DJBIOS_ACCESS_TOKEN" in str(err.value)
    assert LINE1 not in str(err.value) and "\n" not in str(err.value)


def test_a_token_file_that_is_a_folder_or_not_utf8_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DJBIOS_ACCESS_TOKEN", raising=False)
    cfg = load_config(_toml(tmp_path, '[mastodon]\ntoken_file = "tok"\n'))
    (tmp_path / "tok").mkdir(mode=0o700)
    with pytest.raises(ConfigError, match="token_file is a folder"):
        read_token(cfg)
    (tmp_path / "tok").rmdir()
    (tmp_path / "tok").write_bytes(LINE1.encode() + b"\xff\xfe")
    os.chmod(tmp_path / "tok", 0o600)
    with pytest.raises(ConfigError, match="not UTF-8") as err:
        read_token(cfg)
    assert LINE1 not in str(err.value) and err.value.__cause__ is None  # the decode error quotes bytes


def test_the_cli_prints_a_folder_token_file_as_one_line(tmp_path: Path, mastodon) -> None:
    config = mastodon.write_config(tmp_path)
    (tmp_path / "token").unlink()
    (tmp_path / "token").mkdir(mode=0o700)
    run = djbios("--config", str(config), "post", cwd=tmp_path)
    assert run.code == 1 and "Traceback" not in run.text and "token_file is a folder" in run.err


@pytest.mark.parametrize(
    "text",
    [
        "HTTP error: {'Authorization': 'Bearer abc.DEF-123_xyz'}",
        "Invalid leading whitespace in header value: 'Bearer abc.DEF-123_\\nxyz'",
        "GET https://example.social/api/v1/x?access_token=abc.DEF-123_xyz&limit=1 failed",
        '{"access_token": "abc.DEF-123_xyz", "token_type": "Bearer"}',
        "authorization=abc.DEF-123_xyz",
        "postgresql://djbios:abc.DEF-123_xyz@db.local/djbios refused",
    ],
)
def test_scrub_masks_token_shaped_values(text: str) -> None:
    assert "abc.DEF-123_" not in scrub(text) and "xyz" not in scrub(text).replace("[redacted]", "")


def test_scrub_masks_a_remembered_token_in_any_form() -> None:
    token = "RememberedTok3n-0123456789abcdef\nsecondhalf-0123456789"
    remember_secret(token)
    for form in (token, repr(token), token.split("\n")[1], f"x{token.split()[0]}y"):
        assert "0123456789abcdef" not in scrub(form) and "secondhalf-0123" not in scrub(form)
    assert scrub("nothing secret here") == "nothing secret here"


def test_logged_tracebacks_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    """The worker logs unexpected errors with their chained causes: the cause may hold the header."""
    scrub_logging()
    log = logging.getLogger("tests.hostile.tokens")
    try:
        try:
            raise ValueError("Invalid header value b'Bearer Tr4ceback-Secret-0123456789'")
        except ValueError as exc:
            raise RetryLater("network error while posting") from exc
    except RetryLater:
        log.exception("post failed: %s", "Authorization: Bearer Tr4ceback-Secret-0123456789")
    assert "post failed" in caplog.text and "Tr4ceback-Secret" not in caplog.text
    assert "Tr4ceback-Secret" not in "".join(logging.Formatter().format(r) for r in caplog.records)


def test_show_json_of_a_scrubbed_row_is_valid_json(tmp_path: Path, mastodon) -> None:
    config = mastodon.write_config(tmp_path)
    _queue_two_approved(tmp_path, config, {})
    mastodon.fault({"type": "status", "status": 503, "body": {"error": f"Bearer {BOT_TOKEN}"}}, count=1)
    assert djbios("--config", str(config), "post", cwd=tmp_path).code == 1
    row = json.loads(djbios("--config", str(config), "show", "1", "--json", cwd=tmp_path).out)
    assert row["status"] == "failed" and "Bearer [redacted]" in row["last_error"]


def _toml(folder: Path, text: str) -> Path:
    path = folder / "bot.toml"
    path.write_text(text, encoding="utf-8")
    return path
