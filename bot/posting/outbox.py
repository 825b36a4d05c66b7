"""The outbox publisher: appends each post to a JSONL file, for running the bot without an account."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import MastodonConfig
from bot.posting.parts import Online, part_key
from bot.text import MASTODON_MAX_CHARS

if TYPE_CHECKING:
    from bot.store.candidate import Candidate

log = logging.getLogger(__name__)

OnPart = Callable[[int, str, str], None]  # (part index, status id, url): called as each part goes out


class OutboxPublisher:
    """Appends each post to a JSONL file: running the bot without an account."""

    def __init__(self, cfg: MastodonConfig, clock: Callable[[], datetime] | None = None) -> None:
        self.cfg = cfg
        self.path = Path(cfg.outbox_path)
        self.clock = clock or (lambda: datetime.now(UTC))

    def _records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def _posts(self) -> dict[str, dict[str, Any]]:
        """The posts still there, by idempotency key (a key is recorded with every post here)."""
        recs = self._records()
        gone = {r["deleted"] for r in recs if "deleted" in r}
        return {r["idempotency_key"]: r for r in recs if "idempotency_key" in r and r["id"] not in gone}

    def _append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()

    def post(
        self, candidate: Candidate, parts: list[str] | None = None, on_part: OnPart | None = None
    ) -> tuple[str, str]:
        """Append each part not yet recorded once per idempotency key, like the Idempotency-Key header."""
        parts = parts or [candidate.text]
        posts, done = self._posts(), list(candidate.status_ids)[: len(parts)]
        first = (done[0], candidate.posted_url or "") if done else None
        for i in range(len(done), len(parts)):
            key = part_key(candidate.idempotency_key, i)
            rec = posts.get(key) or self._new(candidate, key, parts[i], done[-1] if done else None)
            if on_part is not None:
                on_part(i, rec["id"], rec["url"])
            done.append(rec["id"])
            first = first or (rec["id"], rec["url"])
        assert first is not None
        return first

    def _new(self, candidate: Candidate, key: str, text: str, reply_to: str | None) -> dict[str, Any]:
        """Append one post and return its record."""
        rec = {
            "id": key,
            "url": f"{self.path.as_uri()}#{key}",
            "idempotency_key": key,
            "candidate_id": candidate.id,
            "text": text,
            "in_reply_to_id": reply_to,
            "visibility": self.cfg.visibility,
            "spoiler_text": self.cfg.spoiler_text,
            "language": self.cfg.language,
            "posted_at": self.clock().isoformat(),
        }
        self._append(rec)
        return rec

    def max_characters(self) -> int:
        """bot.toml's limit, else Mastodon's default."""
        return self.cfg.max_characters or MASTODON_MAX_CHARS

    def find_bio(self, candidate: Candidate, parts: list[str], exclude: Collection[str] = ()) -> Online | None:
        """The whole bio in the outbox: every part's idempotency key present (and not deleted)."""
        posts = self._posts()
        recs = [posts.get(part_key(candidate.idempotency_key, i)) for i in range(len(parts))]
        if any(r is None or r["id"] in exclude for r in recs):
            return None
        return Online([r["id"] for r in recs if r], recs[0]["url"] if recs[0] else "")

    def delete(self, status_id: str) -> bool:
        """Record the post as deleted; False if it was not there (already gone)."""
        if not any(r["id"] == status_id for r in self._posts().values()):
            return False
        self._append({"deleted": status_id, "at": self.clock().isoformat()})
        return True

    def alert(self, message: str) -> None:
        """Log the alert and keep it in the outbox (there is no one to message)."""
        log.warning("operator alert: %s", message)
        self._append({"alert": message, "at": self.clock().isoformat()})
