"""How far a run that held some posts back may still record as reconciled.

A post held for now (its account needs a reconnect, a deny window, a schedule that passed)
keeps the reconciled commit behind it (`Plan.holds_back`), so the next run plans it again.
Kept where it was, a repository whose first apply held something recorded no commit at all,
for as long as the hold lasted: every later plan compiled without git's history, and a new
post beside a deleted one could not be told from that post moved (identity.py), so it was
held as ambiguous (the model test found it: an account expired from the start, a post
deleted, another added). The commit recorded instead is the newest one before every held
post's last change: the diff from it still names each held post, and everything before it
was reconciled by this very run, which planned the whole of HEAD's posts it had to.

Never for a post held until a person says what it is (ambiguous, a lost record) or for an
approval: a point past the file of an ambiguous post would call it added, hence new, and
the rules in force for an approval are read from the reconciled commit on (approvals.py).
"""

from __future__ import annotations

from orshot_gitops.reconcile.plan import Kind, Plan
from orshot_gitops.vcs.gitrepo import GitRepo

_MOVABLE = frozenset({Kind.NEEDS_RECONNECT, Kind.DENY_WINDOW, Kind.PAST_SCHEDULE})
_FIXED = frozenset({Kind.AMBIGUOUS, Kind.RECORD_MISSING, Kind.AWAITING_APPROVAL})


def hold_point(plan: Plan, git: GitRepo, recorded: str | None) -> str | None:
    """The commit to record after a run whose plan holds posts back: the newest commit before
    every held post's last change, when that moves `recorded` forward; else `recorded`."""
    kinds = {a.kind for a in plan.actions}
    if plan.head is None or kinds & _FIXED:
        return recorded
    befores = []
    # A batch row's last change may be its data file's (content/batches.py).
    data_of = {batch.path: (batch.data_path,) for batch in plan.batches}
    for path in sorted({a.path for a in plan.actions if a.kind in _MOVABLE}):
        last = git.last_commit_touching((path, *data_of.get(path, ())), plan.head)
        before = git.resolve(f"{last}^") if last else None
        if before is None:
            return recorded  # its file is in the first commit: nothing comes before it
        befores.append(before)
    if not befores:
        return recorded
    point: str | None = befores[0]
    for other in befores[1:]:
        point = git.merge_base(point, other) if point else None
    if point is None or point == recorded:
        return recorded
    if recorded is not None and not git.is_ancestor(recorded, point):
        return recorded  # never backwards: the diff from `recorded` already names them
    return point
