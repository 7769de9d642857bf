"""One `apply` run end to end: plan, lock, send, record in git (and push, with `--push`).

With `--push` git itself is the lock between runs (DESIGN.md): the intents are committed and
pushed before the first request; a rejected push means another run got there first, so we
drop our commit, take theirs, and plan again. Results are pushed the same way, merging
state entry by entry (`merge_states`) when someone else pushed meanwhile.

Each run has its own id (claims.py): its intents carry it, so its intent commit is unique
and a push that answers "up to date" was not ours to win; settling another run's leftovers
is claimed the same way, and only once that run's heartbeat is stale.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from orshot_gitops.errors import UserError
from orshot_gitops.orshot.client import ApiError, AuthError, OrshotClient
from orshot_gitops.reconcile.approvals import ReviewLookup, awaiting, awaiting_note, gate
from orshot_gitops.reconcile.claims import (
    MAX_PUSH_RACES,
    ClaimKeeper,
    PushTarget,
    claim_settle,
    new_run_id,
    push_state,
)
from orshot_gitops.reconcile.failures import refused_before_sending
from orshot_gitops.reconcile.health import hold_for_reconnect
from orshot_gitops.reconcile.history import REBUILD_HINT, found_in_posts_log, intent_message
from orshot_gitops.reconcile.holdpoint import hold_point
from orshot_gitops.reconcile.plan import Kind, Plan
from orshot_gitops.reconcile.planner import inputs_changed, make_plan, refuse_uncommitted_inputs
from orshot_gitops.reconcile.readback import fired_entries, read_back
from orshot_gitops.reconcile.recorder import Outcome
from orshot_gitops.reconcile.recording import Recording, record_state
from orshot_gitops.reconcile.savedplan import saved_plan
from orshot_gitops.reconcile.send import Applier
from orshot_gitops.reconcile.snapshots import load_checked
from orshot_gitops.state.model import STATE_PATH, STATE_PATHS, AccountStatus, State, Step
from orshot_gitops.state.previews import load_previews
from orshot_gitops.state.store import write_state
from orshot_gitops.vcs.gitrepo import GitRepo
from orshot_gitops.vcs.messages import commit_message


@dataclass(frozen=True)
class ApplyReport:
    plan: Plan
    outcomes: tuple[Outcome, ...]
    commit: str | None
    pushed: bool
    note: str = ""

    @property
    def ok(self) -> bool:
        return (
            not self.plan.errors
            and all(o.ok for o in self.outcomes)
            and not any(a.severity == "error" for a in self.plan.actions)
        )

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(o.status for o in self.outcomes).items()))


@dataclass(frozen=True)
class ApplyOptions:
    push: bool = False
    remote: str = "origin"
    plan_file: Path | None = None
    settle_after: timedelta = timedelta(minutes=15)
    commit: bool = True
    run_id: str | None = None  # None: a new random one (tests may fix it)
    overwrite_drift: bool = False  # send the file's version over posts changed in Orshot
    reviews: ReviewLookup | None = None  # GitHub's reviews for approvals:; None: no GitHub


@contextlib.contextmanager
def _local_lock(git: GitRepo, run_id: str) -> Iterator[frozenset[str]]:
    """Two applies in one checkout would both write the state file: refuse the second.

    The lock file names its holder. Taking it over, we learn the id of the last run in this
    checkout: it is over (a live one would still hold the lock), so its claims need no
    waiting for its heartbeat to go stale. Yields that id, if any."""
    # The work tree's .git, not the content root's: a brand in a subfolder has none, and went
    # unlocked. One lock per checkout: its brands share one index and one branch.
    path = git.toplevel / ".git" / "orshot-apply.lock"
    if not path.parent.is_dir():  # a worktree or submodule: .git is a file; no local lock
        yield frozenset()
        return
    # "a+", not "w": opening must not wipe the holder's id before we know we hold the lock.
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                "another orshot-gitops apply is running in this repository",
                hint="wait for it to finish; two runs must never send at once",
            ) from None
        try:
            handle.seek(0)
            previous = handle.read().strip()
            handle.seek(0)
            handle.truncate()
            handle.write(run_id)
            handle.flush()
            yield frozenset({previous}) if previous and previous != run_id else frozenset()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_apply(
    root: Path,
    git: GitRepo,
    client_factory: Callable[[], OrshotClient],
    now: Callable[[], datetime],
    options: ApplyOptions,
    *,
    progress: Callable[[str], None] = lambda message: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> ApplyReport:
    refuse_uncommitted_inputs(root, git, "apply publishes what is committed, as reviewed")
    run_id = options.run_id or new_run_id()
    with _local_lock(git, run_id) as dead:
        branch = git.current_branch() if options.push else None
        if options.push:
            git.fetch(options.remote, branch)
            remote = git.remote_head(options.remote, branch)
            if remote and remote != git.head_commit() and not git.fast_forward(remote):
                raise UserError(
                    f"this checkout has diverged from {options.remote}/{branch}",
                    hint="apply --push runs on the tip of the branch: pull or re-run the job",
                )
        # A saved plan was made on a commit and a state: a read-back commit first would make
        # it refused (HEAD and the serial moved). Its fired posts are read back after it.
        saved = options.plan_file is not None
        checked = (
            None if saved else _read_back_fired(root, git, client_factory, now(), options, progress)
        )
        report = _plan_and_send(
            root,
            git,
            client_factory,
            now,
            options,
            progress,
            should_stop,
            run_id,
            dead,
            branch,
            checked,
        )
        if saved:
            try:
                _read_back_fired(root, git, client_factory, now(), options, progress)
            except UserError as error:
                # The plan is applied and recorded; only a record is missed: the next run reads them.
                progress(f"could not read back the posts that fired: {error.message}")
        return report


def _plan_and_send(
    root: Path,
    git: GitRepo,
    client_factory: Callable[[], OrshotClient],
    now: Callable[[], datetime],
    options: ApplyOptions,
    progress: Callable[[str], None],
    should_stop: Callable[[], bool],
    run_id: str,
    dead: frozenset[str],
    branch: str | None,
    checked: frozenset[int] | None,
) -> ApplyReport:
    """One apply inside the lock: plan, mark, send, record."""
    # Read (and checked) before anything is marked: a bad preview file stops the run here.
    previews = load_previews(root)
    keeper = ClaimKeeper(
        lambda s: write_state(root, s),
        git,
        run_id,
        now,
        options.settle_after,
        PushTarget(options.remote, branch) if options.push else None,
        progress,
        dead,
    )
    plan, state, unmarked = _plan_and_mark(
        root, git, now, options, branch, keeper, client_factory, checked
    )
    if plan.errors or not plan.has_changes:
        return _finish_without_sending(root, git, plan, state, options, branch)
    # Paused, apply carries out the pause alone (pause.py); the rest waits, as shown.
    to_send = replace(plan, actions=plan.sending) if plan.paused else plan
    if not options.push:
        state = keeper.begin_locally(state)
    marked_state = state
    # A plan of renames alone needs no key and no network.
    client = client_factory() if plan.sending else None
    with contextlib.ExitStack() as stack:
        if client is not None:
            stack.enter_context(client)
        applier = Applier(
            client,
            to_send,
            state,
            keeper.save,
            now,
            progress=progress,
            should_stop=should_stop,
            settle_after=options.settle_after,
            claims=keeper,
            unmarked=unmarked,
            previews=previews,
        )
        outcomes = applier.run()
    final = keeper.end(applier.state)
    # Paused, what the plan would send is not sent: the next diff must still find it.
    if (
        plan.head is not None
        and not plan.errors
        and not plan.holds_back
        and not plan.paused
        and not applier.unrecorded
    ):
        final = final.with_commit(plan.head)
    elif plan.holds_back and not plan.errors and not plan.paused and not applier.unrecorded:
        final = final.with_commit(hold_point(plan, git, final.commit))  # holdpoint.py
    if not plan.errors and not plan.paused:  # paused, the holds are not looked at
        final = final.with_awaiting(awaiting(plan))
    final = write_state(root, final)
    base = keeper.pushed or marked_state
    commit, pushed = _record(root, git, final, base, outcomes, options, branch)
    return ApplyReport(plan, tuple(outcomes), commit, pushed)


def _read_back_fired(
    root: Path,
    git: GitRepo,
    client_factory: Callable[[], OrshotClient],
    now: datetime,
    options: ApplyOptions,
    progress: Callable[[str], None],
) -> frozenset[int] | None:
    """Before planning: the scheduled posts whose time has passed went out (or failed) in
    Orshot, not in a run of ours. Read them back and record them in a commit of their own,
    so the state never says "scheduled" of a post that has fired, whatever the plan does.

    The key is checked first (`_check_key`): a wrong key stops the run here, with nothing
    read, recorded or committed. Returns that check's answer (the accounts needing a
    reconnect), or None when nothing had fired and the key was not checked yet."""
    state = load_checked(git)
    fired = fired_entries(state, now)
    if not fired:
        return None
    unhealthy = _check_key(client_factory)
    try:
        with client_factory() as client:
            updated, drifts = read_back(state, client, fired)
    except (ApiError, UserError) as error:
        # Only a record is missed: they stay "scheduled" and the next run reads them again.
        progress(f"could not read back the posts that fired: {error.message}")
        return unhealthy
    if updated is state:
        return unhealthy
    lines = [f"{d.post} → {d.account}: {d.recorded} → {d.orshot}" for d in drifts]
    message = commit_message(f"orshot: read back {len(lines)} fired post(s) [skip ci]", lines)
    record_state(
        root,
        git,
        updated,
        state,
        message,
        Recording(commit=options.commit, push=options.push, remote=options.remote),
    )
    for line in lines:
        progress(f"fired: {line}")
    return unhealthy


def _plan_and_mark(
    root: Path,
    git: GitRepo,
    now: Callable[[], datetime],
    options: ApplyOptions,
    branch: str | None,
    keeper: ClaimKeeper,
    client_factory: Callable[[], OrshotClient],
    checked: frozenset[int] | None = None,
) -> tuple[Plan, State, State]:
    """Plan, check the key (unless `checked` already holds its answer), and with --push
    mark and push the intents; posts to accounts needing a reconnect are held (health.py).
    Returns the plan, the state it runs on, and the state before this run's marks."""
    for _ in range(MAX_PUSH_RACES):
        # refuse_uncommitted_inputs ran first, and a lost push race resets to the remote.
        plan, config, state = make_plan(
            root, git, now(), overwrite_drift=options.overwrite_drift, inputs_clean=True
        )
        if options.plan_file is not None:
            plan = saved_plan(options.plan_file, plan)
        if not plan.errors and plan.sending:
            # Before the key or a mark: a send an approvals: rule holds is not a request.
            plan = gate(plan, git, config, state.commit, options.reviews, now(), keeper.progress)
        # Paused, the pause itself sends (pause.py): the key is checked for it too.
        if not plan.errors and plan.sending:
            unhealthy = checked if checked is not None else _check_key(client_factory)
            # Nothing goes to an account Orshot says needs a reconnect: held, not marked.
            plan = hold_for_reconnect(plan, unhealthy)
        if not plan.errors and not plan.paused:
            _refuse_what_went_out(plan, state, client_factory)
        if not options.push or plan.errors or not plan.sending:
            return plan, state, state
        # Only what is sent is marked: paused, that is the pause alone (the rest waits, and
        # marked it would be settled as if sent). What the applier will refuse to send is
        # not marked either: marked and pushed, its record would say a request is under way
        # that never leaves (the applier restores a mark that turns out refused later in the
        # run, after its own waits).
        marked_at = now()
        sendable = tuple(a for a in plan.sending if not refused_before_sending(a, marked_at))
        marked = mark_intents(
            state,
            replace(plan, actions=sendable),
            now(),
            keeper.run_id,
            options.settle_after,
            keeper.dead,
        )
        marked = write_state(root, marked)
        git.commit_paths(STATE_PATHS, intent_message(plan, keeper.run_id))
        result = git.push(options.remote, branch)
        # "Up to date": the remote already had this very commit. Ours is unique to this run,
        # so it is not ours that is there: count it as lost, like a rejection.
        if not result.rejected and not result.up_to_date:
            keeper.pushed_intents(marked)
            return plan, marked, state
        # Another run pushed first. Nothing was sent for our intents: take theirs, plan again.
        git.fetch(options.remote, branch)
        remote = git.remote_head(options.remote, branch)
        assert remote is not None
        git.reset_hard(remote)
        if options.plan_file is not None:
            raise UserError(
                "the branch moved while applying a saved plan",
                hint="make a new plan: a saved plan is only valid for the commit it was made on",
            )
    raise UserError("other runs kept pushing first", hint="run apply again when they are done")


def _check_key(client_factory: Callable[[], OrshotClient]) -> frozenset[int]:
    """Before anything is written: one cheap authenticated request (the accounts, with their
    health). A wrong or revoked key stops the run here, with one message and nothing recorded
    or committed; a key that worked would otherwise record its refusal on every post, over
    the real errors. Returns the accounts Orshot says need a reconnect."""
    try:
        with client_factory() as client:
            accounts = client.list_accounts(include_health=True)
    except AuthError as error:
        raise AuthError(
            f"Orshot refused the API key: {error.server_message or error.message}",
            status=error.status,
            hint=f"nothing was sent or recorded; {error.hint}",
        ) from None
    except ApiError as error:
        raise UserError(
            f"could not reach Orshot to check the API key: {error.message}",
            hint="nothing was sent or recorded; run apply again",
            code="key-check",
        ) from None
    return frozenset(a.id for a in accounts if a.requires_reconnect)


def _refuse_what_went_out(
    plan: Plan, state: State, client_factory: Callable[[], OrshotClient]
) -> None:
    """Before the first intent: a post the plan would create that Orshot already holds,
    exactly, outside any record, means the state went backwards (a dropped results commit
    that git no longer has). Sending would post it twice; nothing is sent."""
    if not any(a.kind is Kind.CREATE for a in plan.actions):
        return
    try:
        with client_factory() as client:
            found = found_in_posts_log(plan.actions, state, client.list_posts())
    except ApiError as error:
        raise UserError(
            f"could not read Orshot's Posts Log to check the state: {error.message}",
            hint="nothing was sent; run apply again",
            code="state-check",
        ) from None
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise UserError(
            found[0].message() + more, path=STATE_PATH, hint=REBUILD_HINT, code="state-behind"
        )


def mark_intents(
    state: State,
    plan: Plan,
    now: datetime,
    run_id: str,
    settle_after: timedelta = timedelta(minutes=15),
    dead: frozenset[str] = frozenset(),
) -> State:
    """Every request the plan will make, marked pending and claimed by `run_id`: what another
    run must not redo. Another run's leftovers to settle are claimed too, but only once that
    run's heartbeat is stale; a live run's are left to it (the applier reports them)."""
    stamp = now.isoformat(timespec="seconds")
    from orshot_gitops.state.model import AccountState, PostState

    state = state.with_heartbeat(run_id, stamp)
    for action in plan.actions:
        if action.kind is not Kind.SETTLE:
            continue
        current = state.account(action.post_id, action.account)
        claimed = claim_settle(state, current, run_id, now, settle_after, dead) if current else None
        if current is not None and claimed is not None:
            state = state.with_post(
                action.post_id,
                state.posts[action.post_id].with_account(action.account, claimed),
            )

    steps = {
        Kind.CREATE: Step.DRAFT,
        Kind.RETRY: Step.DRAFT,
        Kind.EDIT: Step.PATCH,
        Kind.PUBLISH_DRAFT: Step.PATCH,
        Kind.PAUSE: Step.PATCH,
    }
    steps[Kind.DISCARD] = Step.DISCARD
    for action in plan.actions:
        step = steps.get(action.kind)
        if step is None:
            continue
        post = state.posts.get(action.post_id) or PostState(
            path=action.path, revision=action.revision
        )
        record = post.accounts.get(action.account)
        if record is None or step is Step.DRAFT:
            record = AccountState(
                account_id=action.account_id,
                fingerprint=action.fingerprint or "",
                revision=action.revision,
                status=AccountStatus.PENDING,
                # Attempts count per revision: the applier's intent adds this one.
                attempts=record.attempts if record and record.revision == action.revision else 0,
                first_attempt_at=stamp,
                group=action.group,
                # A new post replaces the one held: that one stays this record's.
                earlier_post_ids=record.owned_post_ids() if record else (),
            )
        record = replace(
            record, status=AccountStatus.PENDING, step=step, last_attempt_at=stamp, run=run_id
        )
        state = state.with_post(action.post_id, post.with_account(action.account, record))
    return state


def _finish_without_sending(
    root: Path, git: GitRepo, plan: Plan, state: State, options: ApplyOptions, branch: str | None
) -> ApplyReport:
    note = ""
    held = awaiting(plan)
    if not plan.errors and not plan.paused and held != state.awaiting_approval:
        # Nothing sent, yet what waits for an approval changed: the state says so (status).
        final = write_state(root, state.with_awaiting(held))
        commit, pushed = _record(root, git, final, state, [], options, branch)
        return ApplyReport(plan, (), commit, pushed, awaiting_note(held))
    if plan.errors:
        note = "nothing was sent: fix the errors above"
    elif plan.paused:
        note = "paused (orshot.yaml paused: true): nothing was sent"
    elif (
        not plan.sending
        and not plan.holds_back
        and plan.head
        and state.commit != plan.head
        and inputs_changed(root, git, state.commit, plan.head)
    ):
        # Nothing to send: remember how far we looked, so the next diff starts here.
        final = write_state(root, state.with_commit(plan.head))
        commit, pushed = _record(root, git, final, state, [], options, branch)
        return ApplyReport(plan, (), commit, pushed, "nothing to send")
    return ApplyReport(plan, (), None, False, note or awaiting_note(held) or "nothing to send")


def _record(
    root: Path,
    git: GitRepo,
    final: State,
    base: State,
    outcomes: list[Outcome],
    options: ApplyOptions,
    branch: str | None,
) -> tuple[str | None, bool]:
    if not options.commit:
        return None, False
    message = results_message(outcomes)
    if not options.push:
        return git.commit_paths(STATE_PATHS, message), False
    # Someone may push meanwhile (a merge, another run): the states merge entry by entry.
    _, commit = push_state(
        git,
        lambda s: write_state(root, s),
        final,
        base,
        message,
        PushTarget(options.remote, branch),
        crash_at="before-push",
    )
    return commit, True


def results_message(outcomes: list[Outcome]) -> str:
    """The counts, then the outcomes, those that went wrong first: with thousands of them the
    message shows only the first lines (vcs/messages.py), and a failure must not hide."""
    counts = Counter(o.status for o in outcomes)
    title = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "state updated"
    lines = []
    for o in sorted(outcomes, key=lambda o: (o.ok, o.post_id, o.account)):
        detail = o.url or o.error or ""
        lines.append(
            f"{o.status:<10} {o.post_id} → {o.account}" + (f"  {detail}" if detail else "")
        )
    return commit_message(f"orshot: {title} [skip ci]", lines)


def outcomes_json(report: ApplyReport) -> Mapping[str, object]:
    return {
        "ok": report.ok,
        "commit": report.commit,
        "pushed": report.pushed,
        "note": report.note,
        "counts": report.counts(),
        "needs_reconnect": [
            {"account": account, "posts_held": n}
            for account, n in report.plan.reconnect_holds.items()
        ],
        "awaiting_approval": awaiting(report.plan),
        "outcomes": [
            {
                "post": o.post_id,
                "account": o.account,
                "action": o.kind.value,
                "status": o.status,
                "url": o.url,
                "error": o.error,
                "orshot_post_id": o.orshot_post_id,
            }
            for o in sorted(report.outcomes, key=lambda o: (o.post_id, o.account))
        ],
    }
