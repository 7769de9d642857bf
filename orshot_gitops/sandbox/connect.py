"""Connect sessions: `POST /v1/social/connect-sessions` makes a link that reconnects an
account (`reconnect_account_id`); the test hook `POST /_sandbox/connect-sessions/{id}/complete`
plays the person who follows it, after which the account reports `requires_reconnect: false`
and takes posts again. Sessions live in memory, per server run, like the statistics.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from orshot_gitops.sandbox.validation import ApiError, as_int, require_object

SESSION_SECONDS = 3600  # how long a link stays valid, as the answer says
LINK_BASE = "https://sandbox.orshot.invalid/connect/"  # never a real host: nothing to follow


@dataclass(frozen=True)
class ConnectSession:
    id: str
    platform: str
    account_id: int
    return_url: str
    expires_at: float

    def answer(self) -> dict[str, object]:
        return {
            "id": self.id,
            "url": LINK_BASE + self.id,
            "platform": self.platform,
            "reconnect_account_id": self.account_id,
            "expires_at": self.expires_at,
        }


def connect_session(body: object, accounts: Mapping[int, str], now: float) -> ConnectSession:
    """A session from a request body; `accounts` maps the workspace's account ids to their
    platforms. Refuses (400/404) what Orshot would: a missing field, an unknown account."""
    data = require_object(body)
    unknown = sorted(set(data) - {"platform", "reconnect_account_id", "return_url"})
    if unknown:
        raise ApiError(400, f"Unknown field: {unknown[0]}")
    platform = data.get("platform")
    if not isinstance(platform, str) or not platform:
        raise ApiError(400, "platform is required")
    account_id = as_int(data.get("reconnect_account_id"))
    if account_id is None:
        raise ApiError(400, "reconnect_account_id must be an account id")
    if account_id not in accounts:
        raise ApiError(404, "Account not found")
    if accounts[account_id] != platform:
        raise ApiError(400, f"Account {account_id} is not a {platform} account")
    return_url = data.get("return_url", "")
    if not isinstance(return_url, str):
        raise ApiError(400, "return_url must be a URL")
    return ConnectSession(
        id="cs_" + secrets.token_hex(8),
        platform=platform,
        account_id=account_id,
        return_url=return_url,
        expires_at=now + SESSION_SECONDS,
    )
