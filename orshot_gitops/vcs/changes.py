"""What changed between two commits, read from git's name-status records: pure values.

`gitrepo` runs git and turns its output into records (status letter, path, new path), paths
relative to the content root; this module decides what they mean for posts: added,
modified, deleted or moved, and whether a shared input forces a full compile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

Records = list[tuple[str, str, str | None]]
"""(status letter, path, new path for a rename or copy) per file, from one diff."""


@dataclass(frozen=True)
class ChangeSet:
    """The post files that changed between two commits (`git diff --name-status -M`).

    Renames are followed, so a moved post is `renamed`, not deleted and added. When
    `full_rescan_needed` is true, `reason` says why and the caller compiles every post; the
    lists still hold whatever a diff could name (empty when no diff was possible).
    """

    since: str | None
    until: str | None
    added: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()
    full_rescan_needed: bool = False
    reason: str = ""
    base_missing: bool = False
    """No diff from a recorded commit was possible (none recorded, not in this repository,
    or not an ancestor): git cannot say which files are new and which moved."""

    @property
    def is_empty(self) -> bool:
        """Nothing changed and nothing forces a full compile."""
        return not (
            self.full_rescan_needed or self.added or self.modified or self.deleted or self.renamed
        )


def classify(
    since: str,
    until: str,
    records: list[tuple[str, str, str | None]],
    under: Sequence[str],
    shared: Sequence[str],
    suffixes: Sequence[str],
) -> ChangeSet:
    lists: dict[str, list[str]] = {"A": [], "M": [], "D": []}
    renamed: list[tuple[str, str]] = []
    shared_changed: list[str] = []

    def post(path: str | None) -> bool:
        return path is not None and matches(path, under) and path.endswith(tuple(suffixes))

    for letter, old, new in records:
        shared_changed += [p for p in (old, new) if p is not None and matches(p, shared)]
        if letter == "R" and new is not None and post(old) and post(new):
            renamed.append((old, new))
            continue
        # A rename into or out of the post files is an addition or a deletion; a copy leaves
        # the original in place.
        if letter in "RC":
            if post(new) and new is not None:
                lists["A"].append(new)
            if letter == "R" and post(old):
                lists["D"].append(old)
        elif post(old):
            lists[letter if letter in "AD" else "M"].append(old)
    reason = ""
    if shared_changed:
        reason = "shared inputs changed: " + ", ".join(sorted(set(shared_changed)))
    return ChangeSet(
        since,
        until,
        added=tuple(sorted(lists["A"])),
        modified=tuple(sorted(lists["M"])),
        deleted=tuple(sorted(lists["D"])),
        renamed=tuple(sorted(renamed)),
        full_rescan_needed=bool(shared_changed),
        reason=reason,
    )


def follow_moves(changes: ChangeSet, commits: Sequence[Records]) -> ChangeSet:
    """`changes` with the moves that `commits` (each one's name-status records, oldest
    first) show step by step, though the range as a whole shows a deletion and an addition,
    or pairs a deleted file with the wrong added one: two posts alike enough (a move of `b`
    and a new `c` written from the same template) are "`b` renamed to `c`" in the diff of the
    range, and the moved `b` "added". Where the steps name a file's origin, they win; the
    range's own pairings stand where the steps say nothing of either file (a file deleted in
    one commit and written again in another is still taken for moved: the safe side)."""
    # Each file's path now -> its path at `since` (None: it did not exist then).
    origin: dict[str, str | None] = {}
    for records in commits:
        for letter, old, new in records:
            if letter == "R" and new is not None:
                origin[new] = origin.pop(old, old)
            elif letter in "AC":
                origin[new or old] = None
            elif letter == "D":
                origin.pop(old, None)
    gone = set(changes.deleted) | {was for was, _ in changes.renamed}
    arrived = set(changes.added) | {now for _, now in changes.renamed}
    moves = {
        (was, now)
        for now, was in origin.items()
        if was is not None and was in gone and now in arrived
    }
    moved_from = {was for was, _ in moves}
    moved_to = {now for _, now in moves}
    # A pairing of the range's diff is dropped only when the steps gave either of its files
    # to another move: a file copied in one commit and its original deleted in the next is
    # still the same post moved.
    kept = {
        (was, now) for was, now in changes.renamed if was not in moved_from and now not in moved_to
    }
    renamed = moves | kept
    if renamed == set(changes.renamed):
        return changes
    return replace(
        changes,
        added=tuple(sorted(arrived - {now for _, now in renamed})),
        deleted=tuple(sorted(gone - {was for was, _ in renamed})),
        renamed=tuple(sorted(renamed)),
    )


def matches(path: str, patterns: Sequence[str]) -> bool:
    return any(path.startswith(p) if p.endswith("/") else path == p for p in patterns)
