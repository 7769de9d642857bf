"""What GitHub says about approvals: a pull request's reviews, the merged pull request of a
commit, a team's members; and the `orshot/approvals` commit status branch protection can
require.

Read with the workflow's token (read-only is enough, but for the status). The token goes
only in the Authorization header, only to GITHUB_API_URL, pages included; it is never put in
a message. Plain values come back: the reconciler decides what they mean.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from orshot_gitops import __version__
from orshot_gitops.errors import UserError
from orshot_gitops.github.api import GitHubContext

STATUS_CONTEXT = "orshot/approvals"
_MAX_PAGES = 30  # 3,000 reviews or members: more is not a pull request or team we can read
# A review state that replaces a user's earlier verdict; COMMENTED and PENDING do not.
_VERDICTS = ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")


class GitHubError(UserError):
    """GitHub could not be asked, or refused: an approval is then unknown, never assumed."""


@dataclass(frozen=True)
class PullReviews:
    number: int
    head_sha: str
    approvers: frozenset[str]  # whose latest verdict approves the head commit


class GitHubReviews:
    """One client for one run; `close()` when done (a context manager)."""

    def __init__(self, context: GitHubContext, http: httpx.Client | None = None) -> None:
        if not context.token or not context.repository:
            raise GitHubError(
                "no GitHub token or repository to read reviews with",
                hint="pass github-token to the action (the workflow's token is the default)",
            )
        self.context = context
        self._own = http is None
        self.http = http or httpx.Client(timeout=30.0)
        self.headers = {
            "Authorization": f"Bearer {context.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"orshot-gitops/{__version__}",
        }
        # One pull request's reviews are read once per run, however many commits it brought.
        self._read: dict[tuple[int, str], PullReviews] = {}

    def __enter__(self) -> GitHubReviews:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own:
            self.http.close()

    @property
    def _repo(self) -> str:
        return f"{self.context.api_url}/repos/{self.context.comments_repository}"

    def pull_reviews(self, number: int, head_sha: str | None = None) -> PullReviews:
        """Who approved the pull request's head (`head_sha`, else asked of GitHub): each
        user's latest verdict, counted only when it was given on that very commit."""
        if head_sha is None:
            pull = self._get(f"{self._repo}/pulls/{number}", "read the pull request")
            head_sha = str(((pull.json() or {}).get("head") or {}).get("sha") or "")
        latest: dict[str, Mapping[str, Any]] = {}
        for review in self._pages(f"{self._repo}/pulls/{number}/reviews", "read the reviews"):
            user = (review.get("user") or {}).get("login")
            if isinstance(user, str) and review.get("state") in _VERDICTS:
                latest[user.lower()] = review
        approvers = frozenset(
            user
            for user, review in latest.items()
            if review.get("state") == "APPROVED" and review.get("commit_id") == head_sha
        )
        return PullReviews(number, head_sha, approvers)

    def _pull_reviews_once(self, number: int, head_sha: str) -> PullReviews:
        if (number, head_sha) not in self._read:
            self._read[(number, head_sha)] = self.pull_reviews(number, head_sha)
        return self._read[(number, head_sha)]

    def merged_pull(self, sha: str, branch: str | None) -> PullReviews | None:
        """The merged pull request that brought commit `sha` into `branch` (None: it was
        pushed without one), with its reviews."""
        response = self._get(f"{self._repo}/commits/{sha}/pulls", "find the commit's pull request")
        pulls = response.json()
        for pull in pulls if isinstance(pulls, list) else []:
            if not isinstance(pull, Mapping) or not pull.get("merged_at"):
                continue
            base = (pull.get("base") or {}).get("ref")
            if branch and base != branch:
                continue
            number = pull.get("number")
            head = (pull.get("head") or {}).get("sha")
            if isinstance(number, int) and isinstance(head, str):
                return self._pull_reviews_once(number, head)
        return None

    def team_members(self, team: str) -> frozenset[str] | None:
        """The logins of "@org/team", or None when the token may not read them (the
        workflow's own token has no read:org)."""
        org, _, slug = team.removeprefix("@").partition("/")
        url = f"{self.context.api_url}/orgs/{org}/teams/{slug}/members"
        try:
            members = list(self._pages(url, f"read the members of {team}"))
        except GitHubError:
            return None
        return frozenset(
            str(m["login"]).lower() for m in members if isinstance(m.get("login"), str)
        )

    def set_status(self, sha: str, state: str, description: str, target_url: str = "") -> None:
        """The `orshot/approvals` status of commit `sha` (success or pending)."""
        body = {"state": state, "context": STATUS_CONTEXT, "description": description[:140]}
        if target_url:
            body["target_url"] = target_url
        try:
            response = self.http.post(
                f"{self._repo}/statuses/{sha}", headers=self.headers, json=body
            )
        except httpx.HTTPError as exc:
            raise GitHubError(
                f"cannot reach the GitHub API at {self.context.api_url}: {type(exc).__name__}"
            ) from None
        _check(response, "set the orshot/approvals status", status=True)

    def _get(self, url: str, doing: str, params: Mapping[str, Any] | None = None) -> httpx.Response:
        try:
            response = self.http.get(url, headers=self.headers, params=params)
        except httpx.HTTPError as exc:
            raise GitHubError(
                f"cannot reach the GitHub API at {self.context.api_url}: {type(exc).__name__}",
                hint="nothing covered by approvals: is sent while GitHub cannot be asked",
            ) from None
        _check(response, doing)
        return response

    def _pages(self, url: str, doing: str) -> Iterator[Mapping[str, Any]]:
        """Every item of a listing, following the Link header, never off the API's host."""
        next_url: str | None = url
        params: Mapping[str, Any] | None = {"per_page": 100}
        for _ in range(_MAX_PAGES):
            if next_url is None:
                return
            response = self._get(next_url, doing, params)
            items = response.json()
            for item in items if isinstance(items, list) else []:
                if isinstance(item, Mapping):
                    yield item
            params = None  # the next link carries its own query
            next_url = response.links.get("next", {}).get("url")
            if next_url is not None and not next_url.startswith(self.context.api_url + "/"):
                raise GitHubError(f"cannot {doing}: GitHub's next page is on another host")
        raise GitHubError(f"cannot {doing}: more than {_MAX_PAGES} pages")


def _check(response: httpx.Response, doing: str, *, status: bool = False) -> None:
    if response.is_success:
        return
    try:
        message = str(response.json().get("message", ""))
    except (ValueError, AttributeError):
        message = ""
    detail = f"{response.status_code}" + (f" {message}" if message else "")
    if status and response.status_code in (401, 403, 404):
        hint = (
            "give the workflow 'permissions: statuses: write'; a pull request from a fork gets "
            "a read-only token, so the comment alone says what is approved"
        )
    else:
        hint = "give the workflow 'permissions: pull-requests: read'; re-run the job to retry"
    raise GitHubError(f"cannot {doing}: GitHub answered {detail}", hint=hint)
