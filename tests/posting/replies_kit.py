"""Shared parts of the reply tests: followers on mastodon_mock, a config, a fixed-output generator."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bot.config import Config, database_url, load_config
from bot.generation.sampler import Sample
from bot.posting.publishers import MastodonPublisher
from bot.store.store import Store
from bot.text import START

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
# Bio bodies written for the tests: each follows the steered opening "NAME is a DJ. She" and passes
# every default filter; the last one uses other pronouns, so the pronoun filter rejects it for "she".
BODIES = [
    " started out behind the counter of a record shop in Lyon and still digs through its crates every "
    "week, playing warm and patient house records in small rooms.",
    " spent ten years as a radio host before pressing a first record, and now plays sets that move from "
    "dub to acid techno without any hurry at all.",
    " builds synthesizers from kits and scrap parts in a flat above a bakery; the live shows are loud, "
    "generous and a little chaotic, which is how the crowd likes them.",
    " learned to mix on a pair of second hand turntables in a school music room and now tours with a bag "
    "of rare disco edits and a habit of playing the last song twice.",
    " grew up by the sea and his brother taught him to mix; he still plays his first records every summer "
    "at the harbour bar where he started out as a teenager.",
]


class FakeGenerator:
    """Returns fixed bodies after the prompt, like GPT2Generator does (for the fast logic tests)."""

    provenance = {"checkpoint": "fake", "step": 1}

    def __init__(self, bodies: list[str] | None = None) -> None:
        self.bodies = bodies or BODIES
        self.prefixes: list[str] = []

    def generate(
        self,
        nsamples: int,
        *,
        batch_size: int,
        temperature: float,
        top_k: int,
        top_p: float,
        seed: int | None,
        prefix: str = START,
        max_tokens: Any = None,
    ) -> list[Sample]:
        self.prefixes.append(prefix)
        head = prefix.replace(START, "", 1)
        cycle = itertools.islice(itertools.cycle(self.bodies), nsamples)
        return [Sample(text=(head + b).strip(), complete=True, tokens=40, seed=seed or 0) for b in cycle]


@dataclass
class Follower:
    """A second account on the mock that mentions the bot."""

    id: str
    acct: str
    client: Any
    statuses: list[Any] = field(default_factory=list)

    def ask(self, text: str, visibility: str = "public", **kw: Any) -> Any:
        """Mention the bot: status_post("@djbios ...") arrives as a mention notification."""
        st = self.client.status_post(text, visibility=visibility, **kw)
        self.statuses.append(st)
        return st


def follower(mastodon: Any, username: str, display_name: str | None = None, **profile: Any) -> Follower:
    """A fresh local account with a token (mastodon_mock's dev_user endpoint); profile: note, bot, fields."""
    r = requests.post(
        f"{mastodon.base_url}/api/v1/_mock/dev_user",
        json={"username": username, "display_name": display_name or username},
        timeout=10,
    )
    r.raise_for_status()
    body = r.json()
    client = mastodon.client(body["access_token"])
    if profile:
        client.account_update_credentials(**profile)
    return Follower(id=str(body["id"]), acct=body["username"], client=client)


def reply_config(tmp_path: Path, server: Any, /, **sections: dict[str, Any]) -> Config:
    """A bot.toml posting to the mock with replies on (manual), the operator @operator, seeded sampling."""
    base: dict[str, dict[str, Any]] = {
        "replies": {"enabled": True, "poll_seconds": 5.0},
        "alerts": {"operator": "@operator"},
        "generate": {"seed": 7},
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return load_config(server.write_config(tmp_path, base))


def open_store(cfg: Config) -> Store:
    """The config's real SQLite store."""
    return Store.open(database_url(cfg))


def publisher(cfg: Config) -> MastodonPublisher:
    """The real Mastodon.py publisher for the config."""
    return MastodonPublisher.from_config(cfg)
