"""Read-only candidate listing straight through the stdlib sqlite3 module.

Why: importing SQLAlchemy costs ~0.3 s, most of `djbios queue`'s start-up, and the operator runs
`queue` and `show` all day. For a SQLite database already at the current schema, these reads skip
SQLAlchemy; anything else (another database, an old schema, a missing file) returns None and the
caller uses bot.store.store. Writes always go through it.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import quote

from bot.config import sqlite_file
from bot.store.candidate import HEAD_REVISION, Candidate

_JSON = {"scores", "params", "history", "status_ids"}
_TIMES = {"created_at", "reviewed_at", "posted_at", "retry_at", "claimed_at", "retracted_at"}
_COLUMNS = [f.name for f in dataclasses.fields(Candidate)]
# Store.list's orderings, in SQL (unscored candidates last, like NULLS LAST)
_ORDER_BY = {"oldest": " ORDER BY created_at, id", "quality": " ORDER BY quality IS NULL, quality DESC, created_at, id"}


def list_candidates(
    url: str,
    status: str | Iterable[str] | None = None,
    limit: int | None = None,
    cid: int | None = None,
    order: str = "oldest",
) -> list[Candidate] | None:
    """Candidates oldest first (like Store.list), or None when the fast path does not apply."""
    path = sqlite_file(url)
    if path is None or not path.is_file():  # a folder or a FIFO: the store says what is wrong
        return None
    # quoted: "?", "#" and "%" in the file name are part of it, not URI syntax (bot/store/store.py)
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=30)
    try:
        if conn.execute("SELECT version_num FROM alembic_version").fetchone() != (HEAD_REVISION,):
            return None
        sql, args = f"SELECT {', '.join(_COLUMNS)} FROM candidates", list[object]()
        if cid is not None:
            sql += " WHERE id = ?"
            args.append(cid)
        elif status is not None:
            states = [status] if isinstance(status, str) else list(status)
            sql += f" WHERE status IN ({', '.join('?' * len(states))})"
            args += states
        sql += _ORDER_BY[order]
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [_candidate(row) for row in conn.execute(sql, args)]
    except OverflowError:  # an id beyond SQLite's 64-bit integers names no candidate
        return []
    except sqlite3.DatabaseError:
        return None  # no tables yet, or a damaged file: the store creates them, or says what is wrong
    finally:
        conn.close()


def _candidate(row: tuple) -> Candidate:
    """Decode one row the way SQLAlchemy's JSON and DateTime types store them."""
    values = {}
    for name, value in zip(_COLUMNS, row, strict=True):
        if name in _JSON:
            value = json.loads(value) if value is not None else None
        elif name in _TIMES and value is not None:
            value = datetime.fromisoformat(value)
        values[name] = value
    return Candidate(**values)
