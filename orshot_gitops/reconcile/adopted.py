"""The commit `adopt` may record: HEAD, so the next plan diffs from there (issue 18), but
only when recording it loses nothing.

A recorded commit promises that every post file it holds was decided (missing.py): a file
of it without a record is later taken for a lost record, never for a new post. And the next
plan compiles only what changed since it: an edit made between the old recorded commit and
HEAD that no run acted on would never be planned. So HEAD is recorded only when every post
file the next plan would otherwise have compiled because of the diff (all of them without a
usable old commit) has a record of each of its accounts, made from exactly what HEAD holds
(same accounts, same fingerprints), and no input has uncommitted changes (adopt reads the
working tree; what it recorded of an edit not committed is not HEAD's post). Otherwise the
old commit stays and the reason is said.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orshot_gitops.content.compile import CompiledPost
from orshot_gitops.content.load import load_config
from orshot_gitops.content.model import CONFIG_FILE
from orshot_gitops.content.validate import check_posts
from orshot_gitops.errors import Severity
from orshot_gitops.reconcile.batchplan import find_batches
from orshot_gitops.reconcile.history import went_backwards
from orshot_gitops.reconcile.queueplan import as_recorded
from orshot_gitops.state.model import State
from orshot_gitops.vcs.gitrepo import GitRepo


@dataclass(frozen=True)
class AdoptedCommit:
    """The state to write (`state`, its commit maybe moved to HEAD) and a sentence saying
    what the next plan starts from, and why."""

    state: State
    note: str


def record_head_if_decided(root: Path, git: GitRepo, state: State) -> AdoptedCommit:
    """`state` (as adopt left it) with HEAD as its commit when no post of HEAD is left
    undecided by it; unchanged, with the reason, otherwise."""
    head = git.head_commit()
    if head is None:
        return AdoptedCommit(state, "")
    if state.commit == head:
        return AdoptedCommit(state, f"The state records {head[:12]}: the next plan starts there.")
    why = _undecided(root, git, state, head)
    if why and state.commit:
        return AdoptedCommit(
            state,
            f"The state keeps {state.commit[:12]} as its reconciled commit: {why}; the next "
            "plan compiles what changed since then.",
        )
    if why:
        return AdoptedCommit(
            state,
            f"The state records no reconciled commit yet: {why}; the next plan compiles "
            "every post.",
        )
    return AdoptedCommit(
        state.with_commit(head),
        f"The state records {head[:12]} as reconciled: the next plan starts there.",
    )


def _undecided(root: Path, git: GitRepo, state: State, head: str) -> str:
    """Why HEAD cannot be recorded, or "" when it can."""
    config, _ = load_config(root)
    if config is None:
        return f"{CONFIG_FILE} does not load"
    if went_backwards(git, state) is not None:
        return "the state went backwards (see 'orshot-gitops plan')"
    posts_prefix = config.posts_dir + "/"
    shared = (CONFIG_FILE, config.templates_dir + "/")
    batches = find_batches(root, git, config)  # a batch's data file is an input too
    dirty = git.dirty_paths((posts_prefix, *shared, *batches.data_paths), ignored=True)
    if dirty:
        return f"{dirty[0]} has uncommitted changes"
    changes = git.changed_paths(state.commit, head, under=(posts_prefix,), shared=shared)
    if changes.full_rescan_needed:
        to_check = set(git.tracked_post_files(head, posts_prefix))
    else:
        to_check = {*changes.added, *changes.modified, *(new for _, new in changes.renamed)}
        if state.commit:
            changed = git.changed_files(state.commit, head, batches.data_paths)
            to_check |= {path for path, data in batches.data_of.items() if data in changed}
    if not to_check:
        return ""
    tracked = git.tracked_regular_files(config.templates_dir)
    problems, compiled = check_posts(root, config, sorted(to_check), tracked)
    inputs = to_check | {batches.data_of[p] for p in to_check if p in batches.data_of}
    failed = sorted({d.path for d in problems if d.severity is Severity.ERROR} & inputs)
    if failed:
        return f"{failed[0]} has errors and no record"
    by_path: dict[str, list[CompiledPost]] = {}
    for post in compiled:
        by_path.setdefault(post.spec.path, []).append(post)
    for path in sorted(to_check):
        posts = by_path.get(path)
        if not posts:
            return f"{path} does not compile"
        for post in posts:  # a batch: every row
            recorded = state.posts.get(post.spec.id)
            if recorded is None:
                row = f"{post.spec.id} of " if post.spec.batch else ""
                return f"{row}{path} has no record"
            # A queued post's fingerprints hold the times its records fixed (queueplan.py).
            wanted = {p.account.alias: p.fingerprint for p in as_recorded(post, state).payloads}
            have = {key: record.fingerprint for key, record in recorded.accounts.items()}
            if wanted != have:
                return f"{path} changed since its record was made"
    return ""
