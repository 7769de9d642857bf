"""The plan in one sentence: the last line of `plan`, `apply` and the pull-request comment's
headline. Its own module so that the text and Markdown reports both use it and neither
imports the other."""

from __future__ import annotations

from orshot_gitops.reconcile.health import reconnect_lines
from orshot_gitops.reconcile.plan import Plan, summary_counts


def summary_line(plan: Plan) -> str:
    if plan.errors:
        return f"Plan has {len(plan.errors)} error(s): nothing will be sent until they are fixed."
    counts = summary_counts(plan)
    parts = [f"{n} {label}" for label, n in counts.items()]
    text = (
        "Plan: " + (", ".join(parts) if parts else "no changes") + f"; {plan.unchanged} unchanged."
    )
    for line in reconnect_lines(plan):
        text += f" {line}."
    if plan.paused:
        held = len(plan.sending)
        text += " PAUSED (orshot.yaml paused: true): apply will send nothing" + (
            f" but move {held} scheduled (post, account) pair(s) back to drafts." if held else "."
        )
    return text
