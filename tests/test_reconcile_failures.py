"""Failures as a team lives them (issue 13): a permanent refusal waits for a change, a
transient one backs off, a 4xx is an answer and not an unknown, and a wrong key records
nothing. Real git, the sandbox on loopback; its Posts Log is what went out.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import SandboxFactory
from reconcile_helpers import API_KEY, CONFIG, Workspace, actions, git, post_yaml, sandbox_config
from statefiles import state_json_at

from orshot_gitops.orshot.client import OrshotClient
from orshot_gitops.reconcile.runner import ApplyOptions, run_apply
from orshot_gitops.sandbox import SandboxConfig
from orshot_gitops.vcs.gitrepo import open_repo


def _ws(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    **config: object,
) -> Workspace:
    return Workspace(tmp_path, sandbox_factory(sandbox_config(**config)), monkeypatch, capsys)


def _set_state(ws: Workspace, change: dict[str, dict[str, dict[str, object]]]) -> None:
    """Edit records of the state file (as time passing would make them) and commit it."""
    state = ws.state()
    for post_id, accounts in change.items():
        for key, fields in accounts.items():
            state["posts"][post_id]["accounts"][key].update(fields)
    ws.write_state(state)
    ws.commit("time passes")


# --- item 2: permanent failures wait for a change ---------------------------------------------


def test_a_duplicate_refusal_is_not_sent_again_until_the_post_changes(ws: Workspace) -> None:
    ws.post("2026/launch", post_yaml("Launch day!"))
    assert ws.apply().code == 0
    # A second file with the same text: every platform refuses the same caption twice. (A
    # revision bump of one post with unchanged text never gets this far: validate and the
    # plan refuse it, tests/test_duplicate_content.py.)
    ws.post("2026/launch-again", post_yaml("Launch day!"))
    run = ws.apply()
    assert run.code == 1
    created = len(ws.sent())
    assert created == 2
    record = ws.record("2026/launch-again", "x")
    assert (record["status"], record["error"], record["failure"]) == (
        "failed",
        "Duplicate content",
        "permanent",
    )
    assert "next_try_at" not in record
    assert record["attempts"] == 1

    # Every later apply (each push, the hourly cron) sends nothing while the post is the same.
    for _ in range(2):
        plan = ws.plan_json()
        assert actions(plan) == [
            ("2026/launch-again", "li", "waiting"),
            ("2026/launch-again", "x", "waiting"),
        ]
        assert "not sent again until the post changes" in plan["actions"][0]["reason"]
        before = ws.requests()
        ws.apply()
        assert len(ws.sent()) == created
        assert ws.requests() - before <= 1  # the key check, nothing else
    assert ws.record("2026/launch-again", "x")["attempts"] == 1
    status = ws.cli("status")
    assert "Duplicate content; not sent again until the post changes" in status.out

    # The post changes: it is tried again, and goes out.
    ws.post("2026/launch-again", post_yaml("Launch day! Now with rockets."))
    assert actions(ws.plan_json()) == [
        ("2026/launch-again", "li", "retry"),
        ("2026/launch-again", "x", "retry"),
    ]
    assert ws.apply().code == 0, ws.all_output[-1]
    assert ws.public().count((1, "Launch day! Now with rockets.")) == 1
    record = ws.record("2026/launch-again", "x")
    assert (record["status"], record.get("failure"), record["attempts"]) == ("published", None, 2)


def _rate_limited(*ids: int, **overrides: object) -> dict[str, object]:
    """The fast sandbox where the platforms of `ids` answer "Rate limited by platform"."""
    config = sandbox_config(**overrides)
    config["accounts"] = [
        {**a, "platform_rate_limited": a["id"] in ids}  # type: ignore[dict-item]
        for a in config["accounts"]  # type: ignore[attr-defined]
    ]
    return config


def test_an_expired_token_is_not_retried_until_orshot_reports_it_reconnected(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A token that expired after apply's health check: the send failed with "reconnect".
    data = tmp_path / "orshot-data"
    ws = Workspace(tmp_path, sandbox_factory(_rate_limited(2), data_dir=data), monkeypatch, capsys)
    ws.post("2026/launch", post_yaml("Launch day!"))
    assert ws.apply().code == 1
    expired = {"error": "Account token expired — reconnect required", "action": "reconnect"}
    _set_state(ws, {"2026/launch": {"li": {**expired, "failure": "permanent"}}})
    ws.sandbox.stop()
    ws.use(sandbox_factory(sandbox_config(expired=(2,)), data_dir=data))
    for _ in range(2):
        run = ws.apply()
        assert run.code == 0, run.output
        assert "li needs reconnecting: 1 post held" in run.out
    assert len(ws.sent()) == 1  # no failing post per run
    li = ws.record("2026/launch", "li")
    assert (li["status"], li["attempts"], li["failure"]) == ("failed", 1, "permanent")

    ws.sandbox.stop()
    ws.use(sandbox_factory(sandbox_config(), data_dir=data))  # reconnected in Orshot
    assert ws.apply().code == 0
    assert ws.public() == [(1, "Launch day!"), (2, "Launch day!")]


def test_a_transient_failure_backs_off_and_status_says_when_the_next_try_is_due(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "orshot-data"
    limited = sandbox_config()
    limited["accounts"] = [
        {**a, "platform_rate_limited": a["id"] == 2}  # type: ignore[dict-item]
        for a in limited["accounts"]  # type: ignore[attr-defined]
    ]
    ws = Workspace(tmp_path, sandbox_factory(limited, data_dir=data), monkeypatch, capsys)
    ws.post("2026/launch", post_yaml("Launch day!"))
    started = datetime.now(timezone.utc)
    assert ws.apply().code == 1
    li = ws.record("2026/launch", "li")
    assert (li["error"], li["failure"]) == ("Rate limited by platform", "transient")
    first_wait = datetime.fromisoformat(li["next_try_at"]) - started
    assert timedelta(minutes=4) < first_wait <= timedelta(minutes=6)
    assert "next try due after" in ws.cli("status").out

    before = len(ws.sent())
    plan = ws.plan_json()
    assert actions(plan) == [("2026/launch", "li", "waiting")]
    ws.apply()
    assert len(ws.sent()) == before  # not due yet: nothing sent

    # Time passes: the try is due, fails again, and the interval doubles.
    _set_state(ws, {"2026/launch": {"li": {"next_try_at": "2000-01-01T00:00:00+00:00"}}})
    assert actions(ws.plan_json()) == [("2026/launch", "li", "retry")]
    retried = datetime.now(timezone.utc)
    assert ws.apply().code == 1
    assert len(ws.sent()) == before + 1
    li = ws.record("2026/launch", "li")
    assert li["attempts"] == 2
    second_wait = datetime.fromisoformat(li["next_try_at"]) - retried
    assert timedelta(minutes=9) < second_wait <= timedelta(minutes=11)


def test_attempts_count_per_revision(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "orshot-data"
    ws = Workspace(tmp_path, sandbox_factory(_rate_limited(2), data_dir=data), monkeypatch, capsys)
    ws.post("2026/launch", post_yaml("Launch day!"))
    ws.apply()
    _set_state(
        ws, {"2026/launch": {"li": {"attempts": 5, "next_try_at": "2000-01-01T00:00:00+00:00"}}}
    )
    ws.post("2026/launch", post_yaml("Launch day! Take two.", revision=2))
    run = ws.apply()
    assert ws.record("2026/launch", "li")["attempts"] == 1, run.output


# --- item 5: a 4xx is an answer ---------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def test_a_schedule_too_close_is_failed_with_a_hint_and_nothing_is_sent(ws: Workspace) -> None:
    soon = datetime.now(timezone.utc) + timedelta(seconds=30)
    ws.post("2026/soon", post_yaml("Soon!", accounts=("x",), schedule=_iso(soon)))
    assert actions(ws.plan_json()) == [("2026/soon", "x", "schedule")]
    run = ws.apply()
    assert run.code == 1
    assert ws.sent() == []  # no draft left behind either
    record = ws.record("2026/soon", "x")
    assert (record["status"], record["failure"]) == ("failed", "permanent")
    assert "edit the schedule" in record["error"]
    assert "edit the schedule" in run.out
    # Not repeated: the next run sends nothing until the schedule is edited.
    ws.apply()
    assert ws.sent() == []
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    ws.post("2026/soon", post_yaml("Soon!", accounts=("x",), schedule=_iso(later)))
    assert ws.apply().code == 0
    assert ws.record("2026/soon", "x")["status"] == "scheduled"


def test_a_400_to_scheduling_the_draft_is_recorded_failed_not_unknown(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Orshot's clock runs 50 s ahead of ours: a schedule 80 s ahead passes our own check,
    # and Orshot answers 400 "Scheduled time must be at least 60 seconds in the future".
    sandbox = sandbox_factory(sandbox_config(), clock=lambda: time.time() + 50)
    ws = Workspace(tmp_path, sandbox, monkeypatch, capsys)
    close = datetime.now(timezone.utc) + timedelta(seconds=85)
    ws.post("2026/soon", post_yaml("Soon!", accounts=("x",), schedule=_iso(close)))
    run = ws.apply()
    assert run.code == 1
    record = ws.record("2026/soon", "x")
    assert record["status"] == "failed", record
    assert "at least 60 seconds in the future" in record["error"]
    assert "edit the schedule" in record["error"]
    [draft] = ws.sent()
    assert draft["status"] == "draft"  # nothing went out
    calls = ws.calls("PATCH /v1/social/posts/{id}")
    ws.apply()
    assert ws.calls("PATCH /v1/social/posts/{id}") == calls  # not repeated
    assert ws.public() == []


# --- item 8: a wrong or revoked key records nothing ------------------------------------------


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("wrong", "Access Forbidden: Invalid API Key"),
        ("sk_revoked", "Access Forbidden: The API Key or User ID do not exist"),
        ("", "Access Forbidden: Authorization header is missing"),
        (None, "Missing or invalid API key"),  # the publish page's 403
    ],
)
def test_a_wrong_or_revoked_key_stops_the_run_before_anything_is_recorded(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    key: str | None,
    message: str,
) -> None:
    overrides: dict[str, object] = {"revoked_keys": ["sk_revoked"]}
    if key is not None:
        overrides["auth_answers"] = "error-reference"
    config = SandboxConfig.from_mapping(_rate_limited(2, **overrides))
    ws = Workspace(tmp_path, sandbox_factory(config), monkeypatch, capsys)
    ws.post("2026/launch", post_yaml("Launch day!"))
    assert ws.apply("--push").code == 1
    _set_state(ws, {"2026/launch": {"li": {"next_try_at": "2000-01-01T00:00:00+00:00"}}})  # due
    real_error = ws.record("2026/launch", "li")["error"]
    state_before = ws.state()
    head, remote_head = ws.head(), git(ws.remote, "rev-parse", "main")
    requests = ws.requests()

    if key == "":
        # No header at all: the sandbox is asked directly, as the client never sends an
        # empty key.
        import httpx

        answer = httpx.get(ws.sandbox.base_url + "/v1/social/accounts", timeout=10)
        assert (answer.status_code, answer.json()) == (403, {"error": message})
        return
    monkeypatch.setenv("ORSHOT_API_KEY", key or "wrong")
    run = ws.apply("--push")
    assert run.code == 1
    lines = [line for line in run.output.splitlines() if line.strip()]
    assert any(message in line for line in lines), run.output
    assert "Traceback" not in run.output
    assert ws.state() == state_before
    assert ws.record("2026/launch", "li")["error"] == real_error
    assert (ws.head(), git(ws.remote, "rev-parse", "main")) == (head, remote_head)
    assert ws.requests() - requests <= 1  # the one key check, nothing sent
    assert API_KEY not in run.output
    if key and key.startswith("sk_"):
        assert key not in run.output


def test_resolve_as_failed_discards_the_draft_left_behind_when_prune_is_set(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox = sandbox_factory(sandbox_config(), clock=lambda: time.time() + 50)
    ws = Workspace(tmp_path, sandbox, monkeypatch, capsys, config=CONFIG + "prune: true\n")
    close = datetime.now(timezone.utc) + timedelta(seconds=85)
    ws.post("2026/soon", post_yaml("Soon!", accounts=("x",), schedule=_iso(close)))
    assert ws.apply().code == 1
    [draft] = ws.sent()
    assert draft["status"] == "draft"
    run = ws.cli("resolve", "2026/soon", "--as", "failed")
    assert run.code == 0, run.output
    assert f"discarded Orshot draft {draft['post_id']}" in run.out
    [gone] = ws.sent()
    assert gone["status"] == "discarded", gone
    record = ws.record("2026/soon", "x")
    assert record["post_id"] is None
    assert draft["post_id"] in record["earlier_post_ids"]


def test_resolve_as_failed_refuses_a_post_orshot_shows_as_gone_out(
    ws: Workspace,
) -> None:
    ws.set_config(CONFIG + "prune: true\n")
    ws.post("2026/later", post_yaml("Later.", accounts=("x",), schedule="2099-01-05T09:00"))
    assert ws.apply().code == 0
    # A run was cut off after scheduling: the record says unknown, Orshot says scheduled.
    _set_state(ws, {"2026/later": {"x": {"status": "unknown", "step": "schedule"}}})
    before = ws.state()
    run = ws.cli("resolve", "2026/later", "--as", "failed")
    assert run.code == 1
    assert "as scheduled, not as a draft" in run.output
    assert "Traceback" not in run.output
    assert ws.state() == before
    assert ws.public() == [(1, "Later.")]


def test_rescheduling_a_held_post_too_close_sends_nothing_and_keeps_the_record_true(
    ws: Workspace,
) -> None:
    ws.post("2026/later", post_yaml("Later.", accounts=("x",), schedule="2099-01-05T09:00"))
    assert ws.apply().code == 0
    held = ws.record("2026/later", "x")
    patches = ws.calls("PATCH /v1/social/posts/{id}")
    soon = datetime.now(timezone.utc) + timedelta(seconds=30)
    ws.post("2026/later", post_yaml("Later.", accounts=("x",), schedule=_iso(soon)))
    for _ in range(2):
        run = ws.apply()
        assert run.code == 1
        assert "edit the schedule" in run.out
        assert ws.calls("PATCH /v1/social/posts/{id}") == patches  # nothing sent
        assert ws.record("2026/later", "x") == held  # Orshot still holds it, as recorded
    assert ws.orshot_post(held["post_id"])["scheduled_for"].startswith("2099-01-05T09:00")


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (400, "Scheduled time must be at least 60 seconds in the future", "permanent"),
        (422, "No compatible platforms for the media format", "permanent"),
        (404, "Template not found", "permanent"),
        (403, "Template not found", "permanent"),  # as the error reference documents it
        (400, "Access Forbidden: Invalid API Key", "transient"),  # the key, not the post
        (403, "Social publishing requires a paid plan", "transient"),  # the workspace's plan
        (429, "Rate limit exceeded", "transient"),
        (502, "Bad gateway", "transient"),
    ],
)
def test_each_documented_answer_is_permanent_or_transient(
    status: int, message: str, kind: str
) -> None:
    from orshot_gitops.orshot.errors import error_for_status
    from orshot_gitops.reconcile.failures import classify_error

    error = error_for_status(status, message, method="POST", path="/v1/social/publish")
    assert classify_error(error) == kind


@pytest.mark.parametrize(
    ("error", "action", "kind"),
    [
        ("Duplicate content", None, "permanent"),
        ("Media processing failed: image format not supported", None, "permanent"),
        ("Account token expired — reconnect required", "reconnect", "permanent"),
        ("Permissions missing", None, "permanent"),
        ("Rate limited by platform", None, "transient"),
        ("Failed to upload media", None, "transient"),
    ],
)
def test_each_documented_platform_error_is_permanent_or_transient(
    error: str, action: str | None, kind: str
) -> None:
    from orshot_gitops.reconcile.failures import classify_result

    assert classify_result(error, action) == kind


def test_the_key_check_names_an_auth_failure_in_each_documented_form() -> None:
    from orshot_gitops.orshot.errors import AuthError, error_for_status

    for status, message in (
        (400, "Access Forbidden: Invalid API Key"),
        (400, "Access Forbidden: The API Key or User ID do not exist"),
        (403, "Access Forbidden: Authorization header is missing"),
        (403, "Missing or invalid API key"),
    ):
        error = error_for_status(status, message, method="GET", path="/v1/social/accounts")
        assert isinstance(error, AuthError), (status, message)


def test_a_marked_edit_that_this_runs_waits_bring_too_close_is_unmarked(ws: Workspace) -> None:
    """Marked and pushed as an intent, then refused: the run's own waits (here a clock that
    jumps while it edits the post before) brought the schedule too close. The record goes
    back to what Orshot holds, on disk and on the remote, and nothing is sent for it."""
    ws.post("2026/a", post_yaml("First.", accounts=("x",), schedule="2099-01-05T09:00"))
    ws.post("2026/b", post_yaml("Second.", accounts=("x",), schedule="2099-01-06T09:00"))
    assert ws.apply().code == 0
    held = ws.record("2026/b", "x")
    start = datetime.now(timezone.utc)
    ws.post("2026/a", post_yaml("First, edited.", accounts=("x",), schedule="2099-01-05T09:00"))
    ws.post(
        "2026/b",
        post_yaml("Second.", accounts=("x",), schedule=_iso(start + timedelta(seconds=100))),
    )
    patches = ws.calls("PATCH /v1/social/posts/{id}")
    jumped = timedelta(0)

    def progress(line: str) -> None:
        nonlocal jumped
        if line.startswith("editing") and "2026/a" in line:
            jumped = timedelta(seconds=60)  # the run waited a minute after editing 2026/a

    with open_repo(ws.root) as repo:
        report = run_apply(
            ws.root,
            repo,
            lambda: OrshotClient(ws.sandbox.base_url, API_KEY),
            lambda: datetime.now(timezone.utc) + jumped,
            ApplyOptions(push=True),
            progress=progress,
        )
    assert {(o.post_id, o.status) for o in report.outcomes} == {
        ("2026/a", "scheduled"),
        ("2026/b", "failed"),
    }
    assert ws.calls("PATCH /v1/social/posts/{id}") == patches + 1  # 2026/a only
    assert ws.record("2026/b", "x") == held
    git(ws.root, "fetch", "--quiet", "origin")
    remote = state_json_at(ws.root, "origin/main")
    assert remote is not None
    assert remote["posts"]["2026/b"]["accounts"]["x"] == held
