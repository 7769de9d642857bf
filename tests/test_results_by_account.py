"""Per-account results are matched to their account by id, never by position.

Orshot's publish pages show `POST /social/publish` answering `platforms[]` entries without
`account_id`, and nothing says they come in the request's order. With `answers: documented`
the sandbox answers that way (no ids, the request's order reversed); the client then reads
the post back by its id (`GET /social/posts/{id}`, whose `accounts` carry the ids), and an
account it still cannot match is recorded `unknown`, never guessed.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from conftest import SandboxFactory
from fault_helpers import Gate
from reconcile_helpers import ACCOUNTS, API_KEY, Workspace, post_yaml, sandbox_config

from orshot_gitops.errors import UserError
from orshot_gitops.orshot.client import OrshotClient
from orshot_gitops.reconcile.runner import ApplyOptions, run_apply
from orshot_gitops.sandbox import SandboxConfig
from orshot_gitops.vcs.gitrepo import open_repo

READ_BY_ID = "GET /v1/social/posts/{id}"
PNG = "https://cdn.example.com/launch.png"


def youtube_behind_li(**overrides: object) -> dict[str, object]:
    """The documented answers, and Orshot's account 2 (the repository's `li`) is in fact a
    YouTube channel: Orshot fails it at once for a still image (its Format Compatibility
    table), while `x` is drafted. Two accounts, two different results: a swap shows."""
    accounts = [
        {**a, "platform": "youtube", "username": "acmetube"} if a["id"] == 2 else a
        for a in ACCOUNTS
    ]
    return sandbox_config(answers="documented", accounts=accounts, **overrides)


@pytest.fixture
def documented(ws: Workspace, sandbox_factory: SandboxFactory, tmp_path: Path) -> Workspace:
    ws.use(sandbox_factory(youtube_behind_li(), data_dir=tmp_path / "documented"))
    return ws


def test_the_sandbox_answers_publish_in_the_documented_shape(documented: Workspace) -> None:
    answer = httpx.post(
        documented.sandbox.base_url + "/v1/social/publish",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={"accounts": [1, 2], "content": "Soon.", "media_url": PNG, "isDraft": True},
        timeout=30.0,
    ).json()["data"]["platforms"]
    assert [e.get("account_id") for e in answer] == [None, None]
    # The request named x (1) then li (2); the answer lists li's channel first.
    assert [(e["platform"], e["status"]) for e in answer] == [
        ("youtube", "failed"),
        ("twitter", "drafted"),
    ]


def test_a_draft_answer_without_ids_is_matched_by_reading_the_post_back(
    documented: Workspace,
) -> None:
    documented.post("2026/teaser", post_yaml("Soon.", ("x", "li"), media_url=PNG, draft=True))

    documented.apply()

    x, li = documented.record("2026/teaser", "x"), documented.record("2026/teaser", "li")
    assert x["status"] == "drafted", x
    assert li["status"] == "failed", li
    assert "not supported on YouTube" in li["error"]
    assert x["post_id"] == li["post_id"]
    assert documented.calls(READ_BY_ID) >= 1


def test_an_account_the_read_back_cannot_match_is_unknown_then_settled_by_id(
    documented: Workspace,
) -> None:
    documented.post("2026/teaser", post_yaml("Soon.", ("x", "li"), media_url=PNG, draft=True))
    gate = Gate(documented.sandbox)
    # Every try of the read-back loses its answer: the client's first try and its four
    # retries, then as many again when the run settles its own lost answers before it ends.
    gate.drop_next(READ_BY_ID, count=10)
    try:
        with open_repo(documented.root) as repo:
            run_apply(
                documented.root,
                repo,
                lambda: OrshotClient(
                    documented.sandbox.base_url, API_KEY, backoff_base=0.002, backoff_cap=0.01
                ),
                lambda: datetime.now(timezone.utc),
                ApplyOptions(),
            )
    finally:
        gate.close()

    x, li = documented.record("2026/teaser", "x"), documented.record("2026/teaser", "li")
    # Not guessed from the answer's order: unknown, with the post's id to settle by.
    assert (x["status"], li["status"]) == ("unknown", "unknown")
    assert x["post_id"] == li["post_id"] is not None

    documented.apply()

    x, li = documented.record("2026/teaser", "x"), documented.record("2026/teaser", "li")
    assert (x["status"], li["status"]) == ("drafted", "failed")
    assert len(documented.sent()) == 1  # settled by reading, nothing drafted again


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"answers": "shuffled"}, "answers must be one of with-ids, documented"),
        ({"render_job_seconds": -1}, "render_job_seconds"),
        ({"render_job_error": 7}, "render_job_error"),
    ],
)
def test_the_sandbox_config_refuses_a_bad_answer_shape_or_job_setting(
    config: dict[str, object], message: str
) -> None:
    with pytest.raises(UserError) as refused:
        SandboxConfig.from_mapping(config)
    assert message in str(refused.value)
