"""The API's routes: each handler takes a parsed call and answers (status, JSON body).

Authentication, rate limiting, faults and statistics happen around the handlers, in `app.py`;
handlers only speak the contract.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

from orshot_gitops.sandbox import render_jobs
from orshot_gitops.sandbox.connect import connect_session
from orshot_gitops.sandbox.engine import Workspace
from orshot_gitops.sandbox.model import Post, publish_entries
from orshot_gitops.sandbox.render import render, studio_template
from orshot_gitops.sandbox.validation import (
    NO_FIELDS,
    PATCH_FIELDS,
    ApiError,
    as_int,
    known_fields,
    publish_spec,
    require_object,
)

POST_STATUSES = ("draft", "scheduled", "published", "processing", "partial", "failed")
DEFAULT_LIMIT, MAX_LIMIT = 25, 50


@dataclass(frozen=True)
class Call:
    """One request, parsed: path parameters, query, JSON body, and the moment it is served."""

    params: Mapping[str, str]
    query: Mapping[str, list[str]]
    body: object
    now: float
    workspace: Workspace
    # time.perf_counter() when the request arrived: real elapsed time, whatever the clock says.
    started: float = 0.0

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def request_json(self) -> str:
        """The body as canonical JSON, the way the inspection log keeps it."""
        return json.dumps(self.body, sort_keys=True, ensure_ascii=False)

    def post(self) -> Post:
        post_id = as_int(self.params["id"])
        post = self.workspace.store.get(post_id) if post_id is not None else None
        if post is None or post.discarded:
            raise ApiError(404, "Post not found")
        return post


Answer = tuple[int, dict[str, object]]
Handler = Callable[[Call], Answer]


def list_accounts(call: Call) -> Answer:
    health = (call.arg("include_health") or "").lower() in ("true", "1")
    data = []
    for account in sorted(call.workspace.config.accounts, key=lambda a: a.id):
        entry: dict[str, object] = {
            "id": account.id,
            "platform": account.platform,
            "account_name": account.name,
            "account_username": account.username,
        }
        if health:
            entry["requires_reconnect"] = call.workspace.requires_reconnect(account)
        data.append(entry)
    return 200, {"data": data}


def create_connect_session(call: Call) -> Answer:
    platforms = {a.id: a.platform for a in call.workspace.config.accounts}
    session = connect_session(call.body, platforms, call.now)
    call.workspace.connect_sessions[session.id] = session
    return 200, {"data": session.answer()}


def complete_connect_session(call: Call) -> Answer:
    """Test hook: the person followed the link and reconnected the account."""
    session = call.workspace.connect_sessions.get(call.params["id"])
    if session is None:
        raise ApiError(404, "Connect session not found")
    call.workspace.reconnected.add(session.account_id)
    return 200, {"data": {"reconnected_account_id": session.account_id}}


def publish(call: Call) -> Answer:
    spec = publish_spec(require_object(call.body), call.workspace.config, call.now)
    post = call.workspace.create_post(spec, request_json=call.request_json(), now=call.now)
    platforms = publish_entries(post.targets, call.workspace.config.answers)
    return 200, {"data": {"post_id": post.id, "status": post.outcome, "platforms": platforms}}


def studio_render(call: Call) -> Answer:
    if render_jobs.is_async(call.body):
        args = (call.body, call.workspace, call.now, call.request_json(), call.started)
        return 200, render_jobs.start(*args)
    return 200, render(call.body, call.workspace, call.now, call.request_json(), call.started)


def template_modifications(call: Call) -> Answer:
    """The parameters a template's modifications may name, each with an example value."""
    template = studio_template(call.arg("templateId"), call.workspace)
    return 200, {
        "data": [
            {"id": name, "example": f"example {name}", "type": "text"}
            for name in template.parameters
        ]
    }


def get_render_job(call: Call) -> Answer:
    return 200, render_jobs.get(call.params["id"], call.workspace, call.now)


def list_render_jobs(call: Call) -> Answer:
    return 200, render_jobs.listed(call.arg("limit"), call.workspace, call.now)


def list_posts(call: Call) -> Answer:
    status = call.arg("status")
    if status is not None and status not in POST_STATUSES:
        raise ApiError(400, "status must be one of: " + ", ".join(POST_STATUSES))
    platform = call.arg("platform")
    account_id = _int_arg(call, "account_id", "account_id must be an integer")
    limit = _int_arg(call, "limit", f"limit must be an integer between 1 and {MAX_LIMIT}")
    if limit is None:
        limit = DEFAULT_LIMIT
    elif not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, f"limit must be an integer between 1 and {MAX_LIMIT}")
    # The cursor is the id of the last post of the previous page: ids only grow, so "older
    # than the cursor" pages stably even while new posts arrive.
    cursor = _int_arg(call, "cursor", "Invalid cursor")
    matches = [
        post
        for post in reversed(list(call.workspace.store))
        if not post.discarded
        and (cursor is None or post.id < cursor)
        and (status is None or post.status == status)
        and (platform is None or any(t.platform == platform for t in post.targets))
        and (account_id is None or any(t.account_id == account_id for t in post.targets))
    ]
    page = matches[:limit]
    next_cursor = str(page[-1].id) if len(matches) > limit else None
    return 200, {"data": [post.view() for post in page], "next_cursor": next_cursor}


def _int_arg(call: Call, name: str, message: str) -> int | None:
    raw = call.arg(name)
    if raw is None:
        return None
    value = as_int(raw)
    if value is None:
        raise ApiError(400, message)
    return value


def get_post(call: Call) -> Answer:
    return 200, {"data": call.post().view()}


def patch_post(call: Call) -> Answer:
    post = call.post()
    body = require_object(call.body)
    known_fields(body, PATCH_FIELDS, call.workspace.config)
    updated = call.workspace.patch(post, body, call.now)
    return 200, {"data": {"post": updated.view()}}


def delete_post(call: Call) -> Answer:
    call.workspace.discard(call.post())
    return 200, {"data": {"success": True}}


def publish_post(call: Call) -> Answer:
    _no_fields(call)
    post = call.workspace.publish_now(call.post(), call.now)
    entries = [_full_entry(t.log_entry()) for t in post.targets]
    return 200, {"data": {"post": post.view(), "status": post.outcome, "platforms": entries}}


def sync_post(call: Call) -> Answer:
    _no_fields(call)
    post, synced = call.workspace.sync(call.post(), call.now)
    entries = [_full_entry(t.log_entry()) for t in post.targets]
    return 200, {
        "data": {
            "post": {"id": post.id, "status": post.status},
            "synced": synced,
            "status": post.status,
            "platforms": entries,
        }
    }


def _no_fields(call: Call) -> None:
    # These calls take no body; an empty object is the same as none.
    if isinstance(call.body, Mapping):
        known_fields(call.body, NO_FIELDS, call.workspace.config)


def _full_entry(entry: dict[str, object]) -> dict[str, object]:
    # The post-management page lists `error` and `action` among these entries' keys.
    return {"error": None, "action": None, **entry}


def sandbox_posts(call: Call) -> Answer:
    return 200, {"data": [post.inspection() for post in call.workspace.store]}


@dataclass(frozen=True)
class Route:
    """`pattern` (with `{id}`) is also the endpoint's name in the statistics."""

    method: str
    pattern: str
    handler: Handler

    @property
    def key(self) -> str:
        return f"{self.method} {self.pattern}"

    def match(self, path: str) -> dict[str, str] | None:
        found = _regex(self.pattern).match(path)
        return found.groupdict() if found else None


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    """`/v1/social/posts/{id}` -> a regex with a named group per parameter."""
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern)) + "$")


ROUTES = (
    Route("GET", "/v1/social/accounts", list_accounts),
    Route("POST", "/v1/social/publish", publish),
    Route("POST", "/v1/studio/render", studio_render),
    Route("GET", "/v1/studio/render-jobs", list_render_jobs),
    Route("GET", "/v1/studio/template/modifications", template_modifications),
    Route("GET", "/v1/studio/render-jobs/{id}", get_render_job),
    Route("GET", "/v1/social/posts", list_posts),
    Route("GET", "/v1/social/posts/{id}", get_post),
    Route("PATCH", "/v1/social/posts/{id}", patch_post),
    Route("DELETE", "/v1/social/posts/{id}", delete_post),
    Route("POST", "/v1/social/posts/{id}/publish", publish_post),
    Route("POST", "/v1/social/posts/{id}/sync", sync_post),
    Route("POST", "/v1/social/connect-sessions", create_connect_session),
    Route("GET", "/_sandbox/posts", sandbox_posts),
    Route("POST", "/_sandbox/connect-sessions/{id}/complete", complete_connect_session),
)


def find_route(method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """(route, path parameters, whether the path exists under another method)."""
    path_known = False
    for route in ROUTES:
        params = route.match(path)
        if params is None:
            continue
        if route.method == method:
            return route, params, True
        path_known = True
    return None, {}, path_known
