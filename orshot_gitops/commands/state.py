"""orshot-gitops state repair: merge a conflicted state file after the fact."""

from __future__ import annotations

import argparse
from pathlib import Path

from orshot_gitops.console import Console

NAME = "state"
SUMMARY = (
    "Repair .orshot/state.json left in conflict by a merge or a pull: merge git's three "
    "versions of it entry by entry and stage the result."
)
EXAMPLES = [
    "git pull    # CONFLICT (content): Merge conflict in .orshot/state.json",
    "orshot-gitops state repair && git commit --no-edit",
]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action", choices=("repair",), help="repair: merge the conflicted state file and stage it"
    )


def run(args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.errors import UserError
    from orshot_gitops.state.merge import merge_text
    from orshot_gitops.state.model import STATE_DIR, STATE_PATH
    from orshot_gitops.vcs.mergedriver import (
        conflict_stages,
        conflicted_paths,
        rebasing,
        stage_file,
    )

    root = Path(args.repo)
    paths = conflicted_paths(root, (STATE_PATH, STATE_DIR))
    if not paths:
        raise UserError(
            "the state is not in conflict: nothing to repair",
            path=STATE_PATH,
            hint="'git status' shows what is unmerged",
            code="state-not-conflicted",
        )
    for path in paths:
        stages = conflict_stages(root, path) or {}
        if path == STATE_PATH and (2 not in stages or 3 not in stages):
            raise UserError(
                "one side of the merge deleted the state file",
                path=STATE_PATH,
                hint="keep the side that has it: 'git checkout --ours' or '--theirs' "
                f"{STATE_PATH}, then 'git add' it",
                code="state-deleted",
            )
        if 2 not in stages or 3 not in stages:
            # A post's record removed on one side and changed on the other: keep it, as
            # merge_states does (dropping a record of a post Orshot holds means a repost).
            merged = stages.get(2) or stages.get(3) or ""
        else:
            local, pushed = (stages[3], stages[2]) if rebasing(root) else (stages[2], stages[3])
            merged = merge_text(stages.get(1, ""), local, pushed)
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(merged, encoding="utf-8")
        stage_file(root, path)
        console.print(f"{path}: merged entry by entry and staged")
    console.print("commit to finish the merge.")
    return 0
