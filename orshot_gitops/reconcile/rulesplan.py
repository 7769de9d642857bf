"""Content rules that need the state or the clock (content/rulecheck.py has the rest).

- Spacing against what Orshot already holds: a new post two hours after one the state
  records as scheduled or published on the same account breaks `min_spacing` just as two
  files do, and the file is what can move.
- Deny windows at apply time: a post with no schedule goes out when the run sends it, so
  whether it falls in a window (quiet hours, a holiday, an embargo) is known only then. Inside
  one it is *held* (Kind.DENY_WINDOW): not sent, nothing recorded, and the reconciled commit
  does not move past it (`Plan.holds_back`), so the first run after the window sends it, as
  health.py does for an account that needs reconnecting.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import replace
from datetime import datetime

from orshot_gitops.content.compile import CompiledPost
from orshot_gitops.content.model import Config
from orshot_gitops.content.rulecheck import (
    TimedPost,
    deny_window_now,
    spacing_problems,
    timed_posts,
)
from orshot_gitops.errors import Diagnostic
from orshot_gitops.reconcile.plan import Action, Kind, Plan
from orshot_gitops.state.model import AccountStatus, State, recorded_time

# What would reach the platform now: a new post, a retry, a draft published. An edit moves a
# held post whose own schedule validate checked; settling and syncing send nothing new.
_NOW_SENDING = (Kind.CREATE, Kind.RETRY, Kind.PUBLISH_DRAFT)
_RECORDED = (AccountStatus.SCHEDULED, AccountStatus.PUBLISHED, AccountStatus.PROCESSING)


def spacing_against_state(
    config: Config, compiled: Iterable[CompiledPost], state: State
) -> list[Diagnostic]:
    """`min_spacing` among these posts and against what the state records on their accounts.
    Nothing is read unless a rule asks for spacing."""
    if not any(rule.min_spacing for rule in config.rules):
        return []
    posts = list(compiled)
    timed = [entry for post in posts for entry in timed_posts(post, config)]
    if not timed:
        return []
    aliases = {entry.alias for entry in timed}
    own = {post.spec.id for post in posts}
    recorded = []
    for post_id, alias, record in state.entries():
        if alias not in aliases or post_id in own or record.status not in _RECORDED:
            continue
        at = recorded_time(record.scheduled_for) or recorded_time(record.last_attempt_at)
        account = config.accounts.get(alias)
        if at is None or account is None:
            continue
        recorded.append(TimedPost(post_id, "", 0, 0, alias, account.platform, at))
    return spacing_problems(config, timed, recorded)


def hold_in_deny_windows(
    plan: Plan, config: Config, now: datetime, sponsored: Set[str] = frozenset()
) -> Plan:
    """The plan with each unscheduled send that `now` puts inside a deny window held.
    `sponsored`: the ids of the posts marked so, for rules limited by `when`."""
    if not any(rule.deny_windows for rule in config.rules):
        return plan
    windows = {id(a): _window_reason(a, config, now, a.post_id in sponsored) for a in plan.actions}
    # Publishing a draft acts on one Orshot post shared by its group's accounts: published
    # for the others it would reach the held one too, so the whole group waits (as health.py).
    shared = {a.group for a in plan.actions if a.kind is Kind.PUBLISH_DRAFT and windows[id(a)]}
    actions = []
    for action in plan.actions:
        reason = windows[id(action)]
        if reason is None and action.kind is Kind.PUBLISH_DRAFT and action.group in shared:
            reason = (
                "held: shares its Orshot post with an account in a deny window; "
                "published together after it"
            )
        if reason is not None:
            action = replace(action, kind=Kind.DENY_WINDOW, reason=reason, severity="warning")
        actions.append(action)
    held = tuple(actions)
    return plan if held == plan.actions else replace(plan, actions=held)


def _window_reason(action: Action, config: Config, now: datetime, sponsored: bool) -> str | None:
    """Why this send waits, when it goes out now and now is in one of its deny windows."""
    if action.kind not in _NOW_SENDING or action.scheduled_for is not None:
        return None
    if action.mode == "draft":
        return None  # a draft reaches no one
    found = deny_window_now(config, action.account, action.platform, now, sponsored=sponsored)
    if found is None:
        return None
    rule, window = found
    return (
        f"held: inside the deny window {window.written!r} of rule {rule.name!r} "
        f"({config.timezone}); sent by the first run after it"
    )
