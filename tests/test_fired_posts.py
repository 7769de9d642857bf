"""Posts that fire are recorded, and every command that changes the state commits it.

A scheduled post goes out in Orshot, not in a run of ours. These stories run a sandbox whose
clock the test moves (FakeClock, started at the real time) and an `apply` whose clock is
moved the same way, so the post's time really passes for both.
"""

from __future__ import annotations

import os
import signal
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import FakeClock, SandboxFactory
from reconcile_helpers import Workspace, git, post_yaml, sandbox_config

from orshot_gitops.orshot.client import OrshotClient
from orshot_gitops.orshot.errors import AuthError
from orshot_gitops.reconcile.runner import ApplyOptions, ApplyReport, run_apply
from orshot_gitops.vcs.gitrepo import open_repo

START = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
FIRES = START + timedelta(minutes=10)
"""When the scheduled post is due: far enough past START for the sandbox's 60 s lead time."""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START.timestamp())


@pytest.fixture
def fws(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Workspace:
    """The user-story workspace over a sandbox that runs on `clock`."""
    return Workspace(tmp_path, sandbox_factory(sandbox_config(), clock=clock), monkeypatch, capsys)


def scheduled_post(ws: Workspace) -> None:
    ws.post("2026/webinar", post_yaml("Webinar today.", schedule=FIRES.strftime("%Y-%m-%dT%H:%M")))
    assert ws.apply("--push").code == 0
    assert ws.record("2026/webinar", "x")["status"] == "scheduled"


def apply_at(ws: Workspace, when: datetime, *, push: bool = False) -> ApplyReport:
    """`apply` as the workflow's cron runs it, at `when` (the sandbox's clock)."""

    def client() -> OrshotClient:
        return OrshotClient.from_env(os.environ)

    with open_repo(ws.root) as repo:
        return run_apply(ws.root, repo, client, lambda: when, ApplyOptions(push=push))


def clean(ws: Workspace) -> bool:
    return git(ws.root, "status", "--porcelain") == ""


def remote_state_commit(ws: Workspace) -> str:
    return git(ws.root, "ls-remote", "origin", "refs/heads/main").split()[0]


@pytest.mark.parametrize("push", [False, True])
def test_a_scheduled_post_that_fired_is_recorded_by_the_next_apply(
    fws: Workspace, clock: FakeClock, push: bool
) -> None:
    scheduled_post(fws)
    clock.advance((FIRES - START).total_seconds() + 60)
    [sent] = fws.sent()
    assert sent["status"] == "published"  # Orshot has sent it; the state does not know
    assert fws.record("2026/webinar", "x")["status"] == "scheduled"

    report = apply_at(fws, FIRES + timedelta(minutes=1), push=push)

    assert report.ok, report
    for account in ("x", "li"):
        record = fws.record("2026/webinar", account)
        assert record["status"] == "published", record
        assert record["url"], record
    assert clean(fws), git(fws.root, "status", "--porcelain")
    assert fws.log()[0].startswith("orshot: read back 2 fired post(s)")
    if push:
        assert remote_state_commit(fws) == fws.head()
    assert len(fws.sent()) == 1  # read back, never sent again
    # The next apply has nothing left to read.
    requests = fws.requests()
    apply_at(fws, FIRES + timedelta(minutes=2), push=push)
    assert fws.requests() == requests


def test_a_scheduled_post_orshot_failed_to_send_is_recorded_failed(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ws = Workspace(tmp_path, sandbox_factory(sandbox_config(), clock=clock), monkeypatch, capsys)
    scheduled_post(ws)
    # X's token expires before the time comes: Orshot fires it and X fails.
    restarted = sandbox_factory(
        sandbox_config(expired=(1,)), clock=clock, data_dir=ws.sandbox.data_dir
    )
    ws.sandbox.stop()
    ws.use(restarted)
    clock.advance((FIRES - START).total_seconds() + 60)

    apply_at(ws, FIRES + timedelta(minutes=1))

    x = ws.record("2026/webinar", "x")
    li = ws.record("2026/webinar", "li")
    assert (x["status"], li["status"]) == ("failed", "published"), (x, li)
    assert x["error"]
    assert clean(ws)


def test_a_post_not_yet_due_is_not_read_back(fws: Workspace, clock: FakeClock) -> None:
    scheduled_post(fws)
    requests = fws.requests()
    apply_at(fws, FIRES - timedelta(minutes=1))
    assert fws.requests() == requests
    assert fws.record("2026/webinar", "x")["status"] == "scheduled"


@pytest.mark.parametrize("push", [False, True])
def test_refresh_commits_what_it_records(fws: Workspace, clock: FakeClock, push: bool) -> None:
    """A plain `git checkout` after refresh must not lose what it recorded."""
    scheduled_post(fws)
    clock.advance((FIRES - START).total_seconds() + 60)

    run = fws.cli("refresh", *(["--push"] if push else []))

    assert run.code == 0, run.output
    assert fws.record("2026/webinar", "x")["status"] == "published"
    assert clean(fws), git(fws.root, "status", "--porcelain")
    assert fws.log()[0].startswith("orshot: refresh"), fws.log()
    if push:
        assert remote_state_commit(fws) == fws.head()


def test_resolve_and_adopt_commit_what_they_record(fws: Workspace) -> None:
    scheduled_post(fws)
    run = fws.cli("resolve", "2026/webinar", "--account", "x", "--as", "failed", "--push")
    assert run.code == 0, run.output
    assert clean(fws) and fws.log()[0].startswith("orshot: resolve"), fws.log()
    assert remote_state_commit(fws) == fws.head()

    fws.post("2026/old", post_yaml("Sent by hand last year."))
    run = fws.cli("adopt", "2026/old")
    assert run.code == 0, run.output
    assert clean(fws) and fws.log()[0].startswith("orshot: adopt"), fws.log()
    assert fws.record("2026/old", "x")["status"] == "published"


def test_no_commit_leaves_the_state_written_but_uncommitted(fws: Workspace) -> None:
    scheduled_post(fws)
    head = fws.head()
    run = fws.cli("resolve", "2026/webinar", "--account", "x", "--as", "failed", "--no-commit")
    assert run.code == 0, run.output
    assert fws.head() == head
    assert fws.record("2026/webinar", "x")["status"] == "failed"


def test_a_wrong_key_with_posts_that_fired_stops_the_run_and_records_nothing(
    fws: Workspace, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key is checked before the read-back: a wrong key is one error, not a read-back
    skipped in silence and a run that says all is well."""
    scheduled_post(fws)
    clock.advance((FIRES - START).total_seconds() + 60)
    before, head = fws.state(), fws.head()
    requests = fws.requests()
    monkeypatch.setenv("ORSHOT_API_KEY", "wrong")

    with pytest.raises(AuthError) as raised:
        apply_at(fws, FIRES + timedelta(minutes=1), push=True)

    assert "API key" in raised.value.message
    assert fws.state() == before and fws.head() == head and clean(fws)
    assert remote_state_commit(fws) == head
    assert fws.requests() - requests <= 1  # the key check alone


@pytest.mark.parametrize("command", ["refresh", "resolve"])
def test_by_hand_recording_pushes_by_default_with_an_upstream_as_apply_does(
    fws: Workspace, clock: FakeClock, command: str
) -> None:
    """A record only this clone holds is one 'git checkout --theirs' from lost: like apply,
    refresh, resolve and adopt push it when the branch has an upstream (--local: not)."""
    scheduled_post(fws)
    clock.advance((FIRES - START).total_seconds() + 60)
    argv = (
        ["refresh"]
        if command == "refresh"
        else ["resolve", "2026/webinar", "--account", "x", "--as", "failed"]
    )

    run = fws.cli(*argv)

    assert run.code == 0, run.output
    assert clean(fws) and fws.log()[0].startswith(f"orshot: {command}"), fws.log()
    assert remote_state_commit(fws) == fws.head(), run.output
    assert "pushed to origin" in run.output, run.output


def test_by_hand_recording_with_local_commits_without_pushing(
    fws: Workspace, clock: FakeClock
) -> None:
    scheduled_post(fws)
    remote = remote_state_commit(fws)
    run = fws.cli("resolve", "2026/webinar", "--account", "x", "--as", "failed", "--local")
    assert run.code == 0, run.output
    assert clean(fws) and fws.log()[0].startswith("orshot: resolve"), fws.log()
    assert remote_state_commit(fws) == remote
    run = fws.cli("resolve", "2026/webinar", "--as", "published", "--push", "--local")
    assert run.code == 2 and "contradict" in run.output, run.output


def test_a_saved_plan_is_still_applied_after_a_scheduled_post_fired(
    fws: Workspace, clock: FakeClock, tmp_path: Path
) -> None:
    """`plan --out` in review, `apply plan.json` after the merge: a post that fired between
    the two is no reason to refuse the plan (its state commit would move HEAD and the
    serial the saved plan was made on). The saved plan is sent; the read-back waits."""
    scheduled_post(fws)
    fws.post("2026/launch", post_yaml("Launch day!"))
    saved = tmp_path / "plan.json"
    assert fws.plan("--out", str(saved)).code == 0
    clock.advance((FIRES - START).total_seconds() + 60)

    def client() -> OrshotClient:
        return OrshotClient.from_env(os.environ)

    with open_repo(fws.root) as repo:
        report = run_apply(
            fws.root,
            repo,
            client,
            lambda: FIRES + timedelta(minutes=1),
            ApplyOptions(push=True, plan_file=saved),
        )

    assert report.ok, report
    assert fws.record("2026/launch", "x")["status"] == "published"
    assert len(fws.sent()) == 2
    # The next run reads the fired post back.
    apply_at(fws, FIRES + timedelta(minutes=2), push=True)
    assert fws.record("2026/webinar", "x")["status"] == "published"
    assert len(fws.sent()) == 2


def test_an_apply_refused_for_its_flags_leaves_ctrl_c_as_it_was(ws: Workspace) -> None:
    """apply handles Ctrl-C itself while it runs; refused before it runs (--push with
    --local), it must give the process's handlers back, or a later Ctrl-C does nothing."""
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    run = ws.apply("--push", "--local")
    assert run.code == 2
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_draft_approved_after_its_time_stays_an_error_until_fixed(
    fws: Workspace, clock: FakeClock
) -> None:
    """A draft approved after its time passed cannot be scheduled: an error. The run that
    reports it must not record its commit as reconciled, or the next run plans from past it
    and says "nothing to do" while the approved post sits in Orshot as a draft."""
    when = FIRES.strftime("%Y-%m-%dT%H:%M")
    fws.post("2026/webinar", post_yaml("Webinar today.", ("x",), schedule=when, draft=True))
    assert fws.apply().code == 0
    assert fws.record("2026/webinar", "x")["status"] == "drafted"
    fws.post("2026/webinar", post_yaml("Webinar today.", ("x",), schedule=when))
    later = FIRES + timedelta(minutes=5)
    clock.advance((later - START).total_seconds())
    for _ in range(2):  # the next cron run still says so
        report = apply_at(fws, later)
        assert [a.kind.value for a in report.plan.actions] == ["past-schedule"]
        assert report.outcomes == ()
    assert fws.record("2026/webinar", "x")["status"] == "drafted"
