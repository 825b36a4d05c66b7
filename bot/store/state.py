"""The bot's own small state, shared by every worker on one database: key -> JSON value.

Keys in use: "pause" ({"until": iso | None, "reason", "by"}), "notifications_since_id" (str),
"profile" (what the last profile check found). One transaction per read-modify-write.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.store.candidate import naive_utc
from bot.store.tables import StateRow

if TYPE_CHECKING:
    from bot.store.store import Store


def get_state(store: Store, key: str, default: Any = None) -> Any:
    """The value stored under key, or default."""
    with store.read_session() as s:
        row = s.get(StateRow, key)
        return default if row is None else row.value


def set_state(store: Store, key: str, value: Any, now: datetime | None = None) -> None:
    """Store value under key (None deletes it)."""
    with store.write_session() as s:
        row = s.get(StateRow, key)
        if value is None:
            if row is not None:
                s.delete(row)
        elif row is None:
            s.add(StateRow(key=key, value=value, updated_at=naive_utc(now)))
        else:
            row.value, row.updated_at = value, naive_utc(now)
