"""A fake of the GitHub REST API's issue comments, served on loopback: enough to watch the
sticky comment be created, found again across pages, and edited (never duplicated)."""

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
