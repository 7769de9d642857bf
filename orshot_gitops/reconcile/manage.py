"""The state by hand: `status` (read it), `adopt` (record posts sent by other means),
`resolve` (settle an unknown outcome a person checked), `refresh` (compare with Orshot).

All of them change the state only through `write_state`, never send a post, and say exactly
what they changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from orshot_gitops.content.compile import CompiledPost
from orshot_gitops.content.load import discover_posts, load_config, load_posts, post_id_for
from orshot_gitops.content.recurrence import occurrence_of
from orshot_gitops.content.recurrence_checks import expand_all
from orshot_gitops.errors import Severity, UserError
from orshot_gitops.orshot.client import OrshotClient, Post
from orshot_gitops.reconcile.drift import record_drift
from orshot_gitops.reconcile.failures import failure_of
from orshot_gitops.reconcile.queueplan import as_recorded
from orshot_gitops.reconcile.readback import Drift, held_entries, read_back
from orshot_gitops.state.model import AccountState, AccountStatus, PostState, State, Step


@dataclass(frozen=True)
class Row:
    """One line of `status`: a (post, account) record, flattened for display."""

    post: str
    account: str
    status: str
    when: str | None
    url: str | None
    error: str | None
    action: str | None
    orshot_post_id: int | None
    attempts: int
    # A failed record: "permanent" (waits for a change to the post, or a reconnect) or
    # "transient" (tried again from `next_try_at`); None otherwise.
    failure: str | None = None
    next_try_at: str | None = None
    drift: str | None = None  # changed in Orshot's dashboard (drift.py), until resolved
    paused_schedule: str | None = None  # taken back to a draft by `paused: true`
    # Held by the last apply until an approvals: rule is met (approvals.py): what it needs.
    awaiting_approval: tuple[str, ...] = ()

    def with_awaiting(self, needs: tuple[str, ...]) -> Row:
        return replace(self, awaiting_approval=tuple(needs))


def status_rows(state: State, statuses: Iterable[str] = ()) -> list[Row]:
    wanted = set(statuses)
    rows = []
    held = state.awaiting_approval
    for post_id, accounts in held.items():
        for key, needs in accounts.items():
            # A new post awaiting approval has no record yet; an edit's record says what
            # Orshot holds, and gets the needs beside it (below).
            if state.account(post_id, key) is None and (
                not wanted or "awaiting-approval" in wanted
            ):
                rows.append(
                    Row(
                        post_id, key, "awaiting-approval", None, None, None, None, None, 0
                    ).with_awaiting(needs)
                )
    for post_id, key, record in state.entries():
        needs = held.get(post_id, {}).get(key, ())
        listed = record.status.value in wanted or (needs and "awaiting-approval" in wanted)
        if wanted and not listed:
            continue
        rows.append(
            Row(
                post=post_id,
                account=key,
                status=record.status.value,
                when=record.scheduled_for or record.last_attempt_at,
                url=record.url,
                error=record.error,
                action=record.action,
                orshot_post_id=record.post_id,
                attempts=record.attempts,
                failure=failure_of(record) if record.status is AccountStatus.FAILED else None,
                next_try_at=record.next_try_at if record.status is AccountStatus.FAILED else None,
                drift=record.drift,
                paused_schedule=record.paused_schedule,
                awaiting_approval=needs,
            )
        )
    return sorted(rows, key=lambda r: (r.post, r.account))


def adopt(
    root: Path, state: State, post_ids: Sequence[str], now: datetime
) -> tuple[State, list[str]]:
    """Record posts as already published, sending nothing: they will never go out again.

    `post_ids` empty means every post in the repository. Posts with errors are refused whole.
    """
    config, problems = load_config(root)
    if config is None:
        raise UserError(problems[0].message, path=problems[0].path, hint=problems[0].hint)
    files, _ = discover_posts(root, config)
    by_id: dict[str, str] = {}
    if post_ids:
        by_id = {f[len(config.posts_dir) + 1 :].rsplit(".", 1)[0]: f for f in files}
        # A batch row (`products/A1`) is adopted through its batch file (content/batches.py),
        # an occurrence (`<file id>@<date>`) through its recurring file (recurrence.py).
        named = {p: _file_of(p, by_id) for p in post_ids}
        missing = [p for p, f in named.items() if f is None]
        if missing:
            raise UserError(
                f"no post {missing[0]!r} in {config.posts_dir}/",
                hint="name posts by their id, e.g. 2026/12/launch",
            )
        files = sorted({f for f in named.values() if f is not None})
    from orshot_gitops.content.validate import check_post_files

    checked = check_post_files(root, config, files, now=now)
    # A file that did not load is not adopted (nor refused); one that loaded and does not
    # compile is refused, and so is a batch whose data file has a problem.
    errors = [
        d
        for d in checked.problems
        if d.severity is Severity.ERROR
        and (d.path in checked.ids_by_file or not d.path.startswith(config.posts_dir + "/"))
    ]
    if errors:
        raise UserError(
            errors[0].message,
            path=errors[0].path,
            line=errors[0].line,
            hint="fix the post first (orshot-gitops validate)",
        )
    made = {post.spec.id for post in checked.compiled}
    made |= {p.spec.occurrence.series for p in checked.compiled if p.spec.occurrence}
    for post_id in post_ids:
        if by_id.get(post_id) is None and post_id not in made:
            raise UserError(
                f"no post {post_id!r}: {named[post_id]} has no such row or date",
                hint="a batch row's id is <file id>/<row id>, an occurrence's <file id>@<date> "
                "up to the horizon ('orshot-gitops plan' lists them)",
            )
    adopted: list[str] = []
    stamp = now.isoformat(timespec="seconds")
    for post in checked.compiled:
        spec = post.spec
        file_id = spec.batch.file_id if spec.batch else spec.id
        series = spec.occurrence.series if spec.occurrence else spec.id
        if post_ids and not {spec.id, file_id, series} & set(post_ids):
            continue
        # A queued post is adopted at no time, as the plan reads a record without one.
        post = as_recorded(post, state)
        record_post = state.posts.get(spec.id) or PostState(path=spec.path, revision=spec.revision)
        for payload in post.payloads:
            if payload.account.alias in record_post.accounts:
                continue  # already recorded: adopt never overwrites what apply wrote
            record_post = record_post.with_account(
                payload.account.alias,
                AccountState(
                    account_id=payload.account.id,
                    fingerprint=payload.fingerprint,
                    revision=spec.revision,
                    status=AccountStatus.PUBLISHED,
                    error="adopted: sent by other means, not through orshot-gitops",
                    last_attempt_at=stamp,
                ),
            )
            adopted.append(f"{spec.id} → {payload.account.alias}")
        state = state.with_post(spec.id, record_post)
    return state, adopted


def _file_of(post_id: str, files_by_id: dict[str, str]) -> str | None:
    """The post file that makes the post `post_id`: its own, its batch's, or its series'."""
    occurrence = occurrence_of(post_id)
    if occurrence is not None:
        post_id = occurrence[0]
    return files_by_id.get(post_id) or _file_of_row(post_id, files_by_id)


def _file_of_row(post_id: str, files_by_id: dict[str, str]) -> str | None:
    """The batch file that makes the post `post_id` (`<file id>/<row id>`), if any."""
    parent = post_id.rpartition("/")[0]
    while parent:
        if parent in files_by_id:
            return files_by_id[parent]
        parent = parent.rpartition("/")[0]
    return None


def resolve(
    state: State, post_id: str, account: str | None, as_status: str, now: datetime
) -> tuple[State, list[str]]:
    """Settle by hand what a run could not: a person checked the platform and says what happened."""
    post = state.posts.get(post_id)
    if post is None:
        raise UserError(
            f"the state has no post {post_id!r}",
            hint="see 'orshot-gitops status' for the posts it records",
        )
    keys = [account] if account else sorted(post.accounts)
    changed = []
    for key in keys:
        record = post.accounts.get(key)
        if record is None:
            raise UserError(
                f"post {post_id!r} has no account {key!r} in the state",
                hint=f"its accounts: {', '.join(sorted(post.accounts))}",
            )
        if not account and not (record.status.needs_work):
            continue
        new_status = AccountStatus(as_status)
        note = f"resolved by hand as {as_status} at {now.isoformat(timespec='seconds')}"
        updated = replace(
            record,
            status=new_status,
            step=None if new_status is AccountStatus.PUBLISHED else record.step or Step.DRAFT,
            error=note,
        )
        post = post.with_account(key, updated)
        changed.append(f"{post_id} → {key}: {record.status.value} → {as_status}")
    if not changed:
        raise UserError(
            f"nothing to resolve for {post_id!r}: no account is pending, unknown or failed",
            hint="name an account with --account to change it anyway",
        )
    return state.with_post(post_id, post), changed


def refresh(
    state: State, client: OrshotClient, root: Path | None = None
) -> tuple[State, list[Drift]]:
    """Read every post Orshot still holds (or is processing) and record what it says now;
    with the repository's `root`, also what was changed there against the files (drift)."""
    seen: dict[int, Post] = {}
    state, drifts = read_back(state, client, held_entries(state), seen)
    if root is None:
        return state, drifts
    # A queued post is compared at the times its records fixed (queueplan.py).
    compiled = [as_recorded(post, state) for post in _compiled(root)]
    state, drifted = record_drift(state, compiled, seen)
    return state, drifts + drifted


def _compiled(root: Path) -> list[CompiledPost]:
    """Every post of the repository that compiles; one with errors is not compared."""
    from orshot_gitops.content.validate import check_posts

    config, problems = load_config(root)
    if config is None:
        raise UserError(problems[0].message, path=problems[0].path, hint=problems[0].hint)
    files, _ = discover_posts(root, config)
    post_problems, compiled = check_posts(root, config, files)
    failed = {d.path for d in post_problems if d.severity is Severity.ERROR}
    return [p for p in compiled if p.spec.path not in failed]


def _post_files(root: Path) -> dict[str, str]:
    """Every post id in the repository and its file."""
    config, problems = load_config(root)
    if config is None:
        raise UserError(problems[0].message, path=problems[0].path, hint=problems[0].hint)
    files, _ = discover_posts(root, config)
    return {post_id_for(f, config.posts_dir): f for f in files}


def _occurrence_files(
    root: Path, files: dict[str, str], post_ids: Iterable[str], now: datetime
) -> dict[str, str]:
    """The post ids among `post_ids` that are occurrences a recurring file of the repository
    has now (`<file id>@<date>`, recurrence.py), each with that file: present posts, which
    no record may be forgotten for or moved from."""
    config, _ = load_config(root)
    found: dict[str, str] = {}
    for post_id in post_ids:
        series = (occurrence_of(post_id) or ("",))[0]
        if config is None or series not in files:
            continue
        specs, _ = load_posts(root, config, [files[series]])
        posts, _, _ = expand_all(specs, config, now)
        if any(post.id == post_id for post in posts):
            found[post_id] = files[series]
    return found


def adopt_move(root: Path, state: State, post_id: str, moved_from: str) -> tuple[State, list[str]]:
    """Record that `post_id` is the recorded post `moved_from`, moved (and maybe edited): its
    records, Orshot post ids included, follow it. Sends nothing; what the plan then says
    is the ordinary rule for that post (live and edited: "changed after publish")."""
    files = _post_files(root)
    files.update(_occurrence_files(root, files, (post_id, moved_from), datetime.now(timezone.utc)))
    if post_id not in files:
        raise UserError(f"no post {post_id!r} in the repository", hint="name it by its id")
    if post_id in state.posts:
        raise UserError(
            f"the state already has a record of {post_id!r}",
            hint="only a post the state does not know can take over another one's record",
        )
    old = state.posts.get(moved_from)
    if old is None:
        raise UserError(
            f"the state has no post {moved_from!r}",
            hint="see 'orshot-gitops status' for the posts it records",
        )
    if moved_from in files:
        raise UserError(
            f"{files[moved_from]} is still in the repository: {moved_from!r} did not move",
            hint="a move leaves no file behind",
        )
    moved = replace(old, path=files[post_id])
    state = state.without_post(moved_from).with_post(post_id, moved)
    return state, [f"{moved_from} → {post_id} ({key})" for key in sorted(moved.accounts)]


def forget_deleted(
    root: Path, state: State, post_id: str, now: datetime
) -> tuple[State, list[str]]:
    """Forget the record of a post whose file was deleted on purpose, so that no new post is
    taken for it moved. Refused while Orshot may still hold it or its outcome is unsettled:
    that record is what keeps a held post from going out twice."""
    post = state.posts.get(post_id)
    if post is None:
        raise UserError(
            f"the state has no post {post_id!r}",
            hint="see 'orshot-gitops status' for the posts it records",
        )
    files = _post_files(root)
    files.update(_occurrence_files(root, files, (post_id,), now))
    if post_id in files:
        raise UserError(
            f"{files[post_id]} is still in the repository: it was not deleted",
            hint="delete the file first, or adopt the post it moved to",
        )
    for key, record in sorted(post.accounts.items()):
        scheduled = record.status is AccountStatus.SCHEDULED and (
            record.scheduled_for is None or datetime.fromisoformat(record.scheduled_for) > now
        )
        if record.status.needs_work or record.status is AccountStatus.DRAFTED or scheduled:
            raise UserError(
                f"{post_id} → {key} is {record.status.value}: Orshot may still hold it",
                hint="settle it first ('orshot-gitops refresh', then apply or resolve), "
                "or discard it with 'prune: true'",
            )
    return state.without_post(post_id), [f"{post_id} → {key}" for key in sorted(post.accounts)]
