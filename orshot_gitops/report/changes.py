"""Before -> after: what Orshot holds now for a (post, account) against what it will hold.

The before is the record's sent copy (`Action.before`, from state/sent.py); the after is the
action's own caption, media, time and options. Computed here once, as values, then shown as
Markdown (the pull-request review, everything through `report.markdown`'s inert helpers) or
as text (`plan --show-content`): both say the same thing.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orshot_gitops.reconcile.before import SHOWS_BEFORE
from orshot_gitops.reconcile.plan import Action, Kind

NOT_RECORDED = "before: not recorded (sent by an older version)"
RENDERED = (
    "the Studio render's outputs (rendered again only if its template, modifications or "
    "format changed; the before's files are its last outputs)"
)

_TOKENS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Change:
    """How one account's version changes. `caption` is the word diff as (op, text) pieces,
    op one of "=", "-", "+", or empty when the caption is unchanged; the other fields are
    empty when that part is unchanged."""

    caption: tuple[tuple[str, str], ...]
    times: tuple[str, str] | None
    added: tuple[str, ...]
    removed: tuple[str, ...]
    reordered: tuple[str, ...]  # the new order, when the kept files moved
    media_counts: tuple[int, int] | None
    rendered: bool  # the after's media are a render's outputs, known only once sent
    options: tuple[tuple[str, str, str], ...]  # (key, before, after) as JSON; "" when absent

    @property
    def empty(self) -> bool:
        return not (
            self.caption
            or self.times
            or self.added
            or self.removed
            or self.reordered
            or self.options
        )


def shows_before(action: Action) -> bool:
    """An action that changes (or would change) a version Orshot already holds."""
    return action.kind in SHOWS_BEFORE and action.content is not None


def heading(action: Action) -> str:
    """What the before and the after are, for this kind of change."""
    if action.kind is Kind.CHANGED_AFTER_PUBLISH:
        return "Live now → the file (not sent: live posts cannot be edited)"
    if action.kind is Kind.DRIFT:
        return "Last sent → the file (Orshot's dashboard changed it since)"
    return "Orshot holds now → after the merge"


def change_of(action: Action) -> Change | None:
    """The change the action makes, or None when its before was not recorded."""
    before = action.before
    if before is None:
        return None
    old_caption = before.get("caption") or ""
    new_caption = action.content or ""
    caption = word_diff(old_caption, new_caption) if old_caption != new_caption else ()
    old_at = before.get("at")
    new_at = action.scheduled_for if action.mode == "schedule" else None
    times = None
    if _instant(old_at) != _instant(new_at):
        times = (local_time(old_at, action.timezone), local_time(new_at, action.timezone))
    old_media = tuple(before.get("media") or ())
    rendered = bool(action.render)
    new_media = old_media if rendered else tuple(action.media_urls)
    added = tuple(u for u in new_media if u not in old_media)
    removed = tuple(u for u in old_media if u not in new_media)
    kept_old = [u for u in old_media if u in new_media]
    kept_new = [u for u in new_media if u in old_media]
    reordered = tuple(new_media) if kept_old != kept_new else ()
    counts = (len(old_media), len(new_media)) if (added or removed) else None
    options = _options_diff(before.get("options") or {}, action.platform_options)
    return Change(caption, times, added, removed, reordered, counts, rendered, options)


DIFF_TOKENS = 400
"""The most tokens (words and the spaces between them) compared word by word, after the
common start and end are set aside. difflib's matching is quadratic in repeated tokens: an
edit in the middle of a 60,000-character caption took minutes, and `plan` runs on every pull
request; at 400 the worst case (two words repeated) takes 0.2 s. Past this the differing
middle is shown line by line, and past it again whole."""


@functools.lru_cache(maxsize=256)  # accounts sharing a caption share its diff
def word_diff(old: str, new: str) -> tuple[tuple[str, str], ...]:
    """The caption's change word by word (whitespace kept as its own tokens, so joining the
    "=" and "+" pieces gives the new caption exactly, and "=" and "-" the old one)."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    middle_a, middle_b = a[start : len(a) - end], b[start : len(b) - end]
    pieces: list[tuple[str, str]] = [("=", "".join(a[:start]))] if start else []
    if max(len(middle_a), len(middle_b)) <= DIFF_TOKENS:
        pieces += _matched(middle_a, middle_b)
    else:
        lines_a = "".join(middle_a).splitlines(keepends=True)
        lines_b = "".join(middle_b).splitlines(keepends=True)
        if max(len(lines_a), len(lines_b)) <= DIFF_TOKENS:
            pieces += _matched(lines_a, lines_b)
        else:
            pieces += [("-", "".join(middle_a)), ("+", "".join(middle_b))]
    if end:
        pieces.append(("=", "".join(a[len(a) - end :])))
    return tuple((op, text) for op, text in pieces if text)


def _matched(a: list[str], b: list[str]) -> list[tuple[str, str]]:
    pieces: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pieces.append(("=", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(("-", "".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(("+", "".join(b[j1:j2])))
    return pieces


def diff_lines(pieces: Sequence[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """The pieces cut at newlines: one list of (op, text) per line of the shown diff."""
    lines: list[list[tuple[str, str]]] = [[]]
    for op, text in pieces:
        parts = text.split("\n")
        for index, part in enumerate(parts):
            if index:
                lines.append([])
            if part:
                lines[-1].append((op, part))
    return lines


def local_time(when: str | None, zone: str | None) -> str:
    """`Mon 2099-01-05 09:00 CET (Europe/Paris)`: the post's zone, for both sides of a change."""
    if when is None:
        return "not scheduled (on publish, or kept as a draft)"
    moment = datetime.fromisoformat(when)
    name = zone or "UTC"
    try:
        local = moment.astimezone(ZoneInfo(name))
    except (ZoneInfoNotFoundError, ValueError):
        local, name = moment, "as recorded"
    return f"{local:%a %Y-%m-%d %H:%M} {local.tzname()} ({name})"


def _instant(when: str | None) -> datetime | None:
    return datetime.fromisoformat(when) if when else None


def _options_diff(
    old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[tuple[str, str, str], ...]:
    def shown(value: Any) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)

    changed = []
    for key in sorted({*old, *new}):
        before = shown(old[key]) if key in old else ""
        after = shown(new[key]) if key in new else ""
        if before != after:
            changed.append((key, before, after))
    return tuple(changed)
