"""Accounts Orshot reports as needing a reconnect (`requires_reconnect`): nothing is sent to
them. Their new posts, edits and retries are *held*: no request, no failure recorded, no
mark; the plan says so per account, and the reconciled commit does not move past them
(`Plan.holds_back`), so the first apply after the reconnect still sees them and sends them.

Sending anyway would only make a failed Orshot post per run ("Account token expired —
reconnect required") and a failure record that then waits; holding keeps the state saying
nothing new until the account can take the post.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import replace

from orshot_gitops.errors import UserError
from orshot_gitops.orshot.client import ApiError, OrshotClient
from orshot_gitops.reconcile.plan import RECONNECT_REASON, Action, Kind, Plan

# What reaches the account's platform: a new post, a retry, an edit of a post Orshot holds
# for it, a draft published. Settling, syncing, discarding and pausing only ask Orshot about,
# or take back, what it already holds: they go on.
_HELD = (Kind.CREATE, Kind.RETRY, Kind.EDIT, Kind.PUBLISH_DRAFT)
# An edit or a publish acts on one Orshot post shared by its group's accounts: done for the
# healthy ones alone it would still reach the unhealthy one, so the whole group waits.
_SHARED = (Kind.EDIT, Kind.PUBLISH_DRAFT)


def reconnect_hint(alias: str) -> str:
    """What to do, with the command to copy: the account's own alias, not a placeholder."""
    return f"reconnect it in Orshot: 'orshot-gitops accounts --reconnect {alias}' prints a link"


def hold_for_reconnect(plan: Plan, unhealthy: Set[int]) -> Plan:
    """The plan with every send to an account in `unhealthy` held (Kind.NEEDS_RECONNECT)."""
    if not unhealthy:
        return plan
    shared = {
        a.group
        for a in plan.actions
        if a.kind in _SHARED and a.account_id in unhealthy and a.group is not None
    }
    actions = tuple(_held(a, unhealthy, shared) for a in plan.actions)
    return plan if actions == plan.actions else replace(plan, actions=actions)


def _held(action: Action, unhealthy: Set[int], shared: Set[str]) -> Action:
    if action.kind not in _HELD:
        return action
    if action.account_id in unhealthy:
        hint = reconnect_hint(action.account)
        reason = f"{RECONNECT_REASON}: not sent until it is reconnected; {hint}"
    elif action.kind in _SHARED and action.group in shared:
        reason = (
            "held: shares its Orshot post with an account that needs reconnecting; "
            "sent together once that account is reconnected"
        )
    else:
        return action
    return replace(action, kind=Kind.NEEDS_RECONNECT, reason=reason, severity="warning")


def reconnect_lines(plan: Plan) -> list[str]:
    """ "acme-ig needs reconnecting: 3 posts held", one line per account, sorted."""
    return [
        f"{account} needs reconnecting: {n} post{'s' if n != 1 else ''} held"
        for account, n in plan.reconnect_holds.items()
    ]


def with_health(plan: Plan, client_factory: Callable[[], OrshotClient]) -> tuple[Plan, str]:
    """`plan` with a key: ask Orshot which accounts need a reconnect and hold their posts, as
    apply will. Returns the plan and a note when Orshot could not be asked (the plan is then
    shown without health, as offline; apply checks again before sending anything)."""
    if plan.paused or not any(a.kind in _HELD for a in plan.actions):
        return plan, ""  # paused, apply sends none of these: nothing to ask
    try:
        with client_factory() as client:
            accounts = client.list_accounts(include_health=True)
    except (ApiError, UserError) as error:
        return plan, f"could not ask Orshot which accounts need reconnecting: {error.message}"
    return hold_for_reconnect(plan, {a.id for a in accounts if a.requires_reconnect}), ""


def held_accounts(plan: Plan) -> frozenset[int]:
    """The accounts a (saved) plan held for their own reconnect."""
    return frozenset(
        a.account_id
        for a in plan.actions
        if a.kind is Kind.NEEDS_RECONNECT and a.reason.startswith(RECONNECT_REASON)
    )
