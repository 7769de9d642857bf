"""Named points where a test may kill this process, to prove that a crash anywhere is safe.

`ORSHOT_CRASH_AT=NAME` (or `NAME:N` for the N-th time NAME is reached) sends SIGKILL to this
process at that point: no cleanup, no `finally`, exactly like a power cut or a cancelled CI
job. Unset (always, outside tests), a crash point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "after-intent",  # the pending mark is on disk, the request not yet sent
    "after-render-job",  # a render job's id is recorded; the job is still running
    "after-draft",  # Orshot created the draft; its id is not yet recorded
    "before-retire",  # a moving account's new draft is recorded; the held post still has it
    "after-retire",  # the held post let go of the moving accounts; not yet recorded
    "between-phases",  # the draft is recorded; publishing it has not started
    "after-publish",  # Orshot published it; the result is not yet recorded
    "before-push",  # results committed locally, not yet pushed
)
_reached: dict[str, int] = {}


def crash_point(name: str) -> None:
    wanted = os.environ.get("ORSHOT_CRASH_AT")
    if not wanted:
        return
    point, _, count = wanted.partition(":")
    if point != name:
        return
    _reached[name] = _reached.get(name, 0) + 1
    if _reached[name] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
