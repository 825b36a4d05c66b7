"""The outbox publisher: appends each post to a JSONL file, for running the bot without an account."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import MastodonConfig
from bot.text import MASTODON_MAX_CHARS, squash_space

if TYPE_CHECKING:
    from bot.store.candidate import Candidate

log = logging.getLogger(__name__)


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

    def _append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()

    def post(self, candidate: Candidate) -> tuple[str, str]:
        """Append the bio once per idempotency key, like the Idempotency-Key header does."""
        key = candidate.idempotency_key
        for rec in self._records():
            if rec.get("idempotency_key") == key:
                return rec["id"], rec["url"]
        rec = {"id": key, "url": f"{self.path.as_uri()}#{key}", "idempotency_key": key,
               "candidate_id": candidate.id, "text": candidate.text,
               "visibility": self.cfg.visibility, "spoiler_text": self.cfg.spoiler_text,
               "language": self.cfg.language, "posted_at": self.clock().isoformat()}
        self._append(rec)
        return rec["id"], rec["url"]

    def max_characters(self) -> int:
        """bot.toml's limit, else Mastodon's default."""
        return self.cfg.max_characters or MASTODON_MAX_CHARS

    def find_recent(self, text: str) -> tuple[str, str] | None:
        """A post with this text already in the outbox."""
        want = squash_space(text)
        for rec in reversed(self._records()):
            if "text" in rec and squash_space(rec["text"]) == want:
                return rec["id"], rec["url"]
        return None

    def alert(self, message: str) -> None:
        """Log the alert and keep it in the outbox (there is no one to message)."""
        log.warning("operator alert: %s", message)
        self._append({"alert": message, "at": self.clock().isoformat()})
