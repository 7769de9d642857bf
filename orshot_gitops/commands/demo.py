"""orshot-gitops demo: validate, plan, apply, status and a reviewed edit, against the local sandbox."""

from __future__ import annotations

import argparse
from pathlib import Path

from orshot_gitops.console import Console

NAME = "demo"
SUMMARY = "Walk through the product against a built-in sandbox: no account, no key, no network."
EXAMPLES = [
    "orshot-gitops demo",
    "orshot-gitops demo --dir /tmp/orshot-demo    # keep the repo and the sandbox's posts log",
]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir", metavar="DIR", help="where to create the demo (default: a temporary directory)"
    )


def run(args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.demo import run_demo

    return run_demo(Path(args.dir) if args.dir else None, console)
