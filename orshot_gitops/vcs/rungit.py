"""Running `git`: one process per question, its messages in English, its failures as UserError.

`gitrepo` asks its questions through here; `hooks` keeps its own runner (a hook's environment
is git's, cleaned first).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from orshot_gitops.errors import UserError


def run_git(
    cwd: Path,
    args: Sequence[str],
    env: dict[str, str] | None = None,
    stdin: IO[bytes] | None = None,
) -> tuple[int, str, str]:
    """(status, stdout, stderr) of `git ARGS` in cwd. Messages in English (LC_ALL=C), as the
    callers read some of them (a lost push race, a missing repository); output decoded as
    paths are (undecodable bytes kept as surrogates); stdin closed unless given."""
    full_env = {**os.environ, "LANGUAGE": "C", "LC_ALL": "C", **(env or {})}
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=full_env,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise UserError(
            "git is not installed or not on PATH", hint="install git", code="git"
        ) from exc
    return done.returncode, os.fsdecode(done.stdout), os.fsdecode(done.stderr).removesuffix("\n")


def git_error(command: str, stderr: str, hint: str) -> UserError:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    said = lines[0] if lines else "failed with no message"
    for prefix in ("fatal: ", "error: "):
        said = said.removeprefix(prefix)
    if "dubious ownership" in said:
        hint = "mark it safe: git config --global --add safe.directory <path>"
    return UserError(f"git {command}: {said}", hint=hint, code="git")
