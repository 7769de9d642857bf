"""A key refused in the middle of a run (revoked after apply checked it) stops the run, and
no post is recorded as failed for it: the key is not the post's fault, and a post recorded
failed would wait for a change to the post before it is tried again.

Orshot's error reference documents 400 "Access Forbidden: Invalid API Key", 400 "Access
Forbidden: The API Key or User ID do not exist" and 403 "Access Forbidden: Authorization
header is missing"; the publish page says 403 "Missing or invalid API key". The sandbox
answers each of them (`auth_answers`, `revoked_keys`) to a publish, a render or a publish by
id, once apply's own key check has passed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import SandboxFactory
from reconcile_helpers import API_KEY, Workspace, post_yaml, sandbox_config

from orshot_gitops.sandbox import SandboxServer

REVOKED = "sk_revoked_after_the_key_check"
# How each documented refusal is provoked: the Authorization header a request arrives with.
FORMS = {
    "invalid key (400)": ("error-reference", "Bearer sk_never_issued"),
    "revoked key (400)": ("error-reference", f"Bearer {REVOKED}"),
    "header missing (403)": ("error-reference", None),
    "publish page (403)": ("publish-page", "Bearer sk_never_issued"),
}
ENDPOINTS = ["POST /v1/social/publish", "POST /v1/studio/render", "POST /v1/social/posts/publish"]


class KeyRevoked:
    """From the first request to `endpoint` on, every request arrives with `authorization`:
    the key went bad after apply's key check (`GET /v1/social/accounts`) passed."""

    def __init__(self, server: SandboxServer, endpoint: str, authorization: str | None) -> None:
        self.app = server.app
        self.handle = self.app.handle
        self.endpoint = endpoint
        self.authorization = authorization
        self.revoked = False
        self.app.handle = self._intercept  # type: ignore[method-assign]

    def _intercept(self, method: str, target: str, authorization: str | None, body: bytes) -> Any:
        path = target.split("?", 1)[0]
        name = f"{method} {path}"
        if name.startswith("POST /v1/social/posts/") and name.endswith("/publish"):
            name = "POST /v1/social/posts/publish"
        if name == self.endpoint:
            self.revoked = True
        if self.revoked and not path.startswith("/_sandbox"):
            authorization = self.authorization
        return self.handle(method, target, authorization, body)

    def restore(self) -> None:
        self.app.handle = self.handle  # type: ignore[method-assign]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("form", FORMS)
def test_a_key_refused_mid_run_stops_it_and_fails_no_post(
    ws: Workspace, sandbox_factory: SandboxFactory, tmp_path: Path, form: str, endpoint: str
) -> None:
    auth_answers, authorization = FORMS[form]
    server = sandbox_factory(
        sandbox_config(auth_answers=auth_answers, revoked_keys=[REVOKED]),
        data_dir=tmp_path / "orshot-data",
    )
    ws.use(server)
    render = {"template": 123, "modifications": {"title": "Launch"}, "format": "png"}
    ws.post("2026/a-render", post_yaml("Rendered.", ("x",), render=render))
    ws.post("2026/b-text", post_yaml("Plain text.", ("x", "li")))
    revoked = KeyRevoked(server, endpoint, authorization)

    run = ws.apply()

    assert revoked.revoked, f"the run never reached {endpoint}: the test proves nothing"
    assert run.code == 1, run.output
    assert "api key" in run.output.lower() or "authorization" in run.output.lower(), run.output
    assert API_KEY not in run.output
    records = [
        (post_id, alias, record)
        for post_id, post in ws.state().get("posts", {}).items()
        for alias, record in post["accounts"].items()
    ]
    failed = [(p, a, r["status"]) for p, a, r in records if r["status"] == "failed"]
    assert failed == [], failed

    # The key works again: everything goes out, each account once.
    revoked.restore()
    run = ws.apply()
    assert run.code == 0, run.output
    public = [
        (t["account_id"], p["request"]["content"])
        for p in ws.sent()
        for t in p["platforms"]
        if t["status"] == "published"
    ]
    assert sorted(public) == [(1, "Plain text."), (1, "Rendered."), (2, "Plain text.")]
    if endpoint != "POST /v1/studio/render":  # rendered before the key went bad: reused
        assert ws.calls("POST /v1/studio/render") == 1
