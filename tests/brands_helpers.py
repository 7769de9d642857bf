"""A repository holding two brands (two content roots, two Orshot keys) with a bare remote.

`Brands` is the agency's world: `brands/acme/` and `brands/zen/`, each with its own
`orshot.yaml`, posts and state; commands run through `orshot_gitops.cli.main` from a chosen
folder, as a user in a terminal or a CI job would run them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from orshot_gitops.cli import main

ACME_KEY = "sk_acme_Brand_Key_1a2b3c4d5e"
ZEN_KEY = "sk_zen_Brand_Key_9z8y7x6w5v"
ACME_CONFIG = """\
accounts:
  acme-x: {id: 1, platform: twitter}
  acme-li: {id: 2, platform: linkedin}
timezone: UTC
"""
ZEN_CONFIG = """\
api_key_env: ORSHOT_API_KEY_ZEN
accounts:
  zen-x: {id: 3, platform: twitter}
  zen-li: {id: 4, platform: linkedin}
timezone: UTC
"""
ACCOUNTS = [
    {"id": 1, "platform": "twitter", "username": "acmehq", "name": "Acme HQ"},
    {"id": 2, "platform": "linkedin", "username": "acme-inc", "name": "Acme Inc"},
    {"id": 3, "platform": "twitter", "username": "zenhq", "name": "Zen HQ"},
    {"id": 4, "platform": "linkedin", "username": "zen-inc", "name": "Zen Inc"},
]


def sandbox_config(*keys: str) -> dict[str, object]:
    """A fast sandbox that accepts only `keys`: Orshot refuses any other key."""
    return {
        "api_keys": list(keys),
        "rate_limit": {"requests": 1000, "per_seconds": 60},
        "processing_seconds": 3600,
        "accounts": ACCOUNTS,
    }


def git(cwd: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=check, capture_output=True, text=True, encoding="utf-8"
    )
    return done.stdout.strip()


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err

    def json(self) -> Any:
        return json.loads(self.out)


class Brands:
    """A git work tree with `brands/acme` and `brands/zen`, pushed to a bare `origin`."""

    def __init__(self, tmp: Path) -> None:
        self.root = tmp / "agency"
        self.remote = tmp / "origin.git"
        self.remote.mkdir(parents=True)
        git(self.remote, "init", "--quiet", "--bare", "--initial-branch=main")
        self.root.mkdir(parents=True)
        git(self.root, "init", "--quiet", "--initial-branch=main")
        git(self.root, "remote", "add", "origin", str(self.remote))
        self.write("README.md", "Our clients' posts.\n")
        self.write("brands/acme/orshot.yaml", ACME_CONFIG)
        self.write("brands/zen/orshot.yaml", ZEN_CONFIG)
        self.commit("two brands")
        git(self.root, "push", "--quiet", "--set-upstream", "origin", "main")

    def write(self, rel: str, text: str) -> None:
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def post(self, brand: str, post_id: str, content: str, accounts: tuple[str, ...]) -> str:
        body = f"accounts: [{', '.join(accounts)}]\ncontent: {json.dumps(content)}\n"
        self.write(f"brands/{brand}/posts/{post_id}.yaml", body)
        return self.commit(f"{brand}: {post_id}")

    def commit(self, message: str) -> str:
        git(self.root, "add", "--all", "--", ".")
        git(self.root, "commit", "--quiet", "-m", message)
        return git(self.root, "rev-parse", "HEAD")

    def head(self) -> str:
        return git(self.root, "rev-parse", "HEAD")

    def history(self, folder: str) -> list[str]:
        """Commits (newest first) that changed anything under `folder`."""
        return git(self.root, "log", "--format=%H", "--", folder).splitlines()

    def remote_history(self, folder: str) -> list[str]:
        return git(self.remote, "log", "--format=%H", "main", "--", folder).splitlines()

    def state_bytes(self, brand: str) -> dict[str, bytes]:
        """Every file under the brand's .orshot folder, by path: its state, byte for byte."""
        folder = self.root / "brands" / brand / ".orshot"
        if not folder.exists():
            return {}
        return {
            p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        }

    def cli(self, *argv: str, cwd: Path | None = None) -> Run:
        """Run the CLI from `cwd` (default: the work tree's top), output captured."""
        out, err = io.StringIO(), io.StringIO()
        before = Path.cwd()
        os.chdir(cwd or self.root)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(list(argv))
        finally:
            os.chdir(before)
        return Run(code, out.getvalue(), err.getvalue())


def sent(base_url: str, key: str) -> list[dict[str, Any]]:
    """A sandbox's Posts Log, oldest first."""
    headers = {"Authorization": f"Bearer {key}"}
    response = httpx.get(base_url + "/_sandbox/posts", headers=headers, timeout=30.0)
    response.raise_for_status()
    posts = response.json()["data"]
    assert isinstance(posts, list)
    return sorted(posts, key=lambda p: int(p["post_id"]))


def requests(base_url: str, key: str) -> int:
    """How many API requests a sandbox has answered, whatever their status."""
    headers = {"Authorization": f"Bearer {key}"}
    response = httpx.get(base_url + "/_sandbox/stats", headers=headers, timeout=30.0)
    response.raise_for_status()
    return int(response.json()["requests"])
