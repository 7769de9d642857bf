"""Reading and writing a v2 state's post files (layout.py): each checked on the way in,
each written atomically, and only those that changed.

Every post file is checked against the state schema's `post` definition (with the fields a
v2 file leaves out at their defaults put back), so a hand edit or a bad merge is refused at
its line and column, as a v1 file was.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orshot_gitops.errors import UserError
from orshot_gitops.state.layout import (
    StoredPosts,
    dump_post,
    dump_schedule,
    pin_before_writing,
    post_file,
    posts_folder,
    restore_hint,
    walk_ids,
    with_schedule,
)
from orshot_gitops.state.model import POSTS_DIR, SCHEDULE_PATH, STATE_DIR, PostState
from orshot_gitops.state.posts import LayeredPosts, Tally


def parse_post(text: str, source: str) -> PostState:
    """The post of a post file's text; UserError naming `source` for anything wrong."""
    from orshot_gitops.state import store

    data = store._decode_json(text, source)
    if not isinstance(data, dict) or not isinstance(data.get("accounts"), dict):
        raise UserError(
            "a state post file must be an object with 'path', 'revision' and 'accounts'",
            path=source,
            line=1,
            column=1,
            hint=restore_hint(),
            code="state-schema",
        )
    expanded = PostState.from_json(data) if _conforms(data) else None
    if expanded is None:
        raise store.schema_error(text, source, *_post_error(data))
    return expanded


def _as_v1(data: Mapping[str, Any]) -> dict[str, Any]:
    from orshot_gitops.state.model import _V1_NULLABLE_FIELDS

    accounts = data.get("accounts")
    return {
        "render": None,
        **data,
        "accounts": {
            key: {**_V1_NULLABLE_FIELDS, **record} if isinstance(record, dict) else record
            for key, record in (accounts.items() if isinstance(accounts, dict) else ())
        },
    }


@functools.lru_cache(maxsize=1)
def _post_schema() -> dict[str, Any]:
    from orshot_gitops.state import store
    from orshot_gitops.state.model import SCHEMA_NAME

    whole = json.loads(store._schema_path(SCHEMA_NAME).read_text(encoding="utf-8"))
    return {"$defs": copy.deepcopy(whole["$defs"]), "$ref": "#/$defs/post"}


@functools.lru_cache(maxsize=1)
def _post_check() -> Any:
    from orshot_gitops.content.fastschema import compile_schema

    return compile_schema(_post_schema())


def _conforms(data: Mapping[str, Any]) -> bool:
    from orshot_gitops.content.fastschema import conforms

    if conforms(_post_check(), _as_v1(data)):
        return True
    return _post_error(data) == ((), "")


def _post_error(data: Mapping[str, Any]) -> tuple[tuple[str | int, ...], str]:
    from orshot_gitops.state import store

    validator = store._jsonschema().Draft202012Validator(_post_schema())
    error = store._jsonschema().exceptions.best_match(validator.iter_errors(_as_v1(data)))
    if error is None:
        return (), ""
    where = tuple(error.absolute_path)
    label = "/".join(str(part) for part in where)
    return where, f"{error.message} (at {label or 'the top level'})"


def stored_posts(root: Path, tally: Any) -> StoredPosts:
    """The post files of the working tree under `root`, read when looked up."""

    def read(post_id: str) -> PostState:
        relative = post_file(post_id)
        try:
            text = (root / relative).read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(
                f"cannot read a state post file: {exc.strerror}", path=relative
            ) from exc
        return parse_post(text, relative)

    try:
        schedule: str | None = (root / SCHEDULE_PATH).read_text(encoding="utf-8")
    except OSError:
        schedule = None
    tally = with_schedule(tally, schedule)
    if tally is not None:
        _SCHEDULE_ON_DISK[_key(root / SCHEDULE_PATH)] = tally.scheduled
    return StoredPosts(posts_folder(root), walk_ids(root), read, tally)


def _key(path: Path) -> str:
    """A file's key in this module's caches: one spelling however the repository was named."""
    return os.path.realpath(path)


_SCHEDULE_ON_DISK: dict[str, Mapping[str, str]] = {}
"""{schedule file: what it holds}, as this process last read or wrote it."""


def write_schedule(root: Path, tally: Tally, atomic_write: Any) -> None:
    """Rewrite SCHEDULE_PATH when the schedules it holds changed (rarely: only a post whose
    time in Orshot moves changes it)."""
    path = root / SCHEDULE_PATH
    known = _SCHEDULE_ON_DISK.get(_key(path))
    if known is tally.scheduled:
        return  # the mapping read from or written to the file, unchanged since
    if known is None:
        try:
            on_disk = with_schedule(Tally(), path.read_text(encoding="utf-8"))
        except OSError:
            on_disk = None
        known = on_disk.scheduled if on_disk is not None else None
    if known is not None and dict(known) == dict(tally.scheduled):
        return
    _refuse_links(path, os.path.join(os.path.realpath(root), *STATE_DIR.split("/")))
    atomic_write(path, dump_schedule(tally).encode("utf-8"))
    _SCHEDULE_ON_DISK[_key(path)] = tally.scheduled


# --- writing ---------------------------------------------------------------------------------

_WRITTEN: dict[str, PostState] = {}
"""{file path: the post last written there by this process}: a write passes over a post that
is the very value it wrote last (an apply writes before and after every request)."""


def changed_posts(
    root: Path, posts: Mapping[str, PostState], on_disk_is_v2: bool
) -> dict[str, PostState | None]:
    """The posts whose files must be written (None: removed) for `posts` to be on disk.

    A state read from these files and changed with `with_post` knows its changes; any other
    (a merge, a v1 state being converted) is compared post by post with what was written."""
    folder = posts_folder(root)
    if on_disk_is_v2 and isinstance(posts, StoredPosts) and posts.folder == folder:
        return {}  # read from these very files and not changed
    if (
        on_disk_is_v2
        and isinstance(posts, LayeredPosts)
        and isinstance(posts.base, StoredPosts)
        and posts.base.folder == folder
    ):
        # Posts written by this process as these very values, and still there, are skipped.
        return {
            post_id: post
            for post_id, post in posts.changes.items()
            if post is None
            or _WRITTEN.get(path := _key(root / post_file(post_id))) is not post
            or not os.path.exists(path)
        }
    else:
        # Files beside a v1 index too: a v1 file restored by hand over a v2 folder.
        gone = walk_ids(root) - set(posts)
        # Every post, each compared with its file as it is now (write_posts): git may have
        # changed the folder since this process last wrote it (a reset after a lost push).
        return {**dict.fromkeys(gone), **{pid: posts[pid] for pid in posts}}


def write_posts(root: Path, changes: Mapping[str, PostState | None], atomic_write: Any) -> None:
    """Write (or remove) the files of `changes`, each atomically; unchanged bytes are not
    written again. Pins every live state value first (layout.pin_before_writing)."""
    top = root / POSTS_DIR
    pin_before_writing(posts_folder(root), set(changes))
    real_top = os.path.join(os.path.realpath(root), *POSTS_DIR.split("/"))
    for post_id in sorted(changes):
        path = root / post_file(post_id)
        post = changes[post_id]
        _refuse_links(path, real_top)
        if post is None:
            path.unlink(missing_ok=True)
            _WRITTEN.pop(_key(path), None)
            _prune_empty(path.parent, top)
            continue
        text = dump_post(post).encode("utf-8")
        try:
            unchanged = path.read_bytes() == text
        except OSError:
            unchanged = False
        if not unchanged:
            atomic_write(path, text)
        _WRITTEN[_key(path)] = post


def _refuse_links(path: Path, real_top: str) -> None:
    """A record is written only inside the state folder: no directory on its way may be a
    link someone committed to point elsewhere."""
    # realpath resolves the folders that exist and keeps the rest as written.
    real = os.path.realpath(path.parent)
    if real != real_top and not real.startswith(real_top + os.sep):
        raise UserError(
            "refusing to write the state: its folder leads outside the repository",
            path=str(path),
            hint=f"remove the link and restore {POSTS_DIR} from git",
            code="state-link",
        )
    if path.is_symlink():
        raise UserError(
            "refusing to write the state: a post file is a symbolic link",
            path=str(path),
            hint=f"remove the link and restore {POSTS_DIR} from git",
            code="state-link",
        )


def _prune_empty(folder: Path, top: Path) -> None:
    while folder != top and top in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
