"""The environment variables orshot-gitops reads, each checked before any work starts.

Two rules. An error about a variable names the variable and says what is wrong with it, never
its value: a key pasted into the wrong variable (ORSHOT_BASE_URL's query, scheme or port,
ORSHOT_RATE_LIMIT) would otherwise be printed in CI logs. And `apply` checks every setting
before anything is planned, marked or written (`check_environment`): a malformed base URL
found only when the first request is made would stop a run after its intents were recorded
and pushed, leaving "pending" claims for a send that never happened.

The variables: ORSHOT_API_KEY (or the variable a content root's `api_key_env` names: one key
per brand, `ApiKeyVariable`), ORSHOT_BASE_URL, ORSHOT_RATE_LIMIT, ORSHOT_SETTLE_AFTER (read
here); ORSHOT_CACHE_DIR (`cache.cache_root`: any path, a bad one means no cache), ORSHOT_DEBUG
(any value means yes), ORSHOT_CRASH_AT (tests only) and the GITHUB_* variables a runner sets
(`github.GitHubContext.from_env`).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from orshot_gitops.errors import UserError

DEFAULT_BASE_URL = "https://api.orshot.com"
DEFAULT_KEY_ENV = "ORSHOT_API_KEY"
DEFAULT_SETTLE_AFTER = 900.0  # seconds: see `apply --settle-after`
_BASE_URL_HINT = (
    f"use an https:// URL such as {DEFAULT_BASE_URL}, or http://127.0.0.1:PORT for the sandbox"
)
# host[:port] exactly: urlsplit ignores what follows a bracketed host ('[::1]x'), httpx does not.
_NETLOC = re.compile(r"(\[[^\[\]@/]+\]|[^\[\]:@/]+)(:[0-9]*)?")
# A DNS name as httpx will send it (an internationalized name in its xn-- form).
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?")


def _refuse(variable: str, why: str, hint: str, code: str) -> UserError:
    return UserError(f"{variable} {why}", hint=hint, code=code)


def normalize_base_url(base_url: str) -> str:
    """The API's origin, from what a user may type: trailing '/' and '/v1' are tolerated.

    Plain http is refused except to loopback, so the key never crosses a network in clear.
    Errors never quote the value: it may hold a key pasted into the wrong variable.
    """
    url = base_url.strip().rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")].rstrip("/")

    def refuse(why: str) -> UserError:
        return _refuse("ORSHOT_BASE_URL", why, _BASE_URL_HINT, "base-url")

    if not url.isascii() or not url.isprintable() or " " in url:
        raise refuse("contains spaces or characters that are not printable ASCII")
    if len(url) > 2000:  # httpx refuses a URL over 65,536 characters at the first request
        raise refuse("is too long for a URL (more than 2,000 characters)")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port that is not a number from 0 to 65535
    except ValueError:
        raise refuse("is not a valid URL (check the host and the port)") from None
    if parts.scheme not in ("http", "https"):
        raise refuse("must start with https:// (or http:// for the sandbox on loopback)")
    if parts.username is not None or parts.password is not None:
        # A key pasted into the URL would end up in every error message that names the URL.
        raise refuse("must not contain credentials")
    if not _NETLOC.fullmatch(parts.netloc):
        raise refuse("is not a valid URL (check the host and the port)")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise refuse("must not have a query ('?...') or a fragment ('#...')")
    host = parts.hostname or ""
    if not host or not (_is_ip_address(host) or _HOST_NAME.fullmatch(host)):
        raise refuse("has no valid host name (an internationalized one: use its xn-- form)")
    if port == 0:
        raise refuse("has port 0")
    if parts.scheme == "http" and not _is_loopback(host):
        raise refuse(
            "uses plain http to a host that is not this machine: the API key would cross "
            "the network unencrypted"
        )
    return url


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_rate_limit(text: str) -> tuple[int, float]:
    """`ORSHOT_RATE_LIMIT`, "REQUESTS/SECONDS" (e.g. "20/2" or "60/60"), for `rate_limit`."""
    requests, _, seconds = text.partition("/")
    try:
        result = (int(requests), float(seconds or 60))
    except ValueError:  # not numbers, or more digits than Python converts
        result = (0, 0.0)
    if result[0] < 1 or not (result[1] > 0 and math.isfinite(result[1])):
        raise _refuse(
            "ORSHOT_RATE_LIMIT",
            "is not REQUESTS/SECONDS (a whole number of requests, at least 1, per a number "
            "of seconds above 0)",
            "for example ORSHOT_RATE_LIMIT=60/60 (60 requests per minute)",
            "rate-limit",
        )
    return result


def check_api_key(key: str) -> None:
    """Refuse a key httpx could not put in a header, without echoing it (httpx's own error
    would quote the header value)."""
    if not key.isascii() or not key.isprintable() or " " in key:
        raise UserError(
            "the Orshot API key contains spaces or unprintable characters",
            hint="copy the key again from the Orshot dashboard",
            code="api-key",
        )


def parse_seconds(text: str, variable: str) -> float:
    """A number of seconds from 0 up to what a timedelta holds (no inf, no nan)."""
    try:
        seconds = float(text)
        timedelta(seconds=seconds)
    except (ValueError, OverflowError):
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise _refuse(
            variable,
            "is not a number of seconds (0 or more)",
            f"for example {variable}=900",
            "settings",
        )
    return seconds


def settle_after(env: Mapping[str, str]) -> float:
    """ORSHOT_SETTLE_AFTER, the default of `apply --settle-after`."""
    text = env.get("ORSHOT_SETTLE_AFTER", "").strip()
    return parse_seconds(text, "ORSHOT_SETTLE_AFTER") if text else DEFAULT_SETTLE_AFTER


@dataclass(frozen=True)
class ApiKeyVariable:
    """Where a content root's key is read: the variable its `api_key_env` names (default
    ORSHOT_API_KEY) and the root, for messages. Every client and every "is there a key?"
    goes through one of these, so a brand's command never reads another brand's key."""

    name: str = DEFAULT_KEY_ENV
    root: str = ""  # the content root as the user knows it ("brands/zen"); "" for one root
    # Set when the root's orshot.yaml does not load: its variable is unknown, and guessing
    # ORSHOT_API_KEY would hand this root another brand's key. No key, then: reads and sends
    # are refused, and the command reports the file's own error.
    unknown: bool = False

    def value(self, env: Mapping[str, str]) -> str:
        return "" if self.unknown else env.get(self.name, "").strip()

    def present(self, env: Mapping[str, str]) -> bool:
        return bool(self.value(env))

    def require(self, env: Mapping[str, str], why: str = "") -> str:
        """The key, or an error naming the variable to set and the root (never a value)."""
        key = self.value(env)
        if self.unknown:
            raise UserError(
                f"no Orshot key for {self.root or 'this content root'}: its orshot.yaml does "
                "not load, so which variable holds its key (api_key_env) is unknown",
                hint="fix orshot.yaml first ('orshot-gitops validate' says where)",
                code="api-key",
            )
        if not key:
            raise UserError(
                f"{self.name} is not set{self.for_root()}{why}",
                hint=self.hint(),
                code="api-key",
            )
        return key

    def for_root(self) -> str:
        return f" (the key of the content root {self.root})" if self.root else ""

    def hint(self) -> str:
        return (
            f"set {self.name} to the Orshot API key of this root's workspace; for the local "
            f"sandbox use {self.name}=sandbox ORSHOT_BASE_URL=http://127.0.0.1:8787"
        )


def check_environment(env: Mapping[str, str], key: ApiKeyVariable | None = None) -> None:
    """Every setting a command that may send reads, checked now, before any work: a missing
    key is not an error here (a plan with nothing to send needs none), a malformed one is."""
    normalize_base_url(env.get("ORSHOT_BASE_URL", "").strip() or DEFAULT_BASE_URL)
    limit = env.get("ORSHOT_RATE_LIMIT", "").strip()
    if limit:
        parse_rate_limit(limit)
    value = (key or ApiKeyVariable()).value(env)
    if value:
        check_api_key(value)
    settle_after(env)
