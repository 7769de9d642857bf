"""Before -> after: what Orshot holds now for a (post, account) against what it will hold.

The before is the record's sent copy (`Action.before`, from state/sent.py); the after is the
action's own caption, media, time and options. Computed here once, as values, then shown as
Markdown (the pull-request review, everything through `report.markdown`'s inert helpers) or
as text (`plan --show-content`): both say the same thing.
"""

from __future__ import annotations

import difflib
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


def word_diff(old: str, new: str) -> tuple[tuple[str, str], ...]:
    """The caption's change word by word (whitespace kept as its own tokens, so joining the
    "=" and "+" pieces gives the new caption exactly, and "=" and "-" the old one)."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
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
    return tuple(pieces)


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
