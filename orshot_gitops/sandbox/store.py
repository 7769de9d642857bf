"""The Posts Log on disk: one SQLite file, so posts survive a restart of the sandbox.

Posts are few and read on every request (scheduled posts fire lazily), so the store keeps them
in memory and writes each change through to SQLite. It is not thread-safe by itself: the server
holds one lock around all work on the workspace.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from orshot_gitops.errors import UserError
from orshot_gitops.sandbox.model import Post

_SCHEMA = """
CREATE TABLE IF NOT EXISTS posts (id INTEGER PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Store:
    """Posts by id, persisted in `<data_dir>/sandbox.sqlite3`."""

    def __init__(self, data_dir: Path) -> None:
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            # One connection shared by the server's threads, always under the workspace lock.
            self._db = sqlite3.connect(data_dir / "sandbox.sqlite3", check_same_thread=False)
            self._db.executescript(_SCHEMA)
            rows = self._db.execute("SELECT record FROM posts ORDER BY id").fetchall()
        except (OSError, sqlite3.Error) as exc:
            raise UserError(f"cannot open the sandbox data directory {data_dir}: {exc}") from exc
        self._posts = {post.id: post for post in (Post.from_record(json.loads(r[0])) for r in rows)}

    def __iter__(self) -> Iterator[Post]:
        """Every post, discarded ones included, oldest first: rows load in id order and new
        ids only grow, so the dict's insertion order already is id order."""
        return iter(self._posts.values())

    def get(self, post_id: int) -> Post | None:
        return self._posts.get(post_id)

    def next_id(self, counter: str) -> int:
        """The next id of a persistent counter (`post`, `render`): never reused, even after
        a restart or a discard, as a real API's ids are not."""
        row = self._db.execute("SELECT value FROM counters WHERE name = ?", (counter,)).fetchone()
        value = (row[0] if row else 0) + 1
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)", (counter, value)
            )
        return value

    def save(self, post: Post) -> None:
        record = json.dumps(post.to_record(), sort_keys=True, ensure_ascii=False)
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO posts (id, record) VALUES (?, ?)", (post.id, record)
            )
        self._posts[post.id] = post

    def close(self) -> None:
        self._db.close()
