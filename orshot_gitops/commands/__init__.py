"""One module per command: NAME, SUMMARY, EXAMPLES, configure(parser), run(args, console)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orshot_gitops.orshot.settings import ApiKeyVariable
    from orshot_gitops.state.model import State


def add_recording_options(parser: argparse.ArgumentParser) -> None:
    """The flags of every command that changes the state by hand: it commits, as apply does."""
    parser.add_argument(
        "--push",
        action="store_true",
        help="push the commit that records it (the default when the branch has an upstream)",
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="commit in this clone only, even when the branch has an upstream",
    )
    parser.add_argument(
        "--remote", default="origin", help="the remote to push to (default: origin)"
    )
    parser.add_argument(
        "--no-commit", action="store_true", help="write the state file but do not commit it"
    )


def push_target(
    root: Path, *, push: bool, local: bool, commit: bool, remote: str
) -> tuple[bool, str]:
    """Whether a command that records the state pushes it, and to which remote: with --push,
    or by default when the branch tracks a branch of the same name (not with --local or
    --no-commit). By hand next to CI, a record only this clone holds is one 'git checkout
    --theirs' from lost, and the posts it records from being sent again: push it."""
    from orshot_gitops.errors import UsageError
    from orshot_gitops.vcs.gitrepo import open_repo
    from orshot_gitops.vcs.mergedriver import inside_git

    if push and local:
        raise UsageError("--push and --local contradict each other", hint="pick one")
    if push or local or not commit or not inside_git(root):
        return push, remote
    with open_repo(root) as git:
        upstream = git.upstream()
        same_name = upstream is not None and upstream[1] == git.current_branch()
    if upstream is not None and same_name:
        return True, upstream[0]
    return False, remote


def record(root: Path, state: State, base: State, message: str, args: argparse.Namespace) -> str:
    """Write `state` (changed from `base`, as loaded) and commit it, and push it as `apply`
    pushes (`push_target`). Returns a sentence saying where it is."""
    from orshot_gitops.reconcile.recording import Recording, record_state
    from orshot_gitops.vcs.gitrepo import open_repo
    from orshot_gitops.vcs.messages import commit_message

    push, remote = push_target(
        root, push=args.push, local=args.local, commit=not args.no_commit, remote=args.remote
    )
    how = Recording(commit=not args.no_commit, push=push, remote=remote)
    if not how.commit:
        from orshot_gitops.state.store import write_state

        write_state(root, state)
        return "Written to .orshot/state.json, not committed (--no-commit)."
    # The first line is the subject; the rest, one line per change, is cut to its first lines
    # (vcs/messages.py): a refresh of thousands of posts is in the state, not in `git log`.
    subject, _, body = message.partition("\n")
    bounded = commit_message(subject + " [skip ci]", body.strip("\n").splitlines())
    with open_repo(root) as git:
        recorded = record_state(root, git, state, base, bounded, how)
    if recorded.commit is None:
        return "The state was already recorded."
    pushed = f", pushed to {how.remote}" if recorded.pushed else ""
    return f"Recorded in {recorded.commit[:12]}{pushed}."


def root_key(root: Path) -> ApiKeyVariable:
    """The variable holding `root`'s Orshot key: its orshot.yaml's `api_key_env` (default
    ORSHOT_API_KEY). Every command that builds a client or asks "is there a key?" asks this,
    so in a repository of several brands each reads its own key and no other.

    No orshot.yaml (`accounts` before one exists): the default variable. One that does not
    load: no key at all (`unknown`), as guessing the default would hand a brand whose file
    is broken the key of the brand that uses ORSHOT_API_KEY; the command then reports the
    file's own error where it always did."""
    from orshot_gitops.content.load import load_config
    from orshot_gitops.content.model import CONFIG_FILE
    from orshot_gitops.orshot.settings import ApiKeyVariable

    if not (root / CONFIG_FILE).is_file():
        return ApiKeyVariable(root=root_label(root))
    config, _ = load_config(root)
    if config is None:
        return ApiKeyVariable(root=root_label(root), unknown=True)
    return ApiKeyVariable(config.api_key_env, root_label(root))


def root_label(root: Path) -> str:
    """The content root as its repository names it ("brands/zen"); "" for the work tree's
    top (the one-brand repository, whose messages stay as they were)."""
    here = root.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return "" if folder == here else here.relative_to(folder).as_posix()
    return ""
