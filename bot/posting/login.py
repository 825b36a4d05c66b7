"""`djbios login`: register the app on an instance, trade a pasted code for a token, save it 0600."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from bot.errors import PublishError

OOB = "urn:ietf:wg:oauth:2.0:oob"  # the code is shown to the operator instead of redirected
SCOPES = ["read", "write"]  # read: recent statuses and the account; write: posts and the profile


class LoginFlow:
    """Register the app on an instance and trade a pasted authorization code for a token."""

    def __init__(self, instance: str, app_name: str = "djbios") -> None:
        from mastodon import Mastodon

        self.instance = instance.rstrip("/")
        # plain http only to this machine (a test instance); a real login always goes over https
        self.allow_http = urlparse(self.instance).hostname in ("127.0.0.1", "localhost", "::1")
        with _login_errors(self.instance):
            cid, secret = Mastodon.create_app(app_name, scopes=SCOPES, redirect_uris=OOB, api_base_url=self.instance)
            self.client = Mastodon(
                client_id=cid, client_secret=secret, api_base_url=self.instance, version_check_mode="none"
            )

    def authorize_url(self) -> str:
        """Where the operator logs in as the bot and gets the code."""
        with _login_errors(self.instance):
            return self.client.auth_request_url(scopes=SCOPES, redirect_uris=OOB, allow_http=self.allow_http)

    def token(self, code: str) -> str:
        """The access token for the pasted code."""
        with _login_errors(self.instance):
            return self.client.log_in(code=code.strip(), redirect_uri=OOB, scopes=SCOPES, allow_http=self.allow_http)


@contextmanager
def _login_errors(instance: str) -> Iterator[None]:
    """Mastodon.py errors during login, as one operator-readable PublishError."""
    from mastodon.errors import MastodonError

    try:
        yield
    except MastodonError as exc:
        raise PublishError(f"login at {instance} failed: {exc}; check the URL and paste the code again") from exc


def save_token(path: Path, token: str) -> None:
    """Write the token to a file only its owner can read (mode 0600, set before any byte is written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its old mode under O_CREAT
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
