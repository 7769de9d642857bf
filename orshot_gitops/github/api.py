"""The GitHub side of CI: the event that started the run, the step's outputs and summary, and
one sticky pull-request comment.

Everything comes from the environment a runner sets (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH,
GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_API_URL, ...), passed in as a mapping so tests
control it. The token travels only in the Authorization header, only to GITHUB_API_URL, and
is never printed or put in an error message.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from orshot_gitops import __version__
from orshot_gitops.errors import UserError
from orshot_gitops.report.markdown import GITHUB_COMMENT_LIMIT

MARKER = "<!-- orshot-gitops:plan -->"
DEFAULT_API_URL = "https://api.github.com"
_MAX_PAGES = 50  # 5,000 comments: a pull request with more is not one we should scan further


@dataclass(frozen=True)
class GitHubContext:
    """What a workflow run knows about itself, read from the runner's environment."""

    event_name: str
    event: Mapping[str, Any]
    repository: str = ""
    api_url: str = DEFAULT_API_URL
    server_url: str = "https://github.com"
    sha: str = ""
    ref: str = ""
    run_id: str = ""
    output_path: Path | None = None
    summary_path: Path | None = None
    token: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GitHubContext:
        event: Mapping[str, Any] = {}
        event_path = env.get("GITHUB_EVENT_PATH", "")
        if event_path:
            try:
                loaded = json.loads(Path(event_path).read_text(encoding="utf-8"))
            except (OSError, ValueError, RecursionError) as exc:  # nesting too deep: Recursion
                raise UserError(
                    f"cannot read the workflow event at GITHUB_EVENT_PATH ({exc})",
                    hint="run this inside GitHub Actions, or point GITHUB_EVENT_PATH at a JSON payload",
                ) from None
            event = loaded if isinstance(loaded, dict) else {}

        def path(name: str) -> Path | None:
            value = env.get(name, "")
            return Path(value) if value else None

        return cls(
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            event=event,
            repository=env.get("GITHUB_REPOSITORY", ""),
            api_url=(env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
            server_url=(env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/"),
            sha=env.get("GITHUB_SHA", ""),
            ref=env.get("GITHUB_REF", ""),
            run_id=env.get("GITHUB_RUN_ID", ""),
            output_path=path("GITHUB_OUTPUT"),
            summary_path=path("GITHUB_STEP_SUMMARY"),
            token=(env.get("GITHUB_TOKEN") or env.get("INPUT_GITHUB_TOKEN") or "").strip(),
        )

    @property
    def pull_request(self) -> Mapping[str, Any] | None:
        pr = self.event.get("pull_request")
        return pr if isinstance(pr, Mapping) else None

    @property
    def pull_request_number(self) -> int | None:
        pr = self.pull_request
        number = pr.get("number") if pr else self.event.get("number")
        return number if isinstance(number, int) and not isinstance(number, bool) else None

    @property
    def is_fork(self) -> bool:
        """A pull request from another repository: its token is read-only, it has no secrets."""
        pr = self.pull_request
        if not pr:
            return False
        head = (pr.get("head") or {}).get("repo") or {}
        base = (pr.get("base") or {}).get("repo") or {}
        return bool(head.get("full_name")) and head.get("full_name") != base.get("full_name")

    @property
    def default_branch(self) -> str | None:
        repo = self.event.get("repository")
        branch = repo.get("default_branch") if isinstance(repo, Mapping) else None
        return branch if isinstance(branch, str) and branch else None

    @property
    def comments_repository(self) -> str:
        """owner/name of the base repository (where the pull request and its comments live)."""
        pr = self.pull_request
        base = ((pr or {}).get("base") or {}).get("repo") or {}
        name = base.get("full_name") if isinstance(base, Mapping) else None
        return name if isinstance(name, str) and name else self.repository

    def commit_url(self, sha: str) -> str | None:
        if not self.repository or not sha:
            return None
        return f"{self.server_url}/{self.repository}/commit/{sha}"


def write_outputs(path: Path | None, outputs: Mapping[str, str]) -> None:
    """Append step outputs to GITHUB_OUTPUT, each with a random heredoc delimiter so a value
    cannot end its own block and forge another output."""
    if path is None:
        return
    lines = []
    for name, value in sorted(outputs.items()):
        delimiter = f"ORSHOT_{secrets.token_hex(8)}"
        lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(lines))


def append_summary(path: Path | None, markdown: str) -> None:
    """Append Markdown to the job summary (GITHUB_STEP_SUMMARY); nothing outside Actions."""
    if path is None:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(markdown.rstrip("\n") + "\n\n")


@dataclass(frozen=True)
class CommentResult:
    action: str  # created | updated | unchanged
    comment_id: int
    url: str


class CommentError(UserError):
    """The comment could not be written (no permission, a fork's read-only token, GitHub down)."""


def comment_body(markdown: str) -> str:
    """The marker first (how the next run finds this comment), then the review, within the
    limit."""
    body = f"{MARKER}\n{markdown}"
    if len(body) > GITHUB_COMMENT_LIMIT:  # as_markdown cuts at sections; this is the last guard
        note = "\n\n…(cut at GitHub's 65,536-character limit)\n"
        body = body[: GITHUB_COMMENT_LIMIT - len(note)] + note
    return body


def upsert_comment(
    context: GitHubContext,
    number: int,
    markdown: str,
    *,
    http: httpx.Client | None = None,
) -> CommentResult:
    """Edit our one comment on the pull request (found by its marker), or create it."""
    if not context.token:
        raise CommentError(
            "no GitHub token to comment with",
            hint="pass github-token to the action (the default is the workflow's token) "
            "and grant 'pull-requests: write'",
        )
    body = comment_body(markdown)
    client = http or httpx.Client(timeout=30.0)
    headers = {
        "Authorization": f"Bearer {context.token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": f"orshot-gitops/{__version__}",
    }
    base = f"{context.api_url}/repos/{context.comments_repository}/issues"
    try:
        existing = _find_comment(client, f"{base}/{number}/comments", headers, context.api_url)
        if existing is not None:
            if existing.get("body") == body:
                return CommentResult("unchanged", int(existing["id"]), str(existing["html_url"]))
            response = client.patch(
                f"{base}/comments/{existing['id']}", headers=headers, json={"body": body}
            )
            _check(response, "edit the plan comment")
            data = response.json()
            return CommentResult("updated", int(data["id"]), str(data.get("html_url", "")))
        response = client.post(f"{base}/{number}/comments", headers=headers, json={"body": body})
        _check(response, "comment on the pull request")
        data = response.json()
        return CommentResult("created", int(data["id"]), str(data.get("html_url", "")))
    except httpx.HTTPError as exc:
        raise CommentError(
            f"cannot reach the GitHub API at {context.api_url}: {type(exc).__name__}",
            hint="the plan is still in the job summary; re-run the job to retry the comment",
        ) from None
    finally:
        if http is None:
            client.close()


def _find_comment(
    client: httpx.Client, url: str, headers: Mapping[str, str], api_url: str
) -> Mapping[str, Any] | None:
    """Our comment: the first one whose body starts with the marker (oldest first, as GitHub
    lists them). Pages are followed through the Link header, never off the API's host."""
    next_url: str | None = url
    params: dict[str, Any] | None = {"per_page": 100}
    for _ in range(_MAX_PAGES):
        if next_url is None:
            return None
        response = client.get(next_url, headers=headers, params=params)
        _check(response, "list the pull request's comments")
        for comment in response.json():
            if isinstance(comment, Mapping) and str(comment.get("body", "")).startswith(MARKER):
                return comment
        params = None  # the next link carries its own query
        next_url = response.links.get("next", {}).get("url")
        if next_url is not None and not next_url.startswith(api_url + "/"):
            return None  # the token goes only to GITHUB_API_URL
    return None


def _check(response: httpx.Response, doing: str) -> None:
    if response.is_success:
        return
    try:
        message = str(response.json().get("message", ""))
    except ValueError:
        message = ""
    detail = f"{response.status_code}" + (f" {message}" if message else "")
    if response.status_code in (401, 403, 404):
        hint = (
            "give the workflow 'permissions: pull-requests: write'; a pull request from a fork "
            "gets a read-only token, so its plan is in the job summary instead"
        )
    else:
        hint = "the plan is still in the job summary; re-run the job to retry the comment"
    raise CommentError(f"cannot {doing}: GitHub answered {detail}", hint=hint)
