"""`--all`: one command over every content root of the git work tree (one brand per root).

The roots are the folders of the orshot.yaml files git tracks (content/roots.py refuses one
inside another root's posts or templates folder), run one after the other in path order,
each exactly as `--repo ROOT` would run it: its own orshot.yaml, state, key and push. Text
output gets a heading per root; `--format json` one object keyed by root. The exit code is
the worst of them.

One root's error does not stop the others: each has its own state, claims and key, so a
brand whose key is missing or whose file is broken must not hold back the rest. What does
stop the run: a usage error (the same flags fail for every root), a stop request (Ctrl-C,
SIGTERM: the root in flight finishes its request and records it, no other root starts),
and a bug in us (exit 3: nothing more is sent by code that just failed).
"""

from __future__ import annotations

import argparse
import io
import json
from copy import copy
from pathlib import Path
from types import ModuleType
from typing import Any

from orshot_gitops.console import Console
from orshot_gitops.errors import UsageError, UserError

# The commands that make sense per root and for all of them at once. Not `init` (it makes a
# root), `resolve`/`adopt` (they name one root's posts), `preview` (one site folder),
# `ci` (its own matrix, `ci matrix`), `hook`/`merge-state`/`sandbox`/`demo`/`state`.
COMMANDS = frozenset({"validate", "plan", "apply", "status", "refresh"})
# Worst last: 2 is "changes pending" only with `plan --detailed-exitcode` (a usage error
# stops the loop before it is ranked).
_RANK = {0: 0, 2: 1, 1: 2, 130: 3, 3: 4}


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--all",
        action="store_true",
        help="run for every content root of this git work tree (each folder with a tracked "
        "orshot.yaml: one brand each), one after the other; the exit code is the worst",
    )


def worst(codes: list[int]) -> int:
    return max(codes, key=lambda code: _RANK.get(code, 4), default=0)


def find(args: argparse.Namespace) -> tuple[Path, list[str], list[Any]]:
    """The work tree's top, its roots and the orshot.yaml files refused as roots."""
    from orshot_gitops.content.model import CONFIG_FILE
    from orshot_gitops.content.roots import find_roots
    from orshot_gitops.vcs.worktree import tracked_config_files, work_tree_top

    top = work_tree_top(Path(args.repo))
    found = find_roots(top, tracked_config_files(top, CONFIG_FILE))
    return top, list(found.roots), list(found.refused)


def run_all(module: ModuleType, args: argparse.Namespace, console: Console) -> int:
    _refuse_single_root_flags(args)
    top, roots, refused = find(args)
    if not roots and not refused:
        raise UserError(
            f"no content root in {top}: no orshot.yaml is tracked by git",
            hint="commit an orshot.yaml (orshot-gitops init --repo brands/NAME), or run "
            "without --all",
        )
    as_json = getattr(args, "format", "text") == "json"
    results: dict[str, Any] = {}
    codes: list[int] = []
    for problem in refused:
        codes.append(1)
        if as_json:
            results[str(Path(problem.path).parent.as_posix())] = {
                "exit_code": 1,
                "error": problem.as_dict(),
            }
        else:
            console.error(problem.format())
    by_root: dict[str, int] = {}
    stop = None
    if module.NAME == "apply":
        stop = module._StopFlag(console)
        args.stop_flag = stop
    for index, root in enumerate(roots):
        if stop is not None and stop.requested:
            console.error(f"stopped: {len(roots) - index} root(s) not started")
            for later in roots[index:]:
                by_root[later] = 130
                results[later] = {"exit_code": 130, "not_started": True}
            break
        one = copy(args)
        one.repo = str(top / root)
        if as_json:
            code, result = _run_captured(module, one, console)
            results[root] = result
        else:
            if index:
                console.print()
            shown = root if root != "." else ". (the top of the work tree)"
            console.print(console.style(f"== {shown} ==", "bold"))
            code = _run_one(module, one, console)
        by_root[root] = code
    if as_json:
        console.print(json.dumps(results, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        summary = ", ".join(f"{root} {_said(code)}" for root, code in by_root.items())
        console.error(f"{len(roots)} content root(s): {summary}")
    return worst([*codes, *by_root.values()])


def _said(code: int) -> str:
    return {0: "ok", 2: "ok (changes pending)", 130: "not started"}.get(code, f"exit {code}")


def _refuse_single_root_flags(args: argparse.Namespace) -> None:
    for flag, value in (("--out", "out"), ("PLAN", "plan_file"), ("PATH", "paths")):
        if getattr(args, value, None):
            raise UsageError(
                f"{flag} names one root's files and cannot be used with --all",
                hint="save and apply a plan per root: --repo ROOT",
            )


def _run_one(module: ModuleType, args: argparse.Namespace, console: Console) -> int:
    try:
        return int(module.run(args, console))
    except UsageError:
        raise
    except UserError as exc:
        console.error(str(exc))
        return 1


def _run_captured(
    module: ModuleType, args: argparse.Namespace, console: Console
) -> tuple[int, dict[str, Any]]:
    """The root's JSON output as a value, with its exit code; an error as its diagnostic."""
    out = io.StringIO()
    captured = Console(out=out, err=console.err, color=False)
    try:
        code = int(module.run(args, captured))
    except UsageError:
        raise
    except UserError as exc:
        return 1, {"exit_code": 1, "error": exc.as_diagnostic().as_dict()}
    text = out.getvalue().strip()
    try:
        value: Any = json.loads(text) if text else None
    except ValueError:
        value = text
    return code, {"exit_code": code, "result": value}
