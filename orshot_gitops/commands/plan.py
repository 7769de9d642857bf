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
    from orshot_gitops.content.model import Config
    from orshot_gitops.orshot.settings import ApiKeyVariable
    from orshot_gitops.reconcile.plan import Plan
    from orshot_gitops.reconcile.previews import Renders
    from orshot_gitops.state.model import State

NAME = "plan"
SUMMARY = "Show what apply would publish, schedule, edit or discard, per post and account, and why."
EXAMPLES = [
    "orshot-gitops plan",
    "orshot-gitops plan --format markdown > plan.md   # for a pull request comment",
    "orshot-gitops plan --show-content                # the exact captions, media and times",
    "orshot-gitops plan --out plan.json && orshot-gitops apply plan.json",
    "orshot-gitops plan --detailed-exitcode           # 0 no changes, 2 changes, 1 errors",
    "ORSHOT_API_KEY=... orshot-gitops plan --render-previews   # then commit .orshot/state/renders",
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
        "--render-previews",
        action="store_true",
        help="render each new or changed render: post now, without publishing (needs "
        "ORSHOT_API_KEY; spends a credit each), and write the preview under "
        ".orshot/state/renders/ to commit with the pull request: apply then publishes "
        "those images, rendering nothing again",
    )
    parser.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 when there is nothing to do, 2 when there are changes, 1 on errors",
    )


def run(args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.commands import root_key
    from orshot_gitops.reconcile.planner import make_plan, refuse_uncommitted_inputs
    from orshot_gitops.report import plan as report
    from orshot_gitops.vcs.gitrepo import open_repo

    now = datetime.now(timezone.utc)
    root = Path(args.repo)
    key = root_key(root)
    if args.render_previews:
        need_key(key)  # before anything is planned or rendered
    with open_repo(root) as git:
        if args.out:
            # A saved plan is applied as saved: it must hold what a commit holds.
            refuse_uncommitted_inputs(root, git, "a saved plan is sent exactly as saved")
        plan, config, state = make_plan(root, git, now, overwrite_drift=args.overwrite_drift)
    plan = plan_with_health(plan, console, key)
    _approvals_note(plan, config, now, console)
    renders = plan_renders(plan, state, root, console, key, render=args.render_previews)
    if args.out:
        Path(args.out).write_text(report.as_json(plan, renders) + "\n", encoding="utf-8")
    if args.format == "json":
        console.print(report.as_json(plan, renders))
    elif args.format == "markdown":
        console.print(report.as_markdown(plan, now, renders=renders).rstrip("\n"))
    else:
        console.print(report.as_text(plan, console, renders, show_content=args.show_content))
    if plan.errors or any(a.severity == "error" for a in plan.actions):
        return 1
    if renders.previews_failed:
        return 1
    if args.detailed_exitcode and plan.has_changes:
        return 2
    return 0


def _approvals_note(plan: Plan, config: Config | None, now: datetime, console: Console) -> None:
    """This plan reads no reviews: it says which of its sends wait for one, on stderr (the
    pull request's comment, `ci`, says whose approval each still needs)."""
    from orshot_gitops.reconcile.approvals import gated_paths, override_rules

    if config is None or plan.errors:
        return
    covered = gated_paths(plan, (*config.approvals, *override_rules(plan)), now)
    if covered:
        n = len(covered)
        console.error(
            console.style(
                f"approvals: {n} post{'s' if n != 1 else ''} above need{'s' if n == 1 else ''} "
                "an approving review "
                "(approvals: or a rule's override:), not read here: apply holds each send until "
                "it is given; the pull request's comment says whose",
                "yellow",
            )
        )


def need_key(key: ApiKeyVariable) -> None:
    """Refuse `--render-previews` without a key, before anything is planned or written."""
    import os

    from orshot_gitops.errors import UserError
    from orshot_gitops.orshot.settings import check_environment

    if not key.present(os.environ):
        raise UserError(
            f"--render-previews renders through Orshot and needs {key.name}{key.for_root()}",
            hint="run it where the key is (the workflow's same-repository job), or plan "
            "without it: apply then renders, and the review shows no image",
            code="api-key",
        )
    check_environment(os.environ, key)


def plan_renders(
    plan: Plan,
    state: State,
    root: Path,
    console: Console,
    key: ApiKeyVariable,
    *,
    render: bool = False,
) -> Renders:
    """Which image each render: post will publish (recorded, previewed or rendered at
    apply); with `render`, the missing previews rendered now and written for a commit."""
    import os

    from orshot_gitops.orshot.client import OrshotClient
    from orshot_gitops.reconcile.previews import render_outlook, render_previews
    from orshot_gitops.state.previews import RENDERS_DIR, load_previews

    previews = load_previews(root)
    if not render or plan.errors:
        return render_outlook(plan, state, previews)
    with OrshotClient.from_env(os.environ, key) as client:
        renders, written = render_previews(
            plan,
            state,
            previews,
            client,
            root,
            lambda: datetime.now(timezone.utc),
            lambda message: console.error(message),
        )
    for failure in renders.previews_failed:
        console.error(console.style(f"no preview for {failure}", "red"))
    if written:
        console.error(
            f"wrote {len(written)} render preview(s) under {RENDERS_DIR}/: commit them with "
            "the pull request; apply publishes these images and renders nothing again"
        )
    return renders


def plan_with_health(plan: Plan, console: Console, key: ApiKeyVariable) -> Plan:
    """With a key in the environment, the accounts' health (reconcile/health.py)."""
    import os

    from orshot_gitops.orshot.client import OrshotClient
    from orshot_gitops.reconcile.health import with_health

    if plan.errors or not key.present(os.environ):
        return plan
    plan, note = with_health(plan, lambda: OrshotClient.from_env(os.environ, key))
    if note:
        console.error(console.style(note, "yellow"))
    return plan
