"""The calendar: each dated post on its day, in months and weeks, with what a planner should see.

A post's day is read in its own zone (its `timezone`, else orshot.yaml's), or in the zone the
page was asked for: a post at 00:30 in Berlin is on that day, not on the day before as UTC
would have it. Marks, per account:
- `close`: two posts on one account less than an hour apart (the second buries the first);
- `gap`: a day with no post between two posting days at most a week apart (a run of
  scheduled days with a hole in it; a longer silence is a pause, not marked);
- `deny`: a post inside a deny window. The windows are a later issue's ("rules as code"):
  `in_deny_window` is the hook and answers no until there is such a rule to ask.
"""

from __future__ import annotations

import calendar as stdcalendar
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from orshot_gitops.reconcile.outgoing import Outgoing

CLOSE = timedelta(hours=1)
# Posting days at most this far apart make a run; the empty days inside it are gaps. A longer
# silence is a pause, not a hole: marking a year of empty days would hide the real gaps.
GAP_RUN = timedelta(days=7)


@dataclass(frozen=True)
class Entry:
    """One dated (post, account) on the calendar, at its local time."""

    item: Outgoing
    local: datetime  # the moment in the zone it is shown in
    close_to: str = ""  # the post id less than an hour away on the same account
    deny: bool = False

    @property
    def day(self) -> date:
        return self.local.date()

    @property
    def time_label(self) -> str:
        return f"{self.local:%H:%M} {self.local.tzname()}"


@dataclass(frozen=True)
class Day:
    day: date
    entries: tuple[Entry, ...]
    in_month: bool = True
    gap: bool = False


@dataclass(frozen=True)
class Month:
    title: str  # "December 2026"
    weeks: tuple[tuple[Day, ...], ...]  # Monday first


@dataclass(frozen=True)
class Week:
    title: str  # "Week 52 of 2026: Dec 21 – Dec 27"
    days: tuple[Day, ...]


@dataclass(frozen=True)
class Calendar:
    entries: tuple[Entry, ...]
    months: tuple[Month, ...]
    weeks: tuple[Week, ...]
    gaps: tuple[date, ...]


def in_deny_window(item: Outgoing) -> bool:
    """The hook for deny windows ("no posts during the earnings call"): a later issue brings
    the rules; until then no post is in one, and the page's `deny` mark stays unused."""
    return False


def entries_of(items: Iterable[Outgoing], zone: str | None = None) -> tuple[Entry, ...]:
    """The dated items, each in `zone` or else its own, in time order (then post, account)."""
    dated = [
        Entry(item, item.moment.astimezone(ZoneInfo(zone or item.zone)))
        for item in items
        if item.moment is not None
    ]
    dated.sort(key=lambda e: (e.local, e.item.post_id, e.item.account))
    by_account: dict[str, list[Entry]] = defaultdict(list)
    for entry in dated:
        by_account[entry.item.account].append(entry)
    close: dict[tuple[str, str], str] = {}
    for entries in by_account.values():
        for first, second in itertools.pairwise(entries):
            if abs(second.local - first.local) < CLOSE:
                close.setdefault((first.item.post_id, first.item.account), second.item.post_id)
                close.setdefault((second.item.post_id, second.item.account), first.item.post_id)
    return tuple(
        Entry(
            e.item,
            e.local,
            close_to=close.get((e.item.post_id, e.item.account), ""),
            deny=in_deny_window(e.item),
        )
        for e in dated
    )


def build_calendar(entries: Sequence[Entry]) -> Calendar:
    """The months and the weeks that hold an entry (nothing when there are none)."""
    if not entries:
        return Calendar((), (), (), ())
    by_day: dict[date, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_day[entry.day].append(entry)
    posting_days = sorted(by_day)
    gaps = tuple(
        before + timedelta(days=n)
        for before, after in itertools.pairwise(posting_days)
        if (after - before) <= GAP_RUN
        for n in range(1, (after - before).days)
    )
    gap_set = set(gaps)

    def day(d: date, month: int | None = None) -> Day:
        return Day(
            d,
            tuple(by_day.get(d, ())),
            in_month=month is None or d.month == month,
            gap=d in gap_set,
        )

    months = []
    # Only the months with a post: a post a year out should not draw twelve empty months.
    for year, month in sorted({(d.year, d.month) for d in by_day}):
        rows = stdcalendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
        months.append(
            Month(
                f"{stdcalendar.month_name[month]} {year}",
                tuple(tuple(day(d, month) for d in week) for week in rows),
            )
        )
    week_starts = sorted({d - timedelta(days=d.weekday()) for d in by_day})
    week_views: list[Week] = []
    for start in week_starts:
        days = tuple(day(start + timedelta(days=n)) for n in range(7))
        iso_year, iso_week, _ = start.isocalendar()
        end = start + timedelta(days=6)
        week_views.append(Week(f"Week {iso_week} of {iso_year}: {start:%b %d} – {end:%b %d}", days))
    return Calendar(tuple(entries), tuple(months), tuple(week_views), gaps)
