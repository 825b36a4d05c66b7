"""The crawler's page cache: raw fetched pages, keyed by URL, in one SQLite file.

A rerun of the crawler resumes from here, and `corpus build` reads its pages back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

from bot.config import Config
from bot.errors import ScrapeError

_SCHEMA = """CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY, site TEXT, status INTEGER, error TEXT, fetched_at REAL,
    final_url TEXT, content_type TEXT, body BLOB)"""


@dataclass(frozen=True)
class Page:
    """One cached fetch. error: None, too_large, deadline, redirect_loop, too_many_redirects,
    offsite_redirect, unsafe_redirect, robots_redirect, host_given_up_redirect, undecodable (set when
    parsing fails) or transient (never cached)."""

    url: str
    site: str
    status: int
    error: str | None
    fetched_at: float  # Unix time (s)
    final_url: str
    content_type: str
    body: bytes

    @property
    def is_html(self) -> bool:
        """A fetched 200 page we can parse."""
        ct = self.content_type.lower()
        return self.status == 200 and not self.error and bool(self.body) and ("html" in ct or not ct)


class PageCache:
    """The raw pages, keyed by URL, in a SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path)
        self.db.execute(_SCHEMA)

    def get(self, url: str) -> Page | None:
        """The cached page for url, if any."""
        row = self.db.execute(f"SELECT {_COLS} FROM pages WHERE url = ?", (url,)).fetchone()
        return Page(*row) if row else None

    def put(self, page: Page) -> None:
        """Store (or replace) a page; committed at once so an interrupted crawl loses nothing."""
        self.db.execute(
            f"INSERT OR REPLACE INTO pages ({_COLS}) VALUES (?,?,?,?,?,?,?,?)",
            tuple(getattr(page, f.name) for f in fields(Page)),
        )
        self.db.commit()

    def pages(self, site: str | None = None) -> Iterator[Page]:
        """Cached pages in URL order (a stable order makes corpus builds reproducible)."""
        sql, args = f"SELECT {_COLS} FROM pages", tuple[str, ...]()
        if site is not None:
            sql, args = sql + " WHERE site = ?", (site,)
        for row in self.db.execute(sql + " ORDER BY url", args):
            yield Page(*row)

    def close(self) -> None:
        """Close the database file."""
        self.db.close()


_COLS = ", ".join(f.name for f in fields(Page))


def open_cache(cfg: Config) -> PageCache:
    """The page cache, or ScrapeError when there is none yet."""
    if not cfg.scrape.cache_path.exists():
        raise ScrapeError(f"no scrape cache at {cfg.scrape.cache_path}: run `djbios scrape` first")
    return PageCache(cfg.scrape.cache_path)
