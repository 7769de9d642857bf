"""Posts as values: what the sandbox stores, how a post's status follows from its accounts,
and the JSON shapes the contract documents for them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

# Statuses of one account within a post, and of a whole post (post-management.md).
DRAFTED, SCHEDULED, PUBLISHED, PROCESSING, FAILED = (
    "drafted",
    "scheduled",
    "published",
    "processing",
    "failed",
)
DRAFT, PARTIAL, DISCARDED = "draft", "partial", "discarded"
HELD_POST_STATUSES = (DRAFT, SCHEDULED)
LIVE = (PUBLISHED, PROCESSING)

TOKEN_EXPIRED_ERROR = "Account token expired — reconnect required"
DUPLICATE_ERROR = "Duplicate content"
PLATFORM_RATE_LIMITED_ERROR = "Rate limited by platform"
DISCONNECTED_ERROR = "Account is no longer connected"


def iso(timestamp: float | None) -> str | None:
    """UTC ISO 8601 with microseconds, as in the documented `created_at`."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="microseconds")


def publish_entries(targets: Sequence[Target], shape: str) -> list[dict[str, object]]:
    """The `platforms` of a `POST /social/publish` answer (or a render's `publish` array):
    with ids in the request's order, or, shaped "documented", as the publish pages show them:
    no `account_id`, and not in the request's order (sandbox/config.py, ANSWER_SHAPES)."""
    entries = [t.entry() for t in targets]
    if shape != "documented":
        return entries
    return [{k: v for k, v in e.items() if k != "account_id"} for e in reversed(entries)]


@dataclass(frozen=True)
class Target:
    """One account a post goes to, and what happened there."""

    account_id: int
    platform: str
    username: str
    name: str
    status: str
    url: str | None = None
    error: str | None = None
    action: str | None = None
    # When an Instagram/TikTok post was handed over; it settles `processing_seconds` later.
    processing_since: float | None = None

    def entry(self) -> dict[str, object]:
        """The per-account entry of publish answers and of the post object's `accounts`."""
        out: dict[str, object] = {
            "account_id": self.account_id,
            "platform": self.platform,
            "username": self.username,
            "name": self.name,
            "status": self.status,
            "url": self.url,
        }
        # The publish page: `error` "only on failure"; `action` only when there is one.
        if self.error is not None:
            out["error"] = self.error
        if self.action is not None:
            out["action"] = self.action
        return out

    def log_entry(self) -> dict[str, object]:
        """The entry as the post-management pages show it (the post object's `accounts`, the
        publish-by-id and sync answers): a held draft is `draft` there, while the publish pages
        answer `drafted` for the same account (docs/orshot-api-notes.md)."""
        out = self.entry()
        if self.status == DRAFTED:
            out["status"] = DRAFT
        return out


@dataclass(frozen=True)
class Post:
    """A post in the workspace's Posts Log. `held` is `draft`/`scheduled` while Orshot holds it,
    None once it went out (or failed before it could)."""

    id: int
    created_at: float
    request_json: str
    held: str | None
    content: str
    media_urls: tuple[str, ...]
    targets: tuple[Target, ...]
    scheduled_for: float | None = None
    timezone: str | None = None
    platform_options_json: str = "{}"
    published_at: float | None = None
    render_id: int | None = None
    discarded: bool = False

    @property
    def status(self) -> str:
        """The post's overall status, derived so it can never disagree with its accounts."""
        statuses = [t.status for t in self.targets]
        if self.held is not None and any(s in (DRAFTED, SCHEDULED) for s in statuses):
            return self.held
        if all(s == FAILED for s in statuses):
            return FAILED
        if FAILED in statuses:
            return PARTIAL
        if PROCESSING in statuses:
            return PROCESSING
        return PUBLISHED

    @property
    def outcome(self) -> str:
        """The overall status of a publish answer: `drafted` where the log says `draft`, and
        `partial` for a held post some of whose accounts already failed."""
        status = self.status
        if status in HELD_POST_STATUSES:
            if any(t.status == FAILED for t in self.targets):
                return PARTIAL
            return DRAFTED if status == DRAFT else SCHEDULED
        return status

    @property
    def is_editable(self) -> bool:
        return not self.discarded and self.status in HELD_POST_STATUSES

    @property
    def is_discardable(self) -> bool:
        # Live on any account (`partial` included) is beyond recall; in flight is not.
        return not self.discarded and not any(t.status == PUBLISHED for t in self.targets)

    def view(self) -> dict[str, object]:
        """The documented post object."""
        return {
            "id": self.id,
            "status": self.status,
            "content": self.content,
            "media_urls": list(self.media_urls),
            "platforms": sorted({t.platform for t in self.targets}),
            "accounts": [t.log_entry() for t in self.targets],
            "is_editable": self.is_editable,
            "is_discardable": self.is_discardable,
            "scheduled_for": iso(self.scheduled_for),
            "published_at": iso(self.published_at),
            "created_at": iso(self.created_at),
            "render_id": self.render_id,
        }

    def inspection(self) -> dict[str, object]:
        """The `/_sandbox/posts` entry: the creating request and the current state."""
        return {
            "post_id": self.id,
            "created_at": iso(self.created_at),
            "request": json.loads(self.request_json),
            "status": DISCARDED if self.discarded else self.status,
            "platforms": [
                {
                    "account_id": t.account_id,
                    "platform": t.platform,
                    "username": t.username,
                    "status": t.status,
                    "url": t.url,
                    "error": t.error,
                }
                for t in self.targets
            ],
        }

    def to_record(self) -> dict[str, Any]:
        """A JSON-able dict for the store."""
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Post:
        fields = dict(record)
        fields["media_urls"] = tuple(fields["media_urls"])
        fields["targets"] = tuple(Target(**t) for t in fields["targets"])
        return cls(**fields)
