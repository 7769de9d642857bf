"""orshot-gitops validate: check posts and orshot.yaml, report every problem at its line."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

from orshot_gitops.console import Console

NAME = "validate"
SUMMARY = (
    "Check orshot.yaml and post files: syntax, schema, templates, accounts and platform limits."
)
EXAMPLES = [
    "orshot-gitops validate                         # the whole repository",
    "orshot-gitops validate posts/2026/launch.yaml  # only these files",
    "orshot-gitops validate --format github         # annotations in GitHub Actions",
    "orshot-gitops validate --format json | jq '.diagnostics[]'",
]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="post files to check (default: all)"
    )
    parser.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="text (default), json for scripts, github for workflow annotations",
    )


def run(args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.content.validate import validate_repo
    from orshot_gitops.report import diagnostics as report

    root = Path(args.repo)
    # The report needs only the problems: posts are not kept, so memory stays flat.
    result = validate_repo(root, datetime.now(timezone.utc), args.paths, keep_posts=False)
    if args.format == "json":
        console.print(report.as_json(result.diagnostics, result.files_checked))
    elif args.format == "github":
        console.print(report.as_github(result.diagnostics, result.files_checked, console))
    else:
        console.print(report.as_text(result.diagnostics, result.files_checked, console))
    return 1 if result.errors else 0
