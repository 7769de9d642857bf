"""orshot-gitops apply: send what the plan says, two-phase, and record the results in git."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import FrameType

from orshot_gitops.commands import push_target
from orshot_gitops.console import Console

NAME = "apply"
SUMMARY = (
    "Publish, schedule, edit or discard posts as planned, and commit the results to the state file."
)
EXAMPLES = [
    "ORSHOT_API_KEY=... orshot-gitops apply",
    "orshot-gitops apply plan.json          # exactly a saved, reviewed plan",
    "orshot-gitops apply --push             # in CI: push intents first, then results",
    "orshot-gitops apply --local            # a clone with an upstream, without pushing",
    "orshot-gitops apply --format json | jq .counts",
]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "plan_file",
        nargs="?",
        metavar="PLAN",
        help="a plan saved by 'plan --out' (default: plan now)",
    )
    parser.add_argument(
        "--push",
        action="store_true",
        help="push intents before sending and results after (the default when the branch "
        "has an upstream: a run by hand must not race CI with records only it holds)",
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="record the results in this clone only, even when the branch has an upstream",
    )
    parser.add_argument(
        "--remote", default="origin", help="the remote to push to (default: origin)"
    )
    parser.add_argument(
        "--no-commit", action="store_true", help="write the state file but do not commit it"
    )
    parser.add_argument(
        "--settle-after",
        type=_seconds,
        default=None,  # ORSHOT_SETTLE_AFTER, else 900: read in run(), after it is checked
        metavar="SECONDS",
        help="take another run as gone once it has been silent (no heartbeat) this long; only "
        "then are its unfinished steps settled (default: ORSHOT_SETTLE_AFTER, else 900)",
    )
    parser.add_argument(
        "--overwrite-drift",
        action="store_true",
        help="send the file's version over held posts changed in Orshot's dashboard "
        "(see 'orshot-gitops refresh'); without it they are shown and left alone",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def _seconds(text: str) -> float:
    from orshot_gitops.errors import UserError
    from orshot_gitops.orshot.settings import parse_seconds

    try:
        return parse_seconds(text, "--settle-after")
    except UserError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


class _StopFlag:
    """First SIGINT/SIGTERM: finish the request in flight, record it, stop. Second: stop now."""

    def __init__(self, console: Console) -> None:
        self.requested = False
        self.console = console

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.console.error("stopping after the request in flight (again to stop at once)…")


def run(args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.commands import root_key
    from orshot_gitops.orshot.client import OrshotClient
    from orshot_gitops.orshot.settings import check_environment, settle_after
    from orshot_gitops.reconcile.health import reconnect_hint, reconnect_lines
    from orshot_gitops.reconcile.runner import ApplyOptions, outcomes_json, run_apply
    from orshot_gitops.report import plan as plan_report
    from orshot_gitops.vcs.gitrepo import open_repo
    from orshot_gitops.vcs.mergedriver import inside_git, register

    root = Path(args.repo)
    key = root_key(root)
    # Before anything is planned, marked or written: a bad setting found at the first request
    # would stop the run after its intents were recorded (and, with --push, pushed).
    check_environment(os.environ, key)
    settle_seconds = (
        args.settle_after if args.settle_after is not None else settle_after(os.environ)
    )
    # `--all` passes one flag to every root's run: a stop request ends the loop too.
    stop = getattr(args, "stop_flag", None) or _StopFlag(console)
    interactive = sys.stderr.isatty()

    def progress(message: str) -> None:
        console.error(("  " if interactive else "") + message)

    def on_wait(seconds: float, reason: str) -> None:
        if seconds >= 1:
            progress(f"waiting {seconds:.0f} s: {reason}")

    push, remote = push_target(
        root, push=args.push, local=args.local, commit=not args.no_commit, remote=args.remote
    )
    if inside_git(root):
        # A later 'git pull' merges the state file entry by entry, not line by line.
        register(root)
    options = ApplyOptions(
        push=push,
        remote=remote,
        plan_file=Path(args.plan_file) if args.plan_file else None,
        settle_after=timedelta(seconds=settle_seconds),
        commit=not args.no_commit,
        overwrite_drift=args.overwrite_drift,
    )
    # Installed last, right before the try that restores them: a usage error above (say
    # --push without an upstream) must not leave this process's Ctrl-C handled by a flag.
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    from orshot_gitops.commands.approvals import apply_reviews
    from orshot_gitops.report.review import awaiting_lines

    try:
        with open_repo(root) as git, apply_reviews(os.environ) as reviews:
            options = replace(options, reviews=reviews)
            report = run_apply(
                root,
                git,
                lambda: OrshotClient.from_env(os.environ, key, on_wait=on_wait),
                lambda: datetime.now(timezone.utc),
                options,
                progress=progress,
                should_stop=lambda: stop.requested,
            )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if args.format == "json":
        console.print(
            json.dumps(outcomes_json(report), indent=2, sort_keys=True, ensure_ascii=False)
        )
    else:
        for diagnostic in report.plan.diagnostics:
            console.print(diagnostic.format())
        for action in report.plan.actions:
            if action.severity == "error":
                console.print(f"{action.path}: error: {action.reason}")
        counts = report.counts()
        summary = ", ".join(f"{n} {status}" for status, n in counts.items()) or report.note
        for outcome in report.outcomes:
            if not outcome.ok:
                console.print(
                    f"{outcome.status}: {outcome.post_id} → {outcome.account}: {outcome.error}"
                )
        if report.outcomes:  # otherwise the plan's summary line below says it
            held = zip(report.plan.reconnect_holds, reconnect_lines(report.plan), strict=True)
            for account, line in held:
                console.print(f"held: {line}; {reconnect_hint(account)}")
        for line in awaiting_lines(report.plan):
            console.print(line)
        console.print(
            f"Apply: {summary}."
            + (f" Recorded in {report.commit[:12]}." if report.commit else "")
            + (f" Pushed to {remote}." if report.pushed else "")
        )
        if not report.outcomes and report.plan.actions:
            console.print(plan_report.summary_line(report.plan))
    return 0 if report.ok else 1
