"""What a schedule can say that Orshot, or the writer, would not mean: a wall time a DST change
skips or repeats, an offset that contradicts the post's `timezone:`, a time too close to send.

The compiler reads a time without an offset in the post's zone with `zoneinfo`'s default
(`fold=0`): a skipped time (02:30 on a spring-forward night) becomes an instant an hour off
what was written, a repeated one (01:30 on a fall-back night) silently the first of two. The
plan and the pull request show the instant that goes out, so each is said out loud here: the
skipped time is an error, the repeated one a warning naming both instants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

# social-publish.md: `schedule.scheduledFor` "must be at least 60 seconds in the future".
ORSHOT_MIN_LEAD = timedelta(seconds=60)
# What `apply` may spend before the schedule's request leaves: the request's own trip (the
# margin reconcile/failures.py keeps) and waits on Orshot's rate limit. How many requests a
# plan makes before this one is not known at validate time, so the allowance is fixed: five of
# Orshot's documented one-minute windows (orshot/pacing.py's DOCUMENTED_WINDOW: this layer
# imports no client), enough for a plan of several hundred requests.
RATE_LIMIT_WINDOW = 60.0
REQUEST_TRIP = timedelta(seconds=15)
RATE_LIMIT_ALLOWANCE = timedelta(seconds=5 * RATE_LIMIT_WINDOW)
SAFE_LEAD = ORSHOT_MIN_LEAD + REQUEST_TRIP + RATE_LIMIT_ALLOWANCE


@dataclass(frozen=True)
class ScheduleNote:
    """One thing to say about a schedule; `error` False for a warning."""

    code: str
    message: str
    hint: str
    error: bool = True


def wall_time_notes(text: str, zone_name: str, *, zone_written: bool) -> list[ScheduleNote]:
    """Problems of a schedule as written (`text`, ISO 8601) in zone `zone_name`; `zone_written`
    when the post sets `timezone:` itself (an offset then has something to disagree with)."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return []  # the compiler reports what is not a date and time
    zone = ZoneInfo(zone_name)
    if moment.tzinfo is not None:
        return _offset_notes(text, moment, zone, zone_name) if zone_written else []
    first = moment.replace(tzinfo=zone, fold=0)
    second = moment.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return []
    # Where the two folds differ the time is skipped or repeated: a skipped one does not come
    # back unchanged from a round trip through UTC.
    round_trip = first.astimezone(timezone.utc).astimezone(zone)
    local = f"{moment:%Y-%m-%dT%H:%M}"
    if round_trip.replace(tzinfo=None) != moment:
        before, after = _offset_text(first), _offset_text(second)
        return [
            ScheduleNote(
                "schedule-skipped",
                f"{local} does not exist in {zone_name}: the clocks jump over it that night "
                f"(offset {before} to {after})",
                f"write {round_trip:%Y-%m-%dT%H:%M}, the time it becomes after the jump, "
                "or another time outside it",
            )
        ]
    return [
        ScheduleNote(
            "schedule-repeated",
            f"{local} happens twice in {zone_name} (the clocks go back that night): "
            f"{local}{_offset_text(first)} ({_utc(first)}) and "
            f"{local}{_offset_text(second)} ({_utc(second)}); the first is used",
            f"write the offset of the one you mean: {local}{_offset_text(first)} or "
            f"{local}{_offset_text(second)}",
            error=False,
        )
    ]


def _offset_notes(
    text: str, moment: datetime, zone: ZoneInfo, zone_name: str
) -> list[ScheduleNote]:
    in_zone = moment.astimezone(zone)
    if in_zone.utcoffset() == moment.utcoffset():
        return []
    return [
        ScheduleNote(
            "schedule-offset",
            f"{text.strip()} has the offset {_offset_text(moment)}, but the post's timezone "
            f"{zone_name} is {_offset_text(in_zone)} then: it would go out at "
            f"{in_zone:%Y-%m-%dT%H:%M} {zone_name}",
            f"drop the offset to read the time in {zone_name} "
            f"({moment:%Y-%m-%dT%H:%M}), or write {in_zone:%Y-%m-%dT%H:%M}"
            f"{_offset_text(in_zone)} for the same instant",
        )
    ]


def too_soon(scheduled_for: datetime, now: datetime, zone_name: str) -> ScheduleNote | None:
    """A schedule Orshot would refuse by the time `apply` sends it, or None."""
    earliest = now + SAFE_LEAD
    if scheduled_for >= earliest:
        return None
    # To the next whole minute, as a writer would type it, in the post's own zone.
    rounded = earliest.replace(second=0, microsecond=0)
    if rounded < earliest:
        rounded += timedelta(minutes=1)
    local = rounded.astimezone(ZoneInfo(zone_name))
    allowance = int(RATE_LIMIT_ALLOWANCE.total_seconds() // 60)
    return ScheduleNote(
        "schedule-too-soon",
        f"scheduled for {scheduled_for:%Y-%m-%d %H:%M} UTC, too close to now "
        f"({now:%Y-%m-%d %H:%M} UTC): Orshot refuses a schedule less than "
        f"{int(ORSHOT_MIN_LEAD.total_seconds())} seconds ahead, and apply may first wait up to "
        f"{allowance} minutes on its rate limit",
        f"schedule it at {local:%Y-%m-%dT%H:%M} ({zone_name}) or later, "
        "or remove it to publish on merge",
    )


def _offset_text(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(timezone.utc):%H:%M} UTC"
