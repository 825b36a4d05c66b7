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
import stat
from typing import TYPE_CHECKING

from bot.errors import ConfigError
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
        raise ConfigError(
            f"no access token: set ${TOKEN_ENV} or [mastodon] token_file (run `djbios login`)"
        )
    try:
        mode = tf.stat().st_mode
    except FileNotFoundError as exc:
        raise ConfigError(f"{tf}: token_file not found (run `djbios login`)") from exc
    except OSError as exc:
        raise ConfigError(f"{tf}: cannot read the token_file ({exc.strerror})") from exc
    if stat.S_ISDIR(mode):
        raise ConfigError(f"{tf}: token_file is a folder; point [mastodon] token_file at the file "
                          "`djbios login` wrote")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{tf}: token_file is readable by others; run `chmod 600 {tf}`")
    try:
        raw = tf.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{tf}: cannot read the token_file ({exc.strerror})") from exc
    try:
        token = raw.decode("utf-8").strip()
    except UnicodeDecodeError as exc:  # the message would quote a byte of the token: say where only
        raise ConfigError(f"{tf}: token_file is not UTF-8 text (bad byte at offset {exc.start}); "
                          "run `djbios login` to write it again") from None
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
    what = (f"{lines} lines" if lines > 1 else
            "spaces" if any(c.isspace() for c in token) else "characters that are not printable ASCII")
    raise ConfigError(f"{where}: the access token holds {what}; a token is one line of printable "
                      "characters without spaces: copy it again, or run `djbios login`")
