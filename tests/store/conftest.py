"""Every store test runs against SQLite and PostgreSQL: `store` here is built on `db_url`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.store.store import Store


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A fresh, migrated store on each database kind (overrides the SQLite-only fixture)."""
    s = Store.open(db_url)
    yield s
    s.close()
