"""Reading request bodies the way the contract describes, one documented error at a time."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orshot_gitops.sandbox.config import SandboxAccount, SandboxConfig

MAX_CONTENT = 5000
# social-publish.md: "must be at least 60 seconds in the future". The PATCH page says a minimum
# lead time applies without giving the figure; the sandbox uses the same 60 s there.
MIN_LEAD_SECONDS = 60.0


class ApiError(Exception):
    """An error answer: `{"error": message}` plus any documented extra fields.

    A plain exception, not a frozen dataclass: Python assigns `__traceback__` on exceptions,
    which a frozen dataclass refuses.
    """

    def __init__(self, status: int, message: str, extra: Mapping[str, object] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = dict(extra or {})

    def body(self) -> dict[str, object]:
        return {"error": self.message, **self.extra}


# The fields each request body may carry, as Orshot's pages list them (docs/orshot-api-notes.md,
# "Request fields"). Anything else is refused, naming the field, unless the config is `lenient`:
# a misspelt key (`status: "draft"` for `isDraft: true`) must not pass silently, since here it
# would publish at once and every test of the client would still be green.
PUBLISH_FIELDS = (
    "accounts",
    "content",
    "media_url",
    "media_urls",
    "isDraft",
    "schedule",
    "timezone",
    "platformOptions",
    "tiktokSettings",  # Orshot's integrations send it top-level (docs/orshot-api-notes.md)
)
# A render's `publish` object: the publish page's table (no media: the render is the media).
RENDER_PUBLISH_FIELDS = (
    "accounts",
    "content",
    "isDraft",
    "schedule",
    "timezone",
    "platformOptions",
)
# The render reference's body, plus `publish` (the publish page) and `source`, which Orshot's own
# Python SDK sends with every render (so Orshot takes it, though no page lists it).
RENDER_FIELDS = (  # `metadata`: the tag a render job is found again by (render_jobs)
    "templateId",
    "modifications",
    "response",
    "pdfOptions",
    "publish",
    "source",
    "metadata",
)
PATCH_FIELDS = ("content", "media_urls", "media_url", "accounts", "status", "scheduled_for")
NO_FIELDS: tuple[str, ...] = ()  # publish-by-id and sync take no body


def known_fields(
    body: Mapping[str, object], allowed: tuple[str, ...], config: SandboxConfig, where: str = ""
) -> None:
    """400 naming the first field (in sorted order) that `allowed` does not list."""
    if config.lenient:
        return
    unknown = sorted(str(key) for key in body if key not in allowed)
    if unknown:
        accepted = ", ".join(allowed) if allowed else "none: send no body"
        raise ApiError(400, f"Unknown field '{unknown[0]}'{where} (accepted: {accepted})")


@dataclass(frozen=True)
class PublishSpec:
    """A validated publish request (from /social/publish or a render's `publish` object)."""

    accounts: tuple[SandboxAccount, ...]
    content: str
    media_urls: tuple[str, ...]
    is_draft: bool
    scheduled_for: float | None
    timezone: str | None
    platform_options_json: str


def require_object(body: object) -> Mapping[str, object]:
    if not isinstance(body, Mapping):
        raise ApiError(400, "Request body must be a JSON object")
    return body


def account_ids(value: object) -> list[object]:
    """The raw `accounts` array; 400 when missing, not an array, or empty."""
    if not isinstance(value, list) or not value:
        raise ApiError(400, "Missing or empty accounts array")
    return value


def resolve_accounts(ids: list[object], config: SandboxConfig) -> tuple[SandboxAccount, ...]:
    """The connected accounts among `ids`, in request order, each once. Unknown ids are
    skipped; 400 when none is left."""
    found: list[SandboxAccount] = []
    for raw in ids:
        account_id = as_int(raw)
        account = config.account(account_id) if account_id is not None else None
        if account is not None and account not in found:
            found.append(account)
    if not found:
        raise ApiError(400, "No valid connected accounts found for the given IDs")
    return tuple(found)


def as_int(value: object) -> int | None:
    """An id sent as a number or as a string of digits (JSON clients do both)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def content(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(400, "content must be a string")
    if len(value) > MAX_CONTENT:
        raise ApiError(400, f"Content exceeds {MAX_CONTENT} characters")
    return value


def media(single: object, several: object) -> tuple[str, ...]:
    """`media_url` or `media_urls` (the doc: use one instead of the other, so not both)."""
    if single is not None and several is not None:
        raise ApiError(400, "Send media_url or media_urls, not both")
    if single is not None:
        if not isinstance(single, str) or not single:
            raise ApiError(400, "media_url must be a non-empty string")
        return (single,)
    if several is None:
        return ()
    if not isinstance(several, list) or not all(isinstance(u, str) and u for u in several):
        raise ApiError(400, "media_urls must be an array of URLs")
    return tuple(several)


def timezone_name(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, "Invalid timezone")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ApiError(400, "Invalid timezone") from exc
    return value


def timestamp(value: object, zone: str | None, now: float, *, field_name: str) -> float:
    """An ISO 8601 time at least 60 s ahead; a time without offset is read in `zone` (UTC when
    no timezone was given)."""
    if not isinstance(value, str):
        raise ApiError(400, f"Invalid {field_name} timestamp")
    text = value.strip()
    if text.endswith(("Z", "z")):  # fromisoformat learnt "Z" only in Python 3.11
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ApiError(400, f"Invalid {field_name} timestamp") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone) if zone else timezone.utc)
    when = moment.timestamp()
    if when < now + MIN_LEAD_SECONDS:
        raise ApiError(400, "Scheduled time must be at least 60 seconds in the future")
    return when


def publish_spec(
    body: Mapping[str, object],
    config: SandboxConfig,
    now: float,
    *,
    media_urls: tuple[str, ...] | None = None,
) -> PublishSpec:
    """Validate a publish request in the documented order. `media_urls` is given for a render's
    `publish` object, whose media is the render output. Unknown fields are refused unless the
    config is `lenient`."""
    if media_urls is None:
        known_fields(body, PUBLISH_FIELDS, config)
    else:
        known_fields(body, RENDER_PUBLISH_FIELDS, config, " in publish")
    ids = account_ids(body.get("accounts"))
    text = content(body.get("content"))
    zone = timezone_name(body.get("timezone"))
    scheduled_for = None
    schedule = body.get("schedule")
    if schedule is not None:
        if not isinstance(schedule, Mapping):
            raise ApiError(400, "Invalid schedule.scheduledFor timestamp")
        scheduled_for = timestamp(
            schedule.get("scheduledFor"), zone, now, field_name="schedule.scheduledFor"
        )
    accounts = resolve_accounts(ids, config)
    if media_urls is None:
        media_urls = media(body.get("media_url"), body.get("media_urls"))
    is_draft = body.get("isDraft", False)
    if not isinstance(is_draft, bool):
        raise ApiError(400, "isDraft must be a boolean")
    options = body.get("platformOptions", {})
    if not isinstance(options, Mapping):
        raise ApiError(400, "platformOptions must be an object")
    # TikTok's settings, once per request (e.g. autoAddMusic); kept in the request's JSON.
    tiktok = body.get("tiktokSettings", {})
    if not isinstance(tiktok, Mapping):
        raise ApiError(400, "tiktokSettings must be an object")
    return PublishSpec(
        accounts=accounts,
        content=text,
        media_urls=media_urls,
        is_draft=is_draft,
        scheduled_for=scheduled_for,
        timezone=zone,
        platform_options_json=json.dumps(options, sort_keys=True, ensure_ascii=False),
    )
