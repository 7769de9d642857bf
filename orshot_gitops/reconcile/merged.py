"""What git still proves after a merge joined two states that had reconciled different commits.

Such a state records no commit (state/merge.py), so the plan compiles every post. Without a
diff, a post file the state does not know could be a recorded post moved and edited, and is
held (identity.py): with two clones applying by hand, every new post of the second would wait
for a person. The merged state keeps the commits its sides had reconciled instead, and each
is asked the question a single recorded commit answers:

- a file git shows as added (or moved from an unrecorded file) since *every* one of them is
  new for certain: no side had a post there to move;
- a file git shows as moved since *any* of them, from a recorded post's file, is that post.

The common ancestor of the two commits cannot stand in for them: a post added after it on
one side and then moved is "added" from there, and would be published a second time.
"""

from __future__ import annotations

from collections.abc import Sequence

from orshot_gitops.state.model import State
from orshot_gitops.vcs.gitrepo import GitRepo


def since_merged_sides(
    git: GitRepo, state: State, under: Sequence[str], shared: Sequence[str]
) -> tuple[set[str], tuple[tuple[str, str], ...]] | None:
    """(the post files new since every merged side's commit, the moves (old, new) git saw
    since any), or None when the state is not such a merge. A commit this repository cannot
    read or that HEAD does not descend from (a force-push) proves nothing new."""
    if state.commit is not None or not state.merged_commits:
        return None
    new_since_all: set[str] | None = None
    moves: dict[str, set[str]] = {}
    for commit in state.merged_commits:
        changes = git.changed_paths(commit, "HEAD", under=under, shared=shared)
        if changes.base_missing and git.deepen_to(commit):
            changes = git.changed_paths(commit, "HEAD", under=under, shared=shared)
        if changes.base_missing:
            new_since_all = set()
            continue
        for old, new in changes.renamed:
            moves.setdefault(new, set()).add(old)
        new_here = set(changes.added) | {new for _, new in changes.renamed}
        new_since_all = new_here if new_since_all is None else new_since_all & new_here
    # Two sides that saw one file come from two different files leave it unexplained: held.
    renamed = tuple(
        sorted((next(iter(olds)), new) for new, olds in moves.items() if len(olds) == 1)
    )
    return new_since_all or set(), renamed
