"""Read a content repository: orshot.yaml and the post files, each checked against its schema.

Problems come back as diagnostics, so `validate` can report all of them at once; a file with
a problem yields no value and the rest of the repository is still read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from orshot_gitops.errors import Diagnostic, Severity, UserError
from orshot_gitops.model import CONFIG_FILE, Config, PostSpec, config_from_data, post_from_data
from orshot_gitops.schemas import schema_diagnostics
from orshot_gitops.yamlload import Document, decode, load_document

POST_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Loaded:
    """A parsed, schema-valid file, or the problems that kept it from being one."""

    document: Document | None
    problems: tuple[Diagnostic, ...]


def read_yaml(root: Path, relative: str, schema_name: str) -> Loaded:
    """Read, decode, parse and schema-check one file under root."""
    try:
        raw = (root / relative).read_bytes()
        document = load_document(decode(raw, relative), relative)
    except UserError as exc:
        return Loaded(None, (exc.as_diagnostic(),))
    except OSError as exc:
        problem = Diagnostic(
            relative, 0, 0, Severity.ERROR, "unreadable", f"cannot read: {exc.strerror}"
        )
        return Loaded(None, (problem,))
    problems = schema_diagnostics(document, schema_name)
    return Loaded(None if problems else document, tuple(problems))


def load_config(root: Path) -> tuple[Config | None, list[Diagnostic]]:
    if not (root / CONFIG_FILE).is_file():
        problem = Diagnostic(
            CONFIG_FILE,
            0,
            0,
            Severity.ERROR,
            "no-config",
            f"no {CONFIG_FILE} in {root}",
            "run 'orshot-gitops init' to create one, or pass --repo DIR of a content repository",
        )
        return None, [problem]
    loaded = read_yaml(root, CONFIG_FILE, "config.schema.json")
    if loaded.document is None:
        return None, list(loaded.problems)
    return config_from_data(loaded.document.data, loaded.document), []


def post_id_for(relative: str, posts_dir: str) -> str:
    """posts/2026/launch.yaml -> 2026/launch"""
    inner = relative[len(posts_dir) + 1 :] if posts_dir else relative
    for suffix in POST_SUFFIXES:
        if inner.endswith(suffix):
            return inner[: -len(suffix)]
    return inner


def discover_posts(root: Path, config: Config) -> tuple[list[str], list[Diagnostic]]:
    """Every post file under posts_dir (repo-relative, sorted); symlinks that leave the repo are refused."""
    posts_root = root / config.posts_dir
    if not posts_root.is_dir():
        return [], []
    found: list[str] = []
    problems: list[Diagnostic] = []
    real_root = root.resolve()
    prefix = ""
    # Strings and the DirEntry's own symlink bit rather than a Path per file: the listing is
    # the one part of `plan` that grows with the repository (0.09 s -> 0.03 s for 10,000).
    for entry, inner in _walk(posts_root, ""):
        if not prefix:
            prefix = posts_root.relative_to(root).as_posix() + "/"
        relative = inner if prefix == "./" else prefix + inner
        if entry.is_symlink() and not Path(entry.path).resolve().is_relative_to(real_root):
            problems.append(_outside(relative))
            continue
        found.append(relative)
    return sorted(found), problems


def _walk(directory: str | Path, inner: str) -> Iterator[tuple[os.DirEntry[str], str]]:
    """Post files below directory: each entry and its posix path below the walk's start."""
    # os.scandir is several times faster than Path.rglob on large trees; hidden entries are skipped.
    with os.scandir(directory) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(entry.path, inner + entry.name + "/")
            elif entry.name.endswith(POST_SUFFIXES):
                yield entry, inner + entry.name


def _outside(relative: str) -> Diagnostic:
    return Diagnostic(
        relative,
        0,
        0,
        Severity.ERROR,
        "symlink-outside",
        "symbolic link points outside the repository",
        "copy the file into the repository instead of linking to it",
    )


def check_inside(root: Path, relative: str) -> Diagnostic | None:
    path = root / relative
    if path.is_symlink() and not path.resolve().is_relative_to(root.resolve()):
        return _outside(relative)
    return None


def load_posts(
    root: Path, config: Config, relatives: Iterable[str]
) -> tuple[list[PostSpec], list[Diagnostic]]:
    posts: list[PostSpec] = []
    problems: list[Diagnostic] = []
    seen: dict[str, str] = {}
    for relative in relatives:
        outside = check_inside(root, relative)
        if outside:
            problems.append(outside)
            continue
        post_id = post_id_for(relative, config.posts_dir)
        if post_id in seen:
            problems.append(
                Diagnostic(
                    relative,
                    1,
                    1,
                    Severity.ERROR,
                    "duplicate-post",
                    f"post id {post_id!r} is also used by {seen[post_id]}",
                    "rename one of the files: a post's id is its path without the extension",
                )
            )
            continue
        seen[post_id] = relative
        loaded = read_yaml(root, relative, "post.schema.json")
        problems.extend(loaded.problems)
        if loaded.document is not None:
            posts.append(post_from_data(post_id, relative, loaded.document.data, loaded.document))
    return posts, problems
