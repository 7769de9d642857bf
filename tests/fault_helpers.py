"""Helpers for the fault tests: content repos with a bare remote, `apply` as a real process,
the sandbox's Posts Log read as ground truth, and a gate that holds chosen requests in flight.

The checks here are the reconciler's first promise, stated over the sandbox's log and the state
file: no (content, account) goes public twice, no draft is left behind that nobody asked for,
and every (post, account) is either live exactly once or reported as failed or unknown.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from orshot_gitops.sandbox import SandboxServer
from orshot_gitops.state.model import STATE_PATH, AccountStatus, State
from orshot_gitops.state.store import load_state

# Generous: the fault tests are about faults, not pacing. Instagram settles at the first sync.
FAST: dict[str, Any] = {"rate_limit": {"requests": 100_000}, "processing_seconds": 0}
DRAFT_CREATE = "POST /v1/social/publish"


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
GIT = ["git", "-c", "advice.detachedHead=false"]

# Statuses of a logged post that mean "sent to a platform or queued for one": not held as a draft.
HELD_OR_GONE = ("draft", "discarded")
# What a state record may say for a target, given the target's status in the sandbox's log.
AGREES = {
    AccountStatus.PUBLISHED: ("published",),
    AccountStatus.PROCESSING: ("processing", "published"),
    AccountStatus.SCHEDULED: ("scheduled", "published"),
    AccountStatus.DRAFTED: ("draft", "drafted"),
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [*GIT, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout


@dataclass
class Remote:
    """A bare repository that stands for GitHub, and the clones that work against it."""

    bare: Path
    workdir: Path
    clones: int = 0

    def clone(self, name: str | None = None) -> Path:
        self.clones += 1
        target = self.workdir / (name or f"clone-{self.clones}")
        git(self.workdir, "clone", "--quiet", str(self.bare), str(target))
        return target


def example_config() -> str:
    """examples/orshot.yaml with its approvals sent unchecked: these tests run without GitHub
    and are about faults, not reviews (test_approvals.py has those); the gate still runs."""
    text = (EXAMPLES / "orshot.yaml").read_text(encoding="utf-8")
    return text.replace("approvals_without_github: hold", "approvals_without_github: send")


def content_remote(tmp_path: Path, files: Mapping[str, str] | None = None) -> Remote:
    """A bare remote whose main branch holds examples/ (or `files`), committed and pushed."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    seed = tmp_path / "seed"
    if files is None:
        shutil.copytree(EXAMPLES, seed)
        (seed / "orshot.yaml").write_text(example_config(), encoding="utf-8")
    else:
        for rel, text in files.items():
            target = seed / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    git(seed, "init", "--quiet", "--initial-branch=main")
    git(seed, "add", "--all")
    git(seed, "commit", "--quiet", "-m", "posts")
    git(seed, "push", "--quiet", str(bare), "HEAD:refs/heads/main")
    return Remote(bare, tmp_path)


def desired_pairs(repo: Path) -> dict[tuple[str, str], bool]:
    """{(post id, account alias): whether the file asks for a draft}, read from the YAML."""
    import yaml

    pairs: dict[tuple[str, str], bool] = {}
    for path in sorted((repo / "posts").rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        post_id = path.relative_to(repo / "posts").with_suffix("").as_posix()
        if "repeat" in data:
            pairs.update(_occurrence_pairs(repo, post_id, data))
            continue
        for row_post_id in _batch_rows(repo, post_id, data):
            for account in data["accounts"]:
                pairs[(row_post_id, account)] = bool(data.get("draft", False))
    return pairs


def _batch_rows(repo: Path, post_id: str, data: dict[str, Any]) -> list[str]:
    """A post file's post ids: its own, or one per row of a batch (`for_each` a CSV file,
    `id: "{{ row.<column> }}"`), read here without the package's own reader."""
    import csv

    if "for_each" not in data:
        return [post_id]
    column = re.fullmatch(r"\{\{\s*row\.(\w+)\s*\}\}", data["id"])
    assert column is not None, "the fault tests read batches keyed by one column"
    with (repo / data["for_each"]).open(encoding="utf-8", newline="") as handle:
        return [f"{post_id}/{row[column.group(1)]}" for row in csv.DictReader(handle)]


def _occurrence_pairs(
    repo: Path, post_id: str, data: dict[str, Any]
) -> dict[tuple[str, str], bool]:
    """A recurring post's pairs: one per occurrence the horizon holds now (recurrence.py)."""
    from orshot_gitops.content.load import load_config
    from orshot_gitops.content.model import post_from_data
    from orshot_gitops.content.recurrence import expand_repeat
    from orshot_gitops.content.yamlload import load_document

    config, _ = load_config(repo)
    assert config is not None
    relative = f"posts/{post_id}.yaml"
    # Our loader, not PyYAML's: that one turns `schedule: 2027-01-07T09:30` into a datetime.
    document = load_document((repo / relative).read_text(encoding="utf-8"), relative)
    spec = post_from_data(post_id, relative, document.data, document)
    occurrences, problems = expand_repeat(spec, config, datetime.now(timezone.utc))
    assert not problems, problems
    return {(o.id, account): o.draft for o in occurrences for account in data["accounts"]}


# --- apply, as CI runs it --------------------------------------------------------------------


def apply_env(server: SandboxServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ORSHOT_CRASH_AT"}
    env.update(ORSHOT_BASE_URL=server.base_url, ORSHOT_API_KEY=server.api_key, **extra)
    return env


def apply_args(repo: Path, *options: str) -> list[str]:
    # These clones have an upstream, where apply now pushes by default: a run without
    # --push is the by-hand run that records in its checkout alone (--local), as before.
    if "--push" not in options and "--local" not in options:
        options = ("--local", *options)
    return [sys.executable, "-m", "orshot_gitops", "apply", "--repo", str(repo), *options]


@dataclass(frozen=True)
class Run:
    """One finished `apply --format json`: its exit code, outcomes and error output."""

    returncode: int
    report: dict[str, Any] | None
    stderr: str

    @property
    def killed(self) -> bool:
        return self.returncode == -9

    @property
    def outcomes(self) -> list[dict[str, Any]]:
        return list(self.report["outcomes"]) if self.report else []

    @property
    def nothing_to_do(self) -> bool:
        return self.returncode == 0 and self.report is not None and not self.outcomes

    def describe(self) -> str:
        if self.report is None:
            return f"exit {self.returncode}: {self.stderr[-2000:]}"
        bad = [
            f"  {o['status']} {o['post']} → {o['account']}: {o['error']}"
            for o in self.outcomes
            if o["status"] in ("failed", "unknown", "skipped")
        ]
        return f"exit {self.returncode}, {self.report['counts']}\n" + "\n".join(bad)


def start_apply(
    repo: Path, server: SandboxServer, *options: str, crash_at: str | None = None
) -> subprocess.Popen[str]:
    extra = {"ORSHOT_CRASH_AT": crash_at} if crash_at else {}
    return subprocess.Popen(
        apply_args(repo, "--format", "json", *options),
        env=apply_env(server, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 300) -> Run:
    out, err = process.communicate(timeout=timeout)
    report = json.loads(out) if out.strip() else None
    return Run(process.returncode, report, err)


def apply(repo: Path, server: SandboxServer, *options: str, crash_at: str | None = None) -> Run:
    return finish(start_apply(repo, server, *options, crash_at=crash_at))


def converge(repo: Path, server: SandboxServer, *options: str, max_runs: int = 5) -> list[Run]:
    """Apply (settling at once: the test knows nothing else is running) until nothing is left."""
    runs = []
    for _ in range(max_runs):
        run = apply(repo, server, "--settle-after", "0", *options)
        runs.append(run)
        assert not run.killed, run.describe()
        assert_state_parses(repo)
        if run.nothing_to_do:
            return runs
    raise AssertionError(
        f"still work left after {max_runs} runs:\n" + "\n".join(r.describe() for r in runs)
    )


# --- ground truth ------------------------------------------------------------------------------


def inspect(server: SandboxServer, path: str) -> Any:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    return httpx.get(server.base_url + path, headers=headers, timeout=30).json()


def logged_posts(server: SandboxServer) -> list[dict[str, Any]]:
    posts = inspect(server, "/_sandbox/posts")["data"]
    assert isinstance(posts, list)
    return posts


def endpoint_count(server: SandboxServer, endpoint: str) -> int:
    counts = inspect(server, "/_sandbox/stats")["by_endpoint"].get(endpoint, {})
    return sum(int(n) for n in counts.values())


def _key(post: Mapping[str, Any], account_id: int) -> tuple[str, str, int]:
    request = post["request"]
    media = json.dumps(
        request.get("media_urls") or ([request["media_url"]] if request.get("media_url") else [])
    )
    return str(request.get("content")), media, account_id


def public_sends(posts: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, int], list[int]]:
    """(content, media, account id) -> ids of the posts that went (or tried to go) public."""
    sends: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    for post in posts:
        if post["status"] in HELD_OR_GONE:
            continue
        for target in post["platforms"]:
            sends[_key(post, target["account_id"])].append(post["post_id"])
    return sends


def assert_no_public_duplicates(server: SandboxServer) -> None:
    duplicates = {k: v for k, v in public_sends(logged_posts(server)).items() if len(v) > 1}
    assert not duplicates, f"sent publicly more than once: {duplicates}"


def assert_state_parses(repo: Path) -> State:
    return load_state(repo)  # raises on a torn, invalid or conflicted file


def assert_no_orphan_drafts(server: SandboxServer, state: State) -> None:
    """Every draft Orshot holds is one the state knows as a draft the user asked for."""
    drafts = {p["post_id"] for p in logged_posts(server) if p["status"] == "draft"}
    known = {
        record.post_id
        for _, _, record in state.entries()
        if record.status is AccountStatus.DRAFTED and record.post_id is not None
    }
    assert drafts <= known, f"drafts left behind that nobody asked for: {sorted(drafts - known)}"


def check_truthful(
    server: SandboxServer,
    state: State,
    pairs: Mapping[tuple[str, str], bool],
    reported: Mapping[tuple[str, str], str] | None = None,
    *,
    settled: bool = False,
) -> None:
    """What the state says agrees with the Posts Log, and nothing is silently missing.

    `reported` maps (post, account) to the status the run reported for it; None for a run that
    was killed (its report is the state file: pending and unknown records say "not confirmed").
    With `settled`, every pair must be live (or drafted, as asked) exactly once, and say so.
    """
    by_id = {p["post_id"]: p for p in logged_posts(server)}
    sends = public_sends(by_id.values())
    problems = []
    for (post_id, account), wants_draft in sorted(pairs.items()):
        record = state.account(post_id, account)
        where = f"{post_id} → {account}"
        said = None if reported is None else reported.get((post_id, account))
        if record is None:
            if settled or (reported is not None and said not in ("skipped", "unknown")):
                problems.append(f"{where}: no record, and the run reported {said!r}")
            continue
        if record.status in AGREES:
            logged = by_id.get(record.post_id) if record.post_id is not None else None
            targets = logged["platforms"] if logged is not None else []
            target = next((t for t in targets if t["account_id"] == record.account_id), None)
            if logged is None or logged["status"] == "discarded" or target is None:
                problems.append(
                    f"{where}: the state says {record.status.value} as post "
                    f"{record.post_id}, which Orshot does not hold"
                )
            elif target["status"] not in AGREES[record.status]:
                problems.append(
                    f"{where}: the state says {record.status.value}, Orshot says {target['status']}"
                )
            elif (
                record.status is not AccountStatus.DRAFTED
                and len(sends[_key(logged, record.account_id)]) != 1
            ):
                problems.append(f"{where}: not public exactly once")
            if settled and wants_draft != (record.status is AccountStatus.DRAFTED):
                problems.append(f"{where}: settled as {record.status.value}")
        elif settled:
            problems.append(f"{where}: still {record.status.value} ({record.error})")
        elif reported is not None and said not in ("failed", "unknown", "skipped"):
            problems.append(
                f"{where}: {record.status.value} in the state, but the run reported {said!r}"
            )
    assert not problems, "\n".join(problems)


def assert_created_once(server: SandboxServer) -> None:
    """No create was repeated: an orphan draft was adopted, not drafted again beside it."""
    seen: dict[str, list[int]] = defaultdict(list)
    for post in logged_posts(server):
        seen[json.dumps(post["request"], sort_keys=True)].append(post["post_id"])
    repeated = {k: v for k, v in seen.items() if len(v) > 1}
    assert not repeated, f"created more than once: {repeated}"


def reported(run: Run) -> dict[tuple[str, str], str]:
    return {(o["post"], o["account"]): o["status"] for o in run.outcomes}


def state_at(remote: Remote, ref: str = "main") -> State:
    """The state the remote's `ref` holds."""
    from statefiles import state_in_bare

    return state_in_bare(remote.bare, ref)


def state_text_at(remote: Remote, ref: str = "main") -> str:
    """The text of the state's index (v2) or file (v1) at the remote's `ref`."""
    return git(remote.bare, "show", f"{ref}:{STATE_PATH}")


# --- holding requests in flight ---------------------------------------------------------------


@dataclass
class Held:
    """One request the gate holds: the test sees it arrive and decides when it may proceed."""

    endpoint: str
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


class Gate:
    """Wraps the sandbox's request handling to hold the n-th request to an endpoint at the door.

    The held request has been fully received: once released, the sandbox does its work whether
    or not anyone is still waiting for the answer, exactly like a server whose client died.
    Endpoints are named as in the statistics, e.g. `POST /v1/social/publish`.
    """

    def __init__(self, server: SandboxServer) -> None:
        self._app = server.app
        self._handle = self._app.handle
        self._lock = threading.Lock()
        self._seen: dict[str, int] = defaultdict(int)
        self._rules: dict[tuple[str, int], Held] = {}
        self._drops: set[tuple[str, int]] = set()
        self._after: list[tuple[str, Callable[[], None]]] = []
        self._app.handle = self._intercept  # type: ignore[method-assign]

    def hold(self, endpoint: str, nth: int = 1) -> Held:
        held = Held(endpoint)
        self._rules[(endpoint, nth)] = held
        return held

    def drop_next(self, endpoint: str, count: int = 1) -> None:
        """Do the next `count` requests to `endpoint`, then close the connection each time
        instead of answering."""
        with self._lock:
            seen = self._seen[endpoint]
            self._drops.update((endpoint, seen + n) for n in range(1, count + 1))

    def after(self, endpoint: str, callback: Callable[[], None]) -> None:
        """Call `callback` each time a request to `endpoint` has been handled."""
        self._after.append((endpoint, callback))

    def close(self) -> None:
        for held in self._rules.values():
            held.release.set()
        self._app.handle = self._handle  # type: ignore[method-assign]

    def _intercept(self, method: str, target: str, authorization: str | None, body: bytes) -> Any:
        endpoint = f"{method} {_pattern(target)}"
        with self._lock:
            self._seen[endpoint] += 1
            held = self._rules.get((endpoint, self._seen[endpoint]))
            dropped = (endpoint, self._seen[endpoint]) in self._drops
        if held is not None:
            held.arrived.set()
            held.release.wait(60)
        try:
            reply = self._handle(method, target, authorization, body)
            return dataclasses.replace(reply, drop=True) if dropped else reply
        finally:
            if held is not None:
                held.done.set()
            for name, callback in self._after:
                if name == endpoint:
                    callback()


def _pattern(target: str) -> str:
    path = target.split("?", 1)[0].rstrip("/")
    return re.sub(r"/posts/\d+", "/posts/{id}", path)


def wait_for(predicate: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.01)
