"""SQLite connection settings for the store's engine: WAL, a busy timeout, and BEGIN IMMEDIATE for writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event


def connect_args(url: str, busy_timeout_s: float) -> dict[str, Any]:
    """DBAPI arguments for create_engine: SQLite waits `busy_timeout_s` seconds for a lock."""
    if url.startswith("sqlite"):
        # isolation_level=None: pysqlite must not open transactions itself; we BEGIN explicitly.
        return {"timeout": busy_timeout_s, "isolation_level": None, "check_same_thread": False}
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
