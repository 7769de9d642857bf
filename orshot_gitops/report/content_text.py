"""`plan --show-content`: each action's exact caption, media, time and options in the terminal,
with the before -> after of an edit (report/changes.py) and where each platform folds the
caption (report/fold.py). What the review comment shows, for someone at a terminal.

A caption is untrusted text printed to a terminal: a control character (an escape sequence
could rewrite the screen) or a direction override (Trojan Source) is shown as `\\u{...}`,
never sent to the terminal as it is.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence

from orshot_gitops.console import Console
from orshot_gitops.reconcile.plan import Action
from orshot_gitops.report import fold
from orshot_gitops.report.changes import (
    NOT_RECORDED,
    RENDERED,
    Change,
    change_of,
    diff_lines,
    heading,
    local_time,
    shows_before,
)
from orshot_gitops.report.media import media_text

_INDENT = "      "
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def safe(value: str) -> str:
    """The text with every control character (but newline and tab) and direction override
    made visible: nothing a caption says can move the cursor or reorder what is shown."""
    return "".join(
        f"\\u{{{ord(ch):04X}}}"
        if (unicodedata.category(ch) == "Cc" and ch not in "\n\t") or ch in _BIDI
        else ch
        for ch in value
    )


def content_lines(action: Action, console: Console) -> list[str]:
    """The lines `--show-content` prints under one action (none for one without content)."""
    if action.content is None:
        return []
    lines = [f"{_INDENT}when: {_when(action)}"]
    note = fold.note(action.content, [action.platform])
    size = f"{len(action.content):,} characters" + (f"; {note}" if note else "")
    lines.append(f"{_INDENT}caption ({safe(size)}):")
    marked = fold.marked(action.content, [action.platform])
    lines += [f"{_INDENT}│ {safe(line)}" for line in marked.split("\n")]
    if action.media_urls:
        lines.append(f"{_INDENT}media:")
        lines += [f"{_INDENT}  {safe(line)}" for line in media_text(action.media_urls)]
    if action.render:
        template = safe(str(action.render.get("template")))
        lines.append(f"{_INDENT}media: the Studio render of template {template}, done once")
    if action.platform_options:
        shown = json.dumps(dict(action.platform_options), sort_keys=True, ensure_ascii=False)
        lines.append(f"{_INDENT}options: {safe(shown)}")
    if shows_before(action):
        lines.append(f"{_INDENT}{heading(action)}:")
        lines += _change_lines(change_of(action), console)
    return lines


def _when(action: Action) -> str:
    if action.scheduled_for and action.mode == "schedule":
        slot = " (queue slot: tentative until merged)" if action.tentative else ""
        return local_time(action.scheduled_for, action.timezone) + slot
    return "kept as a draft (not published)" if action.mode == "draft" else "on merge"


def _change_lines(change: Change | None, console: Console) -> list[str]:
    pad = _INDENT + "  "
    if change is None:
        return [f"{pad}{NOT_RECORDED}"]
    if change.empty:
        return [f"{pad}caption, media, time and options unchanged"]
    lines: list[str] = []
    if change.caption:
        lines.append(f"{pad}caption ([-removed-] {{+added+}}):")
        lines += [f"{pad}│ {_diff_line(line, console)}" for line in diff_lines(change.caption)]
    if change.times:
        lines.append(f"{pad}time: {change.times[0]} → {change.times[1]}")
    if change.media_counts:
        lines.append(f"{pad}media: {change.media_counts[0]} → {change.media_counts[1]} file(s)")
        lines += [f"{pad}  added: {safe(url)}" for url in change.added]
        lines += [f"{pad}  removed: {safe(url)}" for url in change.removed]
    if change.reordered:
        order = ", ".join(f"{n}. {safe(url)}" for n, url in enumerate(change.reordered, 1))
        lines.append(f"{pad}media reordered, now: {order}")
    if change.rendered:
        lines.append(f"{pad}media: {RENDERED}")
    for key, old, new in change.options:
        lines.append(f"{pad}option {safe(key)}: {safe(old) or '(none)'} → {safe(new) or '(none)'}")
    return lines


def _diff_line(pieces: Sequence[tuple[str, str]], console: Console) -> str:
    out = []
    for op, piece in pieces:
        text = safe(piece)
        if op == "-":
            out.append(console.style(f"[-{text}-]", "red"))
        elif op == "+":
            out.append(console.style(f"{{+{text}+}}", "green"))
        else:
            out.append(text)
    return "".join(out)
