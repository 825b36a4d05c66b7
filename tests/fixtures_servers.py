"""Real local servers on 127.0.0.1 for the tests: mastodon_mock, and the scrape site."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# ---------------------------------------------------------------------------------------------
# MASTODON (owned by the posting area): mastodon_mock 0.6.1 in a thread, one per test session.
# ---------------------------------------------------------------------------------------------
BOT_TOKEN = "djbios_token"  # mock credentials for the seeded accounts, not secrets
OPERATOR_TOKEN = "operator_token"


class MastodonMock:
    """The running mock: URLs, clients, fault injection and read-back helpers."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.base_url: str = server.base_url
        self.token = BOT_TOKEN

    def client(self, token: str = BOT_TOKEN) -> Any:
        """A Mastodon.py client for a seeded account."""
        from mastodon import Mastodon

        return Mastodon(access_token=token, api_base_url=self.base_url, request_timeout=10)

    def fault(self, effect: dict[str, Any], *, count: int | None = 1, methods: tuple[str, ...] = ("POST",),
              path: str = "/api/v1/statuses") -> dict[str, Any]:
        """Add a fault rule (POST /api/v1/_mock/faults); effect e.g. {"type": "status", "status": 503}."""
        import requests

        body = {"match": {"methods": list(methods), "path": path}, "effect": effect, "count": count}
        r = requests.post(f"{self.base_url}/api/v1/_mock/faults", json=body, timeout=10)
        r.raise_for_status()
        return r.json()

    def clear_faults(self) -> None:
        """DELETE every fault rule."""
        import requests

        requests.delete(f"{self.base_url}/api/v1/_mock/faults", timeout=10).raise_for_status()

    def reset(self) -> None:
        """Back to the seed state, with no faults."""
        import requests

        self.clear_faults()
        requests.post(f"{self.base_url}/api/v1/_mock/reset", timeout=10).raise_for_status()

    def statuses(self, token: str = BOT_TOKEN) -> list[Any]:
        """Every status of the account, newest first, read back through the API (all pages)."""
        c = self.client(token)
        me = c.account_verify_credentials()
        return list(c.fetch_remaining(c.account_statuses(me["id"], limit=40)))

    def write_config(self, folder: Path, sections: dict[str, dict[str, Any]] | None = None) -> Path:
        """A bot.toml in `folder` posting to this mock (0600 token file); `sections` override keys."""
        token_file = folder / "token"
        token_file.write_text(BOT_TOKEN, encoding="utf-8")
        os.chmod(token_file, 0o600)
        tables: dict[str, dict[str, Any]] = {
            "database": {"url": "sqlite:///var/djbios.db"},
            "mastodon": {"api_base_url": self.base_url, "token_file": "token",
                         "request_timeout_s": 2.0, "operator_account": "@operator"},
        }
        for name, values in (sections or {}).items():
            tables.setdefault(name, {}).update(values)
        path = folder / "bot.toml"
        path.write_text("".join(_toml_table(k, v) for k, v in tables.items()), encoding="utf-8")
        return path


def _toml_table(name: str, values: dict[str, Any]) -> str:
    """One [table] of scalars and lists (enough for bot.toml)."""
    import json

    def lit(v: Any) -> str:
        return str(v).lower() if isinstance(v, bool) else json.dumps(v)

    return f"[{name}]\n" + "".join(f"{k} = {lit(v)}\n" for k, v in values.items()) + "\n"


@pytest.fixture(scope="session")
def mastodon_server() -> Iterator[MastodonMock]:
    """mastodon_mock on 127.0.0.1 (free port) with the bot account and an operator account."""
    from mastodon_mock.config import SeedAccount, SeedConfig
    from mastodon_mock.testing import MockServer

    seed = SeedConfig(accounts=[
        SeedAccount(username="djbios", display_name="djbios", access_token=BOT_TOKEN),
        SeedAccount(username="operator", display_name="Operator", access_token=OPERATOR_TOKEN),
    ])
    with MockServer(seed=seed) as server:
        yield MastodonMock(server)


@pytest.fixture
def mastodon(mastodon_server: MastodonMock) -> Iterator[MastodonMock]:
    """The session's mock, reset to its seed and cleared of faults for this test."""
    mastodon_server.reset()
    yield mastodon_server
    mastodon_server.clear_faults()
