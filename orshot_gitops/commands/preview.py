"""orshot-gitops preview: a static site to review what goes out, by eye."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from orshot_gitops.console import Console

if TYPE_CHECKING:
    from orshot_gitops.content.compile import CompiledPost
    from orshot_gitops.errors import Diagnostic
    from orshot_gitops.report.site.build import Written

NAME = "preview"
SUMMARY = "Write a static review site: each post as each platform shows it, a calendar, ICS feeds."
DEFAULT_OUT = ".orshot/preview"
"""Where the site goes without --out: inside the repository, beside the state, with a
.gitignore of its own so it never shows up as something to commit."""
EXAMPLES = [
    "orshot-gitops preview                        # then open .orshot/preview/index.html",
    "orshot-gitops preview --out preview          # then open preview/index.html",
    "orshot-gitops preview --out site --timezone Europe/Berlin   # every day read in Berlin",
    "orshot-gitops preview --out site --format json              # the files written",
]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        metavar="DIR",
        help=f"the folder to write the site into (default: {DEFAULT_OUT} in the repository, "
        "which git is told to ignore)",
    )
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        help="read every post's day and time in this IANA zone (default: each post's own)",
    )
    parser.add_argument("--title", default="", help="the site's title (default: 'What goes out')")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def run(args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.content.compile import valid_timezone
    from orshot_gitops.errors import UsageError
    from orshot_gitops.report import diagnostics

    if args.timezone and not valid_timezone(args.timezone):
        raise UsageError(
            f"--timezone {args.timezone!r} is not an IANA time zone",
            hint="e.g. Europe/Berlin, America/New_York or UTC",
        )
    now = datetime.now(timezone.utc)
    out = Path(args.out) if args.out else _default_out(Path(args.repo))
    written, problems = write_preview(
        Path(args.repo), out, now, zone=args.timezone, title=args.title
    )
    if written is None:
        # A site of some posts would read as all of them: nothing is written.
        console.error(diagnostics.as_text(tuple(problems), len(problems), console))
        return 1
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


def _default_out(root: Path) -> Path:
    """DEFAULT_OUT, made to be ignored by git (its own `.gitignore` of `*`), so a first
    `orshot-gitops preview` needs no flag and leaves nothing to commit or to trip apply."""
    out = root / DEFAULT_OUT
    ignore = out / ".gitignore"
    if not ignore.is_symlink() and not ignore.exists():
        try:
            out.mkdir(parents=True, exist_ok=True)
            ignore.write_text("# written by orshot-gitops preview: the site is not content\n*\n")
        except OSError:
            pass  # build_site reports an unwritable folder in one line
    return out


def write_preview(
    root: Path, out: Path, now: datetime, *, zone: str | None = None, title: str = ""
) -> tuple[Written | None, list[Diagnostic]]:
    """The site of the repository at root, written to `out`; or None and the errors that
    stopped it (nothing written). `ci --command plan` calls it too (ORSHOT_PREVIEW_DIR)."""
    from orshot_gitops.errors import Severity
    from orshot_gitops.reconcile.outgoing import compile_everything, outgoing
    from orshot_gitops.reconcile.planner import make_plan
    from orshot_gitops.report.site.build import build_site
    from orshot_gitops.state.previews import load_previews
    from orshot_gitops.vcs.gitrepo import open_repo

    with open_repo(root) as git:
        plan, config, state = make_plan(root, git, now)
        problems = list(plan.errors)
        compiled: list[CompiledPost] = []
        if config is not None and not problems:
            found, compiled = compile_everything(root, git, config)
            problems = [d for d in found if d.severity is Severity.ERROR]
    if problems:
        return None, problems
    # The image each render post publishes: its recorded render or a reviewed preview.
    previews = load_previews(root)
    return build_site(outgoing(compiled, plan, state, previews), out, zone=zone, title=title), []
