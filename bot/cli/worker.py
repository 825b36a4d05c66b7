"""Posting and the worker: `djbios post`, `run`, `login` and `doctor`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from bot.clicommon import App, pass_app
from bot.config import Config
from bot.errors import BotError

_FAILED = {"retry": "will retry", "auth": "posting stopped", "rejected": "back to pending",
           "error": "unexpected error"}


@click.command()
@click.option("--dry-run", is_flag=True, help="Show the bio that would be posted; post nothing.")
@pass_app
def post(app: App, dry_run: bool) -> None:
    """Post the next approved bio now (oldest first, or random with [schedule] order = "random").

    Rows a crash left in `posting` are reconciled first, so nothing is posted twice.

    \b
    Example:
      djbios post --dry-run
      djbios post
    """
    from bot.worker import post_now

    out = post_now(app.config, dry_run=dry_run)
    if out.result == "idle":
        click.echo("nothing approved to post (see `djbios queue --status pending`, `djbios review`)")
    elif out.result == "dry-run":
        click.echo(f"would post bio {out.candidate_id}:\n{out.text}")
    elif out.result == "posted":
        click.echo(f"posted bio {out.candidate_id}: {out.url}")
    else:
        raise click.ClickException(f"bio {out.candidate_id}: {_FAILED.get(out.result, out.result)}: "
                                   f"{out.error}")


@click.command()
@click.option("--once", is_flag=True, help="Run each job once and exit (for cron).")
@pass_app
def run(app: App, once: bool) -> None:
    """Run the worker: refill the queue and post on the [schedule] until SIGTERM or Ctrl-C.

    \b
    Example:
      djbios run
      djbios run --once      # from cron: refill, post, exit
    """
    from bot.worker import run as run_worker

    result = run_worker(app.config, once=once)
    if result is not None:
        filled, posted = result
        click.echo(f"refill: made {filled.made}, queued {filled.queued}, approved {filled.approved}; "
                   f"post: {posted.result}{' ' + posted.url if posted.url else ''}")
        if posted.result in _FAILED or posted.result == "stopped" or filled.errors:
            # cron mails the operator on a non-zero exit; a failed post or refill must reach them
            errors = [*filled.errors, *([posted.error] if posted.error else [])]
            raise click.ClickException(f"run --once failed: {'; '.join(errors) or posted.result}")


@click.command()
@click.option("--instance", required=True, help="The instance URL, e.g. https://botsin.space")
@click.option("--token-file", "token_file", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("secrets/mastodon.token"), show_default=True,
              help="Where to save the token (mode 0600).")
@pass_app
def login(app: App, instance: str, token_file: Path) -> None:
    """Register djbios on an instance and save an access token for the bot account.

    Open the printed URL logged in as the bot account, authorize, and paste the code.

    \b
    Example:
      djbios login --instance https://botsin.space
    """
    from bot.publish import LoginFlow, save_token

    if not instance.startswith(("https://", "http://")):
        raise click.ClickException(f"--instance must be a URL like https://botsin.space, got {instance!r}")
    flow = LoginFlow(instance)
    click.echo(f"Open this URL logged in as the bot account, then authorize:\n  {flow.authorize_url()}")
    code = click.prompt("Paste the authorization code", hide_input=True)
    save_token(token_file, flow.token(code))
    click.echo(f"saved the token to {token_file} (mode 0600). Add to bot.toml:\n"
               f'[mastodon]\napi_base_url = "{flow.instance}"\ntoken_file = "{token_file}"')


@dataclass
class Check:
    """One doctor line."""

    name: str
    ok: bool
    detail: str


def _check(name: str, fn: Callable[[], str]) -> Check:
    """Run one check; a BotError or OSError is a FAIL whose message says what to fix."""
    try:
        return Check(name, True, fn())
    except (BotError, OSError) as exc:
        return Check(name, False, str(exc))


def doctor_checks(app: App) -> list[Check]:
    """Config, database, model, copy index, token, instance limits: what the worker needs."""
    cfg_check = _check("config", lambda: str(app.config.source or "built-in defaults"))
    if not cfg_check.ok:
        return [cfg_check]
    cfg = app.config
    checks = [cfg_check, _check("database", lambda: _database(app)), _check("model", lambda: _model(cfg)),
              _check("copy index", lambda: _index(cfg))]
    checks.append(_check("token", lambda: _token(cfg)))
    if cfg.mastodon.publisher == "mastodon":
        checks.append(_check("instance", lambda: _instance(cfg)))
    return checks


def _database(app: App) -> str:
    store = app.store()
    try:
        counts = store.count_by_status()
    finally:
        store.close()
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "empty"


def _model(cfg: Config) -> str:
    run_dir = cfg.model.checkpoint_dir / cfg.model.run_name
    missing = [f for f in ("checkpoint", "hparams.json", "encoder.json") if not (run_dir / f).is_file()]
    if missing:
        raise BotError(f"{run_dir} lacks {', '.join(missing)}: run `djbios train` "
                       "(or set [model] checkpoint_dir / run_name)")
    return str(run_dir)


def _index(cfg: Config) -> str:
    if not cfg.index_path.is_file():
        raise BotError(f"{cfg.index_path} not found: run `djbios corpus index`")
    return str(cfg.index_path)


def _token(cfg: Config) -> str:
    from bot.errors import RetryLater
    from bot.publish import MastodonPublisher, make_publisher

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

    from bot.errors import RetryLater
    from bot.publish import MastodonPublisher

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


@click.command()
@pass_app
def doctor(app: App) -> None:
    """Check the config, database, model files, copy index, token and instance; say what to fix.

    \b
    Example:
      djbios doctor
    """
    checks = doctor_checks(app)
    for c in checks:
        click.echo(f"{'OK  ' if c.ok else 'FAIL'} {c.name}: {c.detail}")
    if not all(c.ok for c in checks):
        raise SystemExit(1)
