"""`djbios doctor`: check what the worker needs (config, database, model, index, schedule, alerts, token,
instance, profile) and show the liveness conditions it alerts on. FAIL stops the bot; WARN does not."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.config import Config, database_url
from bot.errors import BotError, RetryLater
from bot.extras import missing_extra
from bot.generation.checkpoint import load_vocab, missing_files
from bot.redact import scrub_line


@dataclass
class Check:
    """One doctor line."""

    name: str
    ok: bool
    detail: str
    warn: bool = False  # worth fixing, but the worker runs: doctor still exits 0

    @property
    def label(self) -> str:
        """OK, WARN or FAIL, padded to one width."""
        return "FAIL" if not self.ok else "WARN" if self.warn else "OK  "


def _check(name: str, fn: Callable[[], str]) -> Check:
    """Run one check; a BotError or OSError is a FAIL whose (scrubbed, one-line) message says what to fix.

    So is a module that only an extra installs (the model's vocabulary on a base install): the line
    names the extra, and the other checks still run."""
    try:
        return Check(name, True, scrub_line(fn()))  # a hostile server's text passes through here
    except (BotError, OSError) as exc:
        return Check(name, False, scrub_line(str(exc)))
    except ModuleNotFoundError as exc:
        said = missing_extra(exc)
        if said is None:  # not an extra's module: a broken install, shown as it is
            raise
        return Check(name, False, said)


def doctor_checks(load_config: Callable[[], Config], role: str = "all") -> list[Check]:
    """What a worker of `role` needs: config, database, then the model side (generate) and the
    Mastodon side (post); `all` checks both, as `djbios run` without --role needs both."""
    cfg_check = _check("config", lambda: str(load_config().source or "built-in defaults"))
    if not cfg_check.ok:
        return [cfg_check]
    cfg = load_config()
    database = _check("database", lambda: _database(cfg))
    checks = [cfg_check, database]
    if role in ("all", "generate"):  # the post box needs no model files (docs/OPERATING.md, More than one box)
        model = _check("model", lambda: _model(cfg))
        checks.append(model)
        if model.ok:  # else its line already says what to do
            checks.append(_check("vocabulary", lambda: _vocabulary(cfg)))
        checks.append(_check("copy index", lambda: _index(cfg)))
    if role in ("all", "post"):  # the generate box posts nothing and may have no token
        checks.append(_check("schedule", lambda: _schedule(cfg)))
    checks.append(_alerts(cfg))
    if role in ("all", "post"):
        token = _check("token", lambda: _token(cfg))
        checks.append(token)
        if cfg.mastodon.publisher == "mastodon":
            checks.append(_check("instance", lambda: _instance(cfg)))
            if token.ok:
                checks.append(_profile(cfg))
    if database.ok:
        checks += _liveness(cfg)
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
        raise BotError(
            f"{run_dir} lacks {', '.join(missing)}: run `djbios train` (or set [model] checkpoint_dir / run_name)"
        )
    return str(run_dir)


def _vocabulary(cfg: Config) -> str:
    """The run's hparams and BPE vocabulary load (gpt-2-simple's encoder; no TensorFlow graph)."""
    encoder, hparams = load_vocab(cfg.model.checkpoint_dir / cfg.model.run_name)
    return f"{len(encoder.encoder)} tokens, context {hparams.n_ctx}, {hparams.n_layer} layers"


def _schedule(cfg: Config) -> str:
    """[schedule] post_cron parses; when the next post is due."""
    from bot.posting.schedule import next_post_at, post_trigger

    post_trigger(cfg)  # ConfigError naming the key when post_cron is not a crontab line
    nxt = next_post_at(cfg, datetime.now(UTC))
    how = (
        f"cron {cfg.schedule.post_cron!r}"
        if cfg.schedule.post_cron
        else f"every {cfg.schedule.post_every_minutes:g} minutes"
    )
    return f"posts on {how}; next by {nxt:%Y-%m-%d %H:%M %Z}" if nxt else f"posts on {how}; no next time"


def _alerts(cfg: Config) -> Check:
    """The alert channels build; WARN when nothing outside Mastodon would carry a Mastodon failure."""
    from bot.posting.alerts import apprise_channels

    try:
        channels = apprise_channels(cfg.alerts)
    except BotError as exc:
        return Check("alerts", False, str(exc))
    names = [f"{len(channels)} apprise ({', '.join(c.name for c in channels)})"] if channels else []
    if cfg.alerts.operator and cfg.mastodon.publisher == "mastodon":
        names.append(f"Mastodon DM to {cfg.alerts.operator}")
    said = f"{' + '.join(names) or 'no channel'}; always logged and written to {cfg.alerts.file}"
    if channels:
        return Check("alerts", True, said)
    return Check(
        "alerts",
        True,
        f"{said}. Nothing outside Mastodon would tell you that the token was refused "
        "or the instance is down: add [alerts] urls (ntfy, e-mail, a webhook ...)",
        warn=True,
    )


def _profile(cfg: Config) -> Check:
    """What the worker would change in the profile at its next start (it sends only what is missing)."""
    from bot.posting.profile import plan
    from bot.posting.publishers import MastodonPublisher

    try:
        changes = plan(MastodonPublisher.from_config(cfg).profile(), cfg)
    except BotError as exc:
        return Check("profile", True, f"not read: {exc}", warn=True)
    missing = "" if cfg.profile.operator else "; set [profile] operator so readers know who runs the bot"
    if changes and cfg.mastodon.set_bot_flag:
        return Check("profile", True, f"the worker will set {', '.join(sorted(changes))} at start{missing}", warn=True)
    if changes:
        return Check(
            "profile",
            True,
            f"lacks {', '.join(sorted(changes))} and [mastodon] set_bot_flag is off: set them by hand{missing}",
            warn=True,
        )
    return Check("profile", True, f"bot flag, disclosure and fields present{missing}", warn=bool(missing))


def _liveness(cfg: Config) -> list[Check]:
    """The pause and the conditions the worker alerts on, as WARN lines (they need the operator, not a fix)."""
    from bot.posting.liveness import store_conditions
    from bot.posting.pause import active_pause
    from bot.posting.schedule import next_post_at
    from bot.store.store import Store

    now = datetime.now(UTC)
    store = Store.open(database_url(cfg), busy_timeout_s=cfg.database.busy_timeout_s)
    try:
        paused = active_pause(store, now)
        conditions = store_conditions(store, cfg, now, _or_none(lambda: next_post_at(cfg, now)))
    finally:
        store.close()
    checks = [Check("pause", True, paused.describe(), warn=True)] if paused else []
    bad = [Check(c.key, True, c.message, warn=True) for c in conditions if not c.ok]
    return checks + (bad or [Check("liveness", True, "queue, failed bios and silence: nothing to report")])


def _or_none(fn: Callable[[], datetime | None]) -> datetime | None:
    """fn(), or None when the schedule is broken (its own line says so)."""
    try:
        return fn()
    except BotError:
        return None


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

    client = Mastodon(
        api_base_url=cfg.mastodon.api_base_url,
        request_timeout=cfg.mastodon.request_timeout_s,
        version_check_mode="none",
    )
    try:
        ask = dataclasses.replace(cfg.mastodon, max_characters=0)  # the instance's own limit
        limit = MastodonPublisher(client, ask).max_characters()
    except RetryLater as exc:
        raise BotError(
            f"{cfg.mastodon.api_base_url} is not reachable: {exc}; check [mastodon] api_base_url and the network"
        ) from exc
    if cfg.filters.max_chars > limit:
        raise BotError(
            f"the instance allows {limit} characters but [filters] max_chars is "
            f"{cfg.filters.max_chars}: lower it to {limit}"
        )
    return f"reachable, max_characters = {limit}"
