"""A plan as text (the terminal), Markdown (pull requests, step summaries) or JSON (scripts)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

from orshot_gitops.console import Console
from orshot_gitops.reconcile.plan import Action, Kind, Plan
from orshot_gitops.reconcile.previews import Renders
from orshot_gitops.report.content_text import content_lines
from orshot_gitops.report.review import plan_review
from orshot_gitops.report.summary import batch_credits, batch_line, summary_line

__all__ = ["as_json", "as_markdown", "as_text", "summary_line"]

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
    Kind.AMBIGUOUS: "✗",
    Kind.RECORD_MISSING: "✗",
    Kind.WAITING: "…",
    Kind.PAUSE: "‖",
    Kind.DRIFT: "≠",
    Kind.NEEDS_RECONNECT: "⏸",
    Kind.AWAITING_APPROVAL: "⏸",
    Kind.DENY_WINDOW: "⏸",
}
_COLORS = {"error": "red", "warning": "yellow"}


def _label(action: Action) -> str:
    if action.kind is Kind.CREATE:
        return action.mode or "create"
    return str(action.kind.value)


def as_text(
    plan: Plan, console: Console, renders: Renders | None = None, *, show_content: bool = False
) -> str:
    """The plan for a terminal; `show_content`: under each action, the exact caption, media,
    time and options it sends, and the before -> after of an edit (report/content_text.py)."""
    lines: list[str] = []
    for diagnostic in plan.diagnostics:
        lines.append(diagnostic.format())
    by_post: dict[str, list[Action]] = defaultdict(list)
    for action in plan.actions:
        by_post[action.post_id].append(action)
    # A batch's rows follow its one line (report/summary.py); other posts come first.
    batch_of = {batch.path: batch for batch in plan.batches}

    def place(post_id: str) -> tuple[str, str]:
        path = by_post[post_id][0].path
        return (path if path in batch_of else "", post_id)

    shown: set[str] = set()
    for quiet in plan.batches:  # a batch with no row to change: its line alone
        if not any(by_post[p][0].path == quiet.path for p in by_post):
            lines.append(console.style(batch_line(plan, quiet, renders), "bold"))
    for post_id in sorted(by_post, key=place):
        actions = by_post[post_id]
        batch = batch_of.get(actions[0].path)
        if batch is not None and batch.path not in shown:
            shown.add(batch.path)
            lines.append(console.style(batch_line(plan, batch, renders), "bold"))
        lines.append(
            console.style(f"{post_id}", "bold") + console.style(f"  ({actions[0].path})", "dim")
        )
        for action in actions:
            symbol = _SYMBOLS[action.kind]
            label = _label(action)
            color = _COLORS.get(action.severity, "green" if action.kind.sends else "dim")
            where = f"{action.account}" + (f" ({action.platform})" if action.platform else "")
            lines.append(f"  {console.style(symbol + ' ' + label, color)} {where}: {action.reason}")
            if show_content:
                lines += content_lines(action, console)
    if renders is not None and renders.summary():
        lines.append(renders.summary())
    lines.append(summary_line(plan))
    return "\n".join(lines)


def as_json(plan: Plan, renders: Renders | None = None) -> str:
    """The plan; with `renders` of a plan that has `render:` posts, also what apply will
    render and publish (`renders.credits`: the render credits it will spend; absent, none).
    A saved plan keeps them: `apply FILE` ignores them."""
    data = plan.to_json()
    for shown, batch in zip(data["batches"], plan.batches, strict=True):
        shown["render_credits"] = batch_credits(batch, renders)
    if renders is not None and (renders.summary() or renders.previews_failed):
        data["renders"] = renders.to_json()
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


def as_markdown(
    plan: Plan, now: datetime, *, max_chars: int = 65536, renders: Renders | None = None
) -> str:
    """The review a pull request shows: day by day, each caption exactly as each account gets it,
    safe to render (see `report.review`), cut with a note to fit in `max_chars`."""
    return plan_review(plan, now, max_chars=max_chars, renders=renders)
