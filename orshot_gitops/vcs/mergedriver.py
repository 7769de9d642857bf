"""The state file's git merge driver: registering it, and reading a conflict's three sides.

Two runs that each recorded results (an `apply` by hand while CI applies) change the same
JSON file; git's line merge then conflicts, and the easy way out (`git checkout --theirs`)
drops the records of one side, whose posts the next plan would publish again. Registered,
the driver hands the three versions to `orshot-gitops merge-state`, which merges them entry
by entry (`state/merge.py`). `.gitattributes` names the driver for the file; the driver's
command lives in each clone's git config (git never copies config with a clone), so every
command that may meet a merge registers it: `init`, `hook install`, `ci`, `apply`.

Like `hooks`, this talks to git through its CLI: it must also work in a bare repository.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from orshot_gitops.errors import UserError

DRIVER = "orshot-state"
# `**/`: the state file of a content root in a subfolder too, from any attributes file.
ATTRIBUTE_LINE = f"**/.orshot/state.json merge={DRIVER}"
# The index and, in the v2 layout, each post's file (state/layout.py).
ATTRIBUTE_LINES = (ATTRIBUTE_LINE, f"**/.orshot/state/** merge={DRIVER}")
_STATE_PATH = ".orshot/state.json"


def driver_command() -> str:
    """The command git runs: this interpreter, so it works without orshot-gitops on PATH."""
    return f"{shlex.quote(sys.executable)} -m orshot_gitops merge-state %O %A %B"


def _git(cwd: Path, *args: str, ok: tuple[int, ...] = (0,)) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE")}
    env["GIT_TERMINAL_PROMPT"] = "0"
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )
    if result.returncode not in ok:
        raise UserError(
            f"git {args[0]} failed: {result.stderr.strip() or result.stdout.strip()}",
            hint="is this a git repository?",
            code="git",
        )
    return result.returncode, result.stdout


def inside_git(path: Path) -> bool:
    """Whether `path` is in a git repository (work tree or bare)."""
    if not path.is_dir():
        return False
    status, _ = _git(path, "rev-parse", "--git-dir", ok=(0, 128))
    return status == 0


def register(repo: Path, *, attributes_file: Path | None = None) -> None:
    """Set the driver in the repository's own config, and make sure the attribute names it.

    `attributes_file`: the `.gitattributes` to add the line to (a file the user commits);
    None puts it in `$GIT_DIR/info/attributes`, which applies to this clone alone and
    leaves the work tree clean (CI, the server's bare repository). Idempotent."""
    _git(repo, "config", "--local", f"merge.{DRIVER}.name", "orshot-gitops state, entry by entry")
    _git(repo, "config", "--local", f"merge.{DRIVER}.driver", driver_command())
    if attributes_file is None:
        _, out = _git(repo, "rev-parse", "--git-path", "info/attributes")
        attributes_file = Path(out.strip())
        if not attributes_file.is_absolute():
            attributes_file = repo / attributes_file
    add_attribute_line(attributes_file)


def add_attribute_line(path: Path) -> bool:
    """Append the driver's lines to a gitattributes file unless they are already there (the
    rest of the file is left as it is); whether any was added."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    missing = [line for line in ATTRIBUTE_LINES if line not in text.splitlines()]
    if not missing:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    separator = "" if not text or text.endswith("\n") else "\n"
    path.write_text(text + separator + "".join(f"{line}\n" for line in missing), encoding="utf-8")
    return True


def conflicted_paths(root: Path, under: tuple[str, ...]) -> list[str]:
    """The unmerged paths of the index at or below `under`."""
    _, out = _git(root, "diff", "--name-only", "--relative", "--diff-filter=U", "--", *under)
    return sorted({line for line in out.splitlines() if line})


def conflict_stages(root: Path, path: str = _STATE_PATH) -> dict[int, str] | None:
    """The index's versions of a conflicted file (1: base, 2: ours, 3: theirs) by stage, or
    None when the file is not in conflict. Stage 1 is absent when both sides added it."""
    _, out = _git(root, "ls-files", "--unmerged", "--", path)
    stages: dict[int, str] = {}
    for line in out.splitlines():
        meta, _, _ = line.partition("\t")
        _, blob, stage = meta.split()
        _, text = _git(root, "cat-file", "blob", blob)
        stages[int(stage)] = text
    return stages or None


def rebasing(root: Path) -> bool:
    """Whether a rebase is under way: git then calls the branch being rebased onto "ours"
    (stage 2, %A) and the commit being replayed "theirs" (stage 3, %B)."""
    for name in ("rebase-merge", "rebase-apply"):
        _, out = _git(root, "rev-parse", "--git-path", name)
        path = Path(out.strip())
        if (path if path.is_absolute() else root / path).is_dir():
            return True
    return False


def stage_file(root: Path, path: str = _STATE_PATH) -> None:
    """`git add` the file: its conflict is resolved."""
    _git(root, "add", "--", path)
