"""Claims, not windows (DESIGN.md): which run may act on a (post, account), and keeping it so.

Time is no lock. A run claims every (post, account) it will act on by writing its own run id
into the record's intent, and with `--push` by pushing that intent before the first request
(runner.py); settling another run's leftovers is claimed the same way. A live run pushes a
heartbeat, and another run may take a claim over only once the owner's heartbeat is older than
the settle window. Before it sends, a run re-checks that its claims are still its own (a fetch
every few sends or every minute, and always before a publish); one that lost a claim stops
touching that (post, account) and reports it, and the run that took it over records the truth.

Without `--push` nothing is shared: the local lock in runner.py keeps two runs out of one
checkout, and claims and heartbeats are only written to the local state file.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Protocol

from orshot_gitops.crashpoints import crash_point
from orshot_gitops.errors import UserError
from orshot_gitops.orshot.client import ApiError
from orshot_gitops.reconcile.plan import Action
from orshot_gitops.reconcile.recorder import Recorder
from orshot_gitops.reconcile.snapshots import state_at
from orshot_gitops.state.merge import merge_states
from orshot_gitops.state.model import STATE_PATHS, AccountState, State
from orshot_gitops.state.store import load_state
from orshot_gitops.vcs.gitrepo import GitRepo

MAX_PUSH_RACES = 5
CHECK_EVERY_SENDS = 10
"""A run re-reads the remote's claims at least this often (in requests that create posts)."""
CHECK_EVERY = timedelta(minutes=1)
"""...and at least this often in time: a run that was frozen re-checks at its next step."""

Pair = tuple[str, str]


def new_run_id() -> str:
    """A random id, so two runs started in the same second never write the same commit."""
    return secrets.token_hex(8)


def owner_is_live(
    state: State,
    record: AccountState,
    now: datetime,
    settle_after: timedelta,
    dead: frozenset[str] = frozenset(),
) -> bool:
    """Whether the run that wrote `record`'s intent may still be acting on it: its heartbeat
    (or, for a record written before claims existed, the attempt itself) is younger than
    `settle_after`. `dead`: runs known to have ended (the last holder of this checkout's local
    lock, which it gave up by ending). Even then only a step on a post with an id is free at
    once: a dead run's create may still be in flight to Orshot and land later, but a request
    by id is guarded (a second publish answers 400, an edit sets the same fields)."""
    if settle_after <= timedelta(0):
        return False  # told to wait for no one (a stamp from a clock ahead of ours included)
    if record.run is not None and record.run in state.ended:
        # It ended normally, after settling its own lost answers: nothing of it is in flight.
        # Only a run that died leaves work for the window (a create it sent may still land).
        return False
    if record.run is not None and record.run in dead and record.post_id is not None:
        return False
    stamp = state.heartbeats.get(record.run) if record.run else None
    stamp = stamp or record.last_attempt_at
    return stamp is not None and now - _instant(stamp) < settle_after


def heartbeat_interval(settle_after: timedelta) -> timedelta | None:
    """How often a live run says so: three beats per settle window, so one lost push never
    makes it look dead. None when the window is zero (nobody waits on heartbeats then)."""
    return settle_after / 3 if settle_after > timedelta(0) else None


@dataclass(frozen=True)
class PushTarget:
    remote: str
    branch: str | None


class ClaimKeeper:
    """One run's claims: it saves the state for the applier (pushing a heartbeat when one is
    due), and answers which of the run's claims another run has taken over meanwhile."""

    def __init__(
        self,
        root_state_writer: Callable[[State], State],
        git: GitRepo,
        run_id: str,
        now: Callable[[], datetime],
        settle_after: timedelta,
        push: PushTarget | None,
        progress: Callable[[str], None] = lambda message: None,
        dead: frozenset[str] = frozenset(),
    ) -> None:
        self._write = root_state_writer
        self.git = git
        self.run_id = run_id
        self.now = now
        self.settle_after = settle_after
        self.push = push
        self.progress = progress
        self.dead = dead
        """Runs known to have ended without finishing (see `owner_is_live`)."""
        self.pushed: State | None = None
        """The state as last pushed by this run: the base of every merge."""
        self._remote_head: str | None = None
        self._remote_state: State | None = None
        self._checked_at: datetime | None = None
        self._sends = 0
        self._beat_at: datetime | None = None

    # --- the start and the end ---------------------------------------------------------------

    def pushed_intents(self, state: State) -> None:
        """Our intents reached the remote as `state`, at our HEAD."""
        self.pushed = state
        self._remote_state = state
        self._remote_head = self.git.head_commit()
        self._checked_at = self._beat_at = self.now()

    def begin_locally(self, state: State) -> State:
        """Without --push: the heartbeat goes into the local file only (another run in this
        checkout is kept out by the local lock, but a crash leaves the beat behind)."""
        self._beat_at = self.now()
        return self._write(state.with_heartbeat(self.run_id, _stamp(self._beat_at)))

    def end(self, state: State) -> State:
        """The run is over: its heartbeat goes, and it says it ended (`State.ended`): what it
        left open is settled by the next run at once. Its claims stay as a record of who did
        what. Beats of runs known to be over, or silent past the window, go too: a run killed
        before its end leaves one, and no one else would ever remove it. Without the beat (and
        no end written), `owner_is_live` asks the record's own attempt time, stamped just
        before its request left: a killed run's request still in flight stays covered."""
        now = self.now()
        for run, beat in state.heartbeats.items():
            if run == self.run_id or run in self.dead or now - _instant(beat) >= self.settle_after:
                state = state.with_heartbeat(run, None)
        return state.with_ended(self.run_id, _stamp(now))

    # --- saving, with heartbeats ----------------------------------------------------------

    def save(self, state: State) -> State:
        interval = heartbeat_interval(self.settle_after)
        now = self.now()
        if interval is None or self._beat_at is None or now - self._beat_at < interval:
            return self._write(state)
        self._beat_at = now
        state = self._write(state.with_heartbeat(self.run_id, _stamp(now)))
        if self.push is None or self.pushed is None:
            return state
        try:
            merged, _ = push_state(
                self.git,
                self._write,
                state,
                self.pushed,
                f"orshot: run {self.run_id} is under way [skip ci]",
                self.push,
            )
        except UserError as error:
            # The claims are re-checked before every publish: a missed beat costs at most a
            # takeover that this run then notices and reports.
            self.progress(f"could not push a heartbeat: {error.message}")
            return state
        self.pushed = self._remote_state = merged
        self._remote_head = self.git.head_commit()
        self._checked_at = now
        return merged

    # --- is it still ours? -----------------------------------------------------------------

    def owner_is_live(self, state: State, record: AccountState) -> bool:
        return owner_is_live(state, record, self.now(), self.settle_after, self.dead)

    def lost(self, pairs: Iterable[Pair], *, before_publish: bool) -> dict[Pair, str]:
        """The pairs among `pairs` whose claim another run holds now, with why. Fetches when
        a check is due (always `before_publish`); without --push nothing is ever lost."""
        pairs = list(pairs)
        if self.push is None:
            return {}
        self._sends += 1
        now = self.now()
        due = (
            before_publish
            or self._sends >= CHECK_EVERY_SENDS
            or self._checked_at is None
            or now - self._checked_at >= CHECK_EVERY
        )
        if due:
            self._sends = 0
            self._checked_at = now
            try:
                self._refresh()
            except UserError as error:
                # Unconfirmed is not ours: fail closed, the next run settles what is left.
                return {pair: f"could not confirm the claim: {error.message}" for pair in pairs}
        remote = self._remote_state
        if remote is None:
            return {}
        taken: dict[Pair, str] = {}
        for post_id, account in pairs:
            record = remote.account(post_id, account)
            if record is not None and record.run is not None and record.run != self.run_id:
                taken[(post_id, account)] = (
                    f"run {record.run} took this over while this run was slow or frozen; "
                    "that run records the result"
                )
        return taken

    def remote_record(self, pair: Pair) -> AccountState | None:
        """The record of `pair` as the remote had it at the last check."""
        return self._remote_state.account(*pair) if self._remote_state else None

    def _refresh(self) -> None:
        assert self.push is not None
        self.git.fetch(self.push.remote, self.push.branch)
        head = self.git.remote_head(self.push.remote, self.push.branch)
        if head is None or head == self._remote_head:
            return  # nobody pushed since we last looked
        self._remote_state = state_at(self.git, head)
        self._remote_head = head


def claim_settle(
    state: State,
    record: AccountState,
    run_id: str,
    now: datetime,
    settle_after: timedelta,
    dead: frozenset[str] = frozenset(),
) -> AccountState | None:
    """`record` claimed by `run_id` for settling, or None while its owner may still be at it."""
    if record.run == run_id:
        return record
    if owner_is_live(state, record, now, settle_after, dead):
        return None
    return replace(record, run=run_id)


def push_state(
    git: GitRepo,
    write: Callable[[State], State],
    state: State,
    base: State,
    message: str,
    target: PushTarget,
    *,
    crash_at: str | None = None,
) -> tuple[State, str | None]:
    """Commit `state` and push it; when another run pushed first, merge entry by entry
    (`merge_states`, `base` being what we pushed last) on top of theirs, and push again.
    Returns the state as pushed and its commit. "[remote rejected] (failed to update ref)"
    is such a race too (gitrepo.push)."""
    git.commit_paths(STATE_PATHS, message)
    for _ in range(MAX_PUSH_RACES):
        if crash_at is not None:
            crash_point(crash_at)
        result = git.push(target.remote, target.branch)
        if not result.rejected:
            return state, git.head_commit()
        git.fetch(target.remote, target.branch)
        remote = git.remote_head(target.remote, target.branch)
        assert remote is not None
        theirs = state_at(git, remote, whole=True) or base
        merged = merge_states(base, state, theirs)
        git.reset_hard(remote)
        # Past both sides' serials: our own commit, reset away just now, stays in the reflog,
        # and a lower serial here would read as a state that went backwards (history.py).
        state = write(replace(merged, serial=max(merged.serial, load_state(git.root).serial)))
        git.commit_paths(STATE_PATHS, message)
    raise UserError(
        "could not push the results: other runs kept pushing first",
        hint="the results are committed locally; push them by hand (git push) — never re-run blindly",
    )


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Claims(Protocol):
    """This run's claims (claims.ClaimKeeper): its id, and which of them another run holds."""

    run_id: str

    def lost(
        self, pairs: Iterable[tuple[str, str]], *, before_publish: bool
    ) -> dict[tuple[str, str], str]: ...

    def remote_record(self, pair: tuple[str, str]) -> AccountState | None: ...

    def owner_is_live(self, state: State, record: AccountState) -> bool: ...


_FIELDS = fields(AccountState)


class ClaimChecks(Recorder):
    """The part of `Applier` that keeps to its claims: it leaves a live run's work alone,
    and stands down where another run took a (post, account) over."""

    if TYPE_CHECKING:  # provided by Applier
        claims: Claims | None
        settle_after: timedelta
        _drafted_here: set[int]

    def _owned_by_a_live_run(self, actions: Sequence[Action]) -> bool:
        """Another run claimed these and its heartbeat is fresh: it may be acting on them right
        now (creating the post, publishing it), so leave them alone and say so. Claimed by this
        run at its start (runner.mark_intents): ours to settle."""
        for action in actions:
            record = self.state.account(action.post_id, action.account)
            if record is None or (record.run is not None and record.run == self.run_id):
                continue
            if self.claims is not None:
                live = self.claims.owner_is_live(self.state, record)
            else:
                live = owner_is_live(self.state, record, self.now(), self.settle_after)
            if live:
                beat = self.state.heartbeats.get(record.run or "") or record.last_attempt_at
                who = f"run {record.run}" if record.run else "a run"
                for each in actions:
                    self._outcome(
                        each,
                        "skipped",
                        error=f"{who}, alive at {beat}, may still be working on this post; settled "
                        f"once it is silent for {int(self.settle_after.total_seconds())} s",
                    )
                return True
        return False

    def _still_claimed(
        self, actions: Sequence[Action], *, shared: int | None = None, before_publish: bool = False
    ) -> list[Action]:
        """The actions whose claim is still this run's. For the others another run took over
        (this one was slow or frozen): take that run's record, report, send nothing.

        `shared`: the Orshot post all of `actions` act on (a publish, an edit, a discard). One
        request acts for the whole group, so if any claim is lost none of it is sent; the
        others stay as recorded for the next run to settle by id. `before_publish`: always
        ask the remote, not only every few sends."""
        if self.claims is None:
            return list(actions)
        pairs = [(a.post_id, a.account) for a in actions]
        lost = self.claims.lost(pairs, before_publish=before_publish or shared is not None)
        if not lost:
            return list(actions)
        theirs: list[AccountState | None] = []
        for action in actions:
            reason = lost.get((action.post_id, action.account))
            if reason is None:
                if shared is not None:
                    self._outcome(
                        action,
                        "skipped",
                        error=f"not sent: Orshot post {shared} is shared with accounts another "
                        "run took over; the next run settles it by id",
                        orshot_post_id=shared,
                    )
                continue
            record = self.claims.remote_record((action.post_id, action.account))
            theirs.append(record)
            if record is not None:
                self._record(action, **{f.name: getattr(record, f.name) for f in _FIELDS})
            self._outcome(action, "skipped", error=reason)
        self.save()
        if (
            shared is not None
            and shared in self._drafted_here
            and len(theirs) == len(actions)
            and _held_elsewhere(theirs, shared)
        ):
            # A draft this run just made, that nobody owns: the run that took over holds its
            # own post for every account of it. Discard ours, or it is a stray draft.
            with contextlib.suppress(ApiError):
                self.client.discard_post(shared)
        if shared is not None:
            return []
        return [a for a in actions if (a.post_id, a.account) not in lost]


def _held_elsewhere(records: Sequence[AccountState | None], draft: int) -> bool:
    """Every record names a post Orshot holds for it, and none is `draft`."""
    return all(
        r is not None and r.status.holds_post and r.post_id is not None and r.post_id != draft
        for r in records
    )
