"""orshot-gitops ci: what the GitHub Action runs. Validate, plan or apply, the GitHub way.

On a pull request: every problem as an annotation on its file and line, then the plan as
Markdown in the job summary and in ONE sticky comment (edited, never duplicated). No Orshot
key and no network besides GitHub's API: a pull request from a fork gets the full review.
On a push to the default branch (and on a schedule, to retry what failed): `apply --push`,
with what went out, and links, in the job summary.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from orshot_gitops.commands import ci_brands
from orshot_gitops.console import Console
from orshot_gitops.errors import UsageError, UserError

if TYPE_CHECKING:
    from orshot_gitops.commands.approvals import PullRequestApprovals
    from orshot_gitops.github.api import GitHubContext

NAME = "ci"
SUMMARY = (
    "Run in GitHub Actions: annotate problems, put the plan in the job summary and one sticky "
    "pull-request comment, or apply on a push to the default branch."
)
EXAMPLES = [
    "orshot-gitops ci                      # by the event: pull_request plans, push applies",
    "orshot-gitops ci --command plan       # validate + plan + comment (no Orshot key needed)",
    "orshot-gitops ci --command apply      # apply --push; results in the job summary",
    "orshot-gitops ci --command plan --no-comment",
    "orshot-gitops ci --command matrix --base SHA   # brands a push touched: a job each",
    "orshot-gitops ci --command plan --all --base SHA   # one comment, a section per brand",
]
# A review re-runs the plan: the comment and the orshot/approvals status follow approvals.
_PR_EVENTS = ("pull_request", "pull_request_target", "pull_request_review")
_APPLY_EVENTS = ("push", "schedule", "workflow_dispatch")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--command",
        dest="ci_command",  # `command` is the subcommand's own name in cli.py
        choices=("auto", "validate", "plan", "apply", "matrix"),
        default="auto",
        help="what to run (default: auto, by the event: pull_request plans, "
        "push/schedule/workflow_dispatch apply, anything else validates); matrix: the "
        "content roots a change touches, for a job per root (docs/brands.md)",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="validate or plan every content root of the work tree that the change touched "
        "(--base): one comment, one section per root. Also INPUT_ALL=true",
    )
    parser.add_argument(
        "--base",
        default=None,
        metavar="COMMIT",
        help="matrix and --all: the commit the change starts from (a pull request's base, a "
        "push's 'before'); none or unknown: every root. Also INPUT_BASE",
    )
    parser.add_argument(
        "--head",
        default=None,
        metavar="COMMIT",
        help="matrix and --all: the commit the change ends at (default HEAD). Also INPUT_HEAD",
    )
    parser.add_argument(
        "--no-comment",
        action="store_true",
        help="do not comment on the pull request (the job summary still gets the plan)",
    )
    parser.add_argument(
        "--render-previews",
        action="store_true",
        help="plan: render each new or changed render: post without publishing and write its "
        "preview under .orshot/state/renders/ (needs the key; the workflow commits the files "
        "to the pull request's branch). Also INPUT_RENDER_PREVIEWS=true",
    )
    parser.add_argument(
        "--remote", default="origin", help="the remote apply pushes to (default: origin)"
    )
    parser.add_argument(
        "--plan-out",
        metavar="FILE",
        help="where to save the plan as JSON (default: $RUNNER_TEMP/orshot-plan.json)",
    )


def choose(command: str, event_name: str) -> str:
    """The command `auto` stands for, by the workflow event."""
    if command != "auto":
        return command
    if event_name in _PR_EVENTS:
        return "plan"
    if event_name in _APPLY_EVENTS:
        return "apply"
    return "validate"


def run(args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.github.api import GitHubContext

    env = dict(os.environ)
    context = GitHubContext.from_env(env)
    command = choose(args.ci_command, context.event_name)
    root = Path(args.repo)
    now = datetime.now(timezone.utc)
    from orshot_gitops.vcs.mergedriver import inside_git, register

    if inside_git(root):
        register(root)  # this workspace's merges of the state file go entry by entry
    if args.no_comment or os.environ.get("INPUT_COMMENT", "true").strip().lower() == "false":
        comment = False
    else:
        comment = True
    every, base, head = ci_brands.inputs(args.all, args.base, args.head, env)
    if command == "matrix" or every:
        return _many_roots(command, root, base, head, context, now, console, args, comment)
    previews = args.render_previews or _flag(env, "INPUT_RENDER_PREVIEWS")
    if previews and command == "plan":
        from orshot_gitops.commands import root_key
        from orshot_gitops.commands.plan import need_key

        need_key(root_key(root))  # before anything is written: a fork's job has no key
    ok = annotate(root, now, console, check_templates=command in ("validate", "plan"))
    if command == "validate":
        return 0 if ok else 1
    if command == "plan":
        plan_out = Path(args.plan_out) if args.plan_out else _default_plan_path(env)
        planned = ci_plan(
            root, context, now, console, comment=comment, plan_out=plan_out, previews=previews
        )
        return 0 if planned and ok else 1
    return 0 if ci_apply(root, context, console, remote=args.remote, env=env) else 1


def _many_roots(
    command: str,
    root: Path,
    base: str,
    head: str,
    context: GitHubContext,
    now: datetime,
    console: Console,
    args: argparse.Namespace,
    comment: bool,
) -> int:
    """A repository of several content roots (commands/ci_brands.py)."""
    if command == "apply":
        raise UsageError(
            "apply runs one content root per job, never --all",
            hint="use '--command matrix' for the roots to apply and a job per root "
            "(examples/workflows/orshot-brands.yml)",
        )
    selection = ci_brands.select(root, base, head)
    if command == "matrix":
        return ci_brands.ci_matrix(selection, context, console)
    console.print(selection.why)
    if args.render_previews or _flag(os.environ, "INPUT_RENDER_PREVIEWS"):
        raise UsageError(
            "render previews are made per root", hint="run the previews job with --repo ROOT"
        )
    ok = ci_brands.annotate_roots(selection, now, console, check_templates=True)
    if command == "validate":
        return 0 if ok else 1
    plan_out = Path(args.plan_out) if args.plan_out else _default_plan_path(os.environ)
    planned = ci_brands.ci_plan_roots(
        selection, context, now, console, comment=comment, plan_out=plan_out
    )
    return 0 if planned and ok else 1


def _default_plan_path(env: Mapping[str, str]) -> Path:
    return Path(env.get("RUNNER_TEMP") or tempfile.gettempdir()) / "orshot-plan.json"


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() == "true"


def annotate(root: Path, now: datetime, console: Console, *, check_templates: bool = False) -> bool:
    """Every problem as a `::error file=…,line=…::` annotation; False when there are errors.
    `check_templates`, with a key: render keys against the templates' parameters too."""
    from orshot_gitops.commands import root_key, root_label
    from orshot_gitops.commands.validate import with_template_check
    from orshot_gitops.content.validate import validate_repo
    from orshot_gitops.report import diagnostics as report

    key = root_key(root)
    online = check_templates and key.present(os.environ)
    result = validate_repo(root, now, keep_posts=online)
    if online:
        result = with_template_check(result, console, key)
    # GitHub places `file=` from the repository's top: a root in a subfolder (a brand, or
    # the Action's working-directory) prefixes its own paths, or no annotation lands.
    label = root_label(root)
    diagnostics = [
        replace(d, path=f"{label}/{d.path}") if label and d.path else d for d in result.diagnostics
    ]
    console.print(report.as_github(diagnostics, result.files_checked, console))
    return not result.errors


@dataclass(frozen=True)
class PlanSection:
    """One content root's plan, as the pull request shows it: its Markdown (cut to fit its
    share of the comment), whether it may merge cleanly, and the approvals it needs."""

    markdown: str
    ok: bool
    has_changes: bool
    summary: str
    approvals: PullRequestApprovals | None


def plan_section(
    root: Path,
    context: GitHubContext,
    now: datetime,
    console: Console,
    *,
    plan_out: Path,
    max_chars: int,
    previews: bool = False,
    link: str | None = None,
) -> PlanSection:
    """A root's plan, saved as JSON to `plan_out`, as Markdown for the comment: `ci_plan`'s
    one root, or one brand's section of the comment that covers every touched root. `link`:
    the preview site's line (None: built here, for this root alone)."""
    from orshot_gitops.commands import root_key
    from orshot_gitops.commands.approvals import pull_request_approvals
    from orshot_gitops.commands.plan import plan_renders, plan_with_health
    from orshot_gitops.reconcile.planner import make_plan
    from orshot_gitops.report import plan as report
    from orshot_gitops.report.review import approvals_markdown
    from orshot_gitops.vcs.gitrepo import open_repo

    with open_repo(root) as git:
        plan, config, state = make_plan(root, git, now)
        # No approvals: rule, no GitHub call (None).
        approvals = pull_request_approvals(plan, git, config, state.commit, context, now)
    key = root_key(root)
    # With a key (a fork's pull request has none): the accounts' health, as `plan` shows it.
    plan = plan_with_health(plan, console, key)
    renders = plan_renders(plan, state, root, console, key, render=previews)
    plan_out.parent.mkdir(parents=True, exist_ok=True)
    plan_out.write_text(report.as_json(plan, renders) + "\n", encoding="utf-8")
    if link is None:
        link = _preview(root, context, now, console)
    section = approvals_markdown(approvals.needs, approvals.note) if approvals else ""
    markdown = report.as_markdown(
        plan,
        now,
        max_chars=max_chars - len(link) - 2 - len(section) - 2,
        renders=renders,
    )
    for extra in (section, link):
        if extra:
            markdown = markdown.rstrip("\n") + "\n\n" + extra.rstrip("\n") + "\n"
    ok = not renders.previews_failed and not (
        plan.errors or any(a.severity == "error" for a in plan.actions)
    )
    return PlanSection(markdown, ok, plan.has_changes, report.summary_line(plan), approvals)


def ci_plan(
    root: Path,
    context: GitHubContext,
    now: datetime,
    console: Console,
    *,
    comment: bool,
    plan_out: Path,
    previews: bool = False,
) -> bool:
    """The plan to the job summary, the sticky comment and the outputs; False on errors.
    `previews`: the missing render previews rendered first, so the comment shows them."""
    from orshot_gitops.github import api as github
    from orshot_gitops.report.markdown import GITHUB_COMMENT_LIMIT

    planned = plan_section(
        root,
        context,
        now,
        console,
        plan_out=plan_out,
        max_chars=GITHUB_COMMENT_LIMIT - len(github.MARKER) - 1,
        previews=previews,
    )
    github.append_summary(context.summary_path, planned.markdown)
    console.print(planned.summary)
    github.write_outputs(
        context.output_path,
        {"has-changes": str(planned.has_changes).lower(), "plan-json": str(plan_out)},
    )
    if comment:
        post_comment(context, planned.markdown, console)
    if planned.approvals is not None:
        approvals_status(context, planned.approvals, console)
    return planned.ok


def post_comment(context: GitHubContext, markdown: str, console: Console) -> None:
    """The one sticky comment, created or edited; a fork's read-only token is said, not fatal."""
    from orshot_gitops.github import api as github

    number = context.pull_request_number
    if number is None:
        return
    try:
        result = github.upsert_comment(context, number, markdown)
    except github.CommentError as exc:
        # A fork's token is read-only: that is expected, and the summary has the plan.
        level = "notice" if context.is_fork else "warning"
        hint = f" ({exc.hint})" if exc.hint else ""
        console.print(f"::{level}::{_one_line(exc.message + hint)}")
    else:
        console.print(f"plan comment {result.action}: {result.url}")
        github.write_outputs(context.output_path, {"comment-url": result.url})


def approvals_status(
    context: GitHubContext, approvals: PullRequestApprovals, console: Console
) -> None:
    """The orshot/approvals status on the pull request's head, for branch protection. A
    fork's read-only token cannot set it: said, and the plan does not fail for it."""
    from orshot_gitops.github.reviews import GitHubError, GitHubReviews

    waiting = approvals.waiting
    if approvals.note:
        state, description = "pending", "approvals could not be read: " + approvals.note
    elif waiting:
        state = "pending"
        description = f"{waiting} post{'s' if waiting != 1 else ''} need{'s' if waiting == 1 else ''} approval"
    else:
        state, description = "success", "every post has the approvals it needs"
    console.print(f"orshot/approvals: {state}: {description}")
    if not approvals.head_sha:
        console.print("::warning::no head commit to set the orshot/approvals status on")
        return
    try:
        with GitHubReviews(context) as reviews:
            reviews.set_status(approvals.head_sha, state, description)
    except GitHubError as exc:
        level = "notice" if context.is_fork else "warning"
        hint = f" ({exc.hint})" if exc.hint else ""
        console.print(f"::{level}::{_one_line(exc.message + hint)}")


def _preview(root: Path, context: GitHubContext, now: datetime, console: Console) -> str:
    """With ORSHOT_PREVIEW_DIR set (the example workflow sets it and uploads the folder as
    the ORSHOT_PREVIEW_ARTIFACT artifact): the preview site written there, and the comment's
    line linking to the run that holds it. Empty when unset or when it could not be built
    (the plan's own errors are reported by the plan)."""
    from orshot_gitops.commands.preview import write_preview
    from orshot_gitops.github import api as github
    from orshot_gitops.report.review import preview_link

    folder = os.environ.get("ORSHOT_PREVIEW_DIR", "").strip()
    if not folder:
        return ""
    written, _ = write_preview(root, Path(folder), now)
    if written is None:
        return ""
    console.print(f"preview site written to {written.folder}")
    github.write_outputs(context.output_path, {"preview-dir": str(written.folder)})
    if not (context.repository and context.run_id):
        return ""
    run_url = f"{context.server_url}/{context.repository}/actions/runs/{context.run_id}"
    return preview_link(run_url, os.environ.get("ORSHOT_PREVIEW_ARTIFACT", "orshot-preview"))


def ci_apply(
    root: Path, context: GitHubContext, console: Console, *, remote: str, env: Mapping[str, str]
) -> bool:
    """apply --push on the default branch; what went out to the summary and outputs."""
    from orshot_gitops.github import api as github
    from orshot_gitops.orshot.client import OrshotClient
    from orshot_gitops.orshot.settings import check_environment
    from orshot_gitops.reconcile.runner import ApplyOptions, run_apply
    from orshot_gitops.report.review import apply_summary, awaiting_lines
    from orshot_gitops.vcs.gitrepo import open_repo

    if context.event_name in _PR_EVENTS:
        raise UsageError(
            "apply never runs for a pull request: nothing may be sent before the merge",
            hint="use 'command: plan' for pull requests and 'command: apply' on push to main",
        )
    default = context.default_branch
    if default and context.ref and context.ref != f"refs/heads/{default}":
        raise UserError(
            f"this run is for {context.ref}, not for the default branch {default}",
            hint=f"apply publishes only the default branch: limit the workflow's push trigger to branches: [{default}]",
        )
    from orshot_gitops.commands import root_key

    key = root_key(root)
    # Before anything is planned, marked or pushed (see settings.py).
    check_environment(env, key)

    def progress(message: str) -> None:
        console.print(message)

    # Progress lines name posts and quote Orshot's errors: text we do not control must never
    # be read as a workflow command, so commands are off until the run is over.
    resume = secrets.token_hex(16)
    console.print(f"::stop-commands::{resume}")
    from orshot_gitops.commands.approvals import apply_reviews

    try:
        with open_repo(root) as git, apply_reviews(env) as reviews:
            report = run_apply(
                root,
                git,
                lambda: OrshotClient.from_env(env, key),
                lambda: datetime.now(timezone.utc),
                ApplyOptions(push=True, remote=remote, reviews=reviews),
                progress=progress,
            )
    finally:
        console.print(f"::{resume}::")
    counts = report.counts()
    published = sum(1 for o in report.outcomes if o.ok)
    failed = sum(1 for o in report.outcomes if not o.ok)
    title = "orshot-gitops apply: " + (
        ", ".join(f"{n} {status}" for status, n in counts.items()) or report.note
    )
    problems = [d.format() for d in report.plan.errors]
    problems += [f"{a.path}: {a.reason}" for a in report.plan.actions if a.severity == "error"]
    note = report.note if counts else ""
    if problems:
        note = (note + " " if note else "") + "Errors: " + "; ".join(problems)
    held = awaiting_lines(report.plan)
    if held:  # what waits for an approval is on the job page too, not only in the log
        note = (note + " " if note else "") + "Held: " + " · ".join(h[6:] for h in held)
    summary = apply_summary(
        report.outcomes,
        title=title,
        note=note,
        commit_url=context.commit_url(report.commit) if report.commit and report.pushed else None,
    )
    github.append_summary(context.summary_path, summary)
    github.write_outputs(context.output_path, {"published": str(published), "failed": str(failed)})
    for outcome in report.outcomes:
        if not outcome.ok:
            console.print(
                f"::error::{_one_line(f'{outcome.status}: {outcome.post_id} → {outcome.account}: {outcome.error}')}"
            )
    for line in problems:
        console.print(f"::error::{_one_line(line)}")
    for diagnostic in report.plan.diagnostics:
        if diagnostic.code == "approvals-unchecked":
            console.print(f"::warning::{_one_line(diagnostic.format())}")
    for line in awaiting_lines(report.plan):
        console.print(f"::warning::{_one_line(line)}")
    console.print(title + (f" (recorded in {report.commit[:12]})" if report.commit else ""))
    return report.ok


def _one_line(text: str) -> str:
    """A workflow command's message: one line, `%` escaped (GitHub's own rule)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
