"""The work tree as a whole, above any one content root: where its top is, which orshot.yaml
files git tracks there (the content roots `--all` runs over), and which paths a change
between two commits touched (the roots `ci matrix` names)."""

from __future__ import annotations

import re
from pathlib import Path

from orshot_gitops.errors import UserError
from orshot_gitops.vcs.rungit import git_error, run_git

_ZERO = re.compile(r"0+")


def work_tree_top(start: Path) -> Path:
    """The top of the git work tree holding `start` (a folder)."""
    if not start.is_dir():
        raise UserError(f"{start} is not a directory", hint="pass --repo DIR")
    status, out, err = run_git(start, ["rev-parse", "--show-toplevel"])
    if status != 0:
        if "not a git repository" in err:
            raise UserError(
                f"{start} is not in a git repository",
                hint="--all finds the content roots git tracks: run it inside a clone",
                code="not-a-repo",
            )
        raise git_error("rev-parse", err, "run inside a clone with files")
    return Path(out.strip()).resolve()


def tracked_config_files(top: Path, name: str) -> list[str]:
    """Every tracked file called `name`, as a posix path from `top`, sorted. Tracked, not
    merely present: an untracked copy (a scratch folder, a build output) is no brand."""
    status, out, err = run_git(
        top,
        ["-c", "core.quotePath=false", "ls-files", "-z", "--full-name", "--", f":(glob)**/{name}"],
    )
    if status != 0:
        raise git_error("ls-files", err, "run inside a clone with files")
    return sorted(path for path in out.split("\0") if path)


def changed_between(top: Path, base: str, head: str) -> list[str] | None:
    """The paths (from `top`) that differ between `base` and `head`, both sides of a move;
    None when `base` is no commit this clone has (a new branch's all-zero "before", a
    force-push's lost commit, a shallow clone): the caller must then assume everything."""
    if not head or head.startswith("-") or base.startswith("-"):
        # Never an option: `--output=FILE` given as a commit would have git write a file.
        raise UserError(
            "--base and --head take commits (an id or a branch name), not options",
            hint="in a workflow: --base ${{ github.event.before }} --head ${{ github.sha }}, "
            "passed through env:",
        )
    if not base or _ZERO.fullmatch(base):
        return None
    status, _, _ = run_git(top, ["cat-file", "-e", f"{base}^{{commit}}"])
    if status != 0:
        return None
    status, out, err = run_git(
        top,
        [
            "-c",
            "core.quotePath=false",
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            base,
            head,
            "--",
        ],
    )
    if status != 0:
        raise git_error("diff", err, "check that --head is a commit of this clone")
    return sorted({path for path in out.split("\0") if path})
