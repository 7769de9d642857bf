"""orshot-gitops adopt: record posts as already published, sending nothing."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from orshot_gitops.commands import add_recording_options, record
from orshot_gitops.console import Console
from orshot_gitops.errors import UsageError

if TYPE_CHECKING:
    from orshot_gitops.state.model import State

NAME = "adopt"
SUMMARY = "Record posts as already published without sending anything (for posts that went out by other means)."
EXAMPLES = [
    "orshot-gitops adopt 2026/12/launch         # one post, by id",
    "orshot-gitops adopt --all                  # onboarding: everything in posts/ went out already",
    "orshot-gitops adopt 2026/launch --from launch  # posts/launch.yaml moved there: keep its record",
]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "posts", nargs="*", metavar="POST", help="post ids (paths under posts/ without extension)"
    )
    parser.add_argument("--all", action="store_true", help="every post in the repository")
    parser.add_argument(
        "--from",
        dest="moved_from",
        metavar="OLD",
        help="the post is the recorded post OLD, moved: its record follows (one POST only)",
    )
    add_recording_options(parser)


def run(args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.reconcile.manage import adopt
    from orshot_gitops.state.store import load_state

    if bool(args.posts) == bool(args.all):
        raise UsageError(
            "name the posts to adopt, or pass --all", hint="see 'orshot-gitops adopt --help'"
        )
    root = Path(args.repo)
    if args.moved_from is not None:
        return _adopt_move(root, args, console)
    loaded = load_state(root)
    state, adopted = adopt(root, loaded, args.posts, datetime.now(timezone.utc))
    recorded = ""
    since = ""
    if adopted:
        state, since = _with_commit(root, state)
        message = "\n".join([f"orshot: adopt {len(adopted)} account(s)", "", *adopted])
        recorded = " " + record(root, state, loaded, message, args)
    for line in adopted:
        console.print(f"adopted {line}")
    console.print(f"{len(adopted)} account(s) recorded as published; nothing was sent.{recorded}")
    if since:
        console.print(since)
    return 0


def _with_commit(root: Path, state: State) -> tuple[State, str]:
    """The adopted state with HEAD as its reconciled commit when that loses nothing
    (reconcile/adopted.py), so the next plan is incremental; and the sentence saying so."""
    from orshot_gitops.reconcile.adopted import record_head_if_decided
    from orshot_gitops.vcs.gitrepo import open_repo
    from orshot_gitops.vcs.mergedriver import inside_git

    if not inside_git(root):
        return state, ""
    with open_repo(root) as git:
        decided = record_head_if_decided(root, git, state)
    return decided.state, decided.note


def _adopt_move(root: Path, args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.reconcile.manage import adopt_move
    from orshot_gitops.state.store import load_state

    if len(args.posts) != 1:
        raise UsageError("--from takes exactly one POST", hint="adopt NEW --from OLD")
    loaded = load_state(root)
    state, moved = adopt_move(root, loaded, args.posts[0], args.moved_from)
    message = "\n".join([f"orshot: adopt {args.posts[0]} moved from {args.moved_from}", "", *moved])
    recorded = record(root, state, loaded, message, args)
    for line in moved:
        console.print(f"moved {line}")
    console.print(f"Nothing was sent. {recorded}")
    return 0
