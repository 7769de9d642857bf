"""The errors the Orshot API client raises: one class per thing the user can do something about.

All are `UserError`s, so the CLI reports them as one line with a hint (exit 1). Each carries the
HTTP status (0 when no answer came) and the server's own message, scrubbed of the API key.
"""

from __future__ import annotations

from typing import Any

from orshot_gitops.errors import UserError

# One line, bounded: a server that answers with an HTML error page must not flood the terminal.
_MAX_MESSAGE = 300


def one_line(text: str, limit: int = _MAX_MESSAGE) -> str:
    """Collapse whitespace (newlines included) and cut to `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ApiError(UserError):
    """The Orshot API refused or failed a request; `status` is the HTTP status (0: no answer).

    `message` is the server's own words (one line, key redacted) prefixed with what was asked.
    """

    default_hint = "see the message from Orshot above"
    default_code = "api-error"
    #: True when an earlier attempt of the same request may have been done (its answer lost).
    after_uncertain_attempt: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        method: str = "",
        path: str = "",
        server_message: str = "",
        hint: str = "",
        code: str = "",
    ) -> None:
        super().__init__(
            one_line(message, 500),
            hint=hint or self.default_hint,
            code=code or self.default_code,
        )
        self.status = status
        self.method = method
        self.request_path = path  # not `path`: UserError.path names a file in the user's repo
        self.server_message = server_message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r})"


class AuthError(ApiError):
    """The key is missing, unknown or revoked (403, or 400 "Invalid API Key")."""

    default_hint = (
        "check ORSHOT_API_KEY: create a key in the Orshot dashboard (Settings > API Keys); "
        "for the local sandbox use ORSHOT_API_KEY=sandbox"
    )
    default_code = "api-auth"


class PaidPlanRequired(ApiError):
    """Social publishing needs a paid plan, an active subscription, or quota left."""

    default_hint = "check the workspace's plan, subscription and quota in the Orshot dashboard"
    default_code = "api-plan"


class BadRequest(ApiError):
    """Orshot refused the request as invalid (400); nothing was done."""

    default_hint = "fix the request as the message says; nothing was sent to any platform"
    default_code = "api-bad-request"


class NotFound(ApiError):
    """The post (or template) does not exist in this workspace (404)."""

    default_hint = "check the id, and that ORSHOT_API_KEY belongs to the workspace that owns it"
    default_code = "api-not-found"


class IncompatibleMedia(ApiError):
    """No target platform accepts the media format (422)."""

    default_hint = (
        "use a media format the target platforms accept (see social-posting-guidelines: "
        "PNG/JPG on no video-only platform, no PDF anywhere)"
    )
    default_code = "api-incompatible-media"


class RateLimited(ApiError):
    """Still rate limited (429) after the client waited and retried as far as it may."""

    default_hint = "wait a minute and run again; another client may share this workspace's limit"
    default_code = "api-rate-limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(ApiError):
    """Orshot failed (5xx, or no answer at all) on a request that is safe to repeat,
    after the client's retries ran out."""

    default_hint = (
        "Orshot or the network is failing; run again later (this request is safe to repeat)"
    )
    default_code = "api-server-error"


class UnknownOutcome(ApiError):
    """A create may or may not have been done: the request may have reached Orshot and the
    answer was lost or unusable. The client never repeats it on its own.

    `method`, `request_path` and `summary` (no secrets, no full content) say what was attempted,
    so the caller can record it and settle it later by reading the Posts Log.
    """

    default_hint = (
        "do not simply send it again: check the Posts Log (GET /social/posts) for what was "
        "created; the next run settles it"
    )
    default_code = "api-unknown-outcome"

    def __init__(self, message: str, *, summary: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.summary = summary


TEMPLATE_NOT_FOUND_HINT = (
    "check render.template in the post file: the id must be a Studio template of the workspace "
    "ORSHOT_API_KEY belongs to"
)


def _is_auth_refusal(lower: str) -> bool:
    return (
        "invalid api key" in lower or "access forbidden" in lower or "api key or user id" in lower
    )


def error_for_status(
    status: int,
    server_message: str,
    *,
    method: str,
    path: str,
    retry_after: float | None = None,
) -> ApiError:
    """The error for an HTTP error answer, chosen by status and, where the status is shared by
    several causes (400, 403), by the server's message."""
    lower = server_message.lower()
    text = f"{method} {path} answered {status}: {server_message}"
    kw: dict[str, Any] = {
        "status": status,
        "method": method,
        "path": path,
        "server_message": server_message,
    }
    if status == 429:
        return RateLimited(text, retry_after=retry_after, **kw)
    if status >= 500:
        return ServerError(text, **kw)
    # Orshot's error reference answers an unknown template with 403 "Template not found" (some
    # of its 403s start "Access Forbidden:"). Checked before the key: a message naming the
    # template is the post's problem, permanent until render.template changes, while a refused
    # key is the workspace's and worth trying again once it is fixed.
    if status in (403, 404) and "template not found" in lower:
        return NotFound(text, hint=TEMPLATE_NOT_FOUND_HINT, **kw)
    # "Invalid API Key" is a 400 in Orshot's error reference and a 403 on the publish page;
    # the reference also answers 400 "Access Forbidden: The API Key or User ID do not exist"
    # for a revoked key, and 403 "Access Forbidden: Authorization header is missing".
    if status == 401 or (status in (400, 403) and _is_auth_refusal(lower)):
        return AuthError(text, **kw)
    if status == 403:
        if any(word in lower for word in ("paid plan", "subscription", "quota", "upgrade")):
            return PaidPlanRequired(text, **kw)
        if "not found" in lower:
            return NotFound(text, **kw)
        return AuthError(text, **kw)
    if status == 404:
        return NotFound(text, **kw)
    if status == 422:
        return IncompatibleMedia(text, **kw)
    if status == 400:
        return BadRequest(text, **kw)
    return ApiError(text, **kw)
