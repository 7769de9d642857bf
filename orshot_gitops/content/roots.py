"""Several content roots in one repository: one folder per brand, each with its own orshot.yaml.

A root is a folder holding orshot.yaml. Roots may sit side by side (`brands/acme/`,
`brands/zen/`) or one inside another's folder (`examples/brands/zen/` inside `examples/`), but
never inside another root's posts or templates folder, nor its `.orshot/`: every file there is
that root's input, so the inner brand's posts would be the outer brand's posts too, published
to its accounts with its key. Such a root is refused, from both sides: the inner root's
commands (`enclosing_root_problem`), the outer root's post files (`nested_root_problem`) and
`--all` (`find_roots`).

Pure: paths in, values out; the only files read are the orshot.yaml files named, as plain
YAML (their `posts_dir` and `templates_dir`), never through a link.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from orshot_gitops.content.model import CONFIG_FILE
from orshot_gitops.content.yamlload import decode, load_document
from orshot_gitops.errors import Diagnostic, Severity, UserError

NESTED_CODE = "nested-root"
_STATE_DIR = ".orshot"


@dataclass(frozen=True)
class Roots:
    """The content roots of a work tree (posix paths from its top, "." for the top itself,
    sorted) and the orshot.yaml files refused as roots, each with why."""

    roots: tuple[str, ...]
    refused: tuple[Diagnostic, ...] = ()


def _content_folders(top: Path, root: str) -> tuple[str, ...]:
    """The folders of `root` (from the work tree's top) whose every file is its input: its
    posts and templates folders (as its orshot.yaml names them, else the defaults) and its
    state. An orshot.yaml that cannot be read keeps the defaults: it fails on its own."""
    posts, templates = "posts", "templates"
    config = top / root / CONFIG_FILE
    try:
        if config.is_file() and not config.is_symlink():
            data = load_document(decode(config.read_bytes(), CONFIG_FILE), CONFIG_FILE).data
            if isinstance(data, Mapping):
                posts = str(data.get("posts_dir", posts)).strip("/") or "."
                templates = str(data.get("templates_dir", templates)).strip("/") or "."
    except (OSError, UserError):
        pass
    return tuple(_join(root, folder) for folder in (posts, templates, _STATE_DIR))


def _join(root: str, folder: str) -> str:
    joined = PurePosixPath(root) / folder
    return PurePosixPath(*[p for p in joined.parts if p != "."]).as_posix() or "."


def _inside(path: str, folder: str) -> bool:
    """Whether `path` is `folder` or below it (posix, from the top; "." holds everything)."""
    return folder == "." or path == folder or path.startswith(folder + "/")


def _refusal(inner: str, outer: str, folder: str, path: str) -> Diagnostic:
    shown_outer = "the repository's top" if outer == "." else outer
    return Diagnostic(
        path,
        1,
        1,
        Severity.ERROR,
        NESTED_CODE,
        f"the content root {inner} is inside {folder}/ of the content root {shown_outer}: "
        f"its files would be {shown_outer}'s posts too, sent to its accounts with its key",
        f"move {inner} out of {folder}/ (for example beside it, in a brands/<name>/ folder "
        "of its own)",
    )


def find_roots(top: Path, config_files: Iterable[str]) -> Roots:
    """The roots of the work tree at `top`, from the orshot.yaml files git tracks there
    (posix paths from `top`); one inside another root's content folders is refused."""
    candidates = sorted(
        {PurePosixPath(path).parent.as_posix() for path in config_files if _is_config(path)}
    )
    folders = {root: _content_folders(top, root) for root in candidates}
    roots: list[str] = []
    refused: list[Diagnostic] = []
    for inner in candidates:
        clash = next(
            (
                (outer, folder)
                for outer in candidates
                if outer != inner and _inside(inner, outer)
                for folder in folders[outer]
                if _inside(inner, folder)
            ),
            None,
        )
        if clash is None:
            roots.append(inner)
        else:
            refused.append(_refusal(inner, *clash, _join(inner, CONFIG_FILE)))
    return Roots(tuple(roots), tuple(refused))


def _is_config(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return bool(parts) and parts[-1] == CONFIG_FILE and ".git" not in parts


def enclosing_root_problem(root: Path) -> Diagnostic | None:
    """`root` inside a content folder of a root above it, in the same git work tree (the
    nearest folder holding `.git` ends the climb): refused, at its own orshot.yaml."""
    here = root.absolute()
    above: list[Path] = []
    if not (here / ".git").exists():
        for folder in here.parents:
            above.append(folder)
            if (folder / ".git").exists():
                break
        else:
            # In no git work tree: no repository to share, and an orshot.yaml in a folder
            # above (a home folder's, /tmp's) is someone else's.
            return None
    top = above[-1] if above else here
    for folder in above:
        if not (folder / CONFIG_FILE).is_file():
            continue
        inner = here.relative_to(folder).as_posix()
        for content in _content_folders(folder, "."):
            if _inside(inner, content):
                return _refusal(
                    _label(here, top),
                    _label(folder, top),
                    _join(_label(folder, top), content),
                    CONFIG_FILE,
                )
    return None


def _label(folder: Path, top: Path) -> str:
    return folder.relative_to(top).as_posix() if folder.is_relative_to(top) else str(folder)


class NestedRoots:
    """Post files of one root below a folder of its posts folder that holds an orshot.yaml:
    another brand's posts, never this root's. One stat per folder, however many post files
    share it (load_posts keeps one per load)."""

    def __init__(self, root: Path, posts_dir: str) -> None:
        self.root = root
        self.posts = PurePosixPath(posts_dir or ".")
        self.known: dict[str, bool] = {}

    def _holds_root(self, folder: str) -> bool:
        if folder not in self.known:
            self.known[folder] = (self.root / folder / CONFIG_FILE).is_file()
        return self.known[folder]

    def problem(self, relative: str) -> Diagnostic | None:
        """`relative` (a post file, from the root) refused, or None."""
        folder = PurePosixPath(relative).parent
        while folder.as_posix() != ".":
            if self._holds_root(folder.as_posix()):
                inner = folder.as_posix()
                # At the other root's orshot.yaml: one error for all of its files.
                return Diagnostic(
                    f"{inner}/{CONFIG_FILE}",
                    1,
                    1,
                    Severity.ERROR,
                    NESTED_CODE,
                    f"{inner}/ holds an orshot.yaml: another content root inside this root's "
                    "posts folder, whose posts would be sent as this root's, to its accounts "
                    "with its key; none of its files is read",
                    f"move {inner}/ out of {self.posts.as_posix()}/ (for example beside this "
                    "root, in a brands/<name>/ folder of its own)",
                )
            if folder == self.posts:
                break
            folder = folder.parent
        return None


def touched_roots(roots: Iterable[str], changed: Iterable[str]) -> tuple[str, ...]:
    """The roots a change touches: each changed path belongs to the deepest root holding it
    (`examples/brands/zen/...` is zen's, not `examples`'). A path outside every root (the
    workflow, a README beside the brands) touches none: a root reads nothing outside itself,
    so its plan cannot change."""
    ordered = sorted(roots, key=lambda r: (-len(PurePosixPath(r).parts), r))
    touched: set[str] = set()
    for path in changed:
        owner = next((r for r in ordered if _inside(path, r)), None)
        if owner is not None:
            touched.add(owner)
    return tuple(sorted(touched))
