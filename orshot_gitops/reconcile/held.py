"""Posts Orshot still holds, edited after review: which accounts a PATCH can bring to what the
file now says, and which must move to a post of their own.

Orshot holds one post per group of accounts. A PATCH changes the post for every account on it,
cannot change `platform_options` (post-management.md lists the fields it takes), and its
`accounts` field replaces the target set. So when an edit makes the accounts of one held post
diverge, a PATCH of the post to one group's caption would give the others a caption their file
does not say, and a PATCH of the target set to that group would silently drop the others. The
accounts whose payload cannot be had by PATCH move instead: a new draft first, then they are
taken off the held post (DESIGN.md: never two held posts that both fire for one account).

`split_held` is a pure function of the actions and the records, so `plan` can say what `apply`
will do, and `apply` does exactly that.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from orshot_gitops.content.compile import fingerprint
from orshot_gitops.state.model import AccountState, AccountStatus

if TYPE_CHECKING:
    from orshot_gitops.reconcile.plan import Action

CAPTION_DIVERGES = "its caption now differs from the other accounts'"
# "{whose}": "its" for the account itself, or "it shares its post with li, whose".
OPTIONS_CHANGED = "{whose} platform_options changed, which Orshot cannot edit"
OPTIONS_UNKNOWN = (
    "{whose} platform_options were sent before they were recorded, and Orshot cannot edit them"
)


def options_fingerprint(options: Mapping[str, Any]) -> str:
    """sha256 of one account's platform_options, as sent with its draft."""
    return fingerprint({"platform_options": dict(options)})


def payload_key(action: Action) -> tuple[Any, ...]:
    """What one PATCH of a held post sets for every account on it."""
    return (
        action.content,
        tuple(action.media_urls),
        repr(action.render),
        action.mode,
        action.scheduled_for,
    )


def options_problem(action: Action, record: AccountState | None) -> str | None:
    """Why a PATCH cannot give this account its options, or None if they are unchanged."""
    if record is None or record.options_fingerprint is None:
        return OPTIONS_UNKNOWN
    if record.options_fingerprint != options_fingerprint(action.platform_options):
        return OPTIONS_CHANGED
    return None


@dataclass(frozen=True)
class Split:
    """`keep`: PATCHed in place on the held post. `moves`: each group gets a new post, then is
    taken off the held one. `why`: for each moving account, the reason, for the plan."""

    keep: tuple[Action, ...]
    moves: tuple[tuple[Action, ...], ...]
    why: Mapping[str, str]


def split_held(
    actions: Sequence[Action], records: Mapping[str, AccountState | None], residents: int
) -> Split:
    """Split the edits of one held post. `records` by account alias; `residents`: how many
    other accounts stay on the post untouched (their payload is what the post holds now)."""
    groups: dict[tuple[Any, ...], list[Action]] = defaultdict(list)
    for action in actions:
        groups[payload_key(action)].append(action)
    keys = sorted(groups, key=repr)
    patchable = [
        key
        for key in keys
        if all(options_problem(a, records.get(a.account)) is None for a in groups[key])
    ]
    keep_key = None
    if not residents and patchable:
        # The largest group stays: the fewest new posts. Ties go to the first in sorted order.
        keep_key = max(patchable, key=lambda key: len(groups[key]))
    why: dict[str, str] = {}
    moves = []
    for key in keys:
        if key == keep_key:
            continue
        moves.append(tuple(groups[key]))
        problems = {a.account: options_problem(a, records.get(a.account)) for a in groups[key]}
        blocking = next((account for account, problem in problems.items() if problem), None)
        for action in groups[key]:
            own = problems[action.account]
            if own is not None:
                why[action.account] = own.format(whose="its")
            elif blocking is not None:
                # Its own payload is unchanged, but it shares its post with one that moves.
                whose = f"it shares its post with {blocking}, whose"
                why[action.account] = str(problems[blocking]).format(whose=whose)
            else:
                why[action.account] = CAPTION_DIVERGES
    keep = tuple(groups[keep_key]) if keep_key is not None else ()
    return Split(keep, tuple(moves), why)


def move_reason(reason: str, why: str, post_id: int | None) -> str:
    """The plan's reason for an account that moves off held post `post_id`."""
    where = f" (a new draft, then taken off Orshot post {post_id})" if post_id else ""
    # Keep the reason's head ("still held by Orshot", "draft"), replace how it is done.
    head = "draft: false now"
    base = head if reason.startswith(head) else reason.split(": ", 1)[0]
    return f"{base}: {why}: a post of its own{where}"


# The kinds (plan.Kind values) that edit a held post: compared by value, as plan imports
# this module.
_EDIT_KINDS = ("edit", "publish-draft")


def mark_moves(actions: list[Action], records: Mapping[str, AccountState]) -> list[Action]:
    """Say which edits of a held post move to a post of their own (`split_held`), as apply
    will: the plan's reasons, for the actions of one post."""
    edits: dict[int, list[Action]] = {}
    for action in actions:
        if action.kind.value in _EDIT_KINDS and action.orshot_post_id is not None:
            edits.setdefault(action.orshot_post_id, []).append(action)
    reasons: dict[str, str] = {}
    for held_id, group in edits.items():
        editing = {a.account for a in group}
        residents = sum(
            1
            for key, record in records.items()
            if record.post_id == held_id
            and key not in editing
            and record.status is not AccountStatus.FAILED
        )
        split = split_held(group, {a.account: records.get(a.account) for a in group}, residents)
        for action in group:
            if action.account in split.why:
                reasons[action.account] = move_reason(
                    action.reason, split.why[action.account], held_id
                )
    if not reasons:
        return actions
    return [
        replace(a, reason=reasons[a.account])
        if a.account in reasons and a.kind.value in _EDIT_KINDS
        else a
        for a in actions
    ]
