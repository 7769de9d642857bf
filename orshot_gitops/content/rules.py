"""Read `rules:` in orshot.yaml into `Rule` values (ruletypes.py); the checks are rulecheck.py.

A rule that cannot be understood is ONE error at its place in orshot.yaml, with what to
write instead, and is then left out: it is never reported again at every post it would
have checked, and it never turns into a traceback.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from orshot_gitops.content.model import CONFIG_FILE
from orshot_gitops.content.ruletypes import DENY, WARN, Pattern, Rule, Window
from orshot_gitops.content.yamlload import Document, JsonPath
from orshot_gitops.errors import Diagnostic, Severity

CHECK_KEYS = (
    "banned",
    "required",
    "links",
    "max_hashtags",
    "max_mentions",
    "min_spacing",
    "deny_windows",
    "alt_text",
)
RULE_KEYS = ("name", "severity", "accounts", "when", "override", *CHECK_KEYS)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DURATION = re.compile(r"^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m(?:in)?)?$")
_CLOCK = r"([01]?\d|2[0-3]):([0-5]\d)"
_WEEKLY = re.compile(rf"^(?:(?P<days>[A-Za-z,\- ]+?)\s+)?{_CLOCK}\s*-\s*{_CLOCK}$")
_DATES = re.compile(r"^(\d{4}-\d\d-\d\d)(?:\s*\.\.\s*(\d{4}-\d\d-\d\d))?$")
_UNTIL = re.compile(r"^until\s+(\S+)$", re.IGNORECASE)
_REVIEWER = re.compile(r"^@[A-Za-z0-9][A-Za-z0-9-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?$")
_WINDOW_HINT = (
    "write weekly hours as 'Mon-Fri 22:00-07:00' or 'daily 22:00-07:00', whole days as "
    "'2026-12-24' or '2026-12-24..2026-12-26', an embargo as 'until 2026-12-01T09:00'"
)


class _Bad(Exception):
    def __init__(self, where: JsonPath, message: str, hint: str, *, key: bool = False) -> None:
        super().__init__(message)
        self.where = where
        self.key = key
        self.message = message
        self.hint = hint


def parse_rules(
    entries: Any, document: Document | None, aliases: Sequence[str], platforms: Sequence[str]
) -> tuple[tuple[Rule, ...], list[Diagnostic]]:
    """The rules orshot.yaml lists, and one error for each it cannot use."""
    if entries is None:
        return (), []
    rules: list[Rule] = []
    problems: list[Diagnostic] = []
    if not isinstance(entries, list):
        return (), [_diagnostic(document, ("rules",), "rules must be a list", _LIST_HINT)]
    names: dict[str, int] = {}
    for index, entry in enumerate(entries):
        try:
            rule = _rule(index, entry, aliases, platforms)
            if rule.name in names:
                raise _Bad(
                    ("rules", index, "name"),
                    f"rule name {rule.name!r} is also used by rule {names[rule.name] + 1}",
                    "give each rule its own name: overrides and reports refer to it",
                )
            names[rule.name] = index
            rules.append(rule)
        except _Bad as bad:
            problems.append(_diagnostic(document, bad.where, bad.message, bad.hint, key=bad.key))
    return tuple(rules), problems


_LIST_HINT = "write a list of rules, each '- name: ...' with one or more checks"


def _diagnostic(
    document: Document | None, where: JsonPath, message: str, hint: str, *, key: bool = False
) -> Diagnostic:
    line, column = document.position(where, key=key) if document is not None else (1, 1)
    return Diagnostic(CONFIG_FILE, line, column, Severity.ERROR, "rule-invalid", message, hint)


def _rule(index: int, entry: Any, aliases: Sequence[str], platforms: Sequence[str]) -> Rule:
    at: JsonPath = ("rules", index)
    if not isinstance(entry, Mapping):
        raise _Bad(at, f"rule {index + 1} must be a mapping", _LIST_HINT)
    for key in entry:
        if key not in RULE_KEYS:
            hint = _did_you_mean(str(key), RULE_KEYS, "keys")
            raise _Bad((*at, key), f"rule {index + 1}: unknown key {key!r}", hint, key=True)
    if not any(key in entry for key in CHECK_KEYS):
        raise _Bad(at, f"rule {index + 1} checks nothing", f"add one of: {', '.join(CHECK_KEYS)}")
    name = entry.get("name", f"#{index + 1}")
    if not isinstance(name, str) or not name.strip():
        raise _Bad((*at, "name"), f"rule {index + 1}: name must be text", "for example: no-hype")
    severity = entry.get("severity", DENY)
    if severity not in (DENY, WARN):
        raise _Bad(
            (*at, "severity"),
            f"rule {name!r}: severity must be 'deny' or 'warn', not {severity!r}",
            "deny makes a violation an error that stops apply; warn only reports it",
        )
    fields: dict[str, Any] = {
        "name": name,
        "index": index,
        "severity": severity,
        "accounts": _accounts(at, name, entry.get("accounts"), aliases, platforms),
        "override": _override(at, name, entry.get("override")),
    }
    when = entry.get("when")
    if when is not None:
        if (
            not isinstance(when, Mapping)
            or set(when) != {"sponsored"}
            or not isinstance(when["sponsored"], bool)
        ):
            raise _Bad(
                (*at, "when"),
                f"rule {name!r}: 'when' takes one condition, 'sponsored: true' or 'sponsored: false'",
                "for example: when: {sponsored: true}",
            )
        fields["when_sponsored"] = when["sponsored"]
    for key in ("banned", "required"):
        if key in entry:
            fields[key] = _patterns((*at, key), name, entry[key])
    if "links" in entry:
        fields["allowed_domains"], fields["utm_domains"] = _links(
            (*at, "links"), name, entry["links"]
        )
    for key in ("max_hashtags", "max_mentions"):
        if key in entry:
            value = entry[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _Bad(
                    (*at, key),
                    f"rule {name!r}: {key} must be a whole number, 0 or more",
                    f"for example: {key}: 3",
                )
            fields[key] = value
    if "min_spacing" in entry:
        fields["min_spacing"] = _duration((*at, "min_spacing"), name, entry["min_spacing"])
    if "deny_windows" in entry:
        fields["deny_windows"] = _windows((*at, "deny_windows"), name, entry["deny_windows"])
    if "alt_text" in entry:
        if entry["alt_text"] not in ("required", "optional"):
            raise _Bad(
                (*at, "alt_text"),
                f"rule {name!r}: alt_text must be 'required' or 'optional'",
                "alt_text: required makes every image and render page need an 'alt:'",
            )
        fields["alt_text_required"] = entry["alt_text"] == "required"
    return Rule(**fields)


def _did_you_mean(word: str, choices: Sequence[str], what: str) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    listed = f"{what}: {', '.join(choices)}"
    return f"did you mean {close[0]!r}? {listed}" if close else listed


def _strings(where: JsonPath, name: str, key: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise _Bad(
            where, f"rule {name!r}: {key} must be a list of text", f"for example: {key}: [...]"
        )
    return list(value)


def _accounts(
    at: JsonPath, name: str, value: Any, aliases: Sequence[str], platforms: Sequence[str]
) -> tuple[str, ...]:
    if value is None:
        return ()
    written = _strings((*at, "accounts"), name, "accounts", value)
    for position, reference in enumerate(written):
        if reference != "*" and reference not in aliases and reference not in platforms:
            raise _Bad(
                (*at, "accounts", position),
                f"rule {name!r}: {reference!r} is neither an account alias nor a platform",
                _did_you_mean(reference, [*aliases, *platforms], "aliases and platforms"),
            )
    return tuple(written)


def _override(at: JsonPath, name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    written = _strings((*at, "override"), name, "override", value)
    for position, reviewer in enumerate(written):
        if not _REVIEWER.match(reviewer):
            raise _Bad(
                (*at, "override", position),
                f"rule {name!r}: override {reviewer!r} is not a GitHub user or team",
                "write '@user' or '@org/team', quoted: YAML refuses a bare @",
            )
    return tuple(written)


def _patterns(where: JsonPath, name: str, value: Any) -> tuple[Pattern, ...]:
    key = str(where[-1])
    patterns = []
    for position, text in enumerate(_strings(where, name, key, value)):
        if len(text) > 2 and text.startswith("/") and text.endswith("/"):
            try:
                regex = re.compile(text[1:-1])
            except re.error as exc:
                raise _Bad(
                    (*where, position),
                    f"rule {name!r}: {text} is not a valid regular expression: {exc.msg}",
                    "check the pattern's brackets and escapes: Python's re syntax",
                ) from None
        else:
            # A word or phrase on word boundaries, whatever its edges: '#ad' must not match
            # '#adventure', and a leading '#' or '@' is not a word character.
            regex = re.compile(r"(?<![\w#@])" + re.escape(text) + r"(?!\w)", re.IGNORECASE)
        patterns.append(Pattern(text, regex))
    return tuple(patterns)


def _links(where: JsonPath, name: str, value: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    keys = ("allowed_domains", "utm_required")
    if not isinstance(value, Mapping) or not value or any(k not in keys for k in value):
        bad = (
            next((k for k in value if k not in keys), None) if isinstance(value, Mapping) else None
        )
        raise _Bad(
            (*where, bad) if bad else where,
            f"rule {name!r}: links takes allowed_domains and utm_required"
            + (f", not {bad!r}" if bad else ""),
            "for example: links: {allowed_domains: [acme.com], utm_required: [acme.com]}",
        )
    found = []
    for key in keys:
        domains = []
        if key in value:
            for domain in _strings((*where, key), name, key, value[key]):
                clean = domain.lower().removeprefix("*.").strip(".")
                if "/" in clean or ":" in clean or " " in clean or "." not in clean:
                    raise _Bad(
                        (*where, key),
                        f"rule {name!r}: {domain!r} is not a domain name",
                        "write the host alone, e.g. acme.com (its subdomains are included)",
                    )
                domains.append(clean)
        found.append(tuple(domains))
    return found[0], found[1]


def parse_duration(text: str) -> timedelta | None:
    match = _DURATION.match(text.strip().lower())
    if match is None or not any(match.groups()):
        return None
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def _duration(where: JsonPath, name: str, value: Any) -> timedelta:
    spacing = parse_duration(value) if isinstance(value, str) else None
    if spacing is None or not spacing:
        raise _Bad(
            where,
            f"rule {name!r}: min_spacing {value!r} is not a duration",
            "write it as 90m, 2h, 1d or 1h30m",
        )
    return spacing


def _windows(where: JsonPath, name: str, value: Any) -> tuple[Window, ...]:
    windows = []
    for position, text in enumerate(_strings(where, name, "deny_windows", value)):
        window = parse_window(text)
        if window is None:
            raise _Bad(
                (*where, position), f"rule {name!r}: cannot read the window {text!r}", _WINDOW_HINT
            )
        windows.append(window)
    return tuple(windows)


def parse_window(text: str) -> Window | None:
    """'Mon-Fri 22:00-07:00', '2026-12-24..2026-12-26', 'until 2026-12-01T09:00', or None."""
    written = text.strip()
    until = _UNTIL.match(written)
    if until:
        try:
            moment = datetime.fromisoformat(until.group(1))
        except ValueError:
            return None
        return None if moment.tzinfo else Window(written, until=moment)
    dates = _DATES.match(written)
    if dates:
        try:
            first = date.fromisoformat(dates.group(1))
            last = date.fromisoformat(dates.group(2) or dates.group(1))
        except ValueError:
            return None
        return Window(written, first=first, last=last) if first <= last else None
    weekly = _WEEKLY.match(written)
    if weekly is None:
        return None
    days = _days(weekly.group("days"))
    if days is None:
        return None
    start = time(int(weekly.group(2)), int(weekly.group(3)))
    end = time(int(weekly.group(4)), int(weekly.group(5)))
    if start == end:
        return None
    return Window(written, days=days, start=start, end=end)


def parse_days(text: str | None) -> frozenset[int] | None:
    """'Mon-Fri', 'sat,sun', 'daily' or None (every day) as weekday numbers, Monday 0; None
    when it names no days. Shared with the queue slots of content/queues.py."""
    return _days(text)


def _days(text: str | None) -> frozenset[int] | None:
    if text is None or text.strip().lower() == "daily":
        return frozenset(range(7))
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        ends = part.split("-")
        if len(ends) > 2 or not all(_is_day(e) for e in ends):
            return None
        first, last = _DAYS.index(ends[0][:3]), _DAYS.index(ends[-1][:3])
        day = first
        while True:
            days.add(day)
            if day == last:
                break
            day = (day + 1) % 7
    return frozenset(days)


def _is_day(text: str) -> bool:
    """'mon', 'Monday', 'tues': three letters or more of a day's English name."""
    return len(text) >= 3 and any(day.startswith(text) for day in _DAY_NAMES)
