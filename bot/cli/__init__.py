"""The `djbios` command group. Commands live in small modules (one per family) imported only when run."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from bot.cli import quiet
from bot.cli.common import App
from bot.extras import missing_extra
from bot.redact import scrub_logging

# name -> "module:attribute". Importing lazily keeps `djbios queue` instant: the training and
# generation commands pull in TensorFlow, and even their click modules are not loaded until used.
COMMANDS: dict[str, str] = {
    # the candidate queue and review (bot/cli/queue.py)
    "add": "bot.cli.queue:add",
    "queue": "bot.cli.queue:queue",
    "show": "bot.cli.queue:show",
    "approve": "bot.cli.queue:approve",
    "reject": "bot.cli.queue:reject",
    "edit": "bot.cli.queue:edit",
    "review": "bot.cli.queue:review",
    "stats": "bot.cli.queue:stats",
    # follower requests for bios (bot/cli/requests.py)
    "requests": "bot.cli.requests:requests_cmd",
    # filters (bot/cli/filters.py)
    "filter": "bot.cli.filters:filter_cmd",
    # generation (bot/cli/generate.py)
    "generate": "bot.cli.generate:generate",
    # posting and the worker (bot/cli/worker.py)
    "post": "bot.cli.worker:post",
    "run": "bot.cli.worker:run",
    "unpost": "bot.cli.worker:unpost",
    "login": "bot.cli.worker:login",
    "doctor": "bot.cli.worker:doctor",
    # the operator's controls (bot/cli/control.py)
    "pause": "bot.cli.control:pause",
    "resume": "bot.cli.control:resume",
    "status": "bot.cli.control:status",
    # training (bot/cli/corpus.py, bot/cli/model.py)
    "scrape": "bot.cli.corpus:scrape",
    "corpus": "bot.cli.corpus:corpus",
    "model": "bot.cli.model:model",
    "train": "bot.cli.model:train",
    "evaluate": "bot.cli.model:evaluate",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use.

    A command module that fails to import raises with its traceback: a broken module must never
    look like "No such command".
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        """All command names, sorted."""
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """Import the command's module only when the command is asked for."""
        if name in self.commands or name not in COMMANDS:
            return super().get_command(ctx, name)
        module, attr = COMMANDS[name].split(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="bot.toml to use (default: $DJBIOS_CONFIG, else ./bot.toml).",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="More logging (-v: per-step training lines; -vv: debug, TensorFlow's own output too).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """djbios: a Mastodon bot that posts fake DJ bios written by a fine-tuned GPT-2.

    \b
    Example:
      djbios --config bot.toml queue --status pending
    """
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    scrub_logging()  # no log line or traceback of this process shows the token (bot/redact.py)
    if _FROM_MAIN:  # the real command line, not a test's CliRunner: own the process's stderr
        quiet.install(verbose)
    ctx.obj = App(config_path, verbose=verbose)


_FROM_MAIN = False  # set by main(): only a process of our own may have its file descriptors rewired


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    global _FROM_MAIN
    _FROM_MAIN = True
    try:
        return cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="djbios")
    except ModuleNotFoundError as exc:  # a base install running `generate`, say: one line, no traceback
        hint = missing_extra(exc)
        if hint is None:
            raise
        click.echo(f"Error: {hint}", err=True)
        raise SystemExit(1) from None
