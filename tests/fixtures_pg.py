"""A real PostgreSQL server for the tests: started once per session, one fresh database per test.

The server runs from a temporary folder on 127.0.0.1 and a free port with trust authentication and
no fsync (nothing here must survive a power cut). PostgreSQL refuses to run as root, so as root
initdb/pg_ctl run as the `postgres` user. A server that cannot start FAILS the tests that need it,
with the reason: a PostgreSQL test that quietly skips proves nothing. bench/ uses `start_server`.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TEMPLATE = "djbios_template"  # migrated once; each test's database is a copy of it
START_TIMEOUT_S = 30


class PgUnavailable(RuntimeError):
    """The PostgreSQL server could not be started; the message says why and what to install."""


@dataclass
class PgServer:
    """A running server: connection URLs, database creation, stop."""

    bindir: Path
    datadir: Path
    port: int
    as_user: str | None  # run the server's programs as this user (we are root), else as ourselves
    _names: Iterator[int] = itertools.count(1)

    def url(self, dbname: str = "postgres") -> str:
        """A SQLAlchemy URL for psycopg 3."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def execute(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def create_database(self, template: str | None = None) -> str:
        """A new, empty (or template-copied) database; returns its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        self.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        _run(self, "pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def find_bindir() -> Path:
    """Where initdb and pg_ctl live: $DJBIOS_PG_BIN, PATH, or Debian's /usr/lib/postgresql/N/bin."""
    if os.environ.get("DJBIOS_PG_BIN"):
        return Path(os.environ["DJBIOS_PG_BIN"])
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    raise PgUnavailable(
        "initdb not found on PATH nor in /usr/lib/postgresql/*/bin: install the server "
        "(Debian: apt-get install postgresql) or set DJBIOS_PG_BIN"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(server: PgServer, prog: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [str(server.bindir / prog), *args]
    if server.as_user:
        cmd = ["runuser", "-u", server.as_user, "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=START_TIMEOUT_S)
    if check and done.returncode != 0:
        raise PgUnavailable(f"{prog} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-800:]}")
    return done


def start_server(*, durable: bool = False) -> PgServer:
    """initdb + start on 127.0.0.1 and a free port, trust auth; raise PgUnavailable with the reason.

    durable=False (tests) turns fsync off; benchmarks pass True to compare with SQLite's fsyncs fairly.
    """
    bindir = find_bindir()
    as_user = None
    root = Path(tempfile.mkdtemp(prefix="djbios-pg-"))
    if os.geteuid() == 0:  # postgres refuses root: hand the folder to the postgres user
        as_user = os.environ.get("DJBIOS_PG_USER", "postgres")
        try:
            pw = pwd.getpwnam(as_user)
        except KeyError as exc:
            raise PgUnavailable(
                f"running as root and there is no {as_user!r} user to run PostgreSQL as "
                "(Debian's postgresql package creates it)"
            ) from exc
        os.chown(root, pw.pw_uid, pw.pw_gid)
    server = PgServer(bindir, root / "data", _free_port(), as_user, itertools.count(1))
    _run(
        server,
        "initdb",
        "-D",
        str(server.datadir),
        "-A",
        "trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--no-locale",
        "--no-sync",
        "--no-instructions",
    )
    # fsync off etc.: test data need not survive a crash of the machine, only of a client
    fast = "" if durable else "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    opts = f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 {fast}-c max_connections=200"
    _run(
        server,
        "pg_ctl",
        "-D",
        str(server.datadir),
        "-l",
        str(root / "log"),
        "-o",
        opts,
        "-w",
        "-t",
        str(START_TIMEOUT_S),
        "start",
    )
    return server


def migrated_template(server: PgServer) -> None:
    """Create TEMPLATE at the schema's head (Alembic runs once per session, not per test)."""
    from bot.store.store import Store

    server.execute(f'CREATE DATABASE "{TEMPLATE}"')
    Store.open(server.url(TEMPLATE)).close()  # close: a template must have no open connections


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the whole session; FAILS (never skips) when it cannot start."""
    try:
        server = start_server()
    except (PgUnavailable, OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"PostgreSQL test server could not start: {exc}", pytrace=False)
    try:
        migrated_template(server)
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL at the schema's head: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        from bot.store.store import Store

        url = f"sqlite:///{tmp_path / 'djbios.db'}"
        Store.open(url).close()
        return url
    server: PgServer = request.getfixturevalue("pg_server")
    return server.create_database(template=TEMPLATE)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL (no tables): for migration tests."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    server: PgServer = request.getfixturevalue("pg_server")
    return server.create_database()
