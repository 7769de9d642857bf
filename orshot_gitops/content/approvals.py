"""`approvals:` in orshot.yaml: who must approve a change before it goes out to which accounts.

Path-based CODEOWNERS cannot say "LinkedIn posts need the brand team": the account is chosen
inside the post file, so only this tool knows which accounts a change touches. Here the
rules are read and checked (one error per bad rule, at its orshot.yaml line); whether a
rule is met is decided in reconcile/approvals.py, from reviews GitHub reports.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from orshot_gitops.errors import Diagnostic, Severity

if TYPE_CHECKING:
    from orshot_gitops.content.model import Config

CONFIG_FILE = "orshot.yaml"
EVERY_ACCOUNT = "*"
WITHOUT_GITHUB = ("hold", "send")
# GitHub's own rules: a login is alphanumeric with single inner hyphens (39 at most); a team
# slug is lower-case letters, digits, '-' and '_'.
_USER = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
REVIEWER = re.compile(rf"@{_USER}(?:/[A-Za-z0-9_.-]+)?")
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


@dataclass(frozen=True)
class ApprovalRule:
    """One entry of `approvals:`. `index` is its place in the list (how it is named in
    messages and found again in orshot.yaml)."""

    index: int
    accounts: tuple[str, ...]  # aliases, platform names, or "*"
    reviewers: tuple[str, ...] = ()  # "@user" or "@org/team"; empty: any approving reviewer
    min: int = 1
    scheduled_within: timedelta | None = None  # only posts going out this soon
    direct_push: str = "hold"  # a change pushed without a pull request: hold | allow
    # An override of a content rule (`rules:` ... `override:`): this one post's violation,
    # approved by the rule's reviewers. Never from `approvals:`, never sent unchecked.
    post_id: str | None = None
    overrides: str = ""  # the content rule's name

    @property
    def teams(self) -> tuple[str, ...]:
        return tuple(r for r in self.reviewers if "/" in r)

    def describe(self) -> str:
        who = ", ".join(self.reviewers) if self.reviewers else "any reviewer"
        if self.overrides:
            return f"the override of rule {self.overrides!r} for {self.post_id} ({who})"
        soon = (
            f" when going out within {_format(self.scheduled_within)}"
            if self.scheduled_within
            else ""
        )
        return f"approvals[{self.index}] ({who}, {self.min} needed{soon})"


def parse_duration(text: object) -> timedelta | None:
    """'2h', '90m', '1d12h', '45s' -> a timedelta; None when it is not one (or zero)."""
    if not isinstance(text, str) or not text:
        return None
    found = _DURATION.fullmatch(text.strip())
    if found is None or not any(found.groups()):
        return None
    days, hours, minutes, seconds = (int(g or 0) for g in found.groups())
    value = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    return value if value > timedelta(0) else None


def _format(value: timedelta | None) -> str:
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


def rules_from_data(entries: object) -> tuple[ApprovalRule, ...]:
    """The rules of schema-valid `approvals:` data. Values `approval_problems` refuses are
    read leniently here (a bad duration as None): a config with problems is never used."""
    if not isinstance(entries, list):
        return ()
    rules = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            continue
        when = entry.get("when") or {}
        minimum = entry.get("min", 1)
        rules.append(
            ApprovalRule(
                index=index,
                accounts=tuple(str(a) for a in entry.get("accounts") or ()),
                reviewers=tuple(str(r) for r in entry.get("reviewers") or ()),
                min=minimum if isinstance(minimum, int) and not isinstance(minimum, bool) else 1,
                scheduled_within=parse_duration(when.get("scheduled_within"))
                if isinstance(when, Mapping)
                else None,
                direct_push=str(entry.get("direct_push", "hold")),
            )
        )
    return tuple(rules)


def approval_problems(config: Config, platforms: Sequence[str]) -> list[Diagnostic]:
    """One error per bad rule, at its line in orshot.yaml: the first thing wrong with it."""
    document = config.document
    data: Mapping[str, Any] = document.data if document is not None else {}
    entries = data.get("approvals") or []
    problems = []
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        found = _rule_problem(entry, config, platforms)
        if found is None:
            continue
        path, message, hint = found
        line, column = document.position(("approvals", index, *path)) if document else (1, 1)
        problems.append(
            Diagnostic(
                CONFIG_FILE,
                line,
                column,
                Severity.ERROR,
                "approval-rule",
                f"approvals[{index}]: {message}",
                hint,
            )
        )
    return problems


def _rule_problem(
    entry: Any, config: Config, platforms: Sequence[str]
) -> tuple[tuple[str | int, ...], str, str] | None:
    if not isinstance(entry, Mapping):
        return (), "a rule must be a mapping", "write accounts:, reviewers: and min:"
    known = sorted({*config.accounts, *platforms, EVERY_ACCOUNT})
    for position, name in enumerate(entry.get("accounts") or ()):
        if name in known:
            continue
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return (
            ("accounts", position),
            f"'{name}' is not an account alias, a platform or \"*\"",
            hint + "aliases: " + ", ".join(sorted(config.accounts)),
        )
    for position, reviewer in enumerate(entry.get("reviewers") or ()):
        if not isinstance(reviewer, str) or not REVIEWER.fullmatch(reviewer):
            return (
                ("reviewers", position),
                f"reviewer {reviewer!r} is not a GitHub user or team",
                'write "@user" or "@org/team", quoted (YAML reads a bare @ as an error)',
            )
    minimum = entry.get("min", 1)
    if not isinstance(minimum, int) or isinstance(minimum, bool) or minimum < 1:
        return (
            ("min",),
            f"min must be a whole number of at least 1, not {minimum!r}",
            "how many approving reviews the rule needs; delete the rule to need none",
        )
    reviewers = entry.get("reviewers") or ()
    users = [r for r in reviewers if isinstance(r, str) and "/" not in r]
    if reviewers and not any("/" in str(r) for r in reviewers) and minimum > len(users):
        return (
            ("min",),
            f"min is {minimum} but only {len(users)} reviewer(s) are named: it can never be met",
            "name more reviewers, a team, or lower min",
        )
    when = entry.get("when") or {}
    within = when.get("scheduled_within") if isinstance(when, Mapping) else None
    if within is not None and parse_duration(within) is None:
        return (
            ("when", "scheduled_within"),
            f"scheduled_within {within!r} is not a duration",
            "write a number and a unit: 90m, 2h, 1d, or 1h30m",
        )
    return None
