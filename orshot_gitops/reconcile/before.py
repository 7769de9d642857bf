"""The "before" of an edit: what Orshot holds now for a (post, account), as it was sent.

The review's second promise (what the pull request shows is exactly what goes out) needs
both sides of a change: an edit in place, a reschedule, a draft edited before it is
published, a live post changed after the fact. The record's sent copy (state/sent.py) is the
before; the action's own caption, media, time and options are the after.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from orshot_gitops.reconcile.plan import Action, Kind
from orshot_gitops.state.model import State

SHOWS_BEFORE = frozenset({Kind.EDIT, Kind.PUBLISH_DRAFT, Kind.CHANGED_AFTER_PUBLISH, Kind.DRIFT})
"""The kinds that change (or would change) a version Orshot already holds."""


def with_before(
    actions: Iterable[Action], state: State, renames: Mapping[str, str] = {}
) -> list[Action]:
    """Each action that changes a held version, carrying its record's sent copy. A record
    written before the copy existed has none: the review says so rather than guess."""
    out = []
    for action in actions:
        if action.kind in SHOWS_BEFORE:
            recorded_id = renames.get(action.post_id, action.post_id)
            record = state.account(recorded_id, action.account)
            if record is not None and record.sent is not None:
                action = replace(action, before=record.sent.to_json())
        out.append(action)
    return out
