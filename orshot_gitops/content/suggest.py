""" "Did you mean": the closest known name to one a writer typed, for hints.

Case is tried first (`europe/berlin` is `Europe/Berlin`, not a typo), then difflib's ratio,
whose 0.75 cut-off keeps a suggestion from being a guess (`lnk` is not `li`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

# Longer than any key, alias, timezone or variable name a writer could have meant.
MAX_WORD = 200


def closest(word: str, choices: Iterable[str], *, cutoff: float = 0.75) -> str | None:
    """The choice `word` most likely meant, or None when none is close (or it is one)."""
    if len(word) > MAX_WORD:
        return None  # nothing known is that long: no need to compare a pasted paragraph
    import difflib  # only when a name is wrong: a valid repository's plan never pays for it

    by_lower: dict[str, str] = {}
    for choice in sorted(set(choices)):  # sorted: the same answer on every machine
        by_lower.setdefault(choice.lower(), choice)
    lowered = word.lower()
    exact = by_lower.get(lowered)
    if exact is not None:
        return None if exact == word else exact
    found = difflib.get_close_matches(lowered, list(by_lower), n=1, cutoff=cutoff)
    return by_lower[found[0]] if found else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`did you mean 'x'? ` (to lead a hint), or "" when nothing is close."""
    match = closest(word, choices)
    return f"did you mean {match!r}? " if match else ""


@functools.cache
def timezone_names() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


TIMEZONE_HINT = "use an IANA name such as 'America/New_York' or 'Europe/Berlin'"


def timezone_hint(name: str) -> str:
    return did_you_mean(name, timezone_names()) + TIMEZONE_HINT
