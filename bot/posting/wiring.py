"""The publisher as the jobs see it: alerts through the Alerter, [profile] post_suffix, the instance's limit.

Shared by the worker (bot/posting/worker.py) and the one-off commands (bot/posting/launch.py), so
`djbios post` posts and alerts exactly as the worker does.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, overload

from bot.config import Config
from bot.errors import PublishError
from bot.posting.alerts import Alerter, AlertingPublisher
from bot.posting.profile import with_post_suffix

if TYPE_CHECKING:
    from bot.posting.publishers import Publisher
    from bot.store.store import Store

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    """The real clock (tests pass their own)."""
    return datetime.now(UTC)


@overload
def wire_publisher(
    publisher: Publisher, store: Store, cfg: Config, clock: Callable[[], datetime] = ...
) -> tuple[Alerter, Publisher]: ...


@overload
def wire_publisher(
    publisher: Publisher | None, store: Store, cfg: Config, clock: Callable[[], datetime] = ...
) -> tuple[Alerter, Publisher | None]: ...


def wire_publisher(
    publisher: Publisher | None, store: Store, cfg: Config, clock: Callable[[], datetime] = utcnow
) -> tuple[Alerter, Publisher | None]:
    """The Alerter, and the publisher with [profile] post_suffix and keyed alerts through it."""
    alerter = Alerter(store, cfg, dm=getattr(publisher, "direct_message", None), clock=clock)
    if publisher is None:  # a generate-only box without a token posts nothing
        return alerter, None
    return alerter, AlertingPublisher(with_post_suffix(publisher, cfg), alerter)


def fit_to_instance(cfg: Config, publisher: Publisher | None) -> Config:
    """Filter to the instance's status limit (cached by the publisher) so approved bios fit."""
    if publisher is None:
        return cfg
    try:
        limit = publisher.max_characters()
    except PublishError as exc:  # the instance is down: bot.toml's limit will do for this batch
        log.warning("could not read the instance's status limit: %s", exc)
        return cfg
    if cfg.filters.max_chars <= limit:
        return cfg
    return dataclasses.replace(cfg, filters=dataclasses.replace(cfg.filters, max_chars=limit))
