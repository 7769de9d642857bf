"""When to write git's commit-graph, which a plan's ancestry check needs on a long history.

`git merge-base --is-ancestor` walks the history commit by commit unless git has a
commit-graph (a file of every commit's parents and generation): measured on a 50,000-commit
history, 0.20-0.23 s without one and 0.01 s with it, and writing it (`git commit-graph write
--reachable`) took 0.21 s, once. `git gc` writes one, but a fresh clone has none and git's
automatic gc may not run for a long time.

Counting the commits to see whether the history is long is itself a walk of the history, so
the test is the number of objects in the packs, read from the size of their `.idx` files (no
process, a stat per pack): a history holds at least one commit and one tree per commit, so
fewer than LONG_HISTORY_OBJECTS objects means fewer than half as many commits, and the walk is
cheap. Many objects with a short history (10,000 posts in a few commits) write a graph that
costs milliseconds, once. Loose objects are not counted: git packs them once there are a few
thousand (`gc.auto`), and clones and fetches arrive packed.
"""

from __future__ import annotations

import os
from pathlib import Path

LONG_HISTORY_OBJECTS = 2_000  # a history of more than ~1,000 commits
# A version 2 pack index: 8-byte header, 1,024-byte fan-out table and the pack's checksum
# and its own (40 bytes); then 28 bytes per object (name, CRC, offset). Offsets past 2 GiB add
# 8 bytes each, which only overestimates.
_IDX_FIXED = 8 + 1024 + 40
_IDX_PER_OBJECT = 28


def worth_writing(objects: Path, shallow: Path) -> bool:
    """Whether this repository has no commit-graph and may have a long history. Never for a
    shallow clone: git uses no commit-graph there."""
    info = objects / "info"
    try:
        if (
            shallow.exists()
            or (info / "commit-graph").exists()
            or (info / "commit-graphs" / "commit-graph-chain").exists()
        ):
            return False
        packed = 0
        with os.scandir(objects / "pack") as entries:
            for entry in entries:
                if entry.name.endswith(".idx") and entry.is_file():
                    packed += max(0, entry.stat().st_size - _IDX_FIXED) // _IDX_PER_OBJECT
    except OSError:
        return False
    return packed >= LONG_HISTORY_OBJECTS
