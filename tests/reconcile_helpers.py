"""A content repository and an Orshot sandbox, driven the way a user drives them.

`Workspace` is one user story's world: a real git repository in tmp_path with a bare remote
`origin`, posts written, committed, renamed and deleted through git, `plan` and `apply` run
through `orshot_gitops.cli.main` with ORSHOT_BASE_URL / ORSHOT_API_KEY set by monkeypatch,
and the sandbox's Posts Log (`/_sandbox/posts`) and counters read as the ground truth of what
actually went out.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from statefiles import read_state_json, write_state_json

from orshot_gitops.cli import main
from orshot_gitops.sandbox import SandboxServer

API_KEY = "sk_sandbox_Lifecycle_Key_7f3a9c"
"""A key distinctive enough that finding it anywhere (state, commits, output) is a leak."""

CONFIG = """\
accounts:
  x: {id: 1, platform: twitter}
  li: {id: 2, platform: linkedin}
  ig: {id: 3, platform: instagram}
  fb: {id: 4, platform: facebook}
vars:
  product: Acme Rockets
timezone: UTC
"""

FAST_SANDBOX: dict[str, object] = {
    "api_keys": [API_KEY],
    "rate_limit": {"requests": 1000, "per_seconds": 60},
    # Instagram stays `processing` until someone calls /sync: the tests decide when it settles.
    "processing_seconds": 3600,
}

ACCOUNTS = [
    {"id": 1, "platform": "twitter", "username": "acmehq", "name": "Acme HQ"},
    {"id": 2, "platform": "linkedin", "username": "acme-inc", "name": "Acme Inc"},
    {"id": 3, "platform": "instagram", "username": "acmeinsta", "name": "Acme"},
    {"id": 4, "platform": "facebook", "username": "acmefb", "name": "Acme"},
]


def sandbox_config(
    *, expired: tuple[int, ...] = (), noticed: bool = True, **overrides: object
) -> dict[str, object]:
    """The fast sandbox config; `expired` lists account ids whose token has expired. Not
    `noticed`: Orshot's health does not report them yet (the token expired after its check),
    so apply sends to them and the send fails."""
    accounts = [
        {**a, "token_expired": a["id"] in expired}
        | ({} if noticed or a["id"] not in expired else {"requires_reconnect": False})
        for a in ACCOUNTS
    ]
    return {**FAST_SANDBOX, "accounts": accounts, **overrides}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, encoding="utf-8"
    )
    return done.stdout.strip()


def post_yaml(
    content: str,
    accounts: tuple[str, ...] = ("x", "li"),
    **fields: object,
) -> str:
    """A post file: `content` as a block scalar, then any other fields as flow YAML."""
    lines = [f"accounts: [{', '.join(accounts)}]", "content: |"]
    lines += [f"  {line}" for line in content.splitlines()]
    for key, value in fields.items():
        lines.append(f"{key}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Run:
    """One CLI invocation: its exit code and everything it printed."""

    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err

    def json(self) -> Any:
        return json.loads(self.out)


class Workspace:
    """A content repository (with a bare remote) and the sandbox it publishes to."""

    def __init__(
        self,
        root: Path,
        sandbox: SandboxServer,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        config: str = CONFIG,
    ) -> None:
        self.root = root / "content"
        self.remote = root / "origin.git"
        self.sandbox = sandbox
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.all_output: list[str] = []
        self.remote.mkdir(parents=True)
        git(self.remote, "init", "--quiet", "--bare", "--initial-branch=main")
        self.root.mkdir(parents=True)
        git(self.root, "init", "--quiet", "--initial-branch=main")
        git(self.root, "remote", "add", "origin", str(self.remote))
        self.write("orshot.yaml", config)
        self.write("templates/signature.j2", "-- the {{ product }} team\n")
        self.commit("content repository")
        git(self.root, "push", "--quiet", "--set-upstream", "origin", "main")
        self.use(sandbox)

    # --- the sandbox ----------------------------------------------------------------------

    def use(self, sandbox: SandboxServer) -> None:
        """Point every later command at `sandbox` (a restart gets a new port)."""
        self.sandbox = sandbox
        self.monkeypatch.setenv("ORSHOT_BASE_URL", sandbox.base_url)
        self.monkeypatch.setenv("ORSHOT_API_KEY", API_KEY)

    def _inspect(self, path: str) -> Any:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        response = httpx.get(self.sandbox.base_url + path, headers=headers, timeout=30.0)
        response.raise_for_status()
        return response.json()

    def sent(self) -> list[dict[str, Any]]:
        """The sandbox's Posts Log, oldest first: every post ever created, with its targets."""
        posts = self._inspect("/_sandbox/posts")["data"]
        assert isinstance(posts, list)
        return sorted(posts, key=lambda p: int(p["post_id"]))

    def requests(self) -> int:
        """How many API requests the sandbox has answered (inspection is never counted)."""
        return int(self._inspect("/_sandbox/stats")["requests"])

    def calls(self, endpoint: str) -> int:
        """Answered calls to one endpoint, e.g. 'POST /v1/studio/render', whatever the status."""
        by_status = self._inspect("/_sandbox/stats")["by_endpoint"].get(endpoint, {})
        return sum(int(n) for n in by_status.values())

    def orshot_post(self, post_id: int) -> dict[str, Any]:
        """The post as Orshot's API shows it now (a counted GET: read it after counting)."""
        headers = {"Authorization": f"Bearer {API_KEY}"}
        url = f"{self.sandbox.base_url}/v1/social/posts/{post_id}"
        response = httpx.get(url, headers=headers, timeout=30.0)
        response.raise_for_status()
        data = response.json()["data"]
        assert isinstance(data, dict)
        return data

    def public(self) -> list[tuple[int, str]]:
        """(account id, content) of every post that is live, scheduled or processing: what the
        world sees or will see. Drafts and discarded posts are invisible."""
        seen = []
        for post in self.sent():
            for target in post["platforms"]:
                if target["status"] in ("published", "processing", "scheduled"):
                    seen.append((int(target["account_id"]), post["request"]["content"]))
        return sorted(seen)

    # --- the repository -------------------------------------------------------------------

    def write(self, rel: str, text: str) -> None:
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def post(self, post_id: str, text: str, message: str | None = None) -> str:
        """Write posts/<post_id>.yaml and commit it; returns the commit."""
        self.write(f"posts/{post_id}.yaml", text)
        return self.commit(message or f"post {post_id}")

    def rename(self, old: str, new: str) -> str:
        (self.root / f"posts/{new}.yaml").parent.mkdir(parents=True, exist_ok=True)
        git(self.root, "mv", f"posts/{old}.yaml", f"posts/{new}.yaml")
        return self.commit(f"move {old} to {new}")

    def delete(self, *post_ids: str) -> str:
        for post_id in post_ids:
            git(self.root, "rm", "--quiet", f"posts/{post_id}.yaml")
        return self.commit("remove " + ", ".join(post_ids))

    def set_config(self, text: str) -> str:
        self.write("orshot.yaml", text)
        return self.commit("orshot.yaml")

    def commit(self, message: str) -> str:
        git(self.root, "add", "--all", "--", ".")
        git(self.root, "commit", "--quiet", "-m", message)
        return self.head()

    def head(self) -> str:
        return git(self.root, "rev-parse", "HEAD")

    def log(self, rev: str = "HEAD") -> list[str]:
        """Commit subjects, newest first."""
        return git(self.root, "log", "--format=%s", rev).splitlines()

    def message(self, rev: str = "HEAD") -> str:
        return git(self.root, "log", "-1", "--format=%B", rev).strip()

    def state(self) -> dict[str, Any]:
        """The state as one v1-shaped document, whatever its layout (tests/statefiles.py)."""
        return read_state_json(self.root)

    def write_state(self, data: dict[str, Any]) -> None:
        """A hand edit of the state (not committed)."""
        write_state_json(self.root, data)

    def record(self, post_id: str, account: str) -> dict[str, Any]:
        """The state file's record of one (post, account)."""
        record = self.state()["posts"][post_id]["accounts"][account]
        assert isinstance(record, dict)
        return record

    # --- the commands ---------------------------------------------------------------------

    def cli(self, *argv: str) -> Run:
        self.capsys.readouterr()  # start clean: only this command's output
        code = main([*argv, "--repo", str(self.root)])
        out, err = self.capsys.readouterr()
        self.all_output.append(out + err)
        return Run(code, out, err)

    def plan(self, *args: str) -> Run:
        return self.cli("plan", *args)

    def plan_json(self, *args: str) -> dict[str, Any]:
        run = self.plan("--format", "json", *args)
        assert run.code in (0, 1, 2), run.output
        data = run.json()
        assert isinstance(data, dict)
        return data

    def apply(self, *args: str) -> Run:
        return self.cli("apply", *args)

    def apply_json(self, *args: str) -> dict[str, Any]:
        run = self.apply("--format", "json", *args)
        data = run.json()
        assert isinstance(data, dict)
        data["exit_code"] = run.code
        return data


def actions(plan: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(post, account, kind or mode) for each action of a JSON plan, in plan order."""
    return [
        (a["post_id"], a["account"], a["mode"] if a["kind"] == "create" else a["kind"])
        for a in plan["actions"]
    ]


def outcomes(report: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(post, account, status) of each outcome of `apply --format json`."""
    return [(o["post"], o["account"], o["status"]) for o in report["outcomes"]]


WorkspaceFactory = Callable[..., Workspace]
