"""`apply plan.json`: a saved plan is sent exactly as reviewed, or not at all.

Saved from uncommitted files, edited since, or made on another commit or state, it stands for
requests nobody reviewed against what the committed files would send: refused, with what to do.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from orshot_gitops.content.recurrence import occurrence_of
from orshot_gitops.errors import UserError
from orshot_gitops.reconcile.health import held_accounts, hold_for_reconnect
from orshot_gitops.reconcile.plan import Kind, Plan


def saved_plan(path: Path, current: Plan) -> Plan:
    """The plan saved at `path` (`plan --out`), to be sent as saved, once it is shown to stand
    for the very requests the committed files make now (`current`): same commit, same state,
    same requests. What waits for a review is the files' say, never the saved JSON's."""
    try:
        saved = Plan.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        # RecursionError: JSON nested deeper than Python reads; ValueError includes a number
        # past the int-string conversion limit.
        reason = "nested too deep" if isinstance(exc, RecursionError) else str(exc)[:200]
        raise UserError(
            f"cannot read the saved plan {path}: {reason}", hint="make it again with 'plan --out'"
        ) from None
    if saved.head != current.head:
        raise UserError(
            f"the saved plan was made on commit {str(saved.head)[:12]}, but HEAD is {str(current.head)[:12]}",
            hint="make a new plan: what you reviewed is not what would be sent",
        )
    if (saved.state_lineage, saved.state_serial) != (current.state_lineage, current.state_serial):
        raise UserError(
            "the state changed since the plan was saved (another apply ran)",
            hint="make a new plan with 'orshot-gitops plan --out'",
        )
    # A plan saved with a key held the posts of accounts needing a reconnect: held the same
    # way, the current plan stands for the same requests (apply checks the health again).
    current = hold_for_reconnect(current, held_accounts(saved))
    if _as_reviewed(saved) != _as_reviewed(_without_new_occurrences(current, saved)):
        # Same commit, same state, yet other requests: the plan was saved from uncommitted
        # files (then stashed) or edited after it was saved. Either way nobody reviewed what
        # the committed files would send, and a saved plan is sent as saved.
        raise UserError(
            "the saved plan does not match what the committed files would send now",
            hint="it was made from uncommitted changes or edited since; make a new plan "
            "with 'orshot-gitops plan --out' from committed files",
        )
    return replace(saved, overrides=current.overrides)  # what may wait for a review: the files'


def _without_new_occurrences(current: Plan, saved: Plan) -> Plan:
    """The current plan less the occurrences of recurring posts (`<file id>@date`) that the
    horizon reached since the plan was saved: in no reviewed plan, they are left to the
    next run, which plans them as any run does; the saved plan goes out as saved."""
    reviewed = {action.post_id for action in saved.actions}
    return replace(
        current,
        actions=tuple(
            action
            for action in current.actions
            if not (action.kind is Kind.CREATE and occurrence_of(action.post_id) is not None)
            or action.post_id in reviewed
        ),
    )


def _as_reviewed(plan: Plan) -> list[str]:
    """The requests a plan stands for, in a comparable form: every field of every action
    that sends or records something (captions, media, options, times, targets)."""
    return sorted(
        json.dumps(action.to_json(), sort_keys=True)
        for action in plan.actions
        if action.kind.sends or action.kind is Kind.RENAME
    )
