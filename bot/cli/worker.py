"""Posting and the worker: `djbios post`, `run`, `unpost`, `login` and `doctor`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from bot.cli.common import App, F, pass_app
from bot.text import visible

_FAILED = {
    "retry": "will retry",
    "auth": "posting stopped",
    "rejected": "back to pending",
    "failed": "failed, not retried (fix the cause, then `djbios approve ID` re-queues it)",
    "error": "unexpected error",
}


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
    from bot.posting.launch import post_now

    out = post_now(app.config, dry_run=dry_run)
    if out.result == "paused":
        raise click.ClickException(f"nothing posted: {out.error}; run `djbios resume` to post again")
    if out.result == "idle":
        click.echo("nothing approved to post (see `djbios queue --status pending`, `djbios review`)")
    elif out.result == "dry-run":
        click.echo(f"would post bio {out.candidate_id}:\n{out.text}")
    elif out.result == "posted":
        click.echo(f"posted bio {out.candidate_id}: {out.url}")
    else:
        raise click.ClickException(f"bio {out.candidate_id}: {_FAILED.get(out.result, out.result)}: {out.error}")


def role_option(help: str) -> Callable[[F], F]:
    """`--role all|post|generate`, as `run` and `doctor` take it (the worker's roles, bot/posting/worker.py)."""
    return click.option(
        "--role", type=click.Choice(["all", "post", "generate"]), default="all", show_default=True, help=help
    )


@click.command()
@click.option("--once", is_flag=True, help="Run each job once and exit (for cron).")
@role_option(
    "post: post, replies, alerts (no model needed); generate: keep the queue filled "
    "(the GPU box); all: both in one process. Roles share one database."
)
@pass_app
def run(app: App, once: bool, role: str) -> None:
    """Run the worker: refill the queue and post on the [schedule] until SIGTERM or Ctrl-C.

    A refill runs the model in a child process that exits when its batch is stored, so the worker
    stays small. Split across machines with --role (see docs/OPERATING.md, "More than one box").

    \b
    Example:
      djbios run
      djbios run --once                 # from cron: refill, post, exit
      djbios run --role post            # the small always-on box
      djbios run --role generate        # the GPU box, same [database] url
    """
    from bot.posting.launch import run as run_worker

    result = run_worker(app.config, once=once, role=role)
    if result is None:
        return
    filled, posted = result
    parts = []
    if filled is not None:
        parts.append(f"refill: made {filled.made}, queued {filled.queued}, approved {filled.approved}")
    if posted is not None:
        paused = f" ({posted.error}; `djbios resume` ends it)" if posted.result == "paused" else ""
        parts.append(f"post: {posted.result}{' ' + posted.url if posted.url else ''}{paused}")
    click.echo("; ".join(parts))
    failed_post = posted is not None and (posted.result in _FAILED or posted.result == "stopped")
    # a pause is no failure: its reason is printed above, and cron stays quiet
    errors = [*(filled.errors if filled else []), *([posted.error] if posted and failed_post and posted.error else [])]
    if failed_post or errors:
        # cron mails the operator on a non-zero exit; a failed post or refill must reach them
        raise click.ClickException(f"run --once failed: {'; '.join(errors) or (posted.result if posted else '')}")


@click.command()
@click.argument("cid", metavar="ID", type=int)
@click.option("--reason", default="", help="Why (kept in the bio's history).")
@click.option("--by", default=None, help="Who takes it down (default: your OS user name).")
@pass_app
def unpost(app: App, cid: int, reason: str, by: str | None) -> None:
    """Take a posted bio down: delete its status and every reply of its thread; mark it retracted.

    Its text stays in the database, so the model's next attempt at it is rejected as a near
    duplicate. Safe to run again if it was cut short (a status already gone counts as deleted).

    \b
    Example:
      djbios unpost 42 --reason "names a real person"
    """
    from bot.posting.retract import unpost_now

    out = unpost_now(app.config, cid, by=by, reason=reason)
    click.echo(
        f"retracted bio {cid}: deleted {out.deleted} status(es)" + (f", {out.gone} already gone" if out.gone else "")
    )


@click.command()
@click.option("--instance", required=True, help="The bot account's instance URL, e.g. https://your.instance")
@click.option(
    "--token-file",
    "token_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("secrets/mastodon.token"),
    show_default=True,
    help="Where to save the token (mode 0600).",
)
@pass_app
def login(app: App, instance: str, token_file: Path) -> None:
    """Register djbios on an instance and save an access token for the bot account.

    Open the printed URL logged in as the bot account, authorize, and paste the code.

    Choose an instance that allows bots: read its rules page (/about) for automated accounts and
    AI-generated posts, mark the account as a bot (the worker does too), and mind its rate limits
    (a few posts a day is polite). A server that hosts bots on purpose, or your own, is safest;
    docs/OPERATING.md, "The bot account", says more.

    \b
    Example:
      djbios login --instance https://your.instance
    """
    from bot.posting.login import LoginFlow, save_token

    if not instance.startswith(("https://", "http://")):
        raise click.ClickException(f"--instance must be a URL like https://your.instance, got {instance!r}")
    flow = LoginFlow(instance)
    click.echo(f"Open this URL logged in as the bot account, then authorize:\n  {flow.authorize_url()}")
    code = click.prompt("Paste the authorization code", hide_input=True)
    save_token(token_file, flow.token(code))
    click.echo(
        f"saved the token to {token_file} (mode 0600). Add to bot.toml:\n"
        f'[mastodon]\napi_base_url = "{flow.instance}"\ntoken_file = "{token_file}"'
    )


@click.command()
@role_option(
    "Check what this box's `djbios run --role` needs: post skips the model and copy index, "
    "generate skips the token, instance and schedule."
)
@pass_app
def doctor(app: App, role: str) -> None:
    """Check the config, database, model, schedule, alerts, token, instance and profile; say what to fix.

    Also shows the liveness conditions the worker alerts on (queue, failed bios, silence, pause).
    Exits 1 on any FAIL; WARN lines do not fail.

    \b
    Example:
      djbios doctor
      djbios doctor --role post         # on the posting box of a split setup
    """
    from bot.posting.doctor import doctor_checks

    checks = doctor_checks(lambda: app.config, role=role)
    for c in checks:
        click.echo(visible(f"{c.label} {c.name}: {c.detail}"))  # liveness lines quote servers' errors
    if not all(c.ok for c in checks):
        raise SystemExit(1)
