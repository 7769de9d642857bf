"""`ci` for a repository of several content roots (one per brand): which roots a change
touches, as a GitHub Actions matrix, and one pull-request comment with a section per root.

The shape (examples/workflows/orshot-brands.yml, docs/ci.md):
- a pull request is planned in ONE job over the roots it touches (`ci --command plan --all
  --base <the pull request's base>`): one sticky comment, a section per brand. Parallel jobs
  editing one comment would race (each reads it, each writes its own version back);
- a push to the default branch runs `ci --command matrix --base <before>` first: the touched
  roots, each with the variable that holds its key; then one apply job per root, in
  parallel, each in its own concurrency group (`orshot-apply-<root>`, never cancelled), so
  brands never wait for each other and one brand never has two applies at once.

A root is touched when anything inside it changed (its orshot.yaml, posts, templates, state);
a path outside every root touches none, since a root reads nothing outside itself. A base
this clone does not know (a new branch, a force-push, a schedule with no base) touches
every root: reconciling a root that did not change sends nothing, skipping one that did
would lose its change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from orshot_gitops.console import Console
from orshot_gitops.errors import UserError

if TYPE_CHECKING:
    from orshot_gitops.commands.approvals import PullRequestApprovals
    from orshot_gitops.errors import Diagnostic
    from orshot_gitops.github.api import GitHubContext


@dataclass(frozen=True)
class Selection:
    """The roots a run covers, and why: all of them, or those a change touched."""

    top: Path
    roots: tuple[str, ...]
    refused: tuple[Diagnostic, ...]
    every: tuple[str, ...]  # every root of the work tree
    why: str  # "3 of 40 content roots changed since 1a2b3c4d5e6f", or "every content root"


def select(start: Path, base: str, head: str) -> Selection:
    """The roots of the work tree holding `start` that `base`..`head` touched (every root
    without a `base`, or with one this clone does not have)."""
    from orshot_gitops.content.model import CONFIG_FILE
    from orshot_gitops.content.roots import find_roots, touched_roots
    from orshot_gitops.vcs.worktree import changed_between, tracked_config_files, work_tree_top

    top = work_tree_top(start)
    found = find_roots(top, tracked_config_files(top, CONFIG_FILE))
    changed = changed_between(top, base, head or "HEAD") if base else None
    if changed is None:
        why = "every content root" + (f" ({base[:12]} is not in this clone)" if base else "")
        return Selection(top, found.roots, found.refused, found.roots, why)
    touched = touched_roots(found.roots, changed)
    why = f"{len(touched)} of {len(found.roots)} content roots changed since {base[:12]}"
    # A refused root is always said: it makes the root around it fail too, touched or not.
    return Selection(top, touched, found.refused, found.roots, why)


def ci_matrix(selection: Selection, context: GitHubContext, console: Console) -> int:
    """`roots` (a JSON list) and `matrix` (a JSON list of {root, key_env}) to GITHUB_OUTPUT,
    and both as JSON on stdout. `key_env` is the variable the root's orshot.yaml names for
    its key (the workflow passes `secrets[matrix.key_env]`), "" when that file does not load:
    no secret at all for a root whose key variable is unknown."""
    from orshot_gitops.commands import root_key
    from orshot_gitops.github import api as github

    entries = []
    for root in selection.roots:
        key = root_key(selection.top / root)
        entries.append({"root": root, "key_env": "" if key.unknown else key.name})
    roots = json.dumps(list(selection.roots))
    matrix = json.dumps(entries, sort_keys=True)
    github.write_outputs(context.output_path, {"roots": roots, "matrix": matrix})
    console.print(json.dumps({"roots": list(selection.roots), "matrix": entries}, indent=2))
    console.error(selection.why)
    for problem in selection.refused:
        console.error(problem.format())
    return 1 if selection.refused else 0


def annotate_roots(
    selection: Selection, now: datetime, console: Console, *, check_templates: bool
) -> bool:
    """Each touched root's problems as annotations at their paths from the repository's top."""
    from orshot_gitops.commands.ci import annotate
    from orshot_gitops.report import diagnostics as report

    ok = True
    for root in selection.roots:
        ok = annotate(selection.top / root, now, console, check_templates=check_templates) and ok
    if selection.refused:
        console.print(report.as_github(list(selection.refused), 0, console))
        ok = False
    return ok


def ci_plan_roots(
    selection: Selection,
    context: GitHubContext,
    now: datetime,
    console: Console,
    *,
    comment: bool,
    plan_out: Path,
    previews: bool = False,
) -> bool:
    """Each touched root's plan as a section of ONE comment (and of the job summary), each
    root's plan saved as JSON beside `plan_out`; False when any root has errors."""
    from orshot_gitops.commands import root_key
    from orshot_gitops.commands.ci import approvals_status, plan_section, post_comment
    from orshot_gitops.github import api as github
    from orshot_gitops.report.markdown import GITHUB_COMMENT_LIMIT, code, text

    roots = selection.roots
    header = f"## orshot-gitops plan: {len(roots)} of {len(selection.every)} content roots\n\n"
    if not roots:
        header += "No content root changed: merging sends nothing.\n"
    # Each root gets an equal share of GitHub's limit: a large brand cannot push the others'
    # sections out of the comment (its own section says where it was cut).
    share = (GITHUB_COMMENT_LIMIT - len(github.MARKER) - 1 - len(header) - 200) // max(
        len(roots), 1
    )
    sections: list[str] = []
    ok = not selection.refused
    changes = False
    approvals: list[tuple[str, PullRequestApprovals]] = []
    plans: dict[str, str] = {}
    owners = _key_owners(selection) if roots else {}
    for root in roots:
        key = root_key(selection.top / root)
        title = f"### {code(root)}\n\nSends with the key in {code(key.name)}"
        shared = [other for other in owners.get(key.name, ()) if other != root]
        if shared:
            # Two brands on one key are two brands in one Orshot workspace: say so, so a
            # reviewer sees a brand pointed at another's key before it publishes with it.
            title += ", **shared with** " + ", ".join(code(other) for other in shared)
        title += ".\n\n"
        out = plan_out.with_name(f"{plan_out.stem}-{_slug(root)}{plan_out.suffix}")
        try:
            planned = plan_section(
                selection.top / root,
                context,
                now,
                console,
                plan_out=out,
                max_chars=share - len(title),
                previews=previews,
                link="",
            )
        except UserError as exc:
            sections.append(title + f"**Not planned**: {text(str(exc))}\n")
            console.print(f"{root}: {exc}")
            ok = False
            continue
        console.print(f"{root}: {planned.summary}")
        sections.append(title + planned.markdown)
        ok = ok and planned.ok
        changes = changes or planned.has_changes
        plans[root] = str(out)
        if planned.approvals is not None:
            approvals.append((root, planned.approvals))
    for problem in selection.refused:
        sections.append(f"**Refused**: {text(problem.format())}\n")
    markdown = header + "\n".join(sections)
    github.append_summary(context.summary_path, markdown)
    github.write_outputs(
        context.output_path,
        {"has-changes": str(changes).lower(), "plan-json": json.dumps(plans, sort_keys=True)},
    )
    if comment:
        post_comment(context, markdown, console)
    joined = _joined_approvals(approvals)
    if joined is not None:
        approvals_status(context, joined, console)
    return ok


def _key_owners(selection: Selection) -> dict[str, list[str]]:
    """Which roots of the work tree read each key variable (a root whose orshot.yaml does
    not load reads none)."""
    from orshot_gitops.commands import root_key

    owners: dict[str, list[str]] = {}
    for root in selection.every:
        key = root_key(selection.top / root)
        if not key.unknown:
            owners.setdefault(key.name, []).append(root)
    return owners


def _joined_approvals(
    per_root: list[tuple[str, PullRequestApprovals]],
) -> PullRequestApprovals | None:
    """One commit status for the pull request: every root's needs, each post named with its
    root (two brands may both have a post called `launch`)."""
    if not per_root:
        return None
    needs = tuple(
        replace(need, post_id=f"{root}/{need.post_id}")
        for root, approvals in per_root
        for need in approvals.needs
    )
    notes = "; ".join(f"{root}: {a.note}" for root, a in per_root if a.note)
    head = next((a.head_sha for _, a in per_root if a.head_sha), "")
    return replace(per_root[0][1], needs=needs, head_sha=head, note=notes)


def _slug(root: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in root) or "root"


def inputs(
    args_all: bool, base: str | None, head: str | None, env: Mapping[str, str]
) -> tuple[bool, str, str]:
    """--all/--base/--head, else the Action's INPUT_ALL, INPUT_BASE, INPUT_HEAD."""
    every = args_all or env.get("INPUT_ALL", "").strip().lower() == "true"
    return (
        every,
        (base if base is not None else env.get("INPUT_BASE", "")).strip(),
        (head if head is not None else env.get("INPUT_HEAD", "")).strip() or "HEAD",
    )
