"""Commit messages that stay readable, and small, whatever the size of the run.

A results commit once listed every outcome: 161,533 bytes for 1,500 of them (issue 19), more
than anyone reads in `git log`, and over what one command-line argument may hold, so the
commit failed after everything had been sent. Whatever is recorded in full belongs in the
state file; a message carries its counts (in the subject), the first lines, and how many more
there are. Commits take their message on stdin (`GitRepo.commit_paths`), so even a message
built some other way cannot fail for its size.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

SHOWN_LINES = 50
"""Body lines kept: a screenful in `git log`, enough to see what a small run did whole."""
LINE_WIDTH = 200
"""Characters kept of one line: an error Orshot wrote at length stays one readable line."""
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")


def commit_message(
    subject: str,
    lines: Sequence[str],
    *,
    trailers: Sequence[str] = (),
    shown: int = SHOWN_LINES,
    where: str = ".orshot/state.json",
) -> str:
    """`subject`, a blank line, the first `shown` of `lines`, "… and N more" naming `where`
    the rest are, then `trailers` as the last paragraph (where `git interpret-trailers`
    looks). However many `lines` there are, the body has at most `shown` + 1 lines of at
    most LINE_WIDTH characters each."""
    body = [_one_line(line) for line in lines[:shown]]
    if len(lines) > shown:
        body.append(f"… and {len(lines) - shown:,} more (all of them are in {where})")
    # The subject is whole: it carries the counts, and "[skip ci]" at its end.
    parts = [_flat(subject)]
    if body:
        parts += ["", *body]
    if trailers:
        parts += ["", *(_one_line(t) for t in trailers)]
    return "\n".join(parts)


def _flat(text: str) -> str:
    # A newline in an error would start a paragraph of its own (or a fake trailer).
    return _NEWLINES.sub(" ", text).rstrip()


def _one_line(text: str) -> str:
    flat = _flat(text)
    return flat if len(flat) <= LINE_WIDTH else flat[: LINE_WIDTH - 1] + "…"
