"""orshot-gitops refresh: read the posts Orshot holds and record any drift."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict
from pathlib import Path

from orshot_gitops.commands import add_recording_options, record, root_key
from orshot_gitops.console import Console

NAME = "refresh"
SUMMARY = (
    "Read every draft, scheduled or processing post back from Orshot and record what changed there."
)
EXAMPLES = [
    "ORSHOT_API_KEY=... orshot-gitops refresh",
    "orshot-gitops refresh --format json",
    "orshot-gitops refresh --rebuild   # the state went backwards: record what Orshot holds",
]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    add_recording_options(parser)
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="match every post of the repository to Orshot's Posts Log by what it sends and "
        "record what went out (after a force-push dropped results); sends nothing",
    )


def run(args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.orshot.client import OrshotClient
    from orshot_gitops.reconcile.manage import refresh
    from orshot_gitops.state.store import load_state

    root = Path(args.repo)
    if args.rebuild:
        return _rebuild(root, args, console)
    state = load_state(root)
    with OrshotClient.from_env(os.environ, root_key(Path(args.repo))) as client:
        new_state, drifts = refresh(state, client, root)
    recorded = ""
    if new_state is not state:
        lines = [f"{d.post} → {d.account}: {d.recorded} → {d.orshot}" for d in drifts]
        message = "\n".join([f"orshot: refresh, {len(lines)} change(s) from Orshot", "", *lines])
        recorded = record(root, new_state, state, message, args)
    if args.format == "json":
        console.print(json.dumps([asdict(d) for d in drifts], indent=2, ensure_ascii=False))
        return 0
    for d in drifts:
        console.print(
            f"{d.post} → {d.account}: {d.recorded} in the state, {d.orshot} in Orshot ({d.note})"
        )
    console.print(
        f"{len(drifts)} change(s) recorded. {recorded}".rstrip()
        if drifts
        else "No drift: Orshot agrees with the state."
    )
    return 0


def _rebuild(root: Path, args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.orshot.client import OrshotClient
    from orshot_gitops.reconcile.history import newest_serial_seen
    from orshot_gitops.reconcile.rebuild import compile_repository, rebuild
    from orshot_gitops.state.store import load_state, write_state
    from orshot_gitops.vcs.gitrepo import open_repo

    state = load_state(root)
    compiled = compile_repository(root)
    with open_repo(root) as git:
        newest = newest_serial_seen(git, state.lineage if state.serial else None)
    with OrshotClient.from_env(os.environ, root_key(Path(args.repo))) as client:
        rebuilt, found = rebuild(state, compiled, client.list_posts(), newest)
    write_state(root, rebuilt)
    recorded = [f for f in found if f.orshot_post_id is not None]
    missing = [f for f in found if f.orshot_post_id is None]
    if args.format == "json":
        console.print(
            json.dumps(
                {
                    "recorded": [asdict(f) for f in recorded],
                    "not_found": [asdict(f) for f in missing],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    for f in recorded:
        console.print(f"{f.post} → {f.account}: {f.status} (Orshot post {f.orshot_post_id})")
    for f in missing:
        console.print(f"{f.post} → {f.account}: {f.status}")
    console.print(
        f"{len(recorded)} recorded from Orshot's Posts Log, {len(missing)} not found; "
        "nothing was sent. Commit .orshot/state.json."
    )
    return 0
