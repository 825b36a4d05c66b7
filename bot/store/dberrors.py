"""Database failures as one line for the operator: which database, what is wrong, what to do.

SQLAlchemy and the DBAPI driver raise dozens of exception types whose text is a traceback's worth of
SQL and links; the store wraps every open and session in `database_errors`, which turns them into a
StoreError naming the file (or the URL, password hidden) and the fix. SQLite errors are told apart by
their result code (`sqlite_errorname`, Python 3.11+), falling back on SQLite's fixed message texts.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from sqlalchemy import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from bot.errors import StoreError
from bot.extras import missing_extra
from bot.redact import scrub

_FIX_DAMAGED = (
    "restore it from a backup, or move it aside and a new empty one is created "
    "(`sqlite3 FILE .recover` may save its rows)"
)
_FIX_WRITE = (
    "make the file and its folder writable by this user (SQLite writes -wal and -shm files beside the database)"
)
# (result-code prefix, text SQLite uses for it, what happened, what to do)
_SQLITE = [
    ("SQLITE_NOTADB", "file is not a database", "is not a SQLite database (or its header is damaged)", _FIX_DAMAGED),
    ("SQLITE_CORRUPT", "malformed", "is damaged (corrupt or truncated)", _FIX_DAMAGED),
    ("SQLITE_READONLY", "readonly", "cannot be written (a read-only file, folder or disk)", _FIX_WRITE),
    ("SQLITE_CANTOPEN", "unable to open", "cannot be opened", _FIX_WRITE),
    ("SQLITE_PERM", "access permission denied", "cannot be opened", _FIX_WRITE),
    (
        "SQLITE_FULL",
        "disk is full",
        "cannot grow: the disk is full",
        "free some space and run it again (the unfinished transaction was rolled back)",
    ),
    (
        "SQLITE_IOERR",
        "disk i/o error",
        "could not be read or written (disk I/O error)",
        "check the disk (full? removed? failing?) and run it again",
    ),
    (
        "SQLITE_BUSY",
        "database is locked",
        "was locked by another process for longer than the busy timeout",
        "try again, or raise [database] busy_timeout_s",
    ),
]


def describe_url(url: str | URL) -> str:
    """The database as the operator knows it: a SQLite file's path, else the URL with no password."""
    try:
        u = make_url(url)
    except ArgumentError:
        return scrub(str(url))
    if u.get_backend_name() == "sqlite":
        return u.database or ":memory:"
    return u.render_as_string(hide_password=True)


@contextlib.contextmanager
def database_errors(where: str, *, opening: bool = False) -> Iterator[None]:
    """Re-raise a database failure inside the block as a one-line StoreError about `where`.

    `opening`: also a missing driver (ImportError) and a folder that cannot be made (OSError); inside
    a session those would be bugs, not the database, and keep their tracebacks.
    """
    kinds: tuple[type[BaseException], ...] = (SQLAlchemyError, sqlite3.Error)
    if opening:
        kinds += (ImportError, OSError)
    try:
        yield
    except kinds as exc:
        raise StoreError(scrub(_message(exc, where))) from exc


def _message(exc: BaseException, where: str) -> str:
    """What went wrong with database `where`, and what to do about it."""
    if isinstance(exc, ImportError):
        extra = missing_extra(exc) if isinstance(exc, ModuleNotFoundError) else None
        if extra:  # a driver djbios ships as an extra: say which (bot/extras.py)
            return extra
        return (
            f"database {where}: its driver is not installed ({exc.name or exc}); install that "
            "package into djbios' environment, or use a sqlite:/// URL"
        )
    if isinstance(exc, NoSuchModuleError):
        return (
            f"database {where}: unknown kind of database ({_first_line(exc)}); check [database] url, "
            "e.g. sqlite:///var/djbios.db or postgresql://user@host/djbios"
        )
    if isinstance(exc, ArgumentError):
        return (
            f"database {where}: not a database URL ({_first_line(exc)}); check [database] url, "
            "e.g. sqlite:///var/djbios.db"
        )
    if isinstance(exc, OSError) and not isinstance(exc, sqlite3.Error):
        return f"database {where}: {exc.strerror or exc} ({exc.filename or 'its folder'}); {_FIX_WRITE}"
    orig = (exc.orig if isinstance(exc, DBAPIError) else None) or exc
    if isinstance(orig, sqlite3.Error):
        code, text = getattr(orig, "sqlite_errorname", "") or "", str(orig).lower()
        for prefix, said, what, fix in _SQLITE:
            if code.startswith(prefix) or said in text:
                return f"database {where} {what}: {fix} ({_first_line(orig)})"
    return (
        f"database {where}: {type(orig).__name__}: {_first_line(orig)}; check [database] url "
        "and that the database server is running"
    )


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's text without SQLAlchemy's '(Background on this error ...)'."""
    text = str((exc.orig if isinstance(exc, DBAPIError) else None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
