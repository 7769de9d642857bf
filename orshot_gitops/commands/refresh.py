"""orshot-gitops refresh: read the posts Orshot holds and record any drift."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict
from pathlib import Path

from orshot_gitops.console import Console

NAME = "refresh"
SUMMARY = (
    "Read every draft, scheduled or processing post back from Orshot and record what changed there."
)
EXAMPLES = [
    "ORSHOT_API_KEY=... orshot-gitops refresh",
    "orshot-gitops refresh --format json",
]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def run(args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.client import OrshotClient
    from orshot_gitops.manage import refresh
    from orshot_gitops.state import load_state, write_state

    root = Path(args.repo)
    state = load_state(root)
    with OrshotClient.from_env(os.environ) as client:
        new_state, drifts = refresh(state, client)
    if drifts:
        write_state(root, new_state)
    if args.format == "json":
        console.print(json.dumps([asdict(d) for d in drifts], indent=2, ensure_ascii=False))
        return 0
    for d in drifts:
        console.print(
            f"{d.post} → {d.account}: {d.recorded} in the state, {d.orshot} in Orshot ({d.note})"
        )
    console.print(
        f"{len(drifts)} change(s) recorded."
        if drifts
        else "No drift: Orshot agrees with the state."
    )
    return 0
