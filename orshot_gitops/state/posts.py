"""The posts of a state as mappings that read only what a command looks at.

A state holds a record per post; a plan looks at the few posts that changed and those that
need work, an apply writes the few it sent. So a state's `posts` is one of:

- a stored mapping (`layout.StoredPosts`, `layout.TreePosts`): the post files of the
  working tree or of a commit, each read when first looked up;
- `LayeredPosts`: a stored (or plain) mapping with a few posts set or removed on top, which
  is what `State.with_post` makes: the writer then knows exactly which files to rewrite;
- a plain read-only dict, for states built in memory (tests, merges, a v1 file).

`Tally` is what every command asks of all posts at once (which need work, which aliases and
runs records name, how many records there are): kept in the state's index for a stored
mapping, adjusted post by post for a layered one, counted for a plain one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orshot_gitops.state.model import PostState


@dataclass(frozen=True)
class Tally:
    """What the state's index keeps about all its posts: recomputed from the records by
    `tally_of`, and kept exact by every write."""

    needs_work: frozenset[str] = frozenset()
    aliases: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    runs: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    records: int = 0
    posts: int = 0
    """How many posts have a record: a folder holding another number was changed outside the
    writer (a merge git did alone, a checkout of one side's index), and is counted again."""
    scheduled: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """{post id: the earliest time one of its accounts is scheduled for in Orshot}: what
    every apply reads back once the time has passed, found without reading every post."""

    def adjusted(self, post_id: str, old: PostState | None, new: PostState | None) -> Tally:
        """This tally with `post_id`'s record `old` replaced by `new` (None: absent)."""
        aliases, runs = dict(self.aliases), dict(self.runs)
        records, posts = self.records, self.posts
        for post, sign in ((old, -1), (new, 1)):
            if post is None:
                continue
            posts += sign
            records += sign * len(post.accounts)
            for alias, record in post.accounts.items():
                _bump(aliases, alias, sign)
                if record.run is not None:
                    _bump(runs, record.run, sign)
        needs_work = set(self.needs_work)
        needs_work.discard(post_id)
        if new is not None and new.needs_work:
            needs_work.add(post_id)
        earliest = new.earliest_schedule() if new is not None else None
        # The schedules are as many as the posts waiting in Orshot (thousands in a queue
        # planned a year ahead): copied only when this post's changes, and otherwise the very
        # same mapping, which tells the writer at a glance that the file needs no rewrite.
        scheduled: Mapping[str, str] = self.scheduled
        if self.scheduled.get(post_id) != earliest:
            changed = dict(self.scheduled)
            changed.pop(post_id, None)
            if earliest is not None:
                changed[post_id] = earliest
            scheduled = MappingProxyType(changed)
        return Tally(
            frozenset(needs_work),
            MappingProxyType(aliases),
            MappingProxyType(runs),
            records,
            posts,
            scheduled,
        )


def _bump(counts: dict[str, int], key: str, by: int) -> None:
    count = counts.get(key, 0) + by
    if count > 0:
        counts[key] = count
    else:
        counts.pop(key, None)


def tally_of(posts: Mapping[str, PostState]) -> Tally:
    """The tally of every post, counted (reads every post of a stored mapping)."""
    tally = Tally()
    for post_id, post in posts.items():
        tally = tally.adjusted(post_id, None, post)
    return tally


class LazyPosts(Mapping[str, "PostState"]):
    """A read-only mapping of post id to PostState that knows its tally without building
    every post. `State` keeps such a mapping as it is, rather than copying it into a dict."""

    def tally(self) -> Tally:
        return tally_of(self)

    def __repr__(self) -> str:
        return f"mappingproxy({dict(self.items())!r})"


class LayeredPosts(LazyPosts):
    """`base` with the posts in `changes` set (a PostState) or removed (None) on top."""

    __slots__ = ("_tally", "base", "changes")

    def __init__(self, base: Mapping[str, PostState], changes: Mapping[str, PostState | None]):
        self.base = base
        self.changes = MappingProxyType(dict(changes))
        self._tally: Tally | None = None

    def __getitem__(self, post_id: str) -> PostState:
        if post_id in self.changes:
            post = self.changes[post_id]
            if post is None:
                raise KeyError(post_id)
            return post
        return self.base[post_id]

    def __contains__(self, post_id: object) -> bool:
        if post_id in self.changes:
            return self.changes[post_id] is not None  # type: ignore[index]
        return post_id in self.base

    def __iter__(self) -> Iterator[str]:
        for post_id in self.base:
            if post_id not in self.changes:
                yield post_id
        for post_id, post in self.changes.items():
            if post is not None:
                yield post_id

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def tally(self) -> Tally:
        if self._tally is None:
            tally = base_tally(self.base)
            for post_id, post in self.changes.items():
                tally = tally.adjusted(post_id, self.base.get(post_id), post)
            self._tally = tally
        return self._tally


def base_tally(posts: Mapping[str, PostState]) -> Tally:
    return posts.tally() if isinstance(posts, LazyPosts) else tally_of(posts)


def layered(posts: Mapping[str, PostState], post_id: str, post: PostState | None) -> LayeredPosts:
    """`posts` with `post_id` set to `post` (None: removed), sharing everything else."""
    if isinstance(posts, LayeredPosts):
        return LayeredPosts(posts.base, {**posts.changes, post_id: post})
    return LayeredPosts(posts, {post_id: post})
