"""orshot-gitops merge-state: git's merge driver for .orshot/state.json (git runs it)."""

from __future__ import annotations

import argparse
from pathlib import Path

from orshot_gitops.console import Console

NAME = "merge-state"
SUMMARY = (
    "Merge three versions of .orshot/state.json entry by entry, never losing a record "
    "(git runs this as the state file's merge driver; 'init' and 'hook install' register it)."
)
EXAMPLES = [
    "git config merge.orshot-state.driver 'orshot-gitops merge-state %O %A %B'",
    "orshot-gitops merge-state base.json ours.json theirs.json   # writes the merge to ours.json",
]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base", metavar="BASE", help="the common ancestor's version (%%O)")
    parser.add_argument("ours", metavar="OURS", help="ours; the merge is written here (%%A)")
    parser.add_argument("theirs", metavar="THEIRS", help="theirs (%%B)")


def run(args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.state.merge import merge_text
    from orshot_gitops.vcs.mergedriver import rebasing

    base, ours, theirs = (_read(p) for p in (args.base, args.ours, args.theirs))
    # The pushed side wins ties (state/merge.py): in a rebase that is git's "ours". Git runs
    # the driver at the work tree's top level.
    if rebasing(Path.cwd()):
        ours, theirs = theirs, ours
    merged = merge_text(base, ours, theirs)
    Path(args.ours).write_text(merged, encoding="utf-8")
    console.error("orshot-gitops: .orshot/state.json merged entry by entry")
    return 0


def _read(path: str) -> str:
    from orshot_gitops.errors import UserError

    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(
            f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}",
            hint="git passes the three versions as %O %A %B",
            code="merge-state-input",
        ) from None
