"""Shared fixtures: real git repositories in temp dirs, git isolated from the developer's config."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import httpx
import pytest
from reconcile_helpers import Workspace, sandbox_config

from orshot_gitops.sandbox import SandboxConfig, SandboxServer


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test sees the developer's git config, API key or base URL."""
    home = tmp_path_factory.mktemp("home")
    saved = dict(os.environ)
    for name in list(os.environ):
        # XDG_CACHE_HOME too: the template cache then lands in this test's temporary HOME.
        if name.startswith(("GIT_", "ORSHOT_", "GITHUB_")) or name == "XDG_CACHE_HOME":
            del os.environ[name]
    os.environ.update(
        {
            "HOME": str(home),
            "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Test Author",
            "GIT_AUTHOR_EMAIL": "author@example.com",
            "GIT_COMMITTER_NAME": "Test Committer",
            "GIT_COMMITTER_EMAIL": "committer@example.com",
            "NO_COLOR": "1",
        }
    )
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write {relative path: text} under root; returns root."""
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


# --- sandbox fixtures (the Orshot-compatible server on a free loopback port) go below ---


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    """A started sandbox with the default config and its own data directory."""
    with SandboxServer(
        data_dir=tmp_path / "sandbox-data", config=SandboxConfig.default()
    ) as server:
        yield server


SandboxFactory = Callable[..., SandboxServer]


@pytest.fixture
def sandbox_factory(tmp_path: Path) -> Iterator[SandboxFactory]:
    """Start sandboxes: `sandbox_factory({"rate_limit": {"requests": 5}}, clock=..., data_dir=...)`.

    The first argument is a config mapping (overrides of the defaults) or a SandboxConfig. Each
    server gets a fresh data directory unless `data_dir` is given (pass the same one to restart
    over the same Posts Log). All of them are stopped at teardown.
    """
    started: list[SandboxServer] = []

    def start(
        config: Mapping[str, object] | SandboxConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        data_dir: Path | None = None,
    ) -> SandboxServer:
        if not isinstance(config, SandboxConfig):
            config = SandboxConfig.from_mapping(config or {})
        server = SandboxServer(
            data_dir=data_dir or tmp_path / f"sandbox-data-{len(started)}",
            config=config,
            clock=clock,
        )
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()


class FakeClock:
    """A clock for the sandbox that moves only when a test says so (2030-03-17T17:46:40Z at
    the start). Thread-safe: the server reads it from its request threads."""

    def __init__(self, start: float = 1_900_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox_client() -> Iterator[Callable[..., httpx.Client]]:
    """httpx clients for a sandbox, authenticated with its key unless `key` says otherwise
    (`key=None`: no Authorization header). Closed at teardown."""
    clients: list[httpx.Client] = []

    def make(server: SandboxServer, key: str | None = "") -> httpx.Client:
        token = server.api_key if key == "" else key
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        client = httpx.Client(base_url=server.base_url, headers=headers, timeout=30.0)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def ws(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Workspace]:
    """A content repository with a bare remote and the fast sandbox: one user story's world
    (reconcile_helpers.Workspace)."""
    yield Workspace(tmp_path, sandbox_factory(sandbox_config()), monkeypatch, capsys)
