"""The `djbios` command group. Commands live in small modules and are imported only when run."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from typing import Any

import click

from bot.clicommon import App

# name -> "module:attribute". Importing lazily keeps `djbios queue` instant: the training and
# generation commands pull in TensorFlow, and even their click modules are not loaded until used.
COMMANDS: dict[str, str] = {
    # the candidate queue (bot/cli_queue.py)
    "add": "bot.cli_queue:add",
    "queue": "bot.cli_queue:queue",
    "show": "bot.cli_queue:show",
    "approve": "bot.cli_queue:approve",
    "reject": "bot.cli_queue:reject",
    "edit": "bot.cli_queue:edit",
    "review": "bot.cli_queue:review",
    "stats": "bot.cli_queue:stats",
    # filters (bot/cli_filters.py)
    "filter": "bot.cli_filters:filter_cmd",
    # generation (bot/cli_generate.py)
    "generate": "bot.cli_generate:generate",
    # posting and the worker (bot/cli_worker.py)
    "post": "bot.cli_worker:post",
    "run": "bot.cli_worker:run",
    "login": "bot.cli_worker:login",
    "doctor": "bot.cli_worker:doctor",
    # training/ (training/cli_corpus.py, training/cli_model.py)
    "scrape": "training.cli_corpus:scrape",
    "corpus": "training.cli_corpus:corpus",
    "model": "training.cli_model:model",
    "train": "training.cli_model:train",
    "evaluate": "training.cli_model:evaluate",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """All command names, sorted, whether or not their module exists yet."""
        return sorted(set(super().list_commands(ctx)) | set(self._available()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """Import the command's module only when the command is asked for."""
        if name in self.commands or name not in COMMANDS:
            return super().get_command(ctx, name)
        module, attr = COMMANDS[name].split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            return None

    @staticmethod
    def _available() -> list[str]:
        """Names whose module is importable (checked by spec, without importing)."""
        names = []
        for name, target in COMMANDS.items():
            module = target.split(":")[0]
            try:
                if importlib.util.find_spec(module) is not None:
                    names.append(name)
            except ModuleNotFoundError:
                pass
        return names


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="bot.toml to use (default: $DJBIOS_CONFIG, else ./bot.toml).",
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """djbios: a Mastodon bot that posts fake DJ bios written by a fine-tuned GPT-2.

    \b
    Example:
      djbios --config bot.toml queue --status pending
    """
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = App(config_path)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ banner is noise here
    return cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="djbios")


if __name__ == "__main__":
    main()
