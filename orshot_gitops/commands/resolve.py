"""orshot-gitops resolve: settle by hand an outcome a run could not confirm."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

from orshot_gitops.commands import add_recording_options, record, root_key
from orshot_gitops.console import Console

NAME = "resolve"
SUMMARY = "Mark an unknown or pending (post, account) as published or failed after checking the platform yourself."
EXAMPLES = [
    "orshot-gitops resolve 2026/12/launch --as published            # it did go out: never send again",
    "orshot-gitops resolve 2026/12/launch --account acme-x --as failed  # it did not: the next apply retries",
    "orshot-gitops resolve 2026/12/launch --as deleted              # its file was deleted on purpose: forget it",
]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "post", metavar="POST", help="the post id, as 'orshot-gitops status' shows it"
    )
    parser.add_argument(
        "--account",
        metavar="ALIAS",
        help="one account (default: every unsettled account of the post)",
    )
    parser.add_argument(
        "--as",
        dest="as_status",
        choices=("published", "failed", "deleted"),
        required=True,
        help="what happened ('deleted': the file was deleted on purpose, forget the record)",
    )
    add_recording_options(parser)


def run(args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.reconcile.manage import resolve
    from orshot_gitops.state.store import load_state

    root = Path(args.repo)
    loaded = load_state(root)
    if args.as_status == "deleted":
        from orshot_gitops.reconcile.manage import forget_deleted

        state, forgotten = forget_deleted(root, loaded, args.post, datetime.now(timezone.utc))
        message = "\n".join([f"orshot: resolve {args.post} as deleted", "", *forgotten])
        recorded = record(root, state, loaded, message, args)
        for line in forgotten:
            console.print(f"forgot {line}")
        console.print(recorded)
        return 0
    state, changed = resolve(
        loaded, args.post, args.account, args.as_status, datetime.now(timezone.utc)
    )
    discarded: list[str] = []
    if args.as_status == "failed" and _prunes(root):
        # prune: true: the draft the failed step left in Orshot is discarded (read back
        # first: one that is not a draft refuses the resolve, before anything is written).
        import os

        from orshot_gitops.orshot.client import OrshotClient
        from orshot_gitops.reconcile.leftovers import discard_left_drafts

        if any(r.post_id is not None for r in state.posts[args.post].accounts.values()):
            with OrshotClient.from_env(os.environ, root_key(Path(args.repo))) as client:
                state, discarded = discard_left_drafts(loaded, state, args.post, client)
    message = "\n".join(
        [f"orshot: resolve {args.post} as {args.as_status}", "", *changed, *discarded]
    )
    recorded = record(root, state, loaded, message, args)
    for line in changed:
        console.print(f"resolved {line}")
    for line in discarded:
        console.print(line)
    console.print(recorded)
    return 0


def _prunes(root: Path) -> bool:
    from orshot_gitops.content.load import load_config

    config, _ = load_config(root)
    return bool(config is not None and config.prune)
