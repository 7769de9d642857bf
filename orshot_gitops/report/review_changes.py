"""Before -> after in the pull-request review (report/changes.py computes it): the caption's
word diff rendered (removed words struck through, added ones bold), both times in the post's
zone, media added, removed or reordered, options changed. Every word from a caption, a URL
or an option goes through `report.markdown`: nothing in them can ping, link or inject."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from orshot_gitops.reconcile.plan import Action
from orshot_gitops.report import markdown as md
from orshot_gitops.report.changes import (
    NOT_RECORDED,
    RENDERED,
    Change,
    change_of,
    diff_lines,
    heading,
    shows_before,
)

_LEGEND = "~~struck~~: removed, **bold**: added"


def changes_markdown(actions: Sequence[Action], platform_label: dict[str, str]) -> list[str]:
    """The before -> after section of one post: accounts with the same change share it."""
    groups: dict[tuple[str, str], list[Action]] = defaultdict(list)
    for action in actions:
        if shows_before(action):
            groups[(heading(action), repr(change_of(action)))].append(action)
    lines: list[str] = []
    for (title, _), group in sorted(groups.items(), key=lambda g: g[1][0].account):
        who = ", ".join(
            f"{md.code(a.account)} ({md.text(platform_label.get(a.account, a.platform))})"
            for a in group
        )
        lines += [f"**{md.text(title)}** for {who}:", ""]
        change = change_of(group[0])
        lines += _change_lines(change)
    return lines


def _change_lines(change: Change | None) -> list[str]:
    if change is None:
        return [f"> {md.text(NOT_RECORDED)}", ""]
    if change.empty:
        return ["- caption, media, time and options unchanged", ""]
    lines: list[str] = []
    if change.caption:
        lines += [f"- **Caption** ({_LEGEND}):", ""]
        lines += [f"  > {_diff_line(line)}  " for line in diff_lines(change.caption)]
        lines.append("")
    if change.times:
        old, new = change.times
        lines.append(f"- **Time**: ~~{md.words(old)}~~ → **{md.words(new)}**")
    if change.media_counts:
        old_n, new_n = change.media_counts
        lines.append(f"- **Media**: {old_n} → {new_n} file(s)")
        lines += [f"  - added: {md.link(url)}" for url in change.added]
        lines += [f"  - removed: {md.link(url)}" for url in change.removed]
    if change.reordered:
        order = " → ".join(f"{n}. {md.link(url)}" for n, url in enumerate(change.reordered, 1))
        lines.append(f"- **Media reordered**, now: {order}")
    if change.rendered:
        lines.append(f"- **Media**: {RENDERED}")
    for key, old_value, new_value in change.options:
        lines.append(
            f"- **Option** {md.code(key)}: {md.code(old_value) if old_value else '(none)'} → "
            f"{md.code(new_value) if new_value else '(none)'}"
        )
    lines.append("")
    return lines


def _diff_line(pieces: list[tuple[str, str]]) -> str:
    out = []
    previous = "="
    for op, piece in pieces:
        # Emphasis needs its markers against the words: spaces stay outside them.
        core = piece.strip()
        if op == "=" or not core:
            out.append(md.words(piece))
            previous = "="
            continue
        # A replaced word: its old and new forms apart, not run together.
        lead = " " if piece[0].isspace() or (previous == "-" and op == "+") else ""
        previous = op
        tail = " " if piece[-1].isspace() else ""
        mark = "~~" if op == "-" else "**"
        out.append(f"{lead}{mark}{md.words(core)}{mark}{tail}")
    return "".join(out)
