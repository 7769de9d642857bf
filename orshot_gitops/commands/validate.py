"""orshot-gitops validate: check posts and orshot.yaml, report every problem at its line.
With ORSHOT_API_KEY set, also each render's modification keys against its template's
parameters, as Orshot lists them (reconcile/templatecheck.py); without, that is skipped."""

from __future__ import annotations

import argparse
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from orshot_gitops.console import Console

if TYPE_CHECKING:
    from orshot_gitops.content.validate import ValidationReport
    from orshot_gitops.orshot.settings import ApiKeyVariable

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
    from orshot_gitops.commands import root_key
    from orshot_gitops.content.validate import validate_repo
    from orshot_gitops.report import diagnostics as report

    root = Path(args.repo)
    key = root_key(root)
    online = key.present(os.environ)
    # The report needs only the problems: posts are not kept, so memory stays flat, unless
    # their render keys are to be checked with Orshot.
    result = validate_repo(root, datetime.now(timezone.utc), args.paths, keep_posts=online)
    if online:
        result = with_template_check(result, console, key)
    elif args.format == "text" and result.render_posts:
        # Said only where there is something it would check: render posts.
        console.error(f"note: render modifications not checked against templates (no {key.name})")
    if args.format == "json":
        console.print(report.as_json(result.diagnostics, result.files_checked))
    elif args.format == "github":
        console.print(report.as_github(result.diagnostics, result.files_checked, console))
    else:
        console.print(report.as_text(result.diagnostics, result.files_checked, console))
    return 1 if result.errors else 0


def with_template_check(
    result: ValidationReport, console: Console, key: ApiKeyVariable
) -> ValidationReport:
    from dataclasses import replace

    from orshot_gitops.orshot.client import OrshotClient
    from orshot_gitops.orshot.settings import check_environment
    from orshot_gitops.orshot.templates import template_parameters
    from orshot_gitops.reconcile.templatecheck import TemplateParameters, check_modifications

    if not any(post.spec.render for post in result.posts):
        return result
    check_environment(os.environ, key)
    with OrshotClient.from_env(os.environ, key) as client:
        parameters = TemplateParameters(lambda template: template_parameters(client, template))
        problems, note = check_modifications(result.posts, parameters)
    if note:
        console.error(f"note: {note}")
    diagnostics = tuple(sorted({*result.diagnostics, *problems}))
    return replace(result, diagnostics=diagnostics)
