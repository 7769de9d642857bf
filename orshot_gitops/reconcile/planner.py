"""Build a plan from a repository: the I/O around `plan.decide` (files, git, the state file).

The cost follows the change, not the repository: `git diff` from the recorded commit names
the post files to compile; files the state does not know, entries that still need work and
uncommitted edits join them; everything else is unchanged by construction. A file that
stands for many posts (a batch, `for_each`) joins them when its data file changed too, and
then only its changed rows are compiled (batchplan.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from orshot_gitops.content.compile import CompiledPost
from orshot_gitops.content.duplicates import SentCopy, duplicate_problem, resends
from orshot_gitops.content.load import discover_posts, load_config, post_id_for
from orshot_gitops.content.model import CONFIG_FILE, Config
from orshot_gitops.content.recurrence import occurrence_of
from orshot_gitops.content.rulecheck import overridable
from orshot_gitops.content.validate import check_post_files
from orshot_gitops.errors import Diagnostic, Severity, UserError
from orshot_gitops.reconcile.batchplan import (
    batch_candidates,
    batches_shown,
    changed_data_files,
    find_batches,
    present_posts,
    recorded_by_file,
    row_renames,
    rows_new_since,
    unchanged_rows,
)
from orshot_gitops.reconcile.before import with_before
from orshot_gitops.reconcile.history import went_backwards
from orshot_gitops.reconcile.identity import follow_account_ids, unexplained_posts
from orshot_gitops.reconcile.merged import since_merged_sides
from orshot_gitops.reconcile.missing import (
    known_by,
    record_missing_actions,
    records_lost_in_merge,
    records_missing,
)
from orshot_gitops.reconcile.occurrences import lost_occurrences, occurrence_ids
from orshot_gitops.reconcile.pause import pause_actions
from orshot_gitops.reconcile.plan import Action, Kind, Plan, decide
from orshot_gitops.reconcile.queueplan import assign_queued, mark_tentative
from orshot_gitops.reconcile.rulesplan import hold_in_deny_windows, spacing_against_state
from orshot_gitops.reconcile.snapshots import load_checked
from orshot_gitops.state.model import POSTS_DIR, STATE_DIR, STATE_PATH, State
from orshot_gitops.state.previews import RENDERS_DIR
from orshot_gitops.vcs.gitrepo import GitRepo


def make_plan(
    root: Path,
    git: GitRepo,
    now: datetime,
    *,
    overwrite_drift: bool = False,
    inputs_clean: bool = False,
) -> tuple[Plan, Config | None, State]:
    """The plan for the repository at root (its working tree) against its state file.
    `overwrite_drift`: send the file's version over a post changed in Orshot (drift.py).
    `inputs_clean`: the caller has just refused uncommitted inputs (apply does), so the
    working tree's second look, a `git status` over every post file, is skipped."""
    state = load_checked(git)
    head = git.head_commit()
    config, problems = load_config(root)
    behind = went_backwards(git, state)
    if behind is not None:
        problems.append(behind)
    if config is None:
        return _plan(state, head, now, [], problems), None, state

    state = follow_account_ids(state, config)
    posts_prefix = config.posts_dir + "/"
    shared = (CONFIG_FILE, config.templates_dir + "/")
    changes = git.changed_paths(state.commit, "HEAD", under=(posts_prefix,), shared=shared)
    if changes.base_missing and state.commit and git.deepen_to(state.commit):
        # A shallow clone: the recorded commit is fetched now, and git can follow moves.
        changes = git.changed_paths(state.commit, "HEAD", under=(posts_prefix,), shared=shared)
    dirty = () if inputs_clean else git.dirty_paths((posts_prefix, *shared))
    files, found_problems = discover_posts(root, config)
    problems.extend(found_problems)
    ids = {post_id_for(f, config.posts_dir): f for f in files}
    # Files that stand for many posts (batch rows, occurrences): batchplan.py.
    batches = find_batches(root, git, config)
    recorded_rows = recorded_by_file(state.posts, ids)
    dirty_data = () if inputs_clean else git.dirty_paths(batches.data_paths)

    merged = since_merged_sides(git, state, (posts_prefix,), shared)
    moves = (*changes.renamed, *(merged[1] if merged else ()))
    renames: dict[str, str] = {}
    for old_path, new_path in moves:
        old_id, new_id = (
            post_id_for(old_path, config.posts_dir),
            post_id_for(new_path, config.posts_dir),
        )
        if old_id in state.posts and new_id not in state.posts and old_id not in ids:
            renames[new_id] = old_id

    full_rescan = changes.reason if changes.full_rescan_needed else ""
    if any(path == CONFIG_FILE or path.startswith(shared[1]) for path in dirty):
        full_rescan = full_rescan or "orshot.yaml or templates/ have uncommitted changes"
    if full_rescan:
        candidates = set(files)
    else:
        candidates = (
            set(changes.added) | set(changes.modified) | {new for _, new in changes.renamed}
        )
        candidates |= {p for p in dirty if p in ids.values()}
        # Asked of the state, not of its posts: answered without building each one.
        needing_work = state.post_ids_needing_work()
        for post_id, path in ids.items():
            recorded_id = renames.get(post_id, post_id)
            if path in batches.data_of:
                continue  # a batch file's own id is no post: batch_candidates decides
            if recorded_id not in state.posts or recorded_id in needing_work:
                candidates.add(path)
        changed_data = changed_data_files(
            git, None if changes.base_missing else state.commit, batches, dirty_data
        )
        candidates |= batch_candidates(batches, recorded_rows, needing_work, changed_data)
        if batches.data_of and state.commit and not changes.base_missing:
            # A row whose record a state since lost (a conflict resolved by hand) is in an
            # unchanged batch too: compiled, so the plan says so (missing.py).
            lost = {i for known in _known_since(root, git, state.commit) for i in known}
            lost -= set(state.posts)
            candidates |= set(recorded_by_file(lost, ids)) & set(batches.data_of)
    # A file whose recorded posts are occurrences is expanded on every run: the clock, not a
    # commit, brings its next ones (its own id is never recorded, so it is a candidate above;
    # a batch whose rows repeat is one by batch_candidates).
    candidates &= set(files)
    # A batch and a post file under its id (posts/products.yaml, posts/products/A1.yaml)
    # may make one post id twice: both are compiled whenever either is, to be compared.
    batch_ids = {post_id_for(path, config.posts_dir): path for path in batches.data_of}
    for post_id, path in ids.items():
        for parent in _parents(post_id):
            if parent in batch_ids and (path in candidates or batch_ids[parent] in candidates):
                candidates |= {path, batch_ids[parent]}

    # Templates may include only what git tracks: what the pull request holds, whatever else
    # the CI workspace holds (docs/security.md); a batch's data file likewise.
    tracked = git.tracked_regular_files(config.templates_dir)
    skips = {}
    if not full_rescan and state.commit and not changes.base_missing and batches.data_of:
        touched = {*changes.added, *changes.modified, *(new for _, new in moves), *dirty}
        # A batch with a post file under its id is compiled whole: its rows are compared.
        touched |= {batch_ids[p] for i in ids for p in _parents(i) if p in batch_ids}
        skips = unchanged_rows(
            git,
            state.commit,
            batches,
            candidates,
            set(batches.data_of) - touched,
            recorded_rows,
            state.posts,
            state.post_ids_needing_work(),
        )
    checked = check_post_files(
        root, config, sorted(candidates), tracked, _tracked_file_check(git), now, skips
    )
    problems.extend(checked.problems)
    compiled = checked.compiled
    failed = {d.path for d in problems if d.severity is Severity.ERROR}
    failed |= {f"{d.path}:{d.line}" for d in problems if d.severity is Severity.ERROR}
    compiled = [p for p in compiled if p.spec.path not in failed and _row_at(p) not in failed]
    problems.extend(_unseen_dirty_data(git, compiled, batches.data_paths))
    present = present_posts(ids, checked.ids_by_file, recorded_rows, set(batches.data_of))
    renames.update(
        row_renames(moves, (p.spec.id for p in compiled), state.posts, present, config.posts_dir)
    )
    # A recurring file's posts are its occurrences (content/recurrence.py): a recorded one its
    # file could not judge (an error, or past the horizon) is still present (occurrences.py).
    series_paths = {
        **ids,
        **{p.spec.occurrence.series: p.spec.path for p in checked.compiled if p.spec.occurrence},
    }
    failed_paths = {d.path for d in problems if d.severity is Severity.ERROR}
    for post_id, path in occurrence_ids(
        compiled, state, series_paths, failed_paths, config, now
    ).items():
        present.setdefault(post_id, path)
    # `schedule: next`: each account's slot, or the time its record fixed (queueplan.py).
    compiled, slot_problems, tentative = assign_queued(compiled, config, state, renames, now)
    problems.extend(slot_problems)

    missing: frozenset[str] = frozenset()
    new_rows: frozenset[str] = frozenset()
    if state.commit and not changes.base_missing:
        at_commit = git.tracked_post_files(state.commit, posts_prefix)
        singles = {
            pid: path for pid, path in present.items() if pid == post_id_for(path, config.posts_dir)
        }
        missing = records_missing(state, at_commit, singles, renames, changes.renamed)
        unknown_rows: dict[str, list[str]] = {}
        occurrences: dict[str, str] = {}
        for post_id, path in present.items():
            if post_id in singles or renames.get(post_id, post_id) in state.posts:
                continue
            # A row git judges by the batch at the recorded commit; an occurrence by its
            # series' recorded dates, since the clock, not a commit, brings new ones.
            if occurrence_of(post_id) is not None:
                occurrences[post_id] = path
            else:
                unknown_rows.setdefault(path, []).append(post_id)
        new_rows, lost_rows = rows_new_since(
            root, git, config, state.commit, unknown_rows, {new: old for old, new in moves}
        )
        missing |= lost_rows
        edited = {*changes.added, *changes.modified, *(new for _, new in changes.renamed)}
        missing |= lost_occurrences(occurrences, state, renames, edited | set(dirty))
        missing |= records_lost_in_merge(
            state, _known_since(root, git, state.commit), present, renames
        )

    renames.update(_renames_by_content(compiled, state, set(present), renames))
    # A bump that would send a live post's caption and media again is refused by the
    # platform: an error here, and the post is not sent (duplicates.py).
    duplicates = repeated_live_posts(compiled, state, renames, now)
    problems.extend(duplicates)
    compiled = [p for p in compiled if p.spec.path not in {d.path for d in duplicates}]
    explained: set[str] = set()
    if not changes.base_missing:
        explained = set(changes.added) | {new for _, new in changes.renamed} | set(dirty)
    elif merged is not None:
        explained = merged[0] | set(dirty)
    # A new occurrence of a series the state already records came with the clock, not from a
    # move: its file is where the recorded ones came from.
    explained |= {path for path, posts in recorded_rows.items() if any("@" in p for p in posts)}
    # A post file that became a batch or a series: its own record is gone, and its new posts
    # come from that same file, which git shows edited, not moved.
    explained |= {path for pid, path in ids.items() if pid in state.posts and pid not in present}
    problems.extend(spacing_against_state(config, compiled, state))
    held_back = unexplained_posts(
        compiled, state, present=set(present), renames=renames, explained_paths=explained
    )
    # A row git shows added to its batch since the reconciled commit is new for certain.
    held_back = {post_id: maybe for post_id, maybe in held_back.items() if post_id not in new_rows}

    actions, unchanged = decide(
        [p for p in compiled if p.spec.id not in missing],
        state,
        now,
        present_post_ids=present,
        renames=renames,
        prune=config.prune,
        held_back=held_back,
        overwrite_drift=overwrite_drift,
    )
    actions = mark_tentative(with_before(actions, state, renames), tentative)
    for post in compiled:
        if post.spec.id in missing:
            actions.extend(record_missing_actions(post))
    compiled_ids = {p.spec.id for p in compiled} | {renames.get(p.spec.id, "") for p in compiled}
    # Counted from the index, less the posts looked at: reading every record to count the
    # unchanged ones would make each plan cost the whole history.
    unchanged += state.record_count() - sum(
        state.account_count(post_id)
        for post_id in state.posts
        if post_id in compiled_ids or post_id not in present
    )
    problems.extend(_prune_everything(actions, state, set(present) | set(renames.values())))
    if config.paused:
        # The emergency stop stops what Orshot already holds too (pause.py).
        pauses = pause_actions(state, now)
        # A pause in flight is sent again (pause.py), not settled after the pause is lifted.
        pausing = {(a.post_id, a.account) for a in pauses}
        actions = sorted(
            [
                *(a for a in actions if (a.post_id, a.account) not in pausing),
                *pauses,
            ],
            key=lambda a: (a.post_id, a.account, a.kind.value),
        )
    plan = _plan(state, head, now, actions, problems, unchanged=unchanged, paused=config.paused)
    plan = hold_in_deny_windows(
        plan, config, now, {p.spec.id for p in compiled if p.spec.sponsored}
    )
    # A `deny` that named reviewers may lift: held by apply until they do (approvals.py).
    lifts = tuple(
        (o.post_id, o.account, o.rule, o.reviewers) for o in overridable(compiled, config)
    )
    shown = batches_shown(batches, checked, present, list(plan.actions))
    return replace(plan, full_rescan=full_rescan, overrides=lifts, batches=shown), config, state


def _unseen_dirty_data(
    git: GitRepo, compiled: list[CompiledPost], seen: tuple[str, ...]
) -> list[Diagnostic]:
    """A data file `git grep for_each` did not find (the key written with an escape, say)
    escaped `refuse_uncommitted_inputs`: one with uncommitted changes is refused here, so
    what is sent is always what a commit holds."""
    unseen = {p.spec.batch.data_path for p in compiled if p.spec.batch} - set(seen)
    dirty = git.dirty_paths(sorted(unseen), ignored=True) if unseen else ()
    return [
        Diagnostic(
            path,
            0,
            0,
            Severity.ERROR,
            "uncommitted",
            f"{path} has uncommitted changes",
            "a batch's data file is sent as committed: commit or stash it first",
        )
        for path in dirty
    ]


def _parents(post_id: str) -> Iterator[str]:
    """a/b/c -> a/b, a"""
    parent = post_id.rpartition("/")[0]
    while parent:
        yield parent
        parent = parent.rpartition("/")[0]


def _row_at(post: CompiledPost) -> str:
    """Where a batch row's problems are said (its data file and line), or "" for a post."""
    row = post.spec.batch
    return "" if row is None else f"{row.data_path}:{row.line}"


def _tracked_file_check(git: GitRepo) -> Callable[[str], bool]:
    """Whether git's index holds a path as a regular file: a batch's data file must be what
    the pull request showed, not a file left on the runner's disk (docs/security.md)."""

    def is_tracked(path: str) -> bool:
        folder, _, name = path.rpartition("/")
        return name in git.tracked_regular_files(folder or ".")

    return is_tracked


def repeated_live_posts(
    compiled: list[CompiledPost], state: State, renames: dict[str, str], now: datetime
) -> list[Diagnostic]:
    found = []
    for post in compiled:
        for resend in resends(post):
            record = state.account(renames.get(post.spec.id, post.spec.id), resend.account)
            copy = None
            if record is not None and record.sent is not None:
                copy = SentCopy(
                    record.status.value,
                    record.revision,
                    record.sent.caption,
                    tuple(record.sent.media),
                    record.scheduled_for,
                    record.url,
                )
            problem = duplicate_problem(resend, copy, now)
            if problem is not None:
                found.append(problem)
    return found


def inputs_changed(root: Path, git: GitRepo, since: str | None, until: str) -> bool:
    """Whether a post, orshot.yaml or a template changed from `since` to `until`.

    A run with nothing to send records HEAD so the next diff starts there, but only when an
    input moved: if only our own state commits lie between, recording would itself be a new
    commit, one per run, for ever."""
    config, _ = load_config(root)
    if config is None:
        return True
    shared = (CONFIG_FILE, config.templates_dir + "/")
    changes = git.changed_paths(since, until, under=(config.posts_dir + "/",), shared=shared)
    if not changes.is_empty:
        return True
    # A batch's data file is an input too (a reordered catalogue changes no post, but the
    # next diff should start after it).
    data_paths = find_batches(root, git, config).data_paths
    return since is not None and bool(git.changed_files(since, until, data_paths))


def _renames_by_content(
    compiled: list[CompiledPost], state: State, present: set[str], known: dict[str, str]
) -> dict[str, str]:
    """Moves git could not name (a force-push, a rewritten history, a post moved while the
    recorded commit is older than the post): a new post that matches every record of a
    recorded post whose file is gone, alias for alias and fingerprint for fingerprint, is that
    post moved, not a new one. Sending it again would be a duplicate. An account the new post
    has and the record has not (one held while it needed a reconnect, one added in the move)
    is then sent as any new account of a post is."""
    gone = {pid for pid in state.posts if pid not in present and pid not in known.values()}
    if not gone:
        return {}
    found: dict[str, str] = {}
    for post in compiled:
        if post.spec.id in state.posts or post.spec.id in known or not post.payloads:
            continue
        payloads = {p.account.alias: p.fingerprint for p in post.payloads}
        for old_id in sorted(gone - set(found.values())):
            accounts = state.posts[old_id].accounts
            if accounts and all(
                payloads.get(alias) == record.fingerprint for alias, record in accounts.items()
            ):
                found[post.spec.id] = old_id
                break
    return found


def _prune_everything(actions: list[Action], state: State, present: set[str]) -> list[Diagnostic]:
    """Like Argo CD's `allowEmpty` guard: a plan that discards while not one recorded post is
    left in the repository is refused. That is what a wrong posts_dir or a botched move looks
    like; comparing with the held posts alone would miss it whenever something was published."""
    discarded = {a.post_id for a in actions if a.kind is Kind.DISCARD}
    if discarded and not any(post_id in present for post_id in state.posts):
        return [
            Diagnostic(
                CONFIG_FILE,
                0,
                0,
                Severity.ERROR,
                "prune-everything",
                f"every recorded post is gone from the repository: this plan would discard "
                f"all {len(discarded)} post(s) Orshot still holds for it",
                "if that is intended, discard them in the Orshot dashboard; is posts_dir right?",
            )
        ]
    return []


def _plan(
    state: State,
    head: str | None,
    now: datetime,
    actions: list[Action],
    problems: list[Diagnostic],
    *,
    unchanged: int = 0,
    paused: bool = False,
) -> Plan:
    return Plan(
        head=head,
        base_commit=state.commit,
        # No state file yet (serial 0): its lineage is made up on each load, so a saved plan
        # could never match it. "" says "no state" and matches the next load's.
        state_lineage=state.lineage if state.serial else "",
        state_serial=state.serial,
        created_at=now.isoformat(timespec="seconds"),
        actions=tuple(actions),
        unchanged=unchanged,
        paused=paused,
        diagnostics=tuple(sorted(set(problems))),
    )


def refuse_uncommitted_inputs(root: Path, git: GitRepo, why: str) -> None:
    """Raise UserError when a post, a template or orshot.yaml differs from HEAD.

    What apply sends, and what a saved plan holds, must be what a commit holds: the review
    was of commits. The directories are the configuration's own (`posts_dir`,
    `templates_dir`), not the defaults: a repository that moved its posts moved the risk too.
    Untracked files count (a new post file is the commonest uncommitted input), and so do
    ignored ones: discovery reads the disk, and no commit holds them.
    """
    config, _ = load_config(root)
    posts_dir = config.posts_dir if config else "posts"
    templates_dir = config.templates_dir if config else "templates"
    # A render preview is an input too: apply publishes the URLs it holds; and so is the
    # data file of a batch.
    data_paths = find_batches(root, git, config).data_paths if config else ()
    under = (CONFIG_FILE, posts_dir + "/", templates_dir + "/", RENDERS_DIR + "/", *data_paths)
    dirty = [
        path
        for path in git.dirty_paths(under, ignored=True)
        if path.startswith(RENDERS_DIR + "/")
        or (path != STATE_PATH and not path.startswith(STATE_DIR + "/"))
    ]
    if dirty:
        more = f" (and {len(dirty) - 1} more)" if len(dirty) > 1 else ""
        raise UserError(
            f"{dirty[0]} has uncommitted changes{more}",
            hint=f"{why}: commit or stash first",
            code="uncommitted",
        )


def _known_since(root: Path, git: GitRepo, since: str) -> Iterator[Collection[str]]:
    """The post ids of the states committed since `since`, lazily (read from git only when
    the plan has a post the state does not know): a v2 state's record files deleted by a
    commit since (on any side of a merge), and the posts of each v1 state file committed
    since that differs from the one checked out."""
    from orshot_gitops.state.layout import post_id_of

    deleted = git.deleted_since(since, POSTS_DIR)
    yield {post_id for path in deleted if (post_id := post_id_of(path)) is not None}
    try:
        current = (root / STATE_PATH).read_text(encoding="utf-8")
    except OSError:
        current = ""
    yield from (known_by(text) for text in git.versions_since(since, STATE_PATH) if text != current)
