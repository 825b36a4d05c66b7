"""The kill switch: take a bio down (every part of its thread) and keep it from ever coming back."""

from __future__ import annotations

import getpass
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.config import Config, database_url
from bot.errors import IllegalTransition, PublishError

if TYPE_CHECKING:
    from bot.posting.publishers import Publisher
    from bot.store.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unposted:
    """What `unpost` did: statuses deleted now, and ones already gone."""

    candidate_id: int
    deleted: int
    gone: int


def operator_name() -> str:
    """The OS user running the command (who retracted, when --by is not given)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in a bare container
        return "unknown"


def unpost(
    store: Store, publisher: Publisher, cid: int, *, by: str, reason: str = "", now: datetime | None = None
) -> Unposted:
    """Mark the bio retracted, then delete every status of it, replies first; rerun to finish a cut-short one.

    Retracting first takes the bio out of the posting queue, so no part goes out while the others are
    deleted. A status already gone (404/410) counts as deleted. Its text stays in the store, so the
    near-duplicate filter never lets the model's next attempt at it through.
    """
    c = store.get(cid)
    ids = list(c.status_ids) or ([c.status_id] if c.status_id else [])
    if c.status == "posting":
        raise IllegalTransition(f"candidate {cid} is being posted right now (by {c.claimed_by}); try again in a minute")
    if not ids and c.status != "posted":
        raise IllegalTransition(
            f"candidate {cid} is {c.status} and has nothing online; `djbios reject {cid}` keeps it from being posted"
        )
    if c.status != "retracted":
        store.retract(cid, by=by, reason=reason, now=now)
    deleted = 0
    for n, sid in enumerate(reversed(ids)):
        try:
            deleted += publisher.delete(sid)
        except PublishError as exc:
            raise PublishError(
                f"bio {cid} is retracted but {len(ids) - n} of its statuses may still be "
                f"online ({exc}); run `djbios unpost {cid}` again"
            ) from exc
    log.info("retracted bio %s by %s: %d deleted, %d already gone", cid, by, deleted, len(ids) - deleted)
    return Unposted(cid, deleted, len(ids) - deleted)


def unpost_now(cfg: Config, cid: int, *, by: str | None = None, reason: str = "") -> Unposted:
    """`djbios unpost`: the real store and publisher."""
    from bot.posting.publishers import make_publisher
    from bot.store.store import Store

    store = Store.open(database_url(cfg), busy_timeout_s=cfg.database.busy_timeout_s)
    try:
        return unpost(store, make_publisher(cfg), cid, by=by or operator_name(), reason=reason)
    finally:
        store.close()
