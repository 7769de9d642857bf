"""Content rules as values: what `rules:` in orshot.yaml says, parsed (content/rules.py).

Kept apart from the parser and the checks so the configuration model can hold them without
importing either, and so the lead can hand `Overridable` to the approvals machinery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

DENY = "deny"
WARN = "warn"


@dataclass(frozen=True)
class Pattern:
    """A word or phrase (case-insensitive, on word boundaries) or a `/regex/` as written."""

    written: str
    regex: re.Pattern[str]

    def find(self, text: str) -> re.Match[str] | None:
        return self.regex.search(text)


@dataclass(frozen=True)
class Window:
    """A span of time in which nothing may go out, read in the account's timezone.

    One of three shapes: weekly hours (`days` as weekday numbers, Monday 0, and a `start`
    -> `end` time that may run past midnight: the day names the day it starts), dates
    (`first` to `last`, whole days, inclusive) or an embargo (`until`, exclusive)."""

    written: str
    days: frozenset[int] = frozenset()
    start: time | None = None
    end: time | None = None
    first: date | None = None
    last: date | None = None
    until: datetime | None = None  # naive: read in the account's timezone

    def contains(self, local: datetime) -> bool:
        """Whether this local (naive, wall-clock) time falls inside the window."""
        if self.until is not None:
            return local < self.until
        if self.first is not None and self.last is not None:
            return self.first <= local.date() <= self.last
        assert self.start is not None and self.end is not None
        clock = local.time()
        if self.start < self.end:
            return local.weekday() in self.days and self.start <= clock < self.end
        # Past midnight: the evening part belongs to its own day, the morning to the day before.
        if clock >= self.start:
            return local.weekday() in self.days
        if clock < self.end:
            return (local - timedelta(days=1)).weekday() in self.days
        return False


@dataclass(frozen=True)
class Rule:
    """One entry of `rules:`: who it applies to, what it checks, and how hard.

    `accounts` holds aliases and platform names as written (empty: every account);
    `index` is the entry's place in the list, for positions and default names."""

    name: str
    index: int
    severity: str  # DENY or WARN
    accounts: tuple[str, ...] = ()
    when_sponsored: bool | None = None
    banned: tuple[Pattern, ...] = ()
    required: tuple[Pattern, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    utm_domains: tuple[str, ...] = ()
    max_hashtags: int | None = None
    max_mentions: int | None = None
    min_spacing: timedelta | None = None
    deny_windows: tuple[Window, ...] = ()
    alt_text_required: bool = False
    override: tuple[str, ...] = ()

    def applies_to(self, alias: str, platform: str) -> bool:
        if not self.accounts or "*" in self.accounts:
            return True
        return alias in self.accounts or platform in self.accounts


@dataclass(frozen=True, order=True)
class Overridable:
    """A deny violation that the rule lets named reviewers approve (`override:`): the value
    the approvals machinery reads to let an approved violation through."""

    post_id: str
    account: str
    rule: str
    reviewers: tuple[str, ...]
