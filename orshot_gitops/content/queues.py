"""`queues:` in orshot.yaml: the weekly slots that `schedule: next` posts are given.

Read here into `Queue` values (the assignment itself is reconcile/slots.py: it needs the
state). A queue that cannot be understood is ONE error at its place in orshot.yaml, with
what to write instead, and is then left out, as content/rules.py does for a rule.

    queues:
      - accounts: [acme-x, linkedin]       # aliases, platforms, or "*"
        slots: ["Mon-Fri 09:30", "Sat 11:00"]
        timezone: America/New_York        # default: orshot.yaml's timezone
        max_per_slot: 1                   # posts per account in one slot
        jitter: 10m                       # up to this much later, derived from the post id
        stagger: {acme-linkedin: +2h}     # per account, added to every slot

An account belongs to one queue (`Config.queue_for`): an alias named by a queue beats a platform, which beats
"*"; two queues naming it at the same level is an error at the second.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

from orshot_gitops.content.compile import valid_timezone
from orshot_gitops.content.model import CONFIG_FILE, Config
from orshot_gitops.content.rules import parse_days, parse_duration
from orshot_gitops.content.suggest import did_you_mean, timezone_hint
from orshot_gitops.content.yamlload import Document, JsonPath
from orshot_gitops.errors import Diagnostic, Severity

QUEUE_KEYS = ("accounts", "slots", "timezone", "max_per_slot", "jitter", "stagger")
# Bounds that keep every post of a slot within a few days of it: the assigner then finds
# what occupies a slot among the state's posts scheduled in the last days (reconcile/queueplan.py).
MAX_JITTER = timedelta(hours=1)
MAX_STAGGER = timedelta(hours=23, minutes=59)
_SLOT = re.compile(r"^(?:(?P<days>[A-Za-z,\- ]+?)\s+)?(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)$")
_SLOT_HINT = "write a slot as 'Mon-Fri 09:30', 'Sat 11:00', 'daily 08:00' or '09:30' (every day)"
_STAGGER = re.compile(r"^(?P<sign>[+-]?)\s*(?P<span>.+)$")


@dataclass(frozen=True)
class Slot:
    """A time of day on some weekdays (Monday 0), read in the queue's timezone."""

    written: str
    days: frozenset[int]
    at: time


@dataclass(frozen=True)
class Queue:
    index: int  # its place under `queues:`, for messages
    accounts: tuple[str, ...]  # aliases, platforms or "*", as written
    slots: tuple[Slot, ...]
    timezone: str
    max_per_slot: int = 1
    jitter: timedelta = timedelta(0)
    stagger: Mapping[str, timedelta] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"queue {self.index + 1} ({', '.join(self.accounts)})"


class _Bad(Exception):
    def __init__(self, where: JsonPath, message: str, hint: str, *, key: bool = False) -> None:
        super().__init__(message)
        self.where, self.message, self.hint, self.key = where, message, hint, key


def parse_queues(
    entries: Any, document: Document | None, config: Config, platforms: Sequence[str]
) -> tuple[tuple[Queue, ...], list[Diagnostic]]:
    """The queues orshot.yaml lists, and one error for each it cannot use."""
    if entries is None:
        return (), []
    if not isinstance(entries, list):
        return (), [_diagnostic(document, ("queues",), "queues must be a list", _LIST_HINT)]
    queues: list[Queue] = []
    problems: list[Diagnostic] = []
    claimed: dict[str, int] = {}  # alias, platform or "*" -> the queue that names it
    for index, entry in enumerate(entries):
        try:
            queue = _queue(index, entry, config, platforms)
            for position, reference in enumerate(queue.accounts):
                if reference in claimed:
                    raise _Bad(
                        ("queues", index, "accounts", position),
                        f"{reference!r} is in queue {claimed[reference] + 1} and queue "
                        f"{index + 1}: an account takes its slots from one queue",
                        "remove it from one of them",
                    )
            for reference in queue.accounts:
                claimed[reference] = index
            queues.append(queue)
        except _Bad as bad:
            problems.append(_diagnostic(document, bad.where, bad.message, bad.hint, key=bad.key))
    return tuple(queues), problems


_LIST_HINT = "write a list of queues, each '- accounts: [...]' with 'slots: [\"Mon-Fri 09:30\"]'"


def _diagnostic(
    document: Document | None, where: JsonPath, message: str, hint: str, *, key: bool = False
) -> Diagnostic:
    line, column = document.position(where, key=key) if document is not None else (1, 1)
    return Diagnostic(CONFIG_FILE, line, column, Severity.ERROR, "queue-invalid", message, hint)


def _queue(index: int, entry: Any, config: Config, platforms: Sequence[str]) -> Queue:
    at: JsonPath = ("queues", index)
    name = f"queue {index + 1}"
    if not isinstance(entry, Mapping):
        raise _Bad(at, f"{name} must be a mapping", _LIST_HINT)
    for key in entry:
        if key not in QUEUE_KEYS:
            hint = did_you_mean(str(key), QUEUE_KEYS) + f"keys: {', '.join(QUEUE_KEYS)}"
            raise _Bad((*at, key), f"{name}: unknown key {key!r}", hint, key=True)
    for required in ("accounts", "slots"):
        if required not in entry:
            raise _Bad(at, f"{name} has no {required!r}", _LIST_HINT)
    aliases = list(config.accounts)
    accounts = _texts((*at, "accounts"), name, "accounts", entry["accounts"])
    for position, reference in enumerate(accounts):
        if reference != "*" and reference not in aliases and reference not in platforms:
            raise _Bad(
                (*at, "accounts", position),
                f"{name}: {reference!r} is neither an account alias nor a platform",
                did_you_mean(reference, [*aliases, *platforms])
                + "write aliases from 'accounts:', platform names, or \"*\"",
            )
    if len(set(accounts)) != len(accounts):
        raise _Bad((*at, "accounts"), f"{name}: an account is listed twice", "list each once")
    slots = []
    for position, text in enumerate(_texts((*at, "slots"), name, "slots", entry["slots"])):
        slot = parse_slot(text)
        if slot is None:
            raise _Bad(
                (*at, "slots", position), f"{name}: cannot read the slot {text!r}", _SLOT_HINT
            )
        slots.append(slot)
    zone = entry.get("timezone", config.timezone)
    if not isinstance(zone, str) or not valid_timezone(zone):
        raise _Bad(
            (*at, "timezone"), f"{name}: unknown timezone {zone!r}", timezone_hint(str(zone))
        )
    most = entry.get("max_per_slot", 1)
    if type(most) is not int or most < 1:
        raise _Bad(
            (*at, "max_per_slot"),
            f"{name}: max_per_slot must be a whole number, 1 or more, not {most!r}",
            "for example: max_per_slot: 2",
        )
    jitter = timedelta(0)
    if "jitter" in entry:
        found = _duration(entry["jitter"])
        if found is None or found > MAX_JITTER:
            raise _Bad(
                (*at, "jitter"),
                f"{name}: jitter {entry['jitter']!r} is not a duration of at most 1h",
                "write it as 10m or 1h: each post goes out up to that much after its slot",
            )
        jitter = found
    return Queue(
        index,
        tuple(accounts),
        tuple(slots),
        zone,
        most,
        jitter,
        _stagger((*at, "stagger"), name, entry.get("stagger"), accounts, config),
    )


def _duration(value: Any) -> timedelta | None:
    """A duration as rules write them ('10m', '2h'), or None; a number of days too large for
    a date (a pull request's '99999999999d') is no duration, not a crash."""
    if not isinstance(value, str):
        return None
    try:
        return parse_duration(value)
    except OverflowError:
        return None


def _texts(where: JsonPath, name: str, key: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise _Bad(where, f"{name}: {key} must be a list of text", f"for example: {key}: [...]")
    return [v.strip() for v in value]


def parse_slot(text: str) -> Slot | None:
    """'Mon-Fri 09:30', 'Sat 11:00', 'daily 08:00', '09:30' (every day), or None."""
    match = _SLOT.match(text.strip())
    if match is None:
        return None
    days = parse_days(match.group("days"))
    if not days:
        return None
    return Slot(text.strip(), days, time(int(match.group("h")), int(match.group("m"))))


def _stagger(
    where: JsonPath, name: str, value: Any, accounts: Sequence[str], config: Config
) -> dict[str, timedelta]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not value:
        raise _Bad(
            where, f"{name}: stagger maps accounts to a shift", "for example: {acme-li: +2h}"
        )
    covered = [
        alias
        for alias, account in config.accounts.items()
        if alias in accounts or account.platform in accounts or "*" in accounts
    ]
    found = {}
    for alias, shift in value.items():
        if alias not in covered:
            raise _Bad(
                (*where, alias),
                f"{name}: stagger names {alias!r}, which is not an account of this queue",
                did_you_mean(str(alias), covered) + f"its accounts: {', '.join(covered)}",
                key=True,
            )
        match = _STAGGER.match(shift.strip()) if isinstance(shift, str) else None
        span = _duration(match.group("span")) if match else None
        if match is None or span is None or span > MAX_STAGGER:
            raise _Bad(
                (*where, alias),
                f"{name}: stagger {shift!r} for {alias!r} is not a shift of less than a day",
                "write it as +2h, -30m or +1h30m",
            )
        found[str(alias)] = -span if match.group("sign") == "-" else span
    return found
