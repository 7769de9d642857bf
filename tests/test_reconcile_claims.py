"""Claims, not windows (DESIGN.md): runs that overlap in time never both send one (post,
account). Two runs started in the same second, a push that loses the race at the ref update,
a run frozen past the settle window and a run that is merely slow, each against a bare remote
that stands for GitHub and the sandbox, whose Posts Log is the ground truth.

The interleavings are made deterministic: runs that must overlap run in this process, in
threads, with their own clocks; the sandbox holds a chosen request at the door while the
other run goes ahead (`Gate`), and a push can be made to block until the test lets it go.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import SandboxFactory
from fault_helpers import (
    DRAFT_CREATE,
    FAST,
    Gate,
    Remote,
    apply,
    assert_created_once,
    assert_no_orphan_drafts,
    assert_no_public_duplicates,
    assert_state_parses,
    check_truthful,
    content_remote,
    converge,
    desired_pairs,
    git,
    logged_posts,
    state_at,
)

from orshot_gitops.orshot.client import OrshotClient
from orshot_gitops.reconcile.plan import Kind
from orshot_gitops.reconcile.runner import ApplyOptions, ApplyReport, run_apply
from orshot_gitops.sandbox import SandboxServer
from orshot_gitops.state.model import STATE_PATH, new_state
from orshot_gitops.state.store import dump_state
from orshot_gitops.vcs.gitrepo import GitRepo, PushResult, open_repo

SETTLE = timedelta(minutes=15)
LINEAGE = "0b7c5e4e-2d1a-4e8e-9a3f-6c1d2e3f4a5b"
T0 = datetime(2026, 12, 1, 9, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def gates() -> Iterator[list[Gate]]:
    made: list[Gate] = []
    yield made
    for gate in made:
        gate.close()


class Clock:
    """A clock a test moves by hand; a run's `now`."""

    def __init__(self, start: datetime) -> None:
        self.moment = start
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            return self.moment

    def advance(self, delta: timedelta) -> None:
        with self.lock:
            self.moment += delta


class PushWhenTold(GitRepo):
    """A clone whose first push waits until the test says go: the run has fetched and
    planned, and another run pushes meanwhile."""

    def __init__(self, repo: GitRepo, go: threading.Event) -> None:
        super().__init__(repo.toplevel, repo.prefix)
        self.go = go
        self.at_push = threading.Event()
        self.pushes: list[PushResult] = []

    def push(self, remote: str = "origin", branch: str | None = None) -> PushResult:
        if not self.pushes:
            self.at_push.set()
            assert self.go.wait(60)
        result = super().push(remote, branch)
        self.pushes.append(result)
        return result


def client_for(server: SandboxServer) -> Callable[[], OrshotClient]:
    def make() -> OrshotClient:
        return OrshotClient(server.base_url, server.api_key, backoff_base=0.002, backoff_cap=0.01)

    return make


def run_in_process(
    repo: Path,
    server: SandboxServer,
    now: Callable[[], datetime],
    *,
    git_repo: GitRepo | None = None,
    settle_after: timedelta = SETTLE,
) -> ApplyReport:
    with git_repo or open_repo(repo) as opened:
        return run_apply(
            repo,
            opened,
            client_for(server),
            now,
            ApplyOptions(push=True, settle_after=settle_after),
        )


class Background:
    """A run in a thread: its report, or what it raised."""

    def __init__(self, target: Callable[[], ApplyReport]) -> None:
        self.report: ApplyReport | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(target,), daemon=True)
        self.thread.start()

    def _run(self, target: Callable[[], ApplyReport]) -> None:
        try:
            self.report = target()
        except BaseException as exc:  # reported by join()
            self.error = exc

    def join(self) -> ApplyReport:
        self.thread.join(60)
        assert not self.thread.is_alive(), "the run never finished"
        if self.error is not None:
            raise self.error
        assert self.report is not None
        return self.report


def statuses(report: ApplyReport) -> dict[tuple[str, str], str]:
    return {(o.post_id, o.account): o.status for o in report.outcomes}


def assert_settled_once(remote_repo: Path, server: SandboxServer) -> None:
    """A fresh clone converges, and everything asked for went out exactly once."""
    converge(remote_repo, server, "--push")
    state = assert_state_parses(remote_repo)
    assert_no_public_duplicates(server)
    assert_no_orphan_drafts(server, state)
    check_truthful(server, state, desired_pairs(remote_repo), settled=True)


# --- item 8: every intent commit is unique to its run --------------------------------------


def seed_state(remote: Remote) -> None:
    """A repository that has been applied before: a state file, so every clone reads the same
    lineage and serial (the very first state's lineage is random)."""
    setup = remote.clone("setup")
    (setup / STATE_PATH).parent.mkdir(parents=True, exist_ok=True)
    (setup / STATE_PATH).write_text(dump_state(new_state(LINEAGE)), encoding="utf-8")
    git(setup, "add", STATE_PATH)
    git(setup, "commit", "--quiet", "-m", "state")
    git(setup, "push", "--quiet", "origin", "HEAD:main")


def test_two_runs_started_in_the_same_second_never_both_publish(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    gates: list[Gate],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Same clock, same author, same parent, same dates: before run ids, the two intent
    commits were byte-identical, the second push answered "up to date", and both runs sent
    everything."""
    for name in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"):
        monkeypatch.setenv(name, "2026-12-01T09:00:00+00:00")
    server = sandbox_factory(FAST)
    gate = Gate(server)
    gates.append(gate)
    first_create = gate.hold(DRAFT_CREATE)  # the first run's, once its intents are pushed
    remote = content_remote(tmp_path)
    seed_state(remote)
    first_clone, second_clone = remote.clone("first"), remote.clone("second")
    same_second = Clock(T0)

    go = threading.Event()
    second_git = PushWhenTold(open_repo(second_clone), go)
    second = Background(
        lambda: run_in_process(second_clone, server, same_second, git_repo=second_git)
    )
    assert second_git.at_push.wait(60)  # the second run fetched and planned: it is at its push
    first = Background(lambda: run_in_process(first_clone, server, same_second))
    assert first_create.arrived.wait(60)  # the first run's intents are on the remote
    go.set()
    second_report = second.join()
    first_create.release.set()
    first_report = first.join()

    assert_no_public_duplicates(server)
    assert second_git.pushes[0].rejected, second_git.pushes[0]
    assert_created_once(server)
    assert first_report.ok, first_report.counts()
    # The second run found the first one's claims, live, and sent none of them.
    assert set(statuses(second_report).values()) <= {"skipped"}
    assert_settled_once(remote.clone("after"), server)


RACE_HOOK = """#!/bin/sh
# Stands for a second run whose push reaches GitHub while ours is being applied: the ref moves
# under our update, which git reports as "[remote rejected] (failed to update ref)".
if [ "$1" = refs/heads/main ] && [ ! -e race-done ]; then
  count=$(cat push-count 2>/dev/null || echo 0)
  count=$((count + 1))
  echo "$count" > push-count
  if [ "$count" -ge "$RACE_ON_PUSH" ]; then
    touch race-done
    git update-ref refs/heads/main "$(git rev-parse refs/heads/rival)"
  fi
fi
exit 0
"""


@pytest.mark.parametrize("race_on_push", [1, 2], ids=["intents", "results"])
def test_a_push_that_loses_at_the_ref_update_is_a_lost_race_not_fatal(
    tmp_path: Path, sandbox_factory: SandboxFactory, race_on_push: int
) -> None:
    """Before: "[remote rejected] (failed to update ref)" was fatal; for the results push,
    what had been sent was recorded only in the runner's local clone."""
    server = sandbox_factory(FAST)
    remote = content_remote(tmp_path)
    rival = remote.clone("rival")
    (rival / "README.md").write_text("edited while a run applies\n", encoding="utf-8")
    git(rival, "add", "README.md")
    git(rival, "commit", "--quiet", "-m", "readme")
    git(rival, "push", "--quiet", "origin", "HEAD:refs/heads/rival")
    hook = remote.bare / "hooks" / "update"
    hook.write_text(RACE_HOOK.replace("$RACE_ON_PUSH", str(race_on_push)), encoding="utf-8")
    hook.chmod(0o755)
    repo = remote.clone()

    run = apply(repo, server, "--push")

    assert (remote.bare / "race-done").exists(), "the race never happened"
    assert run.returncode == 0, run.describe()
    assert_no_public_duplicates(server)
    pushed = state_at(remote)
    assert {r.status.value for _, _, r in pushed.entries()} <= {
        "published",
        "scheduled",
        "drafted",
        "processing",
    }
    assert git(remote.bare, "log", "--format=%s", "-1", "main").startswith("orshot: ")
    assert "main" in git(remote.bare, "branch", "--contains", "rival")  # theirs kept
    assert_settled_once(remote.clone("after"), server)


# --- item 9: claims, heartbeats, and a run that stands down ----------------------------------


def started_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def test_a_run_frozen_past_the_settle_window_is_overtaken_and_stands_down(
    tmp_path: Path, sandbox_factory: SandboxFactory, gates: list[Gate]
) -> None:
    """The first run freezes mid-run (here: its second draft request held at the door) for
    longer than the settle window. A second run takes its claims over, settles and publishes
    everything. When the first run wakes, its request lands, but before publishing it sees
    its claims are gone: it publishes nothing more, discards the draft nobody owns, reports
    what it gave up, and the second run's record stands."""
    server = sandbox_factory(FAST)
    gate = Gate(server)
    gates.append(gate)
    frozen_at = gate.hold(DRAFT_CREATE, 2)
    remote = content_remote(tmp_path)
    first_clone, second_clone = remote.clone("first"), remote.clone("second")
    first_clock = Clock(started_now())

    first = Background(lambda: run_in_process(first_clone, server, first_clock))
    assert frozen_at.arrived.wait(60)
    first_clock.advance(timedelta(minutes=20))  # what the first run will see when it wakes
    second_report = run_in_process(second_clone, server, Clock(first_clock()))
    frozen_at.release.set()
    first_report = first.join()

    assert_no_public_duplicates(server)
    assert second_report.ok, second_report.counts()
    gave_up = {k for k, status in statuses(first_report).items() if status == "skipped"}
    assert gave_up, first_report.counts()
    assert all(
        "took this over" in (o.error or "") or "shared with accounts" in (o.error or "")
        for o in first_report.outcomes
        if o.status == "skipped"
    )
    assert not first_report.ok  # it says so: exit 1, never a silent success
    pushed = state_at(remote)
    second_run = {
        r.run for (post_id, account, r) in pushed.entries() if (post_id, account) in gave_up
    }
    assert len(second_run) == 1 and None not in second_run  # the second run's claims stand
    assert not pushed.heartbeats  # both runs ended
    drafts = [p for p in logged_posts(server) if p["status"] == "draft"]
    assert all(p["post_id"] in {r.post_id for _, _, r in pushed.entries()} for p in drafts)
    assert_settled_once(remote.clone("after"), server)


def test_a_slow_run_past_the_settle_window_keeps_its_claims_by_its_heartbeat(
    tmp_path: Path, sandbox_factory: SandboxFactory, gates: list[Gate]
) -> None:
    """A rate-limited run lasts longer than the settle window (here each draft takes four
    minutes of its clock). It is alive and says so: a second run started meanwhile leaves its
    claims alone, even those it has not reached yet, whose intents are 16 minutes old."""
    server = sandbox_factory(FAST)
    gate = Gate(server)
    gates.append(gate)
    clock = Clock(started_now())
    gate.after(DRAFT_CREATE, lambda: clock.advance(timedelta(minutes=4)))
    midway = gate.hold(DRAFT_CREATE, 5)
    remote = content_remote(tmp_path)
    first_clone, second_clone = remote.clone("first"), remote.clone("second")

    first = Background(lambda: run_in_process(first_clone, server, clock))
    assert midway.arrived.wait(60)
    assert clock() - started_now() >= timedelta(minutes=15)  # past the window, still running
    second_report = run_in_process(second_clone, server, Clock(clock() + timedelta(minutes=1)))
    midway.release.set()
    first_report = first.join()

    assert_no_public_duplicates(server)
    assert_created_once(server)
    assert first_report.ok, first_report.counts()
    # Everything the first run claimed, the second left alone. (A sync of a post already sent
    # asks Orshot how it went: no claim needed, nothing is sent.)
    settled = [o for o in second_report.outcomes if o.kind is not Kind.SYNC]
    assert settled and {o.status for o in settled} == {"skipped"}
    assert all("alive at" in (o.error or "") for o in settled)
    assert not state_at(remote).heartbeats
    assert_settled_once(remote.clone("after"), server)


def test_a_run_killed_in_this_checkout_between_the_phases_is_settled_at_once_by_the_next(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    """Its heartbeat is fresh, but the local lock says it is over, and its draft has an id:
    publishing by id is guarded by Orshot, so the next run here need not wait the window."""
    server = sandbox_factory(FAST)
    repo = content_remote(tmp_path).clone()

    crashed = apply(repo, server, crash_at="between-phases")
    assert crashed.killed, crashed.describe()
    assert assert_state_parses(repo).heartbeats  # it died with its heartbeat fresh

    rerun = apply(repo, server)  # the default settle window: 15 minutes

    assert rerun.returncode == 0, rerun.describe()
    assert_no_public_duplicates(server)
    assert_created_once(server)
    state = assert_state_parses(repo)
    assert not state.heartbeats
    check_truthful(server, state, desired_pairs(repo), settled=True)


class FreezeAfterIntents(GitRepo):
    """A clone whose run freezes right after pushing its intents, until the test thaws it."""

    def __init__(self, repo: GitRepo, thaw: threading.Event) -> None:
        super().__init__(repo.toplevel, repo.prefix)
        self.thaw = thaw
        self.frozen = threading.Event()
        self.pushes = 0

    def push(self, remote: str = "origin", branch: str | None = None) -> PushResult:
        result = super().push(remote, branch)
        self.pushes += 1
        if self.pushes == 1:
            self.frozen.set()
            assert self.thaw.wait(60)
        return result


PRUNE_FILES = {
    "orshot.yaml": "prune: true\naccounts:\n  x: {id: 1, platform: twitter}\n"
    "  li: {id: 2, platform: linkedin}\n",
    "posts/keep.yaml": "accounts: [x, li]\ncontent: Always here\n",
    "posts/later.yaml": "accounts: [x]\ncontent: Next year\nschedule: 2031-01-01T09:00:00Z\n",
}


def test_a_frozen_run_never_discards_a_post_another_run_settled_meanwhile(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    """The first run plans to discard a scheduled post whose file was deleted, and freezes.
    The file is restored; a second run takes the claim over and records the post as the
    scheduled post the repository wants again. Waking, the first run must not discard it."""
    server = sandbox_factory(FAST)
    remote = content_remote(tmp_path, PRUNE_FILES)
    user = remote.clone("user")
    converge(user, server, "--push")
    git(user, "pull", "--quiet")
    git(user, "rm", "--quiet", "posts/later.yaml")
    git(user, "commit", "--quiet", "-m", "drop the teaser")
    git(user, "push", "--quiet", "origin", "HEAD:main")
    first_clone = remote.clone("first")

    thaw = threading.Event()
    first_git = FreezeAfterIntents(open_repo(first_clone), thaw)
    first_clock = Clock(started_now())
    first = Background(lambda: run_in_process(first_clone, server, first_clock, git_repo=first_git))
    assert first_git.frozen.wait(60)
    git(user, "pull", "--quiet")
    git(user, "revert", "--no-edit", "HEAD~1")  # the deletion (HEAD is the first run's intents)
    git(user, "push", "--quiet", "origin", "HEAD:main")
    first_clock.advance(timedelta(minutes=20))
    second_report = run_in_process(remote.clone("second"), server, Clock(first_clock()))
    thaw.set()
    first_report = first.join()

    assert second_report.ok, second_report.counts()
    assert statuses(first_report) == {("later", "x"): "skipped"}
    later = [p for p in logged_posts(server) if p["request"]["content"] == "Next year"]
    assert [p["status"] for p in later] == ["scheduled"]
    assert_settled_once(remote.clone("after"), server)


def test_a_frozen_run_whose_draft_lands_late_leaves_no_stray_draft(
    tmp_path: Path, sandbox_factory: SandboxFactory, gates: list[Gate]
) -> None:
    """A post kept as a draft has no publish step to re-check before. The first run's draft
    request is held past the window; the second run takes over and makes the draft. When the
    first one's lands, it must not be a second draft nobody owns."""
    server = sandbox_factory(FAST)
    gate = Gate(server)
    gates.append(gate)
    frozen_at = gate.hold(DRAFT_CREATE)
    files = {
        "orshot.yaml": "accounts:\n  x: {id: 1, platform: twitter}\n",
        "posts/review.yaml": "accounts: [x]\ncontent: Year in review\ndraft: true\n",
    }
    remote = content_remote(tmp_path, files)
    first_clone, second_clone = remote.clone("first"), remote.clone("second")
    first_clock = Clock(started_now())

    first = Background(lambda: run_in_process(first_clone, server, first_clock))
    assert frozen_at.arrived.wait(60)
    first_clock.advance(timedelta(minutes=20))
    second_report = run_in_process(second_clone, server, Clock(first_clock()))
    frozen_at.release.set()
    first_report = first.join()

    assert statuses(second_report) == {("review", "x"): "drafted"}
    assert statuses(first_report) == {("review", "x"): "skipped"}
    pushed = state_at(remote)
    assert_no_orphan_drafts(server, pushed)
    assert_settled_once(remote.clone("after"), server)
