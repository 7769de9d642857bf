"""The plan in one sentence: the last line of `plan`, `apply` and the pull-request comment's
headline. Its own module so that the text and Markdown reports both use it and neither
imports the other."""

from __future__ import annotations

from orshot_gitops.reconcile.actions import Batch
from orshot_gitops.reconcile.health import reconnect_lines
from orshot_gitops.reconcile.plan import Plan, summary_counts
from orshot_gitops.reconcile.previews import Renders


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


def batch_line(plan: Plan, batch: Batch, renders: Renders | None) -> str:
    """One batch in one line: `batch posts/products.yaml (data/products.csv): 300 rows, 3
    new, 1 changed, 1 removed, 296 unchanged; render credits: 4`. The credits are what apply
    will spend on this batch's rows (reconcile/previews.py)."""
    counts = batch.counts(plan.actions)
    parts = [f"{batch.rows} row{'s' if batch.rows != 1 else ''}"]
    parts += [f"{counts[k]} {k}" for k in ("new", "changed")]
    if counts["moved"]:
        parts.append(f"{counts['moved']} moved")
    parts += [f"{counts[k]} {k}" for k in ("removed", "unchanged")]
    return (
        f"batch {batch.path} ({batch.data_path}): {', '.join(parts)}; "
        f"render credits: {batch_credits(batch, renders)}"
    )


def batch_credits(batch: Batch, renders: Renders | None) -> int:
    if renders is None:
        return 0
    return sum(r.credits for r in renders.posts if r.path == batch.path)
