"""The state as tests read and edit it: one JSON document in the v1 shape ({"posts": {...}}),
whatever the layout on disk (a v2 index and a file per post, state/layout.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orshot_gitops.reconcile.snapshots import state_at
from orshot_gitops.state.layout import dump_post, walk_ids
from orshot_gitops.state.model import POSTS_DIR, STATE_PATH, State
from orshot_gitops.state.postfiles import write_posts
from orshot_gitops.state.store import atomic_write, dump_index, load_state, parse_state
from orshot_gitops.vcs.gitrepo import open_repo


def read_state_json(root: Path) -> dict[str, Any]:
    """The working tree's state as one v1-shaped document."""
    return load_state(root).to_json()


def state_json_at(repo: Path, rev: str) -> dict[str, Any] | None:
    """The state committed in `rev` (of the repository or bare remote at `repo`)."""
    with open_repo(repo) as git:
        state = state_at(git, rev)
        return None if state is None else state.to_json()


def state_in_bare(bare: Path, ref: str) -> State:
    """The state `ref` holds in a bare repository (GitRepo wants a work tree): its index
    and every post file, read with plain git."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=bare, capture_output=True, text=True, check=True
        ).stdout

    index = json.loads(git("show", f"{ref}:{STATE_PATH}"))
    if index.get("version") == 1:
        return parse_state(json.dumps(index))
    posts = {}
    for path in git("ls-tree", "-r", "--name-only", ref, "--", POSTS_DIR + "/").splitlines():
        post_id = path[len(POSTS_DIR) + 1 : -len(".json")]
        posts[post_id] = json.loads(git("show", f"{ref}:{path}"))
    loaded = parse_state(json.dumps({**index, "tally": "stale"}), posts=lambda tally: {})
    from dataclasses import replace

    from orshot_gitops.state.model import PostState

    return replace(loaded, posts={k: PostState.from_json(v) for k, v in posts.items()})


def write_state_json(root: Path, data: dict[str, Any]) -> None:
    """Put a v1-shaped document on disk as the current layout, serial as given: a hand edit
    of the state, as a test means it (not through write_state, which bumps the serial)."""
    state = parse_state(json.dumps({"heartbeats": {}, **data, "version": 1}))
    write_exactly(root, state)


def write_exactly(root: Path, state: State) -> None:
    gone = walk_ids(root) - set(state.posts)
    changes = {**dict.fromkeys(gone), **{pid: state.posts[pid] for pid in state.posts}}
    write_posts(root, changes, atomic_write)
    atomic_write(root / STATE_PATH, dump_index(state, state.tally()).encode("utf-8"))


def post_text(root: Path, post_id: str) -> str:
    return (root / POSTS_DIR / f"{post_id}.json").read_text(encoding="utf-8")


__all__ = ["dump_post", "post_text", "read_state_json", "state_json_at", "write_state_json"]
