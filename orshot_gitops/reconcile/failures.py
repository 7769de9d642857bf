"""Failures, permanent or transient (DESIGN.md, "Failures: permanent or transient").

Every failure Orshot's contract lists is one or the other:
- permanent: duplicate content, a media format the platform refuses, a reconnect needed, any
  definite 4xx answer to our own request. Sending the same post again unchanged only makes
  another failed Orshot post, so it waits for a change to the post (its fingerprint) or, for a
  reconnect, for Orshot to report the account healthy again (checked by `apply`).
- transient: a 5xx, "Rate limited by platform", a timeout, a failed upload. It backs off: the
  state records when the next try is due, the interval doubling per attempt up to a cap.

Pure functions of values: `send.py` records with them, `plan.py` decides with them.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from orshot_gitops.orshot.errors import (
    ApiError,
    AuthError,
    PaidPlanRequired,
    RateLimited,
    ServerError,
    UnknownOutcome,
)
from orshot_gitops.state.model import AccountState

if TYPE_CHECKING:  # plan.py imports this module for its rules
    from orshot_gitops.reconcile.plan import Action

PERMANENT = "permanent"
TRANSIENT = "transient"

# The first retry after five minutes, then 10, 20, ... up to six hours: an hourly cron then
# tries a platform that keeps failing a few times a day, not on every push.
BACKOFF_FIRST = timedelta(minutes=5)
BACKOFF_CAP = timedelta(hours=6)

# The per-account errors of publish-from-api.md ("Common Publishing Errors") and the format
# table of social-publish.md, lower-cased. Anything else a platform reports is transient:
# tried again later, with backoff, never on every run.
_PERMANENT_WORDS = (
    "duplicate content",
    "media processing failed",
    "not supported",
    "no compatible platform",
    "incompatible",
    "reconnect",
    "token expired",
    "permissions missing",
    "exceeds",
)
_RECONNECT_WORDS = ("reconnect", "token expired", "permissions missing")


def classify_result(error: str | None, action: str | None) -> str:
    """The kind of a failure Orshot reported for one account of a post."""
    if action == "reconnect":
        return PERMANENT
    lower = (error or "").lower()
    return PERMANENT if any(word in lower for word in _PERMANENT_WORDS) else TRANSIENT


def classify_error(error: ApiError) -> str:
    """The kind of a request that failed with a definite answer (never an unknown outcome).

    A refused key or a plan that needs paying for is the workspace's trouble, not the post's:
    waiting for the post to change would keep it from ever going out once that is fixed."""
    transient = (RateLimited, ServerError, UnknownOutcome, AuthError, PaidPlanRequired)
    if isinstance(error, transient) or error.status in (0, 408):
        return TRANSIENT
    return PERMANENT if 400 <= error.status < 500 else TRANSIENT


def needs_reconnect(record: AccountState) -> bool:
    """A permanent failure that waits for the account's health, not for an edit."""
    if record.action == "reconnect":
        return True
    lower = (record.error or "").lower()
    return any(word in lower for word in _RECONNECT_WORDS)


def failure_of(record: AccountState) -> str:
    """The record's kind of failure; records written before kinds existed are classified by
    their message, so an old duplicate is not retried forever either."""
    if record.failure is not None:
        return str(record.failure)
    return classify_result(record.error, record.action)


def next_try_at(attempts: int, now: datetime) -> str:
    """When a transient failure on its `attempts`-th attempt may be tried again."""
    doublings: int = max(0, min(attempts - 1, 16))
    wait = BACKOFF_FIRST * (1 << doublings)
    return (now + min(wait, BACKOFF_CAP)).isoformat(timespec="seconds")


def failed_fields(kind: str, attempts: int, now: datetime) -> dict[str, Any]:
    """The record's failure fields for a failure of `kind`."""
    when = next_try_at(attempts, now) if kind == TRANSIENT else None
    return {"failure": kind, "next_try_at": when}


def waiting_reason(record: AccountState, fingerprint: str, now: datetime) -> str | None:
    """Why a failed (post, account) is not sent again now, or None when it may be retried."""
    error = record.error or "no reason given"
    if failure_of(record) == PERMANENT:
        if record.fingerprint != fingerprint or needs_reconnect(record):
            return None  # changed since (or apply checks the account's health first)
        return (
            f"failed: {error}. Orshot refused it for good: it is not sent again until the post "
            "changes (edit it; 'orshot-gitops resolve' to settle it by hand)"
        )
    if record.next_try_at is not None and datetime.fromisoformat(record.next_try_at) > now:
        return f"failed: {error}; next try due after {record.next_try_at}"
    return None


# social-publish.md: a schedule "must be at least 60 seconds in the future"; the margin covers
# the request's own trip, so a time that passes the check is not refused on arrival.
MIN_SCHEDULE_LEAD = timedelta(seconds=60)
_LEAD_MARGIN = timedelta(seconds=15)
SCHEDULE_HINT = "edit the schedule to a time at least a few minutes ahead, then apply again"


def schedule_too_soon(scheduled_for: str | None, now: datetime) -> str | None:
    """Why a schedule may not be sent now (too close or past, after this run's waits)."""
    if scheduled_for is None:
        return None
    when = datetime.fromisoformat(scheduled_for)
    if when.tzinfo is None:  # the plan writes offsets; an older saved plan may not
        when = when.replace(tzinfo=timezone.utc)
    if when - now >= MIN_SCHEDULE_LEAD + _LEAD_MARGIN:
        return None
    return (
        f"not sent: its schedule {scheduled_for} is less than "
        f"{int(MIN_SCHEDULE_LEAD.total_seconds())} seconds ahead, and Orshot would refuse it "
        f"({SCHEDULE_HINT})"
    )


_SCHEDULING = ("create", "retry", "edit", "publish-draft")


def refused_before_sending(action: Action, now: datetime) -> bool:
    """What `apply` decides not to send before any request: a schedule already too close.
    The runner does not mark these as intents; the applier asks again with its own clock.
    (A send to an account needing a reconnect never gets here: health.py holds it first.)"""
    # The kinds whose requests carry the post's schedule (send.py asks `_sendable_now`).
    sends_a_schedule = action.kind.value in _SCHEDULING and action.mode == "schedule"
    return sends_a_schedule and schedule_too_soon(action.scheduled_for, now) is not None
