"""`djbios doctor`: check what the worker needs (config, database, model, index, token, instance)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from bot.config import Config, database_url
from bot.errors import BotError, RetryLater
from bot.generation.checkpoint import missing_files
from bot.redact import scrub_line


@dataclass
class Check:
    """One doctor line."""

    name: str
    ok: bool
    detail: str


def _check(name: str, fn: Callable[[], str]) -> Check:
    """Run one check; a BotError or OSError is a FAIL whose (scrubbed, one-line) message says what to fix."""
    try:
        return Check(name, True, scrub_line(fn()))  # a hostile server's text passes through here
    except (BotError, OSError) as exc:
        return Check(name, False, scrub_line(str(exc)))


def doctor_checks(load_config: Callable[[], Config]) -> list[Check]:
    """Config, database, model, copy index, token, instance limits: what the worker needs."""
    cfg_check = _check("config", lambda: str(load_config().source or "built-in defaults"))
    if not cfg_check.ok:
        return [cfg_check]
    cfg = load_config()
    checks = [cfg_check, _check("database", lambda: _database(cfg)), _check("model", lambda: _model(cfg)),
              _check("copy index", lambda: _index(cfg))]
    checks.append(_check("token", lambda: _token(cfg)))
    if cfg.mastodon.publisher == "mastodon":
        checks.append(_check("instance", lambda: _instance(cfg)))
    return checks


def _database(cfg: Config) -> str:
    """Open (and migrate) the database, prove it takes a write, and count its candidates.

    Reading is not enough: a read-only file or folder opens and counts fine, then fails the
    worker's first write.
    """
    from bot.store.store import Store

    store = Store.open(database_url(cfg), busy_timeout_s=cfg.database.busy_timeout_s)
    try:
        store.check_writable()
        counts = store.count_by_status()
    finally:
        store.close()
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "empty"


def _model(cfg: Config) -> str:
    """The run folder the worker generates from has every file it loads."""
    run_dir = cfg.model.checkpoint_dir / cfg.model.run_name
    missing = missing_files(run_dir)
    if missing:
        raise BotError(f"{run_dir} lacks {', '.join(missing)}: run `djbios train` "
                       "(or set [model] checkpoint_dir / run_name)")
    return str(run_dir)


def _index(cfg: Config) -> str:
    """The copy index exists."""
    if not cfg.index_path.is_file():
        raise BotError(f"{cfg.index_path} not found: run `djbios corpus index`")
    return str(cfg.index_path)


def _token(cfg: Config) -> str:
    """The token logs in (or no token is needed)."""
    from bot.posting.publishers import MastodonPublisher, make_publisher

    pub = make_publisher(cfg)
    if not isinstance(pub, MastodonPublisher):
        return f"outbox publisher ({cfg.mastodon.outbox_path}): no token needed"
    try:
        return f"logged in as @{pub.verify()} on {cfg.mastodon.api_base_url}"
    except RetryLater as exc:
        raise BotError(f"{exc}; check [mastodon] api_base_url and the network") from exc


def _instance(cfg: Config) -> str:
    """Reachability and the status limit; /api/v2/instance needs no token."""
    from mastodon import Mastodon

    from bot.posting.publishers import MastodonPublisher

    client = Mastodon(api_base_url=cfg.mastodon.api_base_url, request_timeout=cfg.mastodon.request_timeout_s,
                      version_check_mode="none")
    try:
        ask = dataclasses.replace(cfg.mastodon, max_characters=0)  # the instance's own limit
        limit = MastodonPublisher(client, ask).max_characters()
    except RetryLater as exc:
        raise BotError(f"{cfg.mastodon.api_base_url} is not reachable: {exc}; "
                       "check [mastodon] api_base_url and the network") from exc
    if cfg.filters.max_chars > limit:
        raise BotError(f"the instance allows {limit} characters but [filters] max_chars is "
                       f"{cfg.filters.max_chars}: lower it to {limit}")
    return f"reachable, max_characters = {limit}"
