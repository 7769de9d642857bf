"""The posts of a v1 state file (everything in `.orshot/state.json`): still read, and
converted to the v2 layout on the first write (store.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from types import MappingProxyType
from typing import Any

from orshot_gitops.state.model import _NEEDS_WORK, PostState
from orshot_gitops.state.posts import LazyPosts, Tally


class RecordedPosts(LazyPosts):
    """The posts of a state file: a read-only mapping over the file's JSON that builds each
    PostState the first time it is looked up, and keeps it. Equal to, and read like, the
    mapping of built posts it stands for; only the building is deferred."""

    __slots__ = ("_built", "_raw")

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw
        self._built: dict[str, PostState] = {}

    def __getitem__(self, post_id: str) -> PostState:
        post = self._built.get(post_id)
        if post is None:
            post = self._built[post_id] = PostState.from_json(self._raw[post_id])
        return post

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, post_id: object) -> bool:
        return post_id in self._raw

    def __repr__(self) -> str:
        return f"mappingproxy({dict(self.items())!r})"

    # A built post is made from its JSON and never changes, so the JSON answers for both.

    def ids_needing_work(self) -> set[str]:
        return {
            post_id
            for post_id, post in self._raw.items()
            # An unfinished move off a held post (`replaces`) needs work whatever its status.
            if any(
                a["status"] in _NEEDS_WORK
                or a.get("replaces") is not None
                or a.get("paused_schedule") is not None
                or a.get("drift") is not None
                for a in post["accounts"].values()
            )
        }

    def ids_with_aliases_outside(self, aliases: set[str]) -> set[str]:
        return {
            post_id
            for post_id, post in self._raw.items()
            if not aliases.issuperset(post["accounts"])
        }

    def account_count(self, post_id: str) -> int:
        post = self._raw.get(post_id)
        return len(post["accounts"]) if post is not None else 0

    def tally(self) -> Tally:
        aliases: dict[str, int] = {}
        runs: dict[str, int] = {}
        records = 0
        for post in self._raw.values():
            records += len(post["accounts"])
            for alias, record in post["accounts"].items():
                aliases[alias] = aliases.get(alias, 0) + 1
                if record.get("run") is not None:
                    runs[record["run"]] = runs.get(record["run"], 0) + 1
        scheduled = {}
        for post_id, post in self._raw.items():
            times = [
                a["scheduled_for"]
                for a in post["accounts"].values()
                if a["status"] == "scheduled" and a["post_id"] is not None and a["scheduled_for"]
            ]
            if times:
                scheduled[post_id] = min(times, key=datetime.fromisoformat)
        return Tally(
            frozenset(self.ids_needing_work()),
            MappingProxyType(aliases),
            MappingProxyType(runs),
            records,
            len(self._raw),
            MappingProxyType(scheduled),
        )
