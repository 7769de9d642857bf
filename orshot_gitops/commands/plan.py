"""orshot-gitops plan: what apply would send, to whom, when and why. Without a key, no
network; with ORSHOT_API_KEY set, one read: which accounts need reconnecting (their posts
are shown held, as apply will hold them)."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from orshot_gitops.console import Console

if TYPE_CHECKING:
    from orshot_gitops.reconcile.plan import Plan

NAME = "plan"
SUMMARY = "Show what apply would publish, schedule, edit or discard, per post and account, and why."
EXAMPLES = [
    "orshot-gitops plan",
    "orshot-gitops plan --format markdown > plan.md   # for a pull request comment",
    "orshot-gitops plan --show-content                # the exact captions, media and times",
    "orshot-gitops plan --out plan.json && orshot-gitops apply plan.json",
    "orshot-gitops plan --detailed-exitcode           # 0 no changes, 2 changes, 1 errors",
]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=("text", "json", "markdown"), default="text", help="output format"
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="also save the plan as JSON, for 'apply FILE' (refused with uncommitted changes)",
    )
    parser.add_argument(
        "--show-content",
        action="store_true",
        help="text format: print each action's exact caption, media, time and options, and "
        "what an edit changes (before -> after); json and markdown always carry them",
    )
    parser.add_argument(
        "--overwrite-drift",
        action="store_true",
        help="show what 'apply --overwrite-drift' would send over posts changed in Orshot",
    )
    parser.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 when there is nothing to do, 2 when there are changes, 1 on errors",
    )


def run(args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.reconcile.planner import make_plan, refuse_uncommitted_inputs
    from orshot_gitops.report import plan as report
    from orshot_gitops.vcs.gitrepo import open_repo

    now = datetime.now(timezone.utc)
    root = Path(args.repo)
    with open_repo(root) as git:
        if args.out:
            # A saved plan is applied as saved: it must hold what a commit holds.
            refuse_uncommitted_inputs(root, git, "a saved plan is sent exactly as saved")
        plan, _, _ = make_plan(root, git, now, overwrite_drift=args.overwrite_drift)
    plan = plan_with_health(plan, console)
    if args.out:
        Path(args.out).write_text(report.as_json(plan) + "\n", encoding="utf-8")
    if args.format == "json":
        console.print(report.as_json(plan))
    elif args.format == "markdown":
        console.print(report.as_markdown(plan, now).rstrip("\n"))
    else:
        console.print(report.as_text(plan, console, show_content=args.show_content))
    if plan.errors or any(a.severity == "error" for a in plan.actions):
        return 1
    if args.detailed_exitcode and plan.has_changes:
        return 2
    return 0


def plan_with_health(plan: Plan, console: Console) -> Plan:
    """With a key in the environment, the accounts' health (reconcile/health.py)."""
    import os

    from orshot_gitops.orshot.client import OrshotClient
    from orshot_gitops.reconcile.health import with_health

    if plan.errors or not os.environ.get("ORSHOT_API_KEY", "").strip():
        return plan
    plan, note = with_health(plan, lambda: OrshotClient.from_env(os.environ))
    if note:
        console.error(console.style(note, "yellow"))
    return plan
