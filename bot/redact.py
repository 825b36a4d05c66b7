"""Scrub secrets from every error text before it is logged, stored or printed.

The access token reaches error messages in ways no single caller controls: the HTTP library quotes
a bad header value (`'Bearer abc\\ndef'`), a proxy page echoes the request, a URL carries
`access_token=`, a database URL carries a password. So the one rule lives here, and the boundaries
apply it: the publisher's error mapping, the store's error columns, the CLI's error line, doctor,
and (through `scrub_logging`) every log record and uncaught traceback of the process.

Named `redact` rather than `secrets` so it never shadows the standard library module.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from types import TracebackType
from typing import Any

from bot.text import visible

MASK = "[redacted]"
# A secret (or a piece of one) shorter than this is not masked as a plain string: it would mask
# words. Real tokens are 43 characters; the patterns below still catch a short one after "Bearer ".
MIN_PIECE_CHARS = 8

_STOP = r"""[^\s'"`,;&<>(){}\[\]]"""  # characters a token-shaped value is made of
_PATTERNS = [
    # "Authorization: Bearer x", "'Authorization': 'Bearer x'", "authorization=x"
    # (the scheme is kept, and taken possessively so "Bearer [redacted]" is never masked again)
    (
        re.compile(rf"""(authorization['"]?\s*[:=]\s*['"]?(?:(?:bearer|basic|token)\s+)?+){_STOP}+""", re.I),
        rf"\g<1>{MASK}",
    ),
    (re.compile(rf"\b(bearer\s+){_STOP}+", re.I), rf"\g<1>{MASK}"),
    # access_token=x in a URL or a form, "access_token": "x" in JSON; the OAuth client's secrets too
    (
        re.compile(rf"""\b((?:access_token|refresh_token|client_secret|password)['"]?\s*[:=]\s*['"]?){_STOP}+""", re.I),
        rf"\g<1>{MASK}",
    ),
    # credentials inside a URL: scheme://user:password@host
    (re.compile(r"\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@", re.I), rf"\g<1>{MASK}@"),
]

_lock = threading.Lock()
_secrets: set[str] = set()  # exact strings to mask: registered secrets and their printed forms


def remember_secret(value: str) -> None:
    """Mask `value` (the configured token, even a malformed one) in everything scrubbed from now on."""
    value = value.strip()
    if not value:
        return
    forms = {value, value.encode("unicode_escape").decode("ascii"), repr(value)[1:-1]}
    forms |= set(re.split(r"\s+", value))
    with _lock:
        _secrets.update(f for f in forms if len(f) >= MIN_PIECE_CHARS)


def scrub(text: str) -> str:
    """`text` with every registered secret and token-shaped value replaced by [redacted]."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)  # longest first: a piece never splits a whole
    for secret in known:
        text = text.replace(secret, MASK)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def scrub_line(text: str) -> str:
    """`text` scrubbed and on one line, as an error is shown to the operator (CLI, doctor); characters a
    terminal would act on (a server's error text may hold escape sequences) are shown escaped."""
    return visible(" ".join(scrub(text).split()))


def _scrub_record(record: logging.LogRecord) -> None:
    """Replace a record's message, traceback and stack with scrubbed text when they hold a secret."""
    try:
        message = record.getMessage()
    except Exception:  # bad %-args: logging reports those itself at emit time
        return
    clean = scrub(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        text = logging.Formatter().formatException(record.exc_info)
        clean = scrub(text)
        if clean != text:
            record.exc_text = clean  # formatters use exc_text as is when it is set
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)


def _excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """An uncaught exception's traceback (with its chained causes) printed scrubbed."""
    sys.stderr.write(scrub("".join(traceback.format_exception(kind, exc, tb))))


_installed = False


def scrub_logging() -> None:
    """Scrub every log record of this process (any logger, any handler) and uncaught tracebacks.

    A record factory rather than a handler filter: it sees records for handlers added later too
    (a log file, pytest's capture), and it runs before any handler formats the record.
    """
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    make = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        _scrub_record(record)
        return record

    logging.setLogRecordFactory(factory)
    sys.excepthook = _excepthook
