"""orshot-gitops hook: publish on `git push` to any git server, or validate before pushing."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from orshot_gitops.console import Console
from orshot_gitops.errors import UsageError

NAME = "hook"
SUMMARY = (
    "Install git hooks: --server (post-receive in a bare repository: a push to the default "
    "branch publishes) or --client (pre-push: validate first)."
)
EXAMPLES = [
    "orshot-gitops hook install --server --repo /srv/git/social.git",
    "echo ORSHOT_API_KEY=... > /srv/git/social.git/orshot.env && chmod 600 $_",
    "orshot-gitops hook install --client     # in your clone: validate what every push sends",
]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("install", "post-receive", "pre-push"),
        help="install a hook; post-receive and pre-push are what the installed hooks run",
    )
    side = parser.add_mutually_exclusive_group()
    side.add_argument("--server", action="store_true", help="post-receive in a bare repository")
    side.add_argument("--client", action="store_true", help="pre-push in a working clone")
    parser.add_argument("--force", action="store_true", help="replace a hook that is not ours")


def run(args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.vcs import hooks

    root = Path(args.repo)
    if args.action == "post-receive":

        def say(line: str) -> None:
            console.print(line)
            sys.stdout.flush()

        updates = hooks.parse_updates(sys.stdin)
        return hooks.post_receive(
            root, updates, dict(os.environ), say, lambda clone: _apply_clone(clone, say)
        )
    if args.action == "pre-push":
        pushed = hooks.parse_pushed(sys.stdin)
        return hooks.pre_push(root, pushed, lambda tree: _validate(tree, console), console.print)
    if not (args.server or args.client):
        raise UsageError(
            "say which hook: --server or --client", hint="see 'orshot-gitops hook --help'"
        )
    path = hooks.install(root, server=args.server, force=args.force)
    from orshot_gitops.vcs.mergedriver import register

    register(root)  # a 'git pull' of the state file merges entry by entry
    console.print(f"installed {path}")
    if args.server:
        console.print(
            f"Pushes to the default branch now publish. Put ORSHOT_API_KEY=... (and "
            f"ORSHOT_BASE_URL=... for a sandbox) in {path.parent.parent / hooks.ENV_FILE}, mode 600."
        )
    else:
        console.print("git push now validates the commits it pushes first, and stops on errors.")
    return 0


def _config_files(tree: Path, name: str) -> list[str]:
    """The files called `name` in a checked-out commit (it holds exactly the commit's files,
    so each is a tracked one), as posix paths from `tree`."""
    found = []
    for folder, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        if name in files:
            found.append((Path(folder) / name).relative_to(tree).as_posix())
    return found


def _validate(tree: Path, console: Console) -> int:
    """`validate` on one pushed commit's tree (checked out apart from the working tree)."""
    from datetime import datetime, timezone

    from orshot_gitops.commands.every_root import worst
    from orshot_gitops.content.model import CONFIG_FILE
    from orshot_gitops.content.roots import find_roots
    from orshot_gitops.content.validate import validate_repo
    from orshot_gitops.report import diagnostics as report

    found = find_roots(tree, _config_files(tree, CONFIG_FILE))
    if found.roots in ((), (".",)) and not found.refused:
        found = replace(found, roots=(".",))
    codes = []
    for problem in found.refused:
        console.print(problem.format())
        codes.append(1)
    for root in found.roots:
        result = validate_repo(tree / root, datetime.now(timezone.utc), [], keep_posts=False)
        diagnostics = [
            replace(d, path=f"{root}/{d.path}") if root != "." and d.path else d
            for d in result.diagnostics
        ]
        console.print(report.as_text(diagnostics, result.files_checked, console))
        codes.append(1 if result.errors else 0)
    return worst(codes)


def _apply_clone(work: Path, say: Callable[[str], None]) -> int:
    """`apply --push` of every content root of the server hook's fresh clone (one, or one
    per brand), each with its own key; the worst exit code. One brand's failure never stops
    another's publishing."""
    from orshot_gitops.commands.every_root import worst
    from orshot_gitops.content.model import CONFIG_FILE
    from orshot_gitops.content.roots import find_roots
    from orshot_gitops.errors import UserError
    from orshot_gitops.vcs.worktree import tracked_config_files

    found = find_roots(work, tracked_config_files(work, CONFIG_FILE))
    if found.roots in ((), (".",)) and not found.refused:
        return _apply_root(work, say)
    codes = []
    for problem in found.refused:
        say(f"orshot-gitops: {problem.format()}")
        codes.append(1)
    for root in found.roots:
        say(f"orshot-gitops: == {root} ==")
        try:
            codes.append(_apply_root(work / root, say))
        except UserError as exc:
            say(f"orshot-gitops: {exc}")
            codes.append(1)
    return worst(codes)


def _apply_root(work: Path, say: Callable[[str], None]) -> int:
    """`apply --push` of one content root of the hook's clone."""
    from datetime import datetime, timezone

    from orshot_gitops.commands import root_key
    from orshot_gitops.orshot.client import OrshotClient
    from orshot_gitops.orshot.settings import check_environment
    from orshot_gitops.reconcile.runner import ApplyOptions, run_apply
    from orshot_gitops.report.review import awaiting_lines
    from orshot_gitops.vcs.gitrepo import open_repo
    from orshot_gitops.vcs.mergedriver import register

    key = root_key(work)
    check_environment(os.environ, key)  # before the plan: nothing marked, nothing sent
    register(work)
    with open_repo(work) as git:
        report = run_apply(
            work,
            git,
            lambda: OrshotClient.from_env(os.environ, key),
            lambda: datetime.now(timezone.utc),
            ApplyOptions(push=True, remote="origin"),
            progress=lambda message: say(f"orshot-gitops: {message}"),
        )
    for outcome in sorted(report.outcomes, key=lambda o: (o.post_id, o.account)):
        detail = outcome.url or outcome.error or ""
        say(f"orshot-gitops: {outcome.status:<10} {outcome.post_id} → {outcome.account}  {detail}")
    for diagnostic in report.plan.errors:
        say(f"orshot-gitops: {diagnostic.format()}")
    # No GitHub here: the pusher hears which approvals: rules went unchecked, and what waits.
    for diagnostic in report.plan.diagnostics:
        if diagnostic.code == "approvals-unchecked":
            say(f"orshot-gitops: {diagnostic.format()}")
    for line in awaiting_lines(report.plan):
        say(f"orshot-gitops: {line}")
    counts = ", ".join(f"{n} {s}" for s, n in report.counts().items()) or report.note
    recorded = f"; results in {report.commit[:12]} (git pull)" if report.commit else ""
    say(f"orshot-gitops: {counts}{recorded}")
    return 0 if report.ok else 1
