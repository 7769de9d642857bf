"""The sandbox as a server: rate limit, faults, inspection, routing, lifecycle and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from conftest import FakeClock

from orshot_gitops.sandbox import SandboxConfig, SandboxServer

Client = Callable[..., httpx.Client]
Factory = Callable[..., SandboxServer]
SMALL_LIMIT = {"rate_limit": {"requests": 5, "per_seconds": 2}}


def test_the_rate_limit_is_a_sliding_window_over_all_api_calls(
    sandbox_factory: Factory, sandbox_client: Client, fake_clock: FakeClock
) -> None:
    server = sandbox_factory(SMALL_LIMIT, clock=fake_clock)
    client = sandbox_client(server)
    calls = [
        lambda: client.get("/v1/social/accounts"),
        lambda: client.post("/v1/social/publish", json={"accounts": [1], "isDraft": True}),
        lambda: client.post("/v1/studio/render", json={"templateId": 123}),
        lambda: client.get("/v1/social/posts"),
    ]
    remaining = []
    for i in range(4):
        response = calls[i]()
        assert response.status_code == 200
        remaining.append(response.headers["X-RateLimit-Remaining"])
        fake_clock.advance(0.25)  # binary-exact steps: t = 0, 0.25, 0.5, 0.75, now 1.0
    assert remaining == ["4", "3", "2", "1"]
    # Inspection is neither limited nor counted.
    for _ in range(10):
        assert client.get("/_sandbox/posts").status_code == 200
    assert client.get("/v1/social/posts/1").headers["X-RateLimit-Remaining"] == "0"

    refused = client.post("/v1/social/publish", json={"accounts": [1], "content": "no"})
    assert (refused.status_code, refused.json()) == (429, {"error": "Rate limit exceeded"})
    assert refused.headers["X-RateLimit-Limit"] == "5"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["Retry-After"] == "1"  # the call at t=0 leaves the window at t=2
    fake_clock.advance(1.0)
    assert client.get("/v1/social/accounts").status_code == 200
    assert client.get("/v1/social/accounts").status_code == 429

    stats = client.get("/_sandbox/stats").json()
    assert stats == {
        "requests": 8,
        "rate_limited": 2,
        "server_errors": 0,
        "by_endpoint": {
            "GET /v1/social/accounts": {"200": 2, "429": 1},
            "POST /v1/social/publish": {"200": 1, "429": 1},
            "POST /v1/studio/render": {"200": 1},
            "GET /v1/social/posts": {"200": 1},
            "GET /v1/social/posts/{id}": {"200": 1},
        },
    }
    assert len(client.get("/_sandbox/posts").json()["data"]) == 1  # the 429 created nothing


def test_retry_after_is_the_wait_until_a_slot_frees(
    sandbox_factory: Factory, sandbox_client: Client, fake_clock: FakeClock
) -> None:
    server = sandbox_factory({"rate_limit": {"requests": 2, "per_seconds": 60}}, clock=fake_clock)
    client = sandbox_client(server)
    assert client.get("/v1/social/accounts").status_code == 200
    fake_clock.advance(10)
    assert client.get("/v1/social/accounts").status_code == 200
    fake_clock.advance(5)
    refused = client.get("/v1/social/accounts")
    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "45")
    fake_clock.advance(45)
    assert client.get("/v1/social/accounts").status_code == 200


@pytest.mark.parametrize(
    ("limit", "stated"),
    [
        ({"requests": 5, "per_seconds": 2}, '"workspace";q=5;w=2'),
        ({}, '"workspace";q=20;w=60'),  # Orshot's documented 20 a minute
        # The draft's w is whole seconds: a shorter window is rounded up, never down.
        ({"requests": 3, "per_seconds": 0.5}, '"workspace";q=3;w=1'),
        ({"requests": 3, "per_seconds": 1.2}, '"workspace";q=3;w=2'),
    ],
)
def test_every_answer_states_the_sandbox_window_in_a_ratelimit_policy(
    sandbox_factory: Factory,
    sandbox_client: Client,
    fake_clock: FakeClock,
    limit: dict[str, float],
    stated: str,
) -> None:
    """Issue 19: Orshot documents its window as a minute; the sandbox's is its config's, and
    it says so in the IETF draft's header, on every answer, refusals and inspection included."""
    server = sandbox_factory({"rate_limit": limit}, clock=fake_clock)
    client = sandbox_client(server)
    answers = [client.get("/v1/social/accounts") for _ in range(limit.get("requests", 20) + 1)]
    answers += [client.get("/_sandbox/stats"), sandbox_client(server, key=None).get("/v1/x")]
    assert answers[-3].status_code == 429
    assert {a.headers["RateLimit-Policy"] for a in answers} == {stated}


def test_a_server_error_fault_answers_500_before_doing_anything(
    sandbox_factory: Factory, sandbox_client: Client
) -> None:
    server = sandbox_factory({"faults": {"server_error_rate": 1.0}})
    client = sandbox_client(server)
    response = client.post("/v1/social/publish", json={"accounts": [1], "content": "x"})
    assert (response.status_code, response.json()) == (500, {"error": "Internal server error"})
    assert response.headers["X-RateLimit-Remaining"] == "20"
    assert sandbox_client(server, key=None).get("/v1/social/accounts").status_code == 500
    assert client.get("/_sandbox/posts").json() == {"data": []}
    stats = client.get("/_sandbox/stats").json()
    assert (stats["requests"], stats["server_errors"]) == (2, 2)


def test_a_dropped_response_still_did_the_work(
    sandbox_factory: Factory, sandbox_client: Client
) -> None:
    server = sandbox_factory({"faults": {"drop_response_rate": 1.0}})
    client = sandbox_client(server)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/v1/social/publish", json={"accounts": [1], "content": "lost answer"})
    (logged,) = client.get("/_sandbox/posts").json()["data"]
    assert (logged["request"]["content"], logged["status"]) == ("lost answer", "published")
    assert client.get("/_sandbox/stats").json()["by_endpoint"] == {
        "POST /v1/social/publish": {"200": 1}
    }


def test_faults_with_a_seed_are_reproducible(
    sandbox_factory: Factory, sandbox_client: Client
) -> None:
    config = {"faults": {"server_error_rate": 0.5, "seed": 7}, "rate_limit": {"requests": 100}}
    runs = []
    for _ in range(2):
        client = sandbox_client(sandbox_factory(config))
        runs.append([client.get("/v1/social/accounts").status_code for _ in range(16)])
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 500}


def test_latency_delays_the_answer(sandbox_factory: Factory, sandbox_client: Client) -> None:
    client = sandbox_client(sandbox_factory({"faults": {"latency_ms": 150}}))
    started = time.perf_counter()
    assert client.get("/v1/social/accounts").status_code == 200
    assert time.perf_counter() - started >= 0.15


def test_inspection_needs_the_key(sandbox: SandboxServer, sandbox_client: Client) -> None:
    for path in ("/_sandbox/posts", "/_sandbox/stats"):
        response = sandbox_client(sandbox, key=None).get(path)
        assert (response.status_code, response.json()) == (
            403,
            {"error": "Missing or invalid API key"},
        )
    assert sandbox_client(sandbox).get("/_sandbox/stats").json() == {
        "requests": 0,
        "rate_limited": 0,
        "server_errors": 0,
        "by_endpoint": {},
    }


def test_any_configured_key_is_accepted(sandbox_factory: Factory, sandbox_client: Client) -> None:
    server = sandbox_factory({"api_keys": ["first", "second"]})
    assert server.api_key == "first"
    assert sandbox_client(server, key="second").get("/v1/social/accounts").status_code == 200
    assert sandbox_client(server, key="sandbox").get("/v1/social/accounts").status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        ("GET", "/v1/social/nothing", None, 404, "Not found"),
        ("GET", "/elsewhere", None, 404, "Not found"),
        ("PUT", "/v1/social/posts/1", b"{}", 405, "Method not allowed"),
        ("POST", "/v1/social/publish", b"{not json", 400, "Invalid JSON body"),
        ("POST", "/v1/social/publish", b"[1, 2]", 400, "Request body must be a JSON object"),
        ("POST", "/v1/studio/render", b"", 400, "Request body must be a JSON object"),
    ],
)
def test_routing_and_body_errors(
    sandbox: SandboxServer,
    sandbox_client: Client,
    method: str,
    path: str,
    body: bytes | None,
    status: int,
    error: str,
) -> None:
    response = sandbox_client(sandbox).request(method, path, content=body)
    assert (response.status_code, response.json()) == (status, {"error": error})
    assert "X-RateLimit-Limit" in response.headers


def test_json_answers_are_deterministic(sandbox: SandboxServer, sandbox_client: Client) -> None:
    response = sandbox_client(sandbox).get("/v1/social/accounts")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.text == json.dumps(response.json(), sort_keys=True, ensure_ascii=False)


def test_stop_closes_open_connections_and_is_idempotent(tmp_path: Path) -> None:
    server = SandboxServer(data_dir=tmp_path, config=SandboxConfig.default())
    with pytest.raises(RuntimeError):
        _ = server.base_url
    with server, httpx.Client(base_url=server.base_url, timeout=30) as client:
        assert client.get("/v1/social/accounts").status_code == 403  # a keep-alive connection
        server.stop()
        with pytest.raises(httpx.TransportError):
            client.get("/v1/social/accounts")
    server.stop()


def _cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    # PYTHONFAULTHANDLER: a child that does not stop dumps its threads' stacks on SIGABRT
    # (see `_interrupt`), so a hang seen once on a loaded machine says where it was.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "orshot_gitops", "sandbox", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _first_lines(process: subprocess.Popen[str], count: int) -> list[str]:
    assert process.stdout is not None
    return [process.stdout.readline() for _ in range(count)]


BANNER_LINES = 4
"""What the sandbox command prints before it serves, "Press Ctrl-C to stop." last."""


def _banner(process: subprocess.Popen[str]) -> list[str]:
    """Every line printed before serving. All of them: `communicate` reads the pipe itself,
    past this file object's buffer, so a banner line left unread here would turn up in its
    output or not, depending on how the lines happened to arrive (flaky on a busy machine)."""
    lines = _first_lines(process, BANNER_LINES)
    assert lines[-1].strip() == "Press Ctrl-C to stop.", lines
    return lines


def _interrupt(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        # Seen twice in a full suite on a loaded machine, never alone (240 tries): say where
        # the child was, and what it inherited, rather than only that it did not stop.
        blocked = Path(f"/proc/{process.pid}/status").read_text(encoding="utf-8")
        masks = [line for line in blocked.splitlines() if line.startswith(("SigBlk", "SigIgn"))]
        process.send_signal(signal.SIGABRT)
        out, err = process.communicate(timeout=30)
        raise AssertionError(f"the sandbox did not stop on SIGINT; {masks}\n{out}\n{err}") from None
    finally:
        if process.poll() is None:
            process.kill()


def test_the_cli_serves_until_ctrl_c(tmp_path: Path) -> None:
    with _cli("--port", "0", "--data", "log", cwd=tmp_path) as process:
        lines = _banner(process)
        export = lines[2].split()
        assert export[0] == "export"
        base_url = export[1].removeprefix("ORSHOT_BASE_URL=")
        assert export[2] == "ORSHOT_API_KEY=sandbox"
        response = httpx.get(
            base_url + "/v1/social/accounts",
            headers={"Authorization": "Bearer sandbox"},
            timeout=30,
        )
        assert response.status_code == 200
        out, err = _interrupt(process)
    assert (process.returncode, out.strip(), err) == (0, "stopped", "")
    assert lines[0].startswith(f"Orshot sandbox listening on {base_url} ")
    assert (tmp_path / "log" / "sandbox.sqlite3").is_file()


@pytest.mark.parametrize("after_lines", [1, 2, 3, 4])
def test_ctrl_c_at_any_moment_after_start_stops_cleanly(tmp_path: Path, after_lines: int) -> None:
    """Ctrl-C while the banner is still being printed (a loaded machine runs the test's next
    step before the server's main thread reaches its wait) is the same normal stop."""
    with _cli("--port", "0", "--data", "log", cwd=tmp_path) as process:
        _first_lines(process, after_lines)
        out, err = _interrupt(process)
    assert (process.returncode, out.strip().splitlines()[-1], err) == (0, "stopped", "")


def test_the_cli_reports_a_bad_config_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "sandbox.yaml").write_text("faults:\n  server_error_rate: 2\n")
    process = _cli("--config", "sandbox.yaml", cwd=tmp_path)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 1
    assert err.strip() == (
        "sandbox.yaml: error: sandbox config: faults.server_error_rate must be a number "
        "between 0.0 and 1.0, got 2"
    )


def test_the_cli_never_echoes_a_configured_key(tmp_path: Path) -> None:
    (tmp_path / "sandbox.json").write_text(json.dumps({"api_keys": ["sk_secret_123"]}))
    with _cli("--config", "sandbox.json", "--port", "0", cwd=tmp_path) as process:
        lines = _banner(process)
        out, err = _interrupt(process)
    assert "sk_secret_123" not in "".join(lines) + out + err
    assert "ORSHOT_API_KEY=<a key from your --config>" in lines[2]
