"""The v2 layout: an index at `.orshot/state.json` and one file per post under
`.orshot/state/posts/`, mirroring `posts/` (docs/state-layout.md).

A write rewrites the files of the posts it changed and the index, so its cost, and what git
stores for it, follow the change; two runs that touched different posts merge without a
conflict. A read builds a post when it is first looked up: a plan reads the index, the posts
that changed and those the index says need work.

The index keeps the run metadata (serial, lineage, commit, heartbeats, ends) and the tally
(posts.Tally). While a write is under way it says `"tally": "stale"` and holds the union of
the old and new posts needing work: a crash between the post files and the index then costs a
recount on the next load, never a post that needed work and was forgotten.
"""

from __future__ import annotations

import json
import os
import re
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from orshot_gitops.errors import UserError
from orshot_gitops.state.model import _RESTORE_HINT, POSTS_DIR, PostState
from orshot_gitops.state.posts import LazyPosts, Tally, tally_of

Reader = Callable[[str], PostState]
"""Builds the post of an id (read, checked and parsed), or raises UserError."""


def post_file(post_id: str) -> str:
    """Where a post's record lives, relative to the repository root."""
    return f"{POSTS_DIR}/{post_id}.json"


def post_id_of(relative: str) -> str | None:
    """The post id of a path relative to POSTS_DIR, or None for what is not a record."""
    name = relative.rsplit("/", 1)[-1]
    if not relative.endswith(".json") or name.startswith("."):
        return None  # e.g. a temporary file a crashed write left
    return relative[: -len(".json")]


def dump_post(post: PostState) -> str:
    """A post file's text: sorted keys, 2-space indent, a trailing newline."""
    return json.dumps(post.to_compact_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class StoredPosts(LazyPosts):
    """The post files of a state: ids known up front (a walk of the folder, or a tree
    listing), each post read when first looked up and kept. `tally` is the index's, or None
    when the index said it is stale (then it is counted once, from every post)."""

    __slots__ = ("_built", "_ids", "_read", "_sorted", "_tally", "folder")

    def __init__(self, folder: str, ids: frozenset[str], read: Reader, tally: Tally | None) -> None:
        self.folder = folder
        self._ids = ids
        self._read = read
        # A tally of another number of posts than the folder holds is not of these files.
        self._tally = tally if tally is not None and tally.posts == len(ids) else None
        self._built: dict[str, PostState] = {}
        self._sorted: tuple[str, ...] | None = None
        _LIVE[id(self)] = self

    def __getitem__(self, post_id: str) -> PostState:
        post = self._built.get(post_id)
        if post is None:
            if post_id not in self._ids:
                raise KeyError(post_id)
            post = self._built[post_id] = self._read(post_id)
        return post

    def __contains__(self, post_id: object) -> bool:
        return post_id in self._ids

    def __iter__(self) -> Iterator[str]:
        # Sorted once: a plan iterates the ids several times (50,000 ids: 30 ms a sort).
        if self._sorted is None:
            self._sorted = tuple(sorted(self._ids))
        return iter(self._sorted)

    def __len__(self) -> int:
        return len(self._ids)

    def tally(self) -> Tally:
        if self._tally is None:
            self._tally = tally_of(self)
        return self._tally

    def recount(self) -> None:
        """Forget the index's tally: it is counted from the records when next asked."""
        self._tally = None

    def pin(self, post_ids: set[str]) -> None:
        """Read these posts now, before their files change under this (older) value."""
        for post_id in sorted(post_ids & self._ids):
            self[post_id]


_COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")

_LIVE: weakref.WeakValueDictionary[int, StoredPosts] = weakref.WeakValueDictionary()
"""Every stored mapping still in use: a state value must not change when its files do."""


def posts_folder(root: Path) -> str:
    """The one spelling of a working tree's post folder, whatever spelling of the repository
    a command was given ("--repo .", an absolute path, a path through a link, as macOS's
    /tmp is and git's own answers are not): a state read through one and
    written through the other must be known as the same files, or every write compares and
    rewrites every post, and the values read from them are not pinned before they change."""
    return os.path.join(os.path.realpath(root), *POSTS_DIR.split("/"))


def pin_before_writing(folder: str, post_ids: set[str]) -> None:
    """Called before post files under `folder` change: every state value read from them
    keeps the posts it would otherwise read afterwards."""
    for posts in list(_LIVE.values()):
        if posts.folder == folder:
            posts.pin(post_ids)


def walk_ids(root: Path) -> frozenset[str]:
    """The post ids with a record file under root/POSTS_DIR. A symbolic link there is
    refused: a pull request must not make the state read or write outside the repository."""
    top = root / POSTS_DIR
    if os.path.lexists(top) and os.path.realpath(top) != os.path.join(
        os.path.realpath(root), *POSTS_DIR.split("/")
    ):
        raise _not_a_folder("")  # itself, or .orshot or .orshot/state, is a link
    ids: list[str] = []
    stack = [(str(top), "")]
    while stack:  # one scandir per folder; d_type answers the rest without a stat
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        except NotADirectoryError:
            raise _not_a_folder(prefix) from None
        for entry in entries:
            name = entry.name
            if entry.is_symlink():
                raise UserError(
                    "the state folder holds a symbolic link",
                    path=f"{POSTS_DIR}/{prefix}{name}",
                    hint="records are plain files written by orshot-gitops; remove the link "
                    f"and restore the folder from git ('git checkout -- {POSTS_DIR}')",
                    code="state-link",
                )
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, f"{prefix}{name}/"))
            elif name.endswith(".json") and not name.startswith("."):  # as post_id_of
                ids.append(prefix + name[:-5])
    return frozenset(ids)


def _not_a_folder(prefix: str) -> UserError:
    return UserError(
        "the state folder is not a plain folder",
        path=f"{POSTS_DIR}/{prefix}".rstrip("/"),
        hint=f"restore it from git ('git checkout -- {POSTS_DIR}')",
        code="state-link",
    )


# --- the index ---------------------------------------------------------------------------


def tally_json(tally: Tally) -> dict[str, Any]:
    return {
        "aliases": dict(sorted(tally.aliases.items())),
        "needs_work": sorted(tally.needs_work),
        "posts": tally.posts,
        "records": tally.records,
        "runs": dict(sorted(tally.runs.items())),
    }


def dump_schedule(tally: Tally) -> str:
    """The text of SCHEDULE_PATH: {"scheduled": {post id: earliest time}}."""
    data = {"scheduled": dict(sorted(tally.scheduled.items()))}
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def with_schedule(tally: Tally | None, text: str | None) -> Tally | None:
    """The index's tally completed with SCHEDULE_PATH's text; None (count again) when either
    is missing or not what this version writes."""
    if tally is None or text is None:
        return None
    try:
        scheduled = json.loads(text).get("scheduled")
    except (ValueError, AttributeError):
        return None
    if not isinstance(scheduled, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in scheduled.items()
    ):
        return None
    return replace(tally, scheduled=MappingProxyType(dict(scheduled)))


def tally_from_json(data: Any) -> Tally | None:
    """The index's tally; None when it is stale or not a tally at all (then it is counted)."""
    if not isinstance(data, dict):
        return None
    aliases, runs = data.get("aliases"), data.get("runs")
    needs_work, records, posts = data.get("needs_work"), data.get("records"), data.get("posts")
    if not (
        isinstance(aliases, dict)
        and isinstance(runs, dict)
        and isinstance(needs_work, list)
        and type(records) is int
        and type(posts) is int
        and all(type(v) is int for v in (*aliases.values(), *runs.values()))
        and all(isinstance(v, str) for v in needs_work)
    ):
        return None
    return Tally(
        frozenset(needs_work),
        MappingProxyType(dict(aliases)),
        MappingProxyType(dict(runs)),
        records,
        posts,
    )


def index_problem(data: Any) -> tuple[tuple[str, ...], str] | None:
    """What is wrong with a v2 index's shape (where, what), or None."""
    if not isinstance(data, dict):
        return (), "the index must be a JSON object"
    expected: Mapping[str, tuple[type, ...]] = {
        "version": (int,),
        "serial": (int,),
        "lineage": (str,),
        "commit": (str, type(None)),
        "heartbeats": (dict,),
        "ended": (dict,),
        "merged_commits": (list,),
        "tally": (dict, str),
        "awaiting_approval": (dict,),
    }
    for key in sorted(data):
        if key not in expected:
            return (key,), f"unknown key {key!r} (this version knows {', '.join(expected)})"
        if not isinstance(data[key], expected[key]) or isinstance(data[key], bool):
            return (key,), f"{key!r} has the wrong type"
    for key in ("version", "serial", "lineage"):
        if key not in data:
            return (), f"the index has no {key!r}"
    if data["serial"] < 0:
        return ("serial",), "'serial' must not be negative"
    for key in ("heartbeats", "ended"):
        if not all(isinstance(v, str) for v in data.get(key, {}).values()):
            return (key,), f"{key!r} must map run ids to timestamps"
    merged = data.get("merged_commits", [])
    if not all(isinstance(c, str) and _COMMIT.fullmatch(c) for c in merged):
        return ("merged_commits",), "'merged_commits' must list commit ids"
    for post, accounts in data.get("awaiting_approval", {}).items():
        if not isinstance(accounts, dict) or not all(
            isinstance(needs, list) and all(isinstance(n, str) for n in needs)
            for needs in accounts.values()
        ):
            return ("awaiting_approval", post), "must map accounts to lists of texts"
    return None


def restore_hint() -> str:
    return _RESTORE_HINT
