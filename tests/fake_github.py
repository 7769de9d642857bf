"""A fake of the GitHub REST API, served on loopback: issue comments (enough to watch the
sticky comment be created, found again across pages, and edited, never duplicated), and for
approvals a pull request's reviews, the pull requests of a commit, a team's members and
commit statuses."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "ghs_FakeWorkflowToken_9c1e"


@dataclass
class Request:
    method: str
    path: str
    authorization: str


@dataclass
class FakeGitHub:
    repository: str = "acme/social"
    read_only: bool = False  # a fork's pull request: the token may read, not write
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    commit_pulls: dict[str, list[int]] = field(default_factory=dict)
    teams: dict[str, list[str]] = field(default_factory=dict)  # "org/slug" -> logins
    teams_readable: bool = False  # the workflow's GITHUB_TOKEN has no read:org
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    broken: bool = False  # every approvals read answers 502 (GitHub down)
    _next_id: int = 1000
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def api_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add_comment(self, number: int, body: str, user: str = "someone") -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            comment = {
                "id": self._next_id,
                "body": body,
                "user": {"login": user},
                "html_url": f"https://github.example/{self.repository}/pull/{number}#issuecomment-{self._next_id}",
            }
            self.comments.setdefault(number, []).append(comment)
            return comment

    # --- pull requests, as a test story drives them ---------------------------------------

    def open_pull(self, number: int, head_sha: str, base: str = "main") -> None:
        self.pulls[number] = {
            "number": number,
            "head": {"sha": head_sha},
            "base": {"ref": base},
            "merged_at": None,
        }

    def push_to_pull(self, number: int, head_sha: str) -> None:
        self.pulls[number]["head"]["sha"] = head_sha

    def review(self, number: int, user: str, state: str, commit_id: str | None = None) -> None:
        commit = commit_id or self.pulls[number]["head"]["sha"]
        with self._lock:
            self._next_id += 1
            self.reviews.setdefault(number, []).append(
                {"id": self._next_id, "user": {"login": user}, "state": state, "commit_id": commit}
            )

    def merge(self, number: int, *commits: str) -> None:
        """Merged: `commits` (the pull request's, and the merge commit) now list it."""
        self.pulls[number]["merged_at"] = "2026-12-01T10:00:00Z"
        for commit in commits:
            self.commit_pulls.setdefault(commit, []).append(number)

    def status_of(self, sha: str) -> str | None:
        found = [s for s in self.statuses.get(sha, []) if s["context"] == "orshot/approvals"]
        return f"{found[-1]['state']}: {found[-1]['description']}" if found else None

    def __enter__(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length", "0"))
                loaded: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
                return loaded

            def _route(self, method: str) -> None:
                url = urlsplit(self.path)
                fake.requests.append(
                    Request(method, url.path, self.headers.get("Authorization", ""))
                )
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._send(401, {"message": "Bad credentials"})
                    return
                if self._approvals(method, url.path, parse_qs(url.query)):
                    return
                prefix = f"/repos/{fake.repository}/issues/"
                if not url.path.startswith(prefix):
                    self._send(404, {"message": "Not Found"})
                    return
                rest = url.path[len(prefix) :]
                listing = re.fullmatch(r"(\d+)/comments", rest)
                one = re.fullmatch(r"comments/(\d+)", rest)
                if listing and method == "GET":
                    self._list(int(listing.group(1)), parse_qs(url.query))
                elif listing and method == "POST":
                    if fake.read_only:
                        self._send(403, {"message": "Resource not accessible by integration"})
                        return
                    comment = fake.add_comment(int(listing.group(1)), self._body()["body"], "bot")
                    self._send(201, comment)
                elif one and method == "PATCH":
                    if fake.read_only:
                        self._send(403, {"message": "Resource not accessible by integration"})
                        return
                    self._patch(int(one.group(1)), self._body()["body"])
                else:
                    self._send(404, {"message": "Not Found"})

            def _approvals(self, method: str, path: str, query: dict[str, list[str]]) -> bool:
                """The approvals routes; False when the path is none of them."""
                repo = f"/repos/{fake.repository}"
                pull = re.fullmatch(rf"{repo}/pulls/(\d+)", path)
                reviews = re.fullmatch(rf"{repo}/pulls/(\d+)/reviews", path)
                commit = re.fullmatch(rf"{repo}/commits/([0-9a-f]+)/pulls", path)
                team = re.fullmatch(r"/orgs/([^/]+)/teams/([^/]+)/members", path)
                status = re.fullmatch(rf"{repo}/statuses/([0-9a-f]+)", path)
                if not (pull or reviews or commit or team or status):
                    return False
                if fake.broken and method == "GET":
                    self._send(502, {"message": "Server Error"})
                elif pull and method == "GET":
                    found = fake.pulls.get(int(pull.group(1)))
                    self._send(200, found) if found else self._send(404, {"message": "Not Found"})
                elif reviews and method == "GET":
                    items = fake.reviews.get(int(reviews.group(1)), [])
                    self._page(path, items, query)
                elif commit and method == "GET":
                    numbers = fake.commit_pulls.get(commit.group(1), [])
                    self._send(200, [fake.pulls[n] for n in numbers])
                elif team and method == "GET":
                    if not fake.teams_readable:
                        self._send(403, {"message": "Resource not accessible by integration"})
                        return True
                    logins = fake.teams.get(f"{team.group(1)}/{team.group(2)}")
                    if logins is None:
                        self._send(404, {"message": "Not Found"})
                        return True
                    self._page(path, [{"login": login} for login in logins], query)
                elif status and method == "POST":
                    if fake.read_only:
                        self._send(403, {"message": "Resource not accessible by integration"})
                        return True
                    body = self._body()
                    fake.statuses.setdefault(status.group(1), []).append(body)
                    self._send(201, body)
                else:
                    self._send(404, {"message": "Not Found"})
                return True

            def _page(self, path: str, items: list[Any], query: dict[str, list[str]]) -> None:
                per_page = int(query.get("per_page", ["30"])[0])
                page = int(query.get("page", ["1"])[0])
                chunk = items[(page - 1) * per_page : page * per_page]
                headers = {}
                if page * per_page < len(items):
                    next_url = f"{fake.api_url}{path}?per_page={per_page}&page={page + 1}"
                    headers["Link"] = f'<{next_url}>; rel="next"'
                self._send(200, chunk, headers)

            def _list(self, number: int, query: dict[str, list[str]]) -> None:
                per_page = int(query.get("per_page", ["30"])[0])
                page = int(query.get("page", ["1"])[0])
                with fake._lock:
                    items = list(fake.comments.get(number, []))
                chunk = items[(page - 1) * per_page : page * per_page]
                headers = {}
                if page * per_page < len(items):
                    next_url = (
                        f"{fake.api_url}/repos/{fake.repository}/issues/{number}/comments"
                        f"?per_page={per_page}&page={page + 1}"
                    )
                    headers["Link"] = f'<{next_url}>; rel="next"'
                self._send(200, chunk, headers)

            def _patch(self, comment_id: int, body: str) -> None:
                with fake._lock:
                    for comments in fake.comments.values():
                        for comment in comments:
                            if comment["id"] == comment_id:
                                comment["body"] = body
                                self._send(200, comment)
                                return
                self._send(404, {"message": "Not Found"})

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_PATCH(self) -> None:
                self._route("PATCH")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def writes(self) -> list[str]:
        return [r.method for r in self.requests if r.method in ("POST", "PATCH")]
