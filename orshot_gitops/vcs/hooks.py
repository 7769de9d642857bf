"""Publishing with a plain `git push`, no GitHub needed: git hooks.

- server: a `post-receive` hook in the bare repository people push to. For a push to the
  default branch it clones that branch into a temporary directory, runs `apply --push` there
  (the results commit is pushed back to the same repository), and prints the outcome, which
  git relays to the pusher as `remote:` lines.
- client: a `pre-push` hook that validates the commits being pushed (each pushed ref's tree,
  checked out apart from the working tree, which may differ from what the server receives)
  and stops the push on errors.

This module talks to the bare repository with the git CLI directly: `GitRepo` models a work
tree, and a bare repository has none. Everything done in the clone goes through `GitRepo`.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from orshot_gitops.errors import UserError

HOOK_MARKER = "# installed by orshot-gitops"
RECURSION_GUARD = "ORSHOT_GITOPS_HOOK"
ENV_FILE = "orshot.env"
_ZERO = "0" * 40
# Variables git sets for a hook that would make a nested git command act on the bare
# repository (or its quarantine) instead of our clone. See pre-commit's git.no_git_env.
_HOOK_GIT_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_PREFIX",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_QUARANTINE_PATH",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PUSH_OPTION_COUNT",
)


def _git(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env=dict(env or os.environ)
    )
    if result.returncode != 0:
        raise UserError(
            f"git {args[0]} failed: {result.stderr.strip() or result.stdout.strip()}",
            hint="is this a git repository?",
            code="git",
        )
    return result.stdout.strip()


def clean_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment without the variables git sets for hooks (GIT_DIR and friends)."""
    return {
        k: v
        for k, v in env.items()
        if k not in _HOOK_GIT_VARIABLES and not k.startswith("GIT_PUSH_OPTION_")
    }


def _hook_script(body: str) -> str:
    """`body`: a description line, then the commands, with {python} for this interpreter."""
    description, _, commands = body.partition("\n")
    python = shlex.quote(sys.executable)
    return f"#!/bin/sh\n{HOOK_MARKER}: {description}\n" + commands.replace("{python}", python)


SERVER_SCRIPT = (
    "publish pushes to the default branch through Orshot (post-receive)\n"
    'exec {python} -m orshot_gitops hook post-receive --repo "$PWD"\n'
)
CLIENT_SCRIPT = (
    "validate the pushed commits before every push (pre-push)\n"
    'exec {python} -m orshot_gitops hook pre-push --repo "$(git rev-parse --show-toplevel)"\n'
)


def install(repo: Path, *, server: bool, force: bool = False) -> Path:
    """Write the hook into the repository's hooks directory; returns its path."""
    repo = repo.resolve()
    env = clean_env(os.environ)
    bare = _git(repo, "rev-parse", "--is-bare-repository", env=env) == "true"
    if server and not bare:
        raise UserError(
            f"{repo} is not a bare repository",
            hint="--server goes in the repository people push to (git init --bare); "
            "use --client in a working clone",
        )
    if not server and bare:
        raise UserError(
            f"{repo} is a bare repository",
            hint="--client goes in a working clone; use --server here",
        )
    hooks = Path(_git(repo, "rev-parse", "--git-path", "hooks", env=env))
    hooks = hooks if hooks.is_absolute() else repo / hooks
    target = hooks / ("post-receive" if server else "pre-push")
    if target.exists() and HOOK_MARKER not in target.read_text(errors="replace") and not force:
        raise UserError(
            f"{target} already exists and is not ours",
            hint="merge it by hand, or pass --force to replace it",
        )
    hooks.mkdir(parents=True, exist_ok=True)
    target.write_text(_hook_script(SERVER_SCRIPT if server else CLIENT_SCRIPT))
    target.chmod(0o755)
    return target


@dataclass(frozen=True)
class Update:
    old: str
    new: str
    ref: str


def parse_updates(lines: Iterable[str]) -> list[Update]:
    """post-receive's standard input: `<old> <new> <ref>` per updated ref."""
    updates = []
    for line in lines:
        parts = line.split()
        if len(parts) == 3:
            updates.append(Update(*parts))
    return updates


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (comments and blanks ignored): where a server keeps ORSHOT_API_KEY."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def post_receive(
    bare: Path,
    updates: list[Update],
    env: Mapping[str, str],
    say: Callable[[str], None],
    publish: Callable[[Path], int],
) -> int:
    """Apply the default branch if this push moved it; every line goes back to the pusher.

    `publish(clone)` runs the apply in a fresh clone of the default branch and returns the
    exit code: the command passes it in, so git plumbing never imports the reconciler."""
    if env.get(RECURSION_GUARD):
        return 0  # our own push of intents and results: nothing new to apply
    git_env = clean_env(env)
    bare = bare.resolve()
    default = _git(bare, "symbolic-ref", "--short", "HEAD", env=git_env)
    pushed = [u for u in updates if u.ref == f"refs/heads/{default}" and u.new != _ZERO]
    if not pushed:
        return 0
    from_env = {k: v for k, v in env.items() if k.startswith("ORSHOT_") and v}
    settings = {**read_env_file(bare / ENV_FILE), **from_env}
    # Any key: a repository of several brands holds one per brand (ORSHOT_API_KEY_ZEN...),
    # and each brand's apply says itself when its own is missing.
    if not any(name.startswith("ORSHOT_API_KEY") and value for name, value in settings.items()):
        say(
            f"orshot-gitops: not publishing: no ORSHOT_API_KEY (put it in {bare / ENV_FILE}, "
            "mode 600, or in the environment of the git server)"
        )
        return 1
    say(f"orshot-gitops: publishing {default} at {pushed[-1].new[:12]}…")
    os.environ.clear()
    os.environ.update({**git_env, **settings, RECURSION_GUARD: "1"})
    with tempfile.TemporaryDirectory(prefix="orshot-hook-") as tmp:
        work = Path(tmp) / "work"
        _git(Path(tmp), "clone", "--quiet", "--branch", default, str(bare), str(work))
        return publish(work)


@dataclass(frozen=True)
class PushedRef:
    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str


def parse_pushed(lines: Iterable[str]) -> list[PushedRef]:
    """pre-push's standard input: `<local ref> <local sha> <remote ref> <remote sha>` per ref."""
    pushed = []
    for line in lines:
        parts = line.split()
        if len(parts) == 4:
            pushed.append(PushedRef(*parts))
    return pushed


@contextmanager
def checked_out(repo: Path, commit: str) -> Iterator[Path]:
    """The tree of `commit` in a temporary directory, as a clone of it would check it out
    (filters and line endings apply; `export-ignore` and `export-subst`, which `git archive`
    obeys, do not: they could hide a file from the check that the server still receives).
    A temporary index: the user's working tree and index are left alone."""
    with tempfile.TemporaryDirectory(prefix="orshot-pre-push-") as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        env = {**clean_env(os.environ), "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        _git(repo, "read-tree", commit, env=env)
        _git(repo, "checkout-index", "--all", f"--prefix={tree}/", env=env)
        yield tree


def pre_push(
    repo: Path,
    pushed: list[PushedRef],
    validate: Callable[[Path], int],
    say: Callable[[str], None],
) -> int:
    """Validate the tree of every commit being pushed (what the server will apply), never the
    working tree; returns the worst exit code. A deletion sends no content: nothing to check.

    `validate(tree)` checks one checked-out tree and returns its exit code: the command
    passes it in, so git plumbing never imports the content stage's report."""
    repo = repo.resolve()
    env = clean_env(os.environ)
    worst = 0
    checked: set[str] = set()
    for ref in pushed:
        if ref.local_sha == _ZERO:
            continue
        try:
            commit = _git(
                repo, "rev-parse", "--verify", "--quiet", f"{ref.local_sha}^{{commit}}", env=env
            )
        except UserError:
            continue  # a tag of a tree or a blob: no posts to publish
        if commit in checked:
            continue
        checked.add(commit)
        say(f"orshot-gitops: checking {ref.local_ref} at {commit[:12]}")
        with checked_out(repo, commit) as tree:
            worst = max(worst, validate(tree))
    return worst
