"""orshot-gitops preview: a static site to review what goes out, by eye."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

from orshot_gitops.console import Console

NAME = "preview"
SUMMARY = "Write a static review site: each post as each platform shows it, a calendar, ICS feeds."
EXAMPLES = [
    "orshot-gitops preview --out preview          # then open preview/index.html",
    "orshot-gitops preview --out site --timezone Europe/Berlin   # every day read in Berlin",
    "orshot-gitops preview --out site --format json              # the files written",
]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", metavar="DIR", required=True, help="the folder to write the site into"
    )
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        help="read every post's day and time in this IANA zone (default: each post's own)",
    )
    parser.add_argument("--title", default="", help="the site's title (default: 'What goes out')")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def run(args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.content.compile import CompiledPost, valid_timezone
    from orshot_gitops.errors import Severity, UsageError
    from orshot_gitops.reconcile.outgoing import compile_everything, outgoing
    from orshot_gitops.reconcile.planner import make_plan
    from orshot_gitops.report import diagnostics
    from orshot_gitops.report.site.build import build_site
    from orshot_gitops.vcs.gitrepo import open_repo

    if args.timezone and not valid_timezone(args.timezone):
        raise UsageError(
            f"--timezone {args.timezone!r} is not an IANA time zone",
            hint="e.g. Europe/Berlin, America/New_York or UTC",
        )
    now = datetime.now(timezone.utc)
    root = Path(args.repo)
    with open_repo(root) as git:
        plan, config, state = make_plan(root, git, now)
        problems = list(plan.errors)
        compiled: list[CompiledPost] = []
        if config is not None and not problems:
            found, compiled = compile_everything(root, git, config)
            problems = [d for d in found if d.severity is Severity.ERROR]
    if problems:
        # A site of some posts would read as all of them: nothing is written.
        console.error(diagnostics.as_text(tuple(problems), len(problems), console))
        return 1
    written = build_site(
        outgoing(compiled, plan, state), Path(args.out), zone=args.timezone, title=args.title
    )
    if args.format == "json":
        console.print(
            json.dumps(
                {
                    "out": str(written.folder),
                    "index": str(written.folder / "index.html"),
                    "posts": written.posts,
                    "accounts": list(written.accounts),
                    "files": list(written.files),
                },
                indent=2,
            )
        )
    else:
        console.print(
            f"Preview of {written.posts} posts to {len(written.accounts)} accounts written to "
            f"{written.folder}: open {written.folder / 'index.html'}"
        )
    return 0
