"""The Mastodon access token: where it is read from and what a usable one looks like.

It comes from $DJBIOS_ACCESS_TOKEN or [mastodon] token_file (mode 0600), never from bot.toml. A
token that cannot be sent as an HTTP header is refused here with a message that describes it and
never quotes it: the HTTP library's own error would print the whole Authorization header. Every token
read is registered with bot/redact.py, so no later message can show it. (`bot.config` re-exports
`read_token` and `TOKEN_ENV`; this module only needs Config's shape.)
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from bot.errors import ConfigError
from bot.private_files import read_private_file
from bot.redact import remember_secret

if TYPE_CHECKING:
    from bot.config import Config

TOKEN_ENV = "DJBIOS_ACCESS_TOKEN"


def read_token(cfg: Config) -> str:
    """The access token from $DJBIOS_ACCESS_TOKEN or a 0600 token_file; checked, never shown or logged."""
    env = os.environ.get(TOKEN_ENV, "").strip()
    if env:
        return _checked_token(env, f"${TOKEN_ENV}")
    tf = cfg.mastodon.token_file
    if tf is None:
        raise ConfigError(f"no access token: set ${TOKEN_ENV} or [mastodon] token_file (run `djbios login`)")
    token = read_private_file(tf, "token_file", "run `djbios login` to write it again").strip()
    if not token:
        raise ConfigError(f"{tf}: token_file is empty")
    return _checked_token(token, str(tf))


# An OAuth access token is one run of visible ASCII (Mastodon's are URL-safe base64). Anything else
# breaks the HTTP header, and the HTTP library's error would then quote the whole header, token and all.
_TOKEN_RE = re.compile(r"[\x21-\x7e]+")


def _checked_token(token: str, where: str) -> str:
    """`token` if it can be sent as a header; a ConfigError that describes it, never quotes it."""
    remember_secret(token)  # even a malformed token is masked in every later message
    if _TOKEN_RE.fullmatch(token):
        return token
    lines = len(token.splitlines())
    what = (
        f"{lines} lines"
        if lines > 1
        else "spaces"
        if any(c.isspace() for c in token)
        else "characters that are not printable ASCII"
    )
    raise ConfigError(
        f"{where}: the access token holds {what}; a token is one line of printable "
        "characters without spaces: copy it again, or run `djbios login`"
    )
