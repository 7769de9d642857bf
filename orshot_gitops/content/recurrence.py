"""Recurring posts: one post file with `repeat:` stands for one post per occurrence.

Each occurrence is a post like any other, id `<file id>@YYYY-MM-DD` (its date in the post's
timezone), so the reconciler needs nothing new to send each once, edit one in place while
Orshot holds it, or remove one the series no longer has. The decisions (docs/recurring.md):

- `every` is days (`d`), weeks (`w`) or calendar months (`mo`): month n is the first date's day
  in that month, or the month's last day when it is shorter (Jan 31 -> Feb 28 -> Mar 31),
  always counted from the first date, so one short month never shifts the rest. Shorter than
  a day is refused: an occurrence is named by its date, and two on one date would share it.
- Every occurrence is at the first one's wall time in the post's timezone: 09:00 stays 09:00
  across a DST change. A wall time the change skips moves forward with the clock (02:30 on
  the spring-forward day is 03:30).
- `count` counts the series' dates before `skip` takes any away, and `occurrence.index` is a
  date's place in the series, skipped dates included: adding a skip removes that one post and
  changes no other (no new post at the end, no other caption renumbered).
- `until` and `count` together are refused (which one ends the series would be a guess).
- Only occurrences not after `now + horizon` exist (orshot.yaml `horizon`, 30 days unless
  set): the plan lists real dates, and each later run creates the next ones. Past
  occurrences stay in the list: they are posts that went out, and a record whose post is
  missing from the repository would look deleted.
- The work is linear in the occurrences up to the horizon, and bounded: a series past
  MAX_OCCURRENCES is refused at its `repeat:` line (start a new file for a new era).
- Captions rotate over `content` and then `variants` by index; `overrides` replace
  `content`, `media_urls` or `draft` for one date. Templates see `occurrence.date`,
  `occurrence.index` (0 first) and `occurrence.number` (1 first).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from orshot_gitops.content.compile import ScheduleError, parse_schedule, valid_timezone
from orshot_gitops.content.model import Config, Occurrence, PostSpec, RepeatSpec
from orshot_gitops.content.schedule_checks import wall_time_notes
from orshot_gitops.content.suggest import timezone_hint
from orshot_gitops.content.yamlload import JsonPath
from orshot_gitops.errors import Diagnostic, Severity

DEFAULT_HORIZON = "30d"
# 13 years of a daily post: past this a series is refused, so one file can never make a plan
# build millions of posts (a first date in year 1, `count: 10000000`).
MAX_OCCURRENCES = 5000

_OCCURRENCE_ID = re.compile(r"^(.+)@([0-9]{4}-[0-9]{2}-[0-9]{2})$")
_EVERY = re.compile(r"^\s*([0-9]{1,6})\s*(d|w|mo|h|m|min|s)\s*$")
_HORIZON = re.compile(r"^([1-9][0-9]{0,3})(d|w)$")
_EVERY_HINT = "write a number and a unit: '1d', '2w' or '1mo'"


@dataclass(frozen=True)
class Interval:
    amount: int
    unit: str  # "d", "w" or "mo"


@dataclass(frozen=True)
class Series:
    """A `repeat:` read and checked: its dates, wall time and zone."""

    first: date
    wall: time
    zone: str
    interval: Interval
    until: date | None
    count: int | None

    def date_at(self, index: int) -> date:
        if self.interval.unit == "mo":
            months = self.first.month - 1 + index * self.interval.amount
            year, month = self.first.year + months // 12, months % 12 + 1
            if year > 9999:
                return date.max
            day = min(self.first.day, calendar.monthrange(year, month)[1])
            return date(year, month, day)
        step = self.interval.amount * (7 if self.interval.unit == "w" else 1)
        try:
            return self.first + timedelta(days=index * step)
        except OverflowError:
            return date.max

    def within(self, index: int, day: date) -> bool:
        """Whether the index-th date (`day`) is still part of the series."""
        if self.count is not None and index >= self.count:
            return False
        return self.until is None or day <= self.until

    def index_of(self, day: date) -> int | None:
        """The index of `day` in the series, or None when it is not one of its dates."""
        index = self._nearest_index(day)
        if self.date_at(index) == day and self.within(index, day):
            return index
        return None

    def nearest(self, day: date) -> date | None:
        """The series' date closest to `day` (for "did you mean"), None if it has none."""
        index = self._nearest_index(day)
        candidates = [
            (abs((self.date_at(i) - day).days), self.date_at(i))
            for i in (index - 1, index, index + 1)
            if i >= 0 and self.within(i, self.date_at(i))
        ]
        return min(candidates)[1] if candidates else None

    def _nearest_index(self, day: date) -> int:
        if self.interval.unit == "mo":
            months = (day.year - self.first.year) * 12 + day.month - self.first.month
            return max(0, round(months / self.interval.amount))
        step = self.interval.amount * (7 if self.interval.unit == "w" else 1)
        return max(0, round((day - self.first).days / step))

    def moment(self, day: date) -> datetime:
        """The occurrence on `day` at the series' wall time, aware, in its zone: a wall time
        a DST change skips is normalised forward through UTC, as the clock moves."""
        zone = ZoneInfo(self.zone)
        local = datetime.combine(day, self.wall, tzinfo=zone)
        return local.astimezone(timezone.utc).astimezone(zone)


def occurrence_of(post_id: str) -> tuple[str, str] | None:
    """`tips@2027-01-12` -> ("tips", "2027-01-12"): the series and date of an occurrence's
    id; None for any other post id (an `@` elsewhere in a file name is just a name)."""
    found = _OCCURRENCE_ID.match(post_id)
    return (found.group(1), found.group(2)) if found else None


def parse_every(text: str) -> Interval | str:
    """`2w` -> Interval(2, "w"); a sentence saying what is wrong otherwise."""
    found = _EVERY.match(text)
    if found is None:
        return f"repeat every {text!r} is not an interval"
    amount, unit = int(found.group(1)), found.group(2)
    if unit in ("h", "m", "min", "s"):
        return (
            f"repeat every {text!r} is shorter than a day: an occurrence is named by its date, "
            "so a series repeats at most daily"
        )
    if amount == 0:
        return f"repeat every {text!r} never moves on"
    return Interval(amount, unit)


def horizon_of(config: Config) -> timedelta:
    """orshot.yaml `horizon` (the schema checked its form); the default when unreadable."""
    found = _HORIZON.match(config.horizon) or _HORIZON.match(DEFAULT_HORIZON)
    assert found is not None
    amount = int(found.group(1))
    return timedelta(days=amount * (7 if found.group(2) == "w" else 1))


def beyond_horizon(day: str, config: Config, now: datetime) -> bool:
    """Whether an occurrence dated `day` (its local date) may lie past `now + horizon`, so
    an expansion at `now` may not have reached it. A day of margin: a local date runs up to
    14 hours ahead of UTC's. The plan keeps such a recorded occurrence as present (a shorter
    `horizon` must not read as its deletion); one that is truly gone is handled a day later."""
    try:
        written = date.fromisoformat(day)
    except ValueError:
        return False
    return written >= (now + horizon_of(config)).date() - timedelta(days=1)


def read_series(post: PostSpec, config: Config) -> tuple[Series | None, list[Diagnostic]]:
    """The post's `repeat:` as a Series, or the problems that keep it from being one."""
    repeat = post.repeat
    assert repeat is not None
    zone = post.timezone or config.timezone
    if post.schedule is None:
        return None, [
            _at(
                post,
                ("repeat",),
                "repeat-schedule",
                "repeat needs a schedule: the date and time of the first occurrence",
                "add 'schedule: 2027-01-12T09:00' (the first date; the time is kept for all)",
                key=True,
            )
        ]
    if not valid_timezone(zone):
        where: JsonPath = ("timezone",) if post.timezone else ("repeat",)
        return None, [
            _at(post, where, "timezone", f"unknown timezone {zone!r}", timezone_hint(zone))
        ]
    try:
        start = parse_schedule(post.schedule, zone).astimezone(ZoneInfo(zone))
    except ScheduleError as exc:
        hint = "write it as 2027-01-12T09:00 (read in the post's timezone)"
        return None, [_at(post, ("schedule",), "schedule-invalid", str(exc), hint)]
    # The first occurrence's schedule as written is checked as any post's is: an offset that
    # disagrees with `timezone:`, a wall time a DST change skips or repeats.
    problems: list[Diagnostic] = []
    for note in wall_time_notes(post.schedule, zone, zone_written=post.timezone is not None):
        problem = _at(post, ("schedule",), note.code, note.message, note.hint)
        problems.append(problem if note.error else replace(problem, severity=Severity.WARNING))
    interval = parse_every(repeat.every)
    if isinstance(interval, str):
        problems.append(_at(post, ("repeat", "every"), "repeat-every", interval, _EVERY_HINT))
    until = _date(post, repeat.until, ("repeat", "until"), problems)
    if repeat.until is not None and repeat.count is not None:
        problems.append(
            _at(
                post,
                ("repeat", "count"),
                "repeat-end",
                "repeat has both 'until' and 'count': say where the series ends once",
                "keep 'until: DATE' (the last date) or 'count: N' (how many dates), not both",
                key=True,
            )
        )
    if post.revision != 1:
        # A bump re-sends a live post as a new one: on a series, every occurrence that went
        # out (past ones included, which can only fail as past schedules). One date is
        # changed with `overrides`, all held ones by editing the caption.
        problems.append(
            _at(
                post,
                ("revision",),
                "repeat-revision",
                "a recurring post has no 'revision': a bump would re-send every occurrence "
                "that went out",
                "edit the caption (held occurrences are edited in place) or add an override "
                "for one date; remove 'revision'",
                key=True,
            )
        )
    if until is not None and until < start.date():
        problems.append(
            _at(
                post,
                ("repeat", "until"),
                "repeat-until",
                f"repeat until {until} is before the first occurrence, {start.date()}",
                "move 'until' after the schedule, or the schedule before it",
            )
        )
    if any(p.severity is Severity.ERROR for p in problems) or isinstance(interval, str):
        return None, problems
    series = Series(
        start.date(), start.time().replace(tzinfo=None), zone, interval, until, repeat.count
    )
    return series, problems + _date_problems(post, series, repeat)


def expand_repeat(
    post: PostSpec, config: Config, now: datetime
) -> tuple[list[PostSpec], list[Diagnostic]]:
    """One PostSpec per occurrence up to `now + horizon`, or `[post]` when it does not repeat.

    A post with a problem in its `repeat:` yields no occurrence, only the problems: it would
    be wrong to send a guess at a series."""
    if post.repeat is None:
        if post.variants or post.overrides:
            key = "variants" if post.variants else "overrides"
            return [], [
                _at(
                    post,
                    (key,),
                    "repeat-only",
                    f"'{key}' is for a recurring post, and this one has no 'repeat'",
                    "add 'repeat: {every: 1w}' or remove '" + key + "'",
                    key=True,
                )
            ]
        return [post], []
    series, problems = read_series(post, config)
    if series is None or any(p.severity is Severity.ERROR for p in problems):
        return [], problems
    end = now + horizon_of(config)
    skipped = set(post.repeat.skip)
    captions = (post.content, *post.variants)
    occurrences: list[PostSpec] = []
    for index, day in _dates(series):
        moment = series.moment(day)
        if moment > end:
            break
        if index >= MAX_OCCURRENCES:
            return [], [*problems, _too_many(post)]
        text = day.isoformat()
        if text in skipped:
            continue
        occurrences.append(_occurrence(post, text, index, moment, captions[index % len(captions)]))
    return occurrences, problems


def rotation_sample(post: PostSpec, config: Config) -> list[PostSpec]:
    """The first occurrences of the series, horizon or not, one more than it has captions:
    enough to see whether the rotation sends one account the same caption twice, which a
    monthly series inside a 30-day horizon would never show. Compiled for that check only."""
    if post.repeat is None:
        return []
    series, problems = read_series(post, config)
    if series is None or any(p.severity is Severity.ERROR for p in problems):
        return []
    captions = (post.content, *post.variants)
    skipped = set(post.repeat.skip)
    sample: list[PostSpec] = []
    for index, day in _dates(series):
        if len(sample) > len(captions) or index >= MAX_OCCURRENCES:
            break
        text = day.isoformat()
        if text not in skipped:
            caption = captions[index % len(captions)]
            sample.append(_occurrence(post, text, index, series.moment(day), caption))
    return sample


def _dates(series: Series) -> Iterator[tuple[int, date]]:
    index = 0
    while True:
        day = series.date_at(index)
        if day == date.max or not series.within(index, day):
            return
        yield index, day
        index += 1


def _occurrence(post: PostSpec, day: str, index: int, moment: datetime, caption: str) -> PostSpec:
    override: Mapping[str, Any] = post.overrides.get(day, {})
    media = post.media_urls
    alts = post.media_alt
    carousel = post.carousel
    if "media_urls" in override:
        media = tuple(override["media_urls"])
        alts = ()  # the series' alt texts describe the series' media, not these
        carousel = carousel or len(media) > 1
    occurrence = {"date": day, "index": index, "number": index + 1}
    return replace(
        post,
        id=f"{post.id}@{day}",
        schedule=moment.isoformat(),
        content=str(override.get("content", caption)),
        media_urls=media,
        media_alt=alts,
        carousel=carousel,
        draft=bool(override.get("draft", post.draft)),
        vars={**post.vars, "occurrence": occurrence},
        repeat=None,
        variants=(),
        overrides={},
        occurrence=Occurrence(post.id, day, index, len(post.variants)),
    )


def _date_problems(post: PostSpec, series: Series, repeat: RepeatSpec) -> list[Diagnostic]:
    """A skip or override on a date the series does not have, with the nearest date it has;
    an override's media on a post that publishes a render."""
    problems: list[Diagnostic] = []
    named: list[tuple[JsonPath, str, bool]] = [
        (("repeat", "skip", i), text, False) for i, text in enumerate(repeat.skip)
    ]
    named += [(("overrides", text), text, True) for text in sorted(post.overrides)]
    for where, text, key in named:
        day = _date(post, text, where, problems, key=key)
        if day is None or series.index_of(day) is not None:
            continue
        nearest = series.nearest(day)
        what = "override" if key else "skip"
        hint = f"did you mean {nearest.isoformat()!r}? " if nearest else ""
        # An error, not a warning: the pull request shows a change to one date that would
        # never happen, and the date meant would go out as it is.
        problems.append(
            _at(
                post,
                where,
                "repeat-date",
                f"{what} {text} is not a date of this series",
                hint + f"the series starts {series.first} and repeats every {repeat.every}",
                key=key,
            )
        )
    for written in sorted(set(post.overrides) & set(repeat.skip)):
        problems.append(
            _at(
                post,
                ("overrides", written),
                "repeat-date",
                f"override {written} is a date this series skips: it would change nothing",
                f"remove {written} from 'skip' to publish it, or drop the override",
                key=True,
            )
        )
    if post.render is not None:
        for written, override in sorted(post.overrides.items()):
            if "media_urls" in override:
                problems.append(
                    _at(
                        post,
                        ("overrides", written, "media_urls"),
                        "repeat-override",
                        f"override {written} gives media_urls to a post that renders its image",
                        "a render post publishes its render: change render.modifications with "
                        "occurrence.date instead, or drop this override's media_urls",
                        key=True,
                    )
                )
    return problems


def _date(
    post: PostSpec,
    text: str | None,
    where: JsonPath,
    problems: list[Diagnostic],
    *,
    key: bool = False,
) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(
            _at(
                post,
                where,
                "repeat-date",
                f"{text!r} is not a calendar date",
                "write YYYY-MM-DD, a day that exists (2027-02-28, not 2027-02-30)",
                key=key,
            )
        )
        return None


def _too_many(post: PostSpec) -> Diagnostic:
    return _at(
        post,
        ("repeat",),
        "repeat-too-many",
        f"repeat makes more than {MAX_OCCURRENCES:,} occurrences up to the horizon",
        "end the series ('until' or 'count') and start a new file from a later date, or "
        "repeat less often",
        key=True,
    )


def _at(
    post: PostSpec, where: JsonPath, code: str, message: str, hint: str, *, key: bool = False
) -> Diagnostic:
    line, column = (1, 1)
    if post.document is not None:
        line, column = post.document.position(where, key=key)
    return Diagnostic(post.path, line, column, Severity.ERROR, code, message, hint)
