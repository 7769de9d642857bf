"""The reconciler under faults: killed at every point of an apply, racing other runs, and
losing answers. The sandbox's Posts Log is the ground truth; the promise checked after every
run is the one in DESIGN.md: nothing public twice, no stray draft, nothing silently missing.

`apply` runs as a real process wherever it gets killed (SIGKILL through ORSHOT_CRASH_AT, or a
plain kill while the sandbox holds its request in flight); where nothing is killed, it runs in
this process so the client's backoff can be made short.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from conftest import SandboxFactory
from fault_helpers import (
    DRAFT_CREATE,
    FAST,
    Gate,
    apply,
    assert_created_once,
    assert_no_orphan_drafts,
    assert_no_public_duplicates,
    assert_state_parses,
    check_truthful,
    content_remote,
    converge,
    desired_pairs,
    finish,
    git,
    logged_posts,
    public_sends,
    reported,
    start_apply,
    state_at,
    state_text_at,
)

from orshot_gitops.orshot.client import OrshotClient
from orshot_gitops.reconcile.runner import ApplyOptions, ApplyReport, run_apply
from orshot_gitops.sandbox import SandboxServer
from orshot_gitops.state.model import AccountStatus, Step
from orshot_gitops.state.store import load_state
from orshot_gitops.vcs.gitrepo import open_repo

PUBLISH_BY_ID = "POST /v1/social/posts/{id}/publish"
# The representative tests below run twice: against answers carrying `account_id`, and in the
# shape Orshot's publish pages document (no ids, another order: tests/test_results_by_account.py).
ANSWERS = ["with-ids", "documented"]
READ_BY_ID = "GET /v1/social/posts/{id}"


@pytest.fixture
def gates() -> Iterator[list[Gate]]:
    made: list[Gate] = []
    yield made
    for gate in made:
        gate.close()


def assert_converged(repo: Path, server: SandboxServer) -> None:
    """Everything asked for is live (or a draft, as asked) exactly once, and the state says so."""
    state = assert_state_parses(repo)
    assert_no_public_duplicates(server)
    assert_no_orphan_drafts(server, state)
    check_truthful(server, state, desired_pairs(repo), settled=True)


# --- 1. killed at each point ----------------------------------------------------------------

# Where the first groups of examples/ reach each point (in plan order: carousel, then hiring,
# scheduled, then single-image): the draft's pending mark, the draft's answer, the gap between
# the phases, the publish's pending mark, and the publish's answer.
CRASHES = ["after-intent", "after-draft:2", "between-phases", "after-intent:2", "after-publish:2"]


@pytest.mark.parametrize("answers", ANSWERS)
@pytest.mark.parametrize("crash_at", CRASHES)
def test_killed_at_a_crash_point_then_rerun(
    tmp_path: Path, sandbox_factory: SandboxFactory, crash_at: str, answers: str
) -> None:
    server = sandbox_factory({**FAST, "answers": answers})
    repo = content_remote(tmp_path).clone()
    pairs = desired_pairs(repo)

    crashed = apply(repo, server, crash_at=crash_at)

    assert crashed.killed, crashed.describe()
    state = assert_state_parses(repo)
    assert_no_public_duplicates(server)
    check_truthful(server, state, pairs)  # what the dead run recorded is true as far as it goes
    pending = [r for _, _, r in state.entries() if r.status is AccountStatus.PENDING]
    assert pending
    if crash_at.startswith("between-phases"):  # the draft's id is on disk: settled by id
        assert any(r.post_id is not None and r.step is Step.DRAFT for r in pending)
    if crash_at.startswith("after-draft"):  # its answer died with the run: found by search
        assert all(r.post_id is None for r in pending)

    runs = converge(repo, server)

    assert_converged(repo, server)
    assert_created_once(server)  # the orphan draft was adopted, not drafted again
    assert runs[0].returncode == 0, runs[0].describe()


def test_killed_while_the_draft_request_is_in_flight(
    tmp_path: Path, sandbox_factory: SandboxFactory, gates: list[Gate]
) -> None:
    server = sandbox_factory(FAST)
    gate = Gate(server)
    gates.append(gate)
    held = gate.hold(DRAFT_CREATE)
    repo = content_remote(tmp_path).clone()
    pairs = desired_pairs(repo)

    process = start_apply(repo, server)
    assert held.arrived.wait(60), finish(process).describe()
    process.kill()
    assert finish(process).killed

    # Another run right away: the draft may still be in the making, so it is left alone and
    # reported, and everything else goes ahead.
    early = apply(repo, server)
    assert early.returncode == 1
    state = assert_state_parses(repo)
    check_truthful(server, state, pairs, reported(early))
    skipped = {key for key, status in reported(early).items() if status == "skipped"}
    assert skipped == {("2026/12/carousel", "acme-insta"), ("2026/12/carousel", "acme-linkedin")}
    carousel = "From sketch to launch pad"
    assert not any(carousel in p["request"]["content"] for p in logged_posts(server))

    # The request lands after its client died; a later run finds the orphan and adopts it.
    held.release.set()
    assert held.done.wait(60)
    converge(repo, server)

    assert_converged(repo, server)
    assert_created_once(server)


def test_killed_while_the_publish_request_is_in_flight(
    tmp_path: Path, sandbox_factory: SandboxFactory, gates: list[Gate]
) -> None:
    """The worst interleaving: the dead run's publish lands between the next run's read of
    the draft and that run's own publish by id."""
    server = sandbox_factory(FAST)
    gate = Gate(server)
    gates.append(gate)
    held = gate.hold(PUBLISH_BY_ID)

    def land_the_held_publish() -> None:
        if held.arrived.is_set() and not held.done.is_set():
            held.release.set()
            held.done.wait(60)

    gate.after(READ_BY_ID, land_the_held_publish)
    repo = content_remote(tmp_path).clone()

    process = start_apply(repo, server)
    assert held.arrived.wait(60), finish(process).describe()
    process.kill()
    assert finish(process).killed
    state = assert_state_parses(repo)
    carousel = state.account("2026/12/carousel", "acme-linkedin")
    assert carousel is not None and carousel.step is Step.PUBLISH
    assert carousel.post_id is not None

    converge(repo, server)

    assert held.done.is_set()
    assert_converged(repo, server)
    assert_created_once(server)


def test_killed_before_the_results_push_then_rerun_in_the_same_clone(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    server = sandbox_factory(FAST)
    remote = content_remote(tmp_path)
    repo = remote.clone()

    crashed = apply(repo, server, "--push", crash_at="before-push")

    assert crashed.killed
    pushed = state_at(remote)
    assert {r.status for _, _, r in pushed.entries()} == {AccountStatus.PENDING}
    converge(repo, server, "--push")

    assert_converged(repo, server)
    assert_created_once(server)
    assert state_text_at(remote) == (repo / ".orshot/state.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("crash_at", ["before-push", "after-publish:3", "between-phases:2"])
def test_killed_in_ci_then_rerun_from_a_fresh_clone(
    tmp_path: Path, sandbox_factory: SandboxFactory, crash_at: str
) -> None:
    """In CI the killed runner's disk is gone: the next job sees only the pushed intents."""
    server = sandbox_factory(FAST)
    remote = content_remote(tmp_path)

    crashed = apply(remote.clone(), server, "--push", crash_at=crash_at)

    assert crashed.killed
    fresh = remote.clone()
    converge(fresh, server, "--push")

    assert_converged(fresh, server)
    assert_no_public_duplicates(server)


# --- 2. three clones at once ----------------------------------------------------------------


def test_three_clones_apply_at_once_and_each_post_goes_out_once(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    server = sandbox_factory(FAST)
    remote = content_remote(tmp_path)
    clones = [remote.clone() for _ in range(3)]

    processes = [start_apply(clone, server, "--push") for clone in clones]
    runs = [finish(process) for process in processes]

    assert not any(run.killed for run in runs)
    assert any(run.returncode == 0 for run in runs), "\n".join(r.describe() for r in runs)
    assert_no_public_duplicates(server)
    assert_created_once(server)
    # Whatever the losers could not confirm, a later run settles without sending it again.
    fresh = remote.clone()
    converge(fresh, server, "--push")
    assert_converged(fresh, server)
    assert_created_once(server)


# --- 3. lost answers, in process ------------------------------------------------------------


def apply_in_process(
    repo: Path,
    server: SandboxServer,
    settle_after: timedelta = timedelta(0),
    progress: Callable[[str], None] = lambda line: None,
    *,
    push: bool = False,
) -> ApplyReport:
    def client() -> OrshotClient:
        return OrshotClient(server.base_url, server.api_key, backoff_base=0.002, backoff_cap=0.01)

    with open_repo(repo) as git:
        return run_apply(
            repo,
            git,
            client,
            lambda: datetime.now(timezone.utc),
            ApplyOptions(settle_after=settle_after, push=push),
            progress=progress,
        )


def reported_by(report: ApplyReport) -> dict[tuple[str, str], str]:
    return {(o.post_id, o.account): o.status for o in report.outcomes}


def run_until_done(
    repo: Path,
    server: SandboxServer,
    pairs: Mapping[tuple[str, str], bool],
    max_runs: int,
    settle_after: timedelta = timedelta(0),
    progress: Callable[[str], None] = lambda line: None,
) -> list[ApplyReport]:
    """Apply until a run has nothing left to do, checking the promise after every run."""
    reports = []
    for _ in range(max_runs):
        report = apply_in_process(repo, server, settle_after, progress)
        reports.append(report)
        state = assert_state_parses(repo)
        assert_no_public_duplicates(server)
        check_truthful(server, state, pairs, reported_by(report))
        assert report.ok == all(o.ok for o in report.outcomes)
        if report.ok and not report.outcomes:
            return reports
    raise AssertionError(f"not done after {max_runs} runs: {[r.counts() for r in reports]}")


@pytest.mark.parametrize("answers", ANSWERS)
def test_lost_answers_on_every_endpoint(
    tmp_path: Path, sandbox_factory: SandboxFactory, answers: str
) -> None:
    faults = {"drop_response_rate": 0.3, "seed": 7}
    server = sandbox_factory({**FAST, "faults": faults, "answers": answers})
    repo = content_remote(tmp_path).clone()
    pairs = desired_pairs(repo)

    lines: list[str] = []
    run_until_done(repo, server, pairs, max_runs=12, progress=lines.append)

    assert_converged(repo, server)
    # Counted as the run saw them: a run settles its own lost answers before it exits, so
    # its final outcomes no longer say "unknown" for the ones it found.
    lost = sum(" UNKNOWN " in line for line in lines)
    assert lost > 0, "no answer was ever lost: the test proves nothing"


def test_lost_answers_to_a_render_and_to_an_edit(
    tmp_path: Path, sandbox_factory: SandboxFactory, gates: list[Gate]
) -> None:
    """A render posts nothing, so one whose answer was lost is done again; an edit of a held
    post whose answers were all lost is settled on that post, never with a second one."""
    server = sandbox_factory(FAST)
    gate = Gate(server)
    gates.append(gate)
    gate.drop_next("POST /v1/studio/render")
    repo = content_remote(tmp_path).clone()
    pairs = desired_pairs(repo)

    first = apply_in_process(repo, server)
    said = {(o.post_id, o.account): o.status for o in first.outcomes}
    assert said[("2026/12/studio-render", "acme-x")] == "unknown"
    check_truthful(server, assert_state_parses(repo), pairs, said)
    run_until_done(repo, server, pairs, max_runs=4)
    hiring = assert_state_parses(repo).account("2026/12/hiring", "acme-pins")
    assert hiring is not None and hiring.status is AccountStatus.SCHEDULED

    post_file = repo / "posts/2026/12/hiring.yaml"
    post_file.write_text(
        post_file.read_text(encoding="utf-8").replace("in Berlin", "in Munich"), encoding="utf-8"
    )
    git(repo, "commit", "--quiet", "-am", "hiring: Munich")
    # The edit and the client's 4 retries, then the same again when the run settles its own
    # lost answer before it exits.
    gate.drop_next("PATCH /v1/social/posts/{id}", 10)

    edit = apply_in_process(repo, server)
    assert {o.status for o in edit.outcomes} == {"unknown"}
    check_truthful(server, assert_state_parses(repo), pairs, reported_by(edit))
    run_until_done(repo, server, pairs, max_runs=4)

    assert_converged(repo, server)
    edited = assert_state_parses(repo).account("2026/12/hiring", "acme-pins")
    assert edited is not None and edited.post_id == hiring.post_id
    held = [p for p in logged_posts(server) if "propulsion" in str(p["request"]["content"])]
    assert len(held) == 1 and held[0]["status"] == "scheduled"


ONE_POST = {
    "orshot.yaml": "accounts:\n  x: {id: 1, platform: twitter}\n  li: {id: 2, platform: linkedin}\n",
    "posts/launch.yaml": "accounts: [x, li]\ncontent: Launch day\n",
}
LIST_POSTS = "GET /v1/social/posts"


def test_a_run_that_lost_the_answer_to_its_create_settles_it_before_it_exits(
    tmp_path: Path, sandbox_factory: SandboxFactory, gates: list[Gate]
) -> None:
    """It is the only run that can be creating that post: it waits a moment, finds the
    draft by what it sent, and publishes it. Left to the next run (the default settle window),
    the post would wait 15 minutes."""
    server = sandbox_factory(FAST)
    gate = Gate(server)
    gates.append(gate)
    gate.drop_next(DRAFT_CREATE, 5)  # the create and the client's retries of it
    repo = content_remote(tmp_path, ONE_POST).clone()

    report = apply_in_process(repo, server, timedelta(minutes=15))

    assert reported_by(report) == {("launch", "li"): "published", ("launch", "x"): "published"}
    assert_converged(repo, server)
    assert [p["status"] for p in logged_posts(server)] == ["published"]  # adopted, not redone


def test_what_a_run_that_ended_could_not_settle_is_settled_by_the_next_at_once(
    tmp_path: Path, sandbox_factory: SandboxFactory, gates: list[Gate]
) -> None:
    """The create's answer is lost, and so is every answer to the run's own search: it ends
    normally, saying so (`ended`). The next run, in a fresh clone (nothing local tells it the
    first is over), settles the orphan at once instead of waiting out the window."""
    server = sandbox_factory(FAST)
    gate = Gate(server)
    gates.append(gate)
    gate.drop_next(DRAFT_CREATE, 5)
    lost_search = threading.Event()

    def lose_the_search() -> None:
        if not lost_search.is_set():
            lost_search.set()
            gate.drop_next(LIST_POSTS, 50)

    gate.after(DRAFT_CREATE, lose_the_search)
    remote = content_remote(tmp_path, ONE_POST)

    first = apply_in_process(remote.clone(), server, timedelta(minutes=15), push=True)
    assert set(reported_by(first).values()) == {"unknown"}, first.counts()
    (first_run,) = state_at(remote).ended
    gate.close()

    second = apply(remote.clone(), server, "--push")  # the default window: 15 minutes

    assert second.returncode == 0, second.describe()
    assert reported(second) == {("launch", "li"): "published", ("launch", "x"): "published"}
    fresh = remote.clone()
    assert_converged(fresh, server)
    assert len(logged_posts(server)) == 1
    # No record names the first run any more: its end is forgotten.
    assert first_run not in state_at(remote).ended


def test_a_killed_runs_lost_create_still_waits_for_the_window(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    """Only a run that ended says so: one killed right after its create was sent may still
    have that create in flight, so the next run leaves it alone for the window."""
    server = sandbox_factory(FAST)
    remote = content_remote(tmp_path, ONE_POST)
    crashed = apply(remote.clone(), server, "--push", crash_at="after-intent")
    assert crashed.killed, crashed.describe()
    assert not state_at(remote).ended

    second = apply(remote.clone(), server, "--push")

    assert set(reported(second).values()) == {"skipped"}, second.describe()
    assert logged_posts(server) == []


# --- 4. a storm ---------------------------------------------------------------------------

STORM_CONFIG = """\
accounts:
  x: {id: 1, platform: twitter}
  li: {id: 2, platform: linkedin}
  fb: {id: 4, platform: facebook}
"""


def storm_posts(count: int) -> dict[str, str]:
    posts = {"orshot.yaml": STORM_CONFIG}
    for i in range(count):
        body = f"accounts: [x, li, fb]\ncontent: 'Storm update {i}, all systems nominal.'\n"
        if i % 5 == 1:  # a caption per platform: one draft per account
            body = (
                "accounts: [x, li, fb]\n"
                f"content: 'Storm {i} on {{{{ platform }}}}'\n"
                "media_url: https://cdn.example.com/storm.png\n"
            )
        if i % 7 == 3:
            body += "schedule: 2031-01-01T09:00:00Z\n"
        posts[f"posts/storm/{i:02d}.yaml"] = body
    return posts


@pytest.mark.parametrize("answers", ANSWERS)
def test_fault_storm_converges_without_duplicates(
    tmp_path: Path, sandbox_factory: SandboxFactory, answers: str
) -> None:
    faults = {"server_error_rate": 0.25, "drop_response_rate": 0.15, "seed": 2024}
    server = sandbox_factory({**FAST, "faults": faults, "answers": answers})
    repo = content_remote(tmp_path, storm_posts(40)).clone()
    pairs = desired_pairs(repo)
    assert len(pairs) == 120

    # The default settle window: every run here ends normally, so none of them leaves work
    # that the next must wait 15 minutes for. A run that lost an answer settles it itself.
    lines: list[str] = []
    reports = run_until_done(
        repo, server, pairs, max_runs=6, settle_after=timedelta(minutes=15), progress=lines.append
    )

    assert_converged(repo, server)
    records = [record for _, _, record in load_state(repo).entries()]
    assert len(records) == 120
    assert not [r for r in records if r.status is AccountStatus.UNKNOWN]
    sends = public_sends(logged_posts(server))
    assert len(sends) == 120 and all(len(ids) == 1 for ids in sends.values()), sends
    said = [o for r in reports for o in r.outcomes]
    assert not [o for o in said if o.status == "skipped"]
    assert {"published", "scheduled"} <= {o.status for o in said}
    assert any(line.startswith("settled") for line in lines), "no answer was lost: proves nothing"


# --- 6. the file edited between the crash and the re-run ------------------------------------


def test_a_post_edited_after_a_crash_goes_out_once_with_the_new_text(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    """The draft's answer died with the run; before the next run someone edits the caption.
    The orphan (old text) must be found on accounts and time, edited to the new text and
    published by id: one public post, with the caption the repository now holds."""
    server = sandbox_factory(FAST)
    files = {
        "orshot.yaml": "accounts:\n  x: {id: 1, platform: twitter}\n  li: {id: 2, platform: linkedin}\n",
        "posts/launch.yaml": "accounts: [x, li]\ncontent: Launch day, v1\n",
    }
    repo = content_remote(tmp_path, files).clone()
    crashed = apply(repo, server, crash_at="after-draft")
    assert crashed.killed, crashed.describe()
    assert [p["status"] for p in logged_posts(server)] == ["draft"]

    (repo / "posts/launch.yaml").write_text("accounts: [x, li]\ncontent: Launch day, v2\n")
    git(repo, "commit", "--quiet", "-am", "better caption")
    converge(repo, server)

    posts = logged_posts(server)
    assert len(posts) == 1, posts  # the orphan was adopted, not drafted again
    assert posts[0]["status"] == "published"
    assert sorted(p["status"] for p in posts[0]["platforms"]) == ["published", "published"]
    state = load_state(repo)
    assert {k: r.status for _, k, r in state.entries()} == {
        "li": AccountStatus.PUBLISHED,
        "x": AccountStatus.PUBLISHED,
    }
    assert_no_public_duplicates(server)
    # The live text is the new one: read it back through the API.
    live = httpx.get(
        f"{server.base_url}/v1/social/posts/{posts[0]['post_id']}",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=30,
    ).json()["data"]
    assert live["content"] == "Launch day, v2"


# --- 7. a revision bump interrupted, then edited --------------------------------------------


@pytest.mark.parametrize("options", [(), ("--push",)], ids=["local", "ci"])
def test_an_interrupted_revision_bump_then_an_edit_never_adopts_the_old_revision(
    tmp_path: Path, sandbox_factory: SandboxFactory, options: tuple[str, ...]
) -> None:
    """Revision 1 is live. Revision 2's draft is created, and the run dies before its answer is
    recorded; a typo is then fixed. The next run must find revision 2's draft (what was sent
    is recorded), not settle onto revision 1's live post, and publish revision 2 once."""
    server = sandbox_factory(FAST)
    files = {
        "orshot.yaml": "accounts:\n  x: {id: 1, platform: twitter}\n  li: {id: 2, platform: linkedin}\n",
        "posts/launch.yaml": "accounts: [x, li]\ncontent: Launch day\n",
    }
    repo = content_remote(tmp_path, files).clone()
    converge(repo, server, *options)
    first_id = load_state(repo).account("launch", "x").post_id  # type: ignore[union-attr]

    (repo / "posts/launch.yaml").write_text(
        "accounts: [x, li]\ncontent: Launch day, agian\nrevision: 2\n"
    )
    git(repo, "commit", "--quiet", "-am", "post it again")
    crashed = apply(repo, server, *options, crash_at="after-draft")
    assert crashed.killed, crashed.describe()
    (repo / "posts/launch.yaml").write_text(
        "accounts: [x, li]\ncontent: Launch day, again\nrevision: 2\n"
    )
    git(repo, "commit", "--quiet", "-am", "typo")
    converge(repo, server, *options)

    posts = sorted(logged_posts(server), key=lambda p: int(p["post_id"]))
    assert [p["status"] for p in posts] == ["published", "published"], posts
    second_id = posts[1]["post_id"]
    assert posts[0]["post_id"] == first_id
    state = load_state(repo)
    assert {k: (r.post_id, r.status, r.revision) for _, k, r in state.entries()} == {
        "li": (second_id, AccountStatus.PUBLISHED, 2),
        "x": (second_id, AccountStatus.PUBLISHED, 2),
    }
    assert_converged(repo, server)
