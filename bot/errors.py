"""The djbios error tree; library exceptions are wrapped at the boundary that knows them.

BotError
├── ConfigError          bad bot.toml, bad token file
├── StoreError           database problems
│   ├── NotFound         unknown candidate id
│   ├── IllegalTransition  e.g. approving a posted bio
│   └── LeaseHeld        another worker of that role runs on this database
├── InputError           a bad file given to `djbios add` / `corpus build`
├── ModelError           missing or corrupt model / checkpoint
├── GenerationError      sampling failed
├── ScrapeError          the crawler cannot continue
└── PublishError         posting failed (see the subclasses for what to do next)
    ├── RetryLater       network, 5xx, 429: try again after `retry_after` seconds
    ├── AuthError        401/403: the token is bad; stop posting and alert
    ├── Rejected         422: the server refused the text; the bio goes back to pending
    └── PermanentError   any other 4xx: failed for good, alert; the operator re-queues it
"""

from __future__ import annotations


class BotError(Exception):
    """Base of every error djbios raises on purpose; its message is meant for the operator."""


class ConfigError(BotError):
    """bot.toml or the token file is wrong; the message names the key and the file."""


class StoreError(BotError):
    """The candidate database could not do what was asked."""


class NotFound(StoreError):
    """No candidate has that id."""


class IllegalTransition(StoreError):
    """The candidate's state does not allow that change."""


class LeaseHeld(StoreError):
    """Another live process holds this role's lease (one worker per role per database)."""


class InputError(BotError):
    """An input file cannot be read or holds something we refuse."""


class ModelError(BotError):
    """The model or checkpoint is missing or unusable; the message says which command makes it."""


class GenerationError(BotError):
    """Sampling from the model failed."""


class ScrapeError(BotError):
    """The crawler cannot go on."""


class PublishError(BotError):
    """Posting failed."""


class RetryLater(PublishError):
    """A transient failure (network, 5xx, 429); retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float = 60.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthError(PublishError):
    """The instance refused the token (401/403): stop posting and alert the operator."""


class Rejected(PublishError):
    """The instance refused this text (422): the bio goes back to pending with the message."""


class PermanentError(PublishError):
    """Any other 4xx (400, 404, 410 ...): asking again will not help; failed until the operator re-queues."""
