"""Videos (and gifs, PDFs) are rendered as Orshot render jobs: `POST /studio/render` with
`response.mode: "async"` answers a job, `GET /studio/render-jobs/{id}` reports it. The job's
id is in the state before anything waits for it, so a run killed while the job runs is
resumed by the next one and the template is rendered once (a render costs credits).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeClock, SandboxFactory
from fault_helpers import (
    FAST,
    Gate,
    Remote,
    apply,
    assert_no_public_duplicates,
    content_remote,
    converge,
    endpoint_count,
    example_config,
    logged_posts,
)
from reconcile_helpers import Workspace, post_yaml, sandbox_config

from orshot_gitops.errors import UserError
from orshot_gitops.orshot.client import OrshotClient
from orshot_gitops.reconcile.runner import ApplyOptions, run_apply
from orshot_gitops.sandbox import SandboxServer
from orshot_gitops.state.merge import merge_states
from orshot_gitops.state.model import PostState, Render, new_state
from orshot_gitops.state.store import dump_state, load_state, parse_state
from orshot_gitops.vcs.gitrepo import open_repo

RENDER = "POST /v1/studio/render"
JOB = "GET /v1/studio/render-jobs/{id}"
VIDEO = {"template": 123, "modifications": {"title": "Launch"}, "format": "mp4"}


# --- the client against the sandbox ---------------------------------------------------------


def test_a_job_reports_its_render_once_it_has_finished(
    sandbox_factory: SandboxFactory, fake_clock: FakeClock
) -> None:
    server = sandbox_factory({"render_job_seconds": 90}, clock=fake_clock)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        fake_clock.advance(seconds)

    with OrshotClient(server.base_url, server.api_key, clock=fake_clock, sleep=sleep) as client:
        job = client.start_render_job(123, {"title": "Launch"}, "mp4", tag="t-1")
        assert (job.finished, job.result) == (False, None)
        assert client.get_render_job(job.id).status == "processing"
        assert client.find_render_job("t-1") == client.get_render_job(job.id)
        assert client.find_render_job("another tag") is None

        done = client.wait_for_render_job(job.id)

        # The same output a synchronous render of the same request gives.
        expected = client.render(123, {"title": "Launch"}, "mp4").media_urls
    assert done.finished and done.result is not None
    assert done.result.media_urls == expected
    assert expected[0].endswith(".mp4")
    assert sum(sleeps) >= 90  # it waited for the job, doubling its interval
    assert sleeps == sorted(sleeps)


def test_a_wait_that_outlasts_its_deadline_returns_the_running_job(
    sandbox_factory: SandboxFactory, fake_clock: FakeClock
) -> None:
    server = sandbox_factory({"render_job_seconds": 3600}, clock=fake_clock)
    client = OrshotClient(
        server.base_url, server.api_key, clock=fake_clock, sleep=fake_clock.advance
    )
    with client:
        job = client.start_render_job(123, {}, "webm", tag="t-2")
        still = client.wait_for_render_job(job.id, timeout=60)
    assert (still.id, still.finished, still.status) == (job.id, False, "processing")


# --- apply ----------------------------------------------------------------------------------


def test_a_video_post_is_rendered_as_a_job_recorded_before_the_wait(
    ws: Workspace, sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    ws.use(sandbox_factory(sandbox_config(render_job_seconds=1), data_dir=tmp_path / "jobs"))
    ws.post("2026/teaser", post_yaml("The teaser.", ("x", "li"), render=VIDEO))

    run = ws.apply()

    assert run.code == 0, run.output
    [sent] = ws.sent()
    assert sent["request"]["media_url"].endswith(".mp4")
    assert ws.calls(RENDER) == 1
    assert ws.calls(JOB) >= 1  # it waited by reading the job
    render = ws.state()["posts"]["2026/teaser"]["render"]
    assert render["media_urls"] == [sent["request"]["media_url"]]
    assert render["job"]


def test_a_video_render_survives_a_kill_while_its_job_runs_and_is_rendered_once(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    server = sandbox_factory({**FAST, "render_job_seconds": 2})
    repo = _video_repo(tmp_path)

    crashed = apply(repo, server, crash_at="after-render-job")

    assert crashed.killed, crashed.describe()
    state = load_state(repo)
    render = state.posts["2026/teaser"].render
    assert render is not None and render.job is not None and not render.done
    assert endpoint_count(server, RENDER) == 1
    assert logged_posts(server) == []  # killed before anything was drafted

    runs = converge(repo, server)

    assert runs[0].returncode == 0, runs[0].describe()
    assert endpoint_count(server, RENDER) == 1  # the job was resumed, not rendered again
    assert_no_public_duplicates(server)
    state = load_state(repo)
    finished = state.posts["2026/teaser"].render
    assert finished is not None and finished.done and finished.job == render.job
    records = state.posts["2026/teaser"].accounts
    assert {alias: r.status.value for alias, r in records.items()} == {
        "acme-x": "published",
        "acme-linkedin": "published",
    }
    posts = logged_posts(server)
    assert posts and all(p["request"]["media_url"] == finished.media_urls[0] for p in posts)


def test_killed_in_ci_while_its_job_runs_a_fresh_clone_finds_the_job_by_its_tag(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    """In CI the killed runner's disk is gone, and with it the recorded job id: the next run,
    from a fresh clone, finds the job by the tag it was started with."""
    server = sandbox_factory({**FAST, "render_job_seconds": 2})
    remote = _video_remote(tmp_path)

    crashed = apply(remote.clone(), server, "--push", crash_at="after-render-job")

    assert crashed.killed, crashed.describe()
    fresh = remote.clone()
    runs = converge(fresh, server, "--push")

    assert runs[0].returncode == 0, runs[0].describe()
    assert endpoint_count(server, RENDER) == 1
    assert_no_public_duplicates(server)
    statuses = {r.status.value for r in load_state(fresh).posts["2026/teaser"].accounts.values()}
    assert statuses == {"published"}


def test_a_lost_answer_to_the_jobs_start_finds_the_job_by_its_tag(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    server = sandbox_factory({**FAST, "render_job_seconds": 0.5})
    repo = _video_repo(tmp_path)
    gate = Gate(server)
    gate.drop_next(RENDER)  # the job starts; its answer never arrives
    lines: list[str] = []
    try:
        report = _apply_in_process(repo, server, progress=lines.append)
    finally:
        gate.close()

    # The run settles its own lost answer before it exits: the job is found by its tag.
    assert any(" UNKNOWN " in line for line in lines), lines
    assert {o.status for o in report.outcomes} == {"published"}, report.outcomes
    assert endpoint_count(server, RENDER) == 1  # found, not started again
    # Looked for before the start (none yet), and after the lost answer (found).
    assert endpoint_count(server, "GET /v1/studio/render-jobs") == 2
    render = load_state(repo).posts["2026/teaser"].render
    assert render is not None and render.done and render.job is not None
    assert_no_public_duplicates(server)


def test_a_job_still_running_at_the_deadline_is_left_to_the_next_run(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    server = sandbox_factory({**FAST, "render_job_seconds": 3})
    repo = _video_repo(tmp_path)

    first = _apply_in_process(repo, server, job_timeout=0.2)

    assert {o.status for o in first.outcomes} == {"failed"}
    record = load_state(repo).posts["2026/teaser"].accounts["acme-x"]
    assert record.failure == "transient" and "still processing" in (record.error or "")
    render = load_state(repo).posts["2026/teaser"].render
    assert render is not None and render.job is not None

    second = _apply_in_process(repo, server, job_timeout=30, ignore_backoff=True)

    assert {o.status for o in second.outcomes} == {"published"}, second.outcomes
    assert endpoint_count(server, RENDER) == 1


def test_a_run_asked_to_stop_while_a_job_runs_stops_and_the_next_resumes_the_job(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    server = sandbox_factory({**FAST, "render_job_seconds": 2})
    repo = _video_repo(tmp_path)
    asked = False

    def progress(line: str) -> None:
        nonlocal asked
        asked = asked or line.startswith("waiting")  # SIGTERM while the job runs

    first = _apply_in_process(repo, server, progress=progress, should_stop=lambda: asked)

    assert asked
    assert {o.status for o in first.outcomes} == {"skipped"}, first.outcomes
    assert logged_posts(server) == []
    render = load_state(repo).posts["2026/teaser"].render
    assert render is not None and render.job is not None and not render.done

    second = _apply_in_process(repo, server)

    assert {o.status for o in second.outcomes} == {"published"}, second.outcomes
    assert endpoint_count(server, RENDER) == 1


def test_a_failed_job_fails_its_accounts_for_a_retry_that_starts_a_new_job(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    data = tmp_path / "orshot-data"
    broken = sandbox_factory(
        {**FAST, "render_job_seconds": 0, "render_job_error": "video element failed to load"},
        data_dir=data,
    )
    repo = _video_repo(tmp_path)

    first = _apply_in_process(repo, broken)

    assert {o.status for o in first.outcomes} == {"failed"}, first.outcomes
    state = load_state(repo)
    assert state.posts["2026/teaser"].render is None  # nothing to reuse
    record = state.posts["2026/teaser"].accounts["acme-x"]
    assert record.failure == "transient" and "video element failed to load" in (record.error or "")
    assert logged_posts(broken) == []
    broken.stop()

    fixed = sandbox_factory({**FAST, "render_job_seconds": 0}, data_dir=data)
    second = _apply_in_process(repo, fixed, ignore_backoff=True)

    assert {o.status for o in second.outcomes} == {"published"}, second.outcomes
    assert endpoint_count(fixed, RENDER) == 1
    assert_no_public_duplicates(fixed)


# --- helpers --------------------------------------------------------------------------------


def _video_repo(tmp_path: Path) -> Path:
    return _video_remote(tmp_path).clone()


def _video_remote(tmp_path: Path) -> Remote:
    files = {
        "orshot.yaml": example_config(),
        "posts/2026/teaser.yaml": (
            "accounts: [acme-x, acme-linkedin]\ncontent: The teaser.\n"
            "render: {template: 123, modifications: {title: Launch}, format: mp4}\n"
        ),
    }
    return content_remote(tmp_path, files)


def _apply_in_process(
    repo: Path,
    server: SandboxServer,
    *,
    job_timeout: float = 30.0,
    ignore_backoff: bool = False,
    progress: Callable[[str], None] = lambda line: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Any:
    def client() -> OrshotClient:
        made = OrshotClient(server.base_url, server.api_key, backoff_base=0.002, backoff_cap=0.01)
        made.render_poll_interval = 0.05
        made.render_job_timeout = job_timeout
        return made

    def now() -> datetime:
        real = datetime.now(timezone.utc)
        return real.replace(year=real.year + 1) if ignore_backoff else real

    with open_repo(repo) as git_repo:
        return run_apply(
            repo, git_repo, client, now, ApplyOptions(), progress=progress, should_stop=should_stop
        )


# --- the record -----------------------------------------------------------------------------


def test_a_render_job_in_the_state_round_trips_and_old_state_files_still_load() -> None:
    fp = "a" * 64
    state = new_state().with_post(
        "2026/teaser", PostState("posts/2026/teaser.yaml", 1, Render(fp, (), job="77"))
    )
    text = dump_state(state)
    assert '"job": "77"' in text
    assert parse_state(text).posts["2026/teaser"].render == Render(fp, (), job="77")
    # A state written before render jobs existed has no "job": it loads as a plain render.
    old = json.loads(text)
    old["posts"]["2026/teaser"]["render"] = {"fingerprint": fp, "media_urls": ["https://a/b.png"]}
    loaded = parse_state(json.dumps(old)).posts["2026/teaser"].render
    assert loaded == Render(fp, ("https://a/b.png",)) and loaded.job is None


def test_a_merge_keeps_the_finished_render_over_the_one_still_running() -> None:
    fp = "b" * 64
    base = new_state()
    running = PostState("posts/p.yaml", 1, Render(fp, (), job="9"))
    finished = PostState("posts/p.yaml", 1, Render(fp, ("https://a/v.mp4",), job="9"))
    for ours, theirs in ((running, finished), (finished, running)):
        merged = merge_states(base, base.with_post("p", ours), base.with_post("p", theirs))
        assert merged.posts["p"].render == finished.render


def test_a_render_job_id_that_could_leave_its_path_is_refused_with_its_place() -> None:
    """The state file is repository content a pull request may change: a job id goes into a
    request's path, so one that is not a plain id is refused where it is written."""
    fp = "c" * 64
    state = new_state().with_post(
        "p", PostState("posts/p.yaml", 1, Render(fp, (), job="../../social/posts/5/publish"))
    )
    with pytest.raises(UserError) as refused:
        parse_state(dump_state(state))
    assert "job" in str(refused.value) and refused.value.line is not None
