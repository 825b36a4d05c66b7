"""Connection settings of the store's engine: the driver, a busy/lock timeout, and for SQLite WAL and
BEGIN IMMEDIATE for writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event


def driver_url(url: str) -> str:
    """postgresql:// and postgres:// (as hosts hand them out) mean psycopg 3, the driver djbios ships."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def connect_args(url: str, busy_timeout_s: float) -> dict[str, Any]:
    """DBAPI arguments for create_engine: how long a writer waits for a lock (`busy_timeout_s`)."""
    if url.startswith("sqlite"):
        # isolation_level=None: pysqlite must not open transactions itself; we BEGIN explicitly.
        return {"timeout": busy_timeout_s, "isolation_level": None, "check_same_thread": False}
    if url.startswith("postgresql"):
        # lock_timeout is PostgreSQL's busy timeout (ms): a writer waits this long for a row lock,
        # then fails with an error instead of hanging; connect_timeout (s) bounds a dead server.
        return {"connect_timeout": 10, "options": f"-c lock_timeout={int(busy_timeout_s * 1000)}"}
    return {}


def sqlite_pragmas(engine: Engine, busy_timeout_s: float) -> None:
    """WAL lets readers run during a write; BEGIN IMMEDIATE makes writers queue on the busy timeout."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("djbios_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
