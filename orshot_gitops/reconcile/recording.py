"""Recording a state changed outside a send (`refresh`, `resolve`, `adopt`, the read-back of
fired posts before an `apply`): written, committed, and with `--push` pushed, as `apply`
records its results. A state left uncommitted is lost by the next `git checkout`, and with
it the truth about what Orshot holds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orshot_gitops.reconcile.claims import PushTarget, push_state
from orshot_gitops.state.model import STATE_PATHS, State
from orshot_gitops.state.store import write_state
from orshot_gitops.vcs.gitrepo import GitRepo


@dataclass(frozen=True)
class Recording:
    """How to record: commit (the default), and push to `remote` too."""

    commit: bool = True
    push: bool = False
    remote: str = "origin"


@dataclass(frozen=True)
class Recorded:
    state: State
    commit: str | None
    pushed: bool


def record_state(
    root: Path, git: GitRepo, state: State, base: State, message: str, how: Recording
) -> Recorded:
    """Write `state` (grown from `base`, the state as loaded), then commit and push it as
    `how` says. A push that loses a race merges entry by entry (`push_state`)."""
    written = write_state(root, state)
    if not how.commit:
        return Recorded(written, None, False)
    if not how.push:
        return Recorded(written, git.commit_paths(STATE_PATHS, message), False)
    pushed, commit = push_state(
        git,
        lambda s: write_state(root, s),
        written,
        base,
        message,
        PushTarget(how.remote, git.current_branch()),
    )
    return Recorded(pushed, commit, True)
