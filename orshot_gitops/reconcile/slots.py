"""Queue slot assignment: a pure function from the queues, the times already taken and the
posts asking for a slot, to a time for each (post, account).

The rules (docs/queues.md):
- a slot is an instant of one account: the queue's weekly slot in its timezone, plus the
  account's `stagger`; it is a candidate when it is at least SAFE_LEAD after now (Orshot
  refuses a schedule too close) and no earlier than the post's `after`;
- it is free while fewer than `max_per_slot` times of that account lie in [slot, slot +
  jitter], not inside a deny window, and no nearer than `min_spacing` to a taken time;
- asks are served in (post id, account) order, each taking the first free slot, so the same
  queues, times and asks give the same answer, always;
- a post's `jitter` is derived from its id and account (a hash, never random), up to the
  queue's jitter after the slot: the same post gets the same minute on every run.

A wall-clock slot that does not exist (a spring-forward gap) is skipped that day; one that
happens twice (autumn) is the first.

Cost: each account keeps a frontier before which every slot is taken, so n asks on one
account cost n steps, not n squared; taken times are looked up by bisection.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from orshot_gitops.content.queues import Queue
from orshot_gitops.content.schedule_checks import SAFE_LEAD

SEARCH_DAYS = 3 * 366
"""How far ahead a slot is looked for before the post is refused (every slot blocked)."""


@dataclass(frozen=True, order=True)
class Ask:
    """One account of one queued post, wanting a slot no earlier than `after`."""

    post_id: str
    alias: str
    after: datetime | None = None


Blocked = Callable[[Ask, datetime], bool]
"""Whether a send of this ask at this time would break a rule (a deny window)."""


def jitter_for(post_id: str, alias: str, jitter: timedelta) -> timedelta:
    """A whole number of minutes in [0, jitter], the same for this (post, account) forever."""
    minutes = int(jitter.total_seconds() // 60)
    if minutes <= 0:
        return timedelta(0)
    digest = hashlib.sha256(f"{post_id}\n{alias}".encode()).digest()
    return timedelta(minutes=int.from_bytes(digest[:8], "big") % (minutes + 1))


def slot_instants(queue: Queue, alias: str, start: datetime) -> Iterator[datetime]:
    """The account's slot instants (UTC, stagger added, before jitter) from `start` on, in
    order, for SEARCH_DAYS days."""
    zone = ZoneInfo(queue.timezone)
    shift = queue.stagger.get(alias, timedelta(0))
    by_day = {
        weekday: sorted({s.at for s in queue.slots if weekday in s.days}) for weekday in range(7)
    }
    try:
        # A day before: a positive stagger moves the previous day's late slots past midnight.
        first = (start - shift).astimezone(zone).date() - timedelta(days=1)
        for offset in range(SEARCH_DAYS + 2):
            day = first + timedelta(days=offset)
            for at in by_day[day.weekday()]:
                instant = _wall_to_utc(day, at, zone)
                if instant is None:
                    continue
                instant += shift
                if instant >= start:
                    yield instant
    except OverflowError:
        return  # `after: 9999-12-31`: the calendar ends before a slot does


def _wall_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime | None:
    naive = datetime.combine(day, at)
    local = naive.replace(tzinfo=zone)  # fold 0: the first of an autumn hour that repeats
    instant = local.astimezone(timezone.utc)
    if instant.astimezone(zone).replace(tzinfo=None) != naive:
        return None  # the spring-forward gap: this wall time never happens that day
    return instant


class _Account:
    """One account's taken times (sorted) and its frontier."""

    def __init__(self, queue: Queue, alias: str, taken: Sequence[datetime], spacing: timedelta):
        self.queue = queue
        self.alias = alias
        self.taken = sorted(taken)
        self.spacing = spacing
        self.frontier: datetime | None = None  # every slot before it is taken or blocked

    def occupants(self, slot: datetime) -> int:
        low = bisect.bisect_left(self.taken, slot)
        high = bisect.bisect_right(self.taken, slot + self.queue.jitter)
        return high - low

    def too_close(self, moment: datetime) -> bool:
        if not self.spacing:
            return False
        low = bisect.bisect_right(self.taken, moment - self.spacing)
        high = bisect.bisect_left(self.taken, moment + self.spacing)
        return high > low

    def take(self, moment: datetime) -> None:
        bisect.insort(self.taken, moment)


def assign(
    queues: Mapping[str, Queue],
    asks: Sequence[Ask],
    taken: Mapping[str, Sequence[datetime]],
    now: datetime,
    *,
    blocked: Blocked | None = None,
    spacing: Mapping[str, timedelta] | None = None,
) -> dict[Ask, datetime | None]:
    """Each ask's time (None: no free slot within SEARCH_DAYS). `queues` maps each alias
    asked for to its queue; `taken` maps an alias to the times it already has (recorded,
    or written in the repository); `spacing` an alias to its `min_spacing`."""
    earliest = now + SAFE_LEAD
    accounts: dict[str, _Account] = {}
    answers: dict[Ask, datetime | None] = {}
    for ask in sorted(asks):
        account = accounts.get(ask.alias)
        if account is None:
            account = accounts[ask.alias] = _Account(
                queues[ask.alias],
                ask.alias,
                taken.get(ask.alias, ()),
                (spacing or {}).get(ask.alias, timedelta(0)),
            )
        answers[ask] = _first_free(account, ask, earliest, blocked)
    return answers


def _first_free(
    account: _Account, ask: Ask, earliest: datetime, blocked: Blocked | None
) -> datetime | None:
    queue = account.queue
    threshold = max(earliest, ask.after) if ask.after is not None else earliest
    # Slots before the frontier are full for every ask: a later ask starts there.
    start = threshold if account.frontier is None else max(threshold, account.frontier)
    from_frontier = threshold == earliest
    for slot in slot_instants(queue, account.alias, start):
        if account.occupants(slot) >= queue.max_per_slot:
            continue
        if from_frontier:
            # Every slot before this one is full, and fullness never ends: the frontier
            # moves here. (A slot blocked for this ask may be free for another: a rule
            # limited to sponsored posts, a jitter that lands clear of the spacing.)
            account.frontier, from_frontier = slot, False
        moment = slot + jitter_for(ask.post_id, account.alias, queue.jitter)
        if (blocked is not None and blocked(ask, moment)) or account.too_close(moment):
            continue
        account.take(moment)
        return moment
    return None
