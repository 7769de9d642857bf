"""Reconnect links: `POST /v1/social/connect-sessions` with `platform`,
`reconnect_account_id` and `return_url` answers a URL where a person re-authorizes an
account Orshot reports as needing a reconnect (docs/orshot-api-notes.md says what we
followed). Its own module: the client's endpoints for posts stay in client.py.

Creating a session twice is harmless (two links, either works), so the request is retried
like a read, not guarded like a create.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orshot_gitops.orshot.client import OrshotClient
from orshot_gitops.orshot.models import Malformed, data_of

# Where Orshot sends the person back once the account is reconnected; Orshot's dashboard page
# for its accounts, since a command line has nowhere of its own to return to.
DEFAULT_RETURN_URL = "https://orshot.com/dashboard/social-accounts"


@dataclass(frozen=True)
class ConnectLink:
    """A link that reconnects one account."""

    url: str
    account_id: int
    platform: str
    expires_at: str | None = None  # as Orshot wrote it, when it says


def create_reconnect_link(
    client: OrshotClient, platform: str, account_id: int, return_url: str = DEFAULT_RETURN_URL
) -> ConnectLink:
    body = {"platform": platform, "reconnect_account_id": account_id, "return_url": return_url}

    def parse(answer: Any) -> ConnectLink:
        data = data_of(answer)
        url = data.get("url") if isinstance(data, dict) else None
        # Printed to a terminal: one plain link, never control characters from the answer.
        if (
            not isinstance(url, str)
            or not url.startswith(("https://", "http://"))
            or not url.isprintable()
            or any(ch.isspace() for ch in url)
        ):
            raise Malformed("connect session has no usable 'url'")
        expires = data.get("expires_at")
        return ConnectLink(
            url=url,
            account_id=account_id,
            platform=platform,
            expires_at=None if expires is None else str(expires),
        )

    return client._call(parse, "POST", "/social/connect-sessions", json=body)
