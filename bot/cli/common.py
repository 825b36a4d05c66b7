"""Shared pieces of the click commands: the lazily loaded config and error translation."""

from __future__ import annotations

import functools
import os
import shlex
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bot.config import Config, database_url, load_config, sqlite_file
from bot.errors import BotError
from bot.redact import scrub, scrub_line
from bot.text import visible

if TYPE_CHECKING:
    from bot.store.store import Store

F = TypeVar("F", bound=Callable[..., Any])
SIGPIPE_EXIT = 141  # 128 + SIGPIPE: what a C tool killed by `| head` exits with, for `set -o pipefail`


class App:
    """What every command receives: the --config path and the Config, loaded once on first use."""

    def __init__(self, config_path: str | None, verbose: int = 0) -> None:
        self.config_path = config_path
        self.verbose = verbose  # -v count: commands show more (training's per-step lines at 1)
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        """The loaded Config (read on first access, so `--help` never touches bot.toml)."""
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def command(self, rest: str) -> str:
        """`djbios REST` as the operator should type it: with the same --config they gave, if any."""
        given = f"--config {shlex.quote(self.config_path)} " if self.config_path else ""
        return f"djbios {given}{rest}"

    def require_database(self) -> None:
        """For commands that only read: a SQLite file that is not there is an error, not a new empty one."""
        path = sqlite_file(database_url(self.config))
        if path is None or path.is_file():
            return
        if path.exists():  # a folder or a FIFO (opening one would wait for a writer forever)
            raise click.ClickException(f"{path} is not a database file (a folder?); check [database] url")
        config = self.config.source or "built-in defaults: no bot.toml here"
        raise click.ClickException(
            f"no database at {path} (config: {config}); run `{self.command('generate')}` or "
            f"`{self.command('add')}`, or pass --config"
        )

    def store(self) -> Store:
        """The candidate store, migrated to the latest schema."""
        from bot.store.store import Store

        return Store.open(database_url(self.config), busy_timeout_s=self.config.database.busy_timeout_s)


def pass_app(fn: F) -> F:
    """Inject the App as the first argument; a BotError or OSError becomes one scrubbed line.

    OSError: the disk is full, a file or folder is not writable... the operator needs its file
    and reason, not a traceback. Every message is scrubbed of the token (bot/redact.py).
    """

    @click.pass_obj
    @functools.wraps(fn)
    def wrapper(app: App, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(app, *args, **kwargs)
        except click.ClickException as exc:  # its text may quote a server's error: scrubbed, escaped
            if type(exc) is not click.ClickException:  # usage errors: click's own text, exit code 2
                raise
            raise click.ClickException(visible(scrub(exc.message))) from exc
        except BotError as exc:
            raise click.ClickException(scrub_line(str(exc))) from exc
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(scrub_line(f"{where}{exc.strerror or exc}")) from exc

    return wrapper  # type: ignore[return-value]


def listing(fn: F) -> F:
    """For commands that only print: a reader that stops early (`| head`) ends them quietly.

    Python ignores SIGPIPE, so the next write raises BrokenPipeError; stdout then points at /dev/null
    so the interpreter's last flush cannot raise again, and the exit status is the shell's for SIGPIPE.
    Only for commands whose one pipe is stdout: elsewhere a broken pipe is a real error.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise SystemExit(SIGPIPE_EXIT) from None

    return wrapper  # type: ignore[return-value]
