"""Shared fixtures: real git repositories in temp dirs, git isolated from the developer's config."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test sees the developer's git config, API key or base URL."""
    home = tmp_path_factory.mktemp("home")
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("GIT_", "ORSHOT_", "GITHUB_")):
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
