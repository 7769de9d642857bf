"""A plan as text (the terminal), Markdown (pull requests, step summaries) or JSON (scripts)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

from orshot_gitops.console import Console
from orshot_gitops.plan import Action, Kind, Plan, summary_counts

_SYMBOLS = {
    Kind.CREATE: "+",
    Kind.RETRY: "↻",
    Kind.EDIT: "~",
    Kind.PUBLISH_DRAFT: "+",
    Kind.SETTLE: "?",
    Kind.SYNC: "?",
    Kind.DISCARD: "-",
    Kind.RENAME: "→",
    Kind.REMOVED: "·",
    Kind.CHANGED_AFTER_PUBLISH: "!",
    Kind.PAST_SCHEDULE: "✗",
}
_COLORS = {"error": "red", "warning": "yellow"}


def _label(action: Action) -> str:
    if action.kind is Kind.CREATE:
        return action.mode or "create"
    return str(action.kind.value)


def as_text(plan: Plan, console: Console) -> str:
    lines: list[str] = []
    for diagnostic in plan.diagnostics:
        lines.append(diagnostic.format())
    by_post: dict[str, list[Action]] = defaultdict(list)
    for action in plan.actions:
        by_post[action.post_id].append(action)
    for post_id in sorted(by_post):
        actions = by_post[post_id]
        lines.append(
            console.style(f"{post_id}", "bold") + console.style(f"  ({actions[0].path})", "dim")
        )
        for action in actions:
            symbol = _SYMBOLS[action.kind]
            label = _label(action)
            color = _COLORS.get(action.severity, "green" if action.kind.sends else "dim")
            where = f"{action.account}" + (f" ({action.platform})" if action.platform else "")
            lines.append(f"  {console.style(symbol + ' ' + label, color)} {where}: {action.reason}")
    lines.append(summary_line(plan))
    return "\n".join(lines)


def summary_line(plan: Plan) -> str:
    if plan.errors:
        return f"Plan has {len(plan.errors)} error(s): nothing will be sent until they are fixed."
    counts = summary_counts(plan)
    parts = [f"{n} {label}" for label, n in counts.items()]
    text = (
        "Plan: " + (", ".join(parts) if parts else "no changes") + f"; {plan.unchanged} unchanged."
    )
    if plan.paused:
        text += " PAUSED (orshot.yaml paused: true): apply will send nothing."
    return text


def as_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=True, ensure_ascii=False)


def _when(action: Action, now: datetime) -> str:
    if not action.scheduled_for:
        return "on merge" if action.mode == "publish" else ""
    moment = datetime.fromisoformat(action.scheduled_for)
    local = ""
    if action.timezone and action.timezone != "UTC":
        from zoneinfo import ZoneInfo

        local = (
            moment.astimezone(ZoneInfo(action.timezone)).strftime("%a %Y-%m-%d %H:%M ")
            + action.timezone
            + " · "
        )
    delta = moment - now
    hours = delta.total_seconds() / 3600
    relative = f"in {hours:.0f} h" if abs(hours) < 48 else f"in {hours / 24:.0f} days"
    if hours < 0:
        relative = "passed"
    return f"{local}{moment:%Y-%m-%d %H:%M} UTC ({relative})"


def _fence(text: str) -> str:
    """A code fence longer than any backtick run in the text, so a caption cannot close it."""
    longest, run = 0, 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _cell(text: str) -> str:
    """Safe inside a Markdown table cell: no pings, no HTML, no broken rows."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("@", "@\u200b")
        .replace("\n", " ")
    )


def as_markdown(plan: Plan, now: datetime) -> str:
    lines = ["### orshot-gitops plan", ""]
    if plan.errors:
        lines.append(f"**{len(plan.errors)} error(s): nothing will be sent until they are fixed.**")
        lines.append("")
        for diagnostic in plan.errors:
            lines.append(
                f"- `{_cell(diagnostic.path)}:{diagnostic.line}` {_cell(diagnostic.message)}"
            )
        lines.append("")
    lines.append(summary_line(plan))
    lines.append("")
    by_post: dict[str, list[Action]] = defaultdict(list)
    for action in plan.actions:
        by_post[action.post_id].append(action)
    order = sorted(by_post, key=lambda pid: (by_post[pid][0].scheduled_for or "", pid))
    for post_id in order:
        actions = by_post[post_id]
        first = actions[0]
        when = _when(first, now)
        lines.append(f"#### `{_cell(post_id)}` {('— ' + when) if when else ''}")
        lines.append("")
        lines.append("| account | action | why |")
        lines.append("| --- | --- | --- |")
        for action in actions:
            where = _cell(action.account) + (f" ({action.platform})" if action.platform else "")
            lines.append(
                f"| {where} | {_SYMBOLS[action.kind]} {_label(action)} | {_cell(action.reason)} |"
            )
        lines.append("")
        shown: set[str] = set()
        for action in actions:
            if action.content is None or action.content in shown:
                continue
            shown.add(action.content)
            same = [a.account for a in actions if a.content == action.content]
            limit = (
                f" · {action.caption_length:,}/{action.caption_limit:,} characters"
                if action.caption_limit
                else ""
            )
            lines.append(f"Caption for {_cell(', '.join(same))}{limit}:")
            lines.append("")
            lines.append(_fence(action.content.replace("@", "@\u200b")))
            lines.append("")
        media = first.media_urls
        if media:
            lines.append("Media: " + ", ".join(f"`{_cell(url)}`" for url in media))
            lines.append("")
        if first.render:
            lines.append(
                f"Render: Studio template `{first.render.get('template')}` as {first.render.get('format')}"
            )
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
