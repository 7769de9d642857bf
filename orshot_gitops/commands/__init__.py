"""One module per command: NAME, SUMMARY, EXAMPLES, configure(parser), run(args, console)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orshot_gitops.state.model import State


def add_recording_options(parser: argparse.ArgumentParser) -> None:
    """The flags of every command that changes the state by hand: it commits, as apply does."""
    parser.add_argument("--push", action="store_true", help="push the commit that records it (CI)")
    parser.add_argument(
        "--remote", default="origin", help="the remote to push to (default: origin)"
    )
    parser.add_argument(
        "--no-commit", action="store_true", help="write the state file but do not commit it"
    )


def record(root: Path, state: State, base: State, message: str, args: argparse.Namespace) -> str:
    """Write `state` (changed from `base`, as loaded) and commit it (and push it, with
    --push), as `apply` records its results. Returns a sentence saying where it is."""
    from orshot_gitops.reconcile.recording import Recording, record_state
    from orshot_gitops.vcs.gitrepo import open_repo

    how = Recording(commit=not args.no_commit, push=args.push, remote=args.remote)
    if not how.commit:
        from orshot_gitops.state.store import write_state

        write_state(root, state)
        return "Written to .orshot/state.json, not committed (--no-commit)."
    with open_repo(root) as git:
        recorded = record_state(root, git, state, base, message + " [skip ci]", how)
    if recorded.commit is None:
        return "The state was already recorded."
    pushed = f", pushed to {how.remote}" if recorded.pushed else ""
    return f"Recorded in {recorded.commit[:12]}{pushed}."
