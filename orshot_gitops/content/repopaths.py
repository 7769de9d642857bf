"""Where in a content repository we may read: only inside it, never in `.git`.

A pull request may change anything in the repository, symlinks and orshot.yaml included, and
its plan runs without the Orshot key while the apply after the merge runs with it (DESIGN.md,
"The repository is untrusted input"). A `templates_dir` that is a link to `/` would let a
caption include `/proc/self/environ`, which holds the key only in the apply job: the PR would
show an innocent caption and the merge would publish the key. So `posts_dir`,
`templates_dir`, orshot.yaml and every post file must resolve inside the repository, outside
`.git` (where the checkout keeps its token), through no symbolic link that leaves it.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from orshot_gitops.content.model import CONFIG_FILE, STATE_FILE, Config
from orshot_gitops.errors import Diagnostic, Severity

GIT_DIR = ".git"
_DIR_HINT = (
    "give a folder inside the repository, as a plain relative path such as 'posts': "
    "posts and templates are read only from files the repository holds"
)


def find_content_root(start: Path) -> Path:
    """The nearest folder from `start` upwards that holds orshot.yaml, so a command run from
    `posts/2026/12` finds its repository as git does. Never above the git work tree `start`
    is in (a folder holding `.git`): an orshot.yaml of an enclosing checkout or of the home
    folder is someone else's. `start` itself when none is found (the command then says what
    is missing there)."""
    here = start.absolute()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
        if (folder / GIT_DIR).exists():
            break
    return start


def link_escape(root: Path, relative: str) -> str:
    """Where a symbolic link on the way to the file or folder `relative` (under root) leads,
    when that is out of the repository or into `.git` ("points outside the repository");
    "" when no link does. Only links are followed here:
    `relative` itself is taken as written (see `dir_problem` for the written form)."""
    real_root = root.resolve()
    current = root
    for part in PurePosixPath(relative).parts:
        current = current / part
        try:
            is_link = current.is_symlink()
        except OSError:  # a name too long: is_symlink() raises for it
            return "cannot be followed (a name too long)"
        if is_link:
            target = _target(current)
            if target is None:
                return "cannot be followed (a loop, or a name too long)"
            if not target.is_relative_to(real_root):
                return "points outside the repository"
            if target.is_relative_to(real_root / GIT_DIR):
                return f"points into {GIT_DIR}"
    return ""


def _target(path: Path) -> Path | None:
    """Where path leads, or None when no one can tell (a link loop, a name too long)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


def dir_problem(root: Path, value: str) -> str:
    """Why the configured folder `value` may not be read from ("" if it may)."""
    parts = value.split("/")
    if value != "." and any(part in ("", ".") for part in parts):
        return "is not a plain relative path"
    if ".." in parts:
        return "leads outside the repository"
    if GIT_DIR in parts:
        return f"is inside {GIT_DIR}, git's own folder"
    if len(value) > 1024 or any(len(part.encode()) > 255 for part in parts):
        return "is too long for a path"  # the file system refuses it: a crash, not a "no"
    escape = link_escape(root, value)
    if escape:
        return f"goes through a symbolic link that {escape}"
    resolved = _target(root / value)
    if resolved is None or not resolved.is_relative_to(root.resolve()):
        return "leads outside the repository"
    return ""


def config_dir_problems(root: Path, config: Config) -> list[Diagnostic]:
    """posts_dir and templates_dir, each at its line in orshot.yaml (1:1 when defaulted)."""
    problems = []
    written = config.document.data if config.document is not None else {}
    for name, value in (("posts_dir", config.posts_dir), ("templates_dir", config.templates_dir)):
        why = dir_problem(root, value)
        if not why:
            continue
        line, column = config.document.position((name,)) if config.document is not None else (1, 1)
        default = "" if name in written else " (the default)"
        problems.append(
            Diagnostic(
                CONFIG_FILE,
                line,
                column,
                Severity.ERROR,
                "unsafe-path",
                f"{name} {_shown(value)}{default} {why}",
                _DIR_HINT,
            )
        )
    return problems


def _shown(value: str) -> str:
    # The line must stay one line a person can read, whatever the file holds.
    return repr(value if len(value) <= 80 else value[:60] + "…")


def file_escape_problem(root: Path, relative: str) -> Diagnostic | None:
    """A file (orshot.yaml, a post) that is a link leaving the repository or into `.git`."""
    why = link_escape(root, relative)
    if not why:
        return None
    return Diagnostic(
        relative,
        0,
        0,
        Severity.ERROR,
        "symlink-outside",
        f"symbolic link {why}",
        "copy the file into the repository instead of linking to it",
    )


def state_link_problem(root: Path) -> Diagnostic | None:
    """`.orshot` or the state file as a link. apply writes the state through it, and git
    refuses to commit a path beyond a link: the record of what was sent would stay on one
    runner's disk and the next run, on a fresh checkout, would send it all again."""
    for relative in (STATE_FILE.rsplit("/", 1)[0], STATE_FILE):
        if (root / relative).is_symlink():
            return Diagnostic(
                STATE_FILE,
                0,
                0,
                Severity.ERROR,
                "symlink-state",
                f"{relative} is a symbolic link: the state must be a file the repository holds",
                f"remove the link (git rm {relative}) and restore the state file from history",
            )
    return None
