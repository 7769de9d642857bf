"""The plan: for each (post, account), what `apply` would do and why. A pure function of values.

`decide` compares the compiled posts (what the repository wants) with the state (what was
sent), following the table in DESIGN.md, "The reconciler's rules". The plan is a value:
saved as JSON, shown as text or Markdown, and executed by `apply` exactly as shown.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from orshot_gitops.content import platforms
from orshot_gitops.content.compile import CompiledPost
from orshot_gitops.reconcile.actions import PLAN_VERSION as PLAN_VERSION
from orshot_gitops.reconcile.actions import RECONNECT_REASON as RECONNECT_REASON
from orshot_gitops.reconcile.actions import Action as Action
from orshot_gitops.reconcile.actions import Kind as Kind
from orshot_gitops.reconcile.actions import Plan as Plan
from orshot_gitops.reconcile.actions import summary_counts as summary_counts
from orshot_gitops.reconcile.drift import drift_override
from orshot_gitops.reconcile.failures import needs_reconnect, waiting_reason
from orshot_gitops.reconcile.held import mark_moves
from orshot_gitops.state.model import AccountState, AccountStatus, State, Step


def _mode(post: CompiledPost) -> str:
    if post.spec.draft:
        return "draft"
    return "schedule" if post.scheduled_for is not None else "publish"


def group_key(post_id: str, *parts: object) -> str:
    digest = hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:10]
    return f"{post_id}#{digest}"


def decide(
    posts: Iterable[CompiledPost],
    state: State,
    now: datetime,
    *,
    present_post_ids: Iterable[str],
    renames: Mapping[str, str] = {},
    prune: bool = False,
    held_back: Mapping[str, tuple[str, ...]] = {},
    overwrite_drift: bool = False,
) -> tuple[list[Action], int]:
    """Actions for the compiled posts and for every state entry that needs attention.

    `present_post_ids` are all post ids in the repository (compiled or not); `renames` maps a
    new post id to the recorded one it continues; `held_back` maps a post no history
    explains to the recorded posts it may be (moved), and nothing is sent for it. Returns
    the actions and how many (post, account) pairs need nothing.
    """
    actions: list[Action] = []
    unchanged = 0
    compiled_ids = set()
    for post in posts:
        compiled_ids.add(post.spec.id)
        recorded_id = renames.get(post.spec.id, post.spec.id)
        if recorded_id != post.spec.id:
            actions.extend(_rename_actions(post, recorded_id, state))
        if post.spec.id in held_back:
            actions.extend(_held_back(post, held_back[post.spec.id], state))
            continue
        post_actions, post_unchanged = _decide_post(post, state, recorded_id, now, overwrite_drift)
        actions.extend(post_actions)
        unchanged += post_unchanged
    present = set(present_post_ids)
    renamed_from = set(renames.values())
    # In state.entries() order, but only the posts that are gone are looked at: the state
    # builds a post's records when first asked, and most posts are present.
    for post_id in sorted(state.posts):
        if post_id in present or post_id in renamed_from:
            continue
        recorded = state.posts[post_id]
        for key in sorted(recorded.accounts):
            record = recorded.accounts[key]
            actions.append(_removed(post_id, recorded.path, key, record, now, prune))
    return _with_groups(actions), unchanged


def _rename_actions(post: CompiledPost, recorded_id: str, state: State) -> list[Action]:
    recorded = state.posts[recorded_id]
    return [
        Action(
            post_id=post.spec.id,
            path=post.spec.path,
            account=key,
            account_id=record.account_id,
            platform="",
            kind=Kind.RENAME,
            reason=f"moved from {recorded.path}: the same post, nothing is sent",
            previous_post_id=recorded_id,
            orshot_post_id=record.post_id,
        )
        for key, record in sorted(recorded.accounts.items())
    ]


def _held_back(post: CompiledPost, maybe: tuple[str, ...], state: State) -> list[Action]:
    """Fail closed: this post may be a recorded one moved and edited (git cannot show it),
    and sending it would then post it twice. Nothing is sent until a person says which."""
    old = maybe[0]
    others = f" (or {', '.join(maybe[1:])})" if len(maybe) > 1 else ""
    reason = (
        f"no git history says where it came from, and it may be {state.posts[old].path}"
        f"{others} moved and edited: nothing is sent. If it is: 'orshot-gitops adopt "
        f"{post.spec.id} --from {old}'; if {old} was deleted on purpose: 'orshot-gitops "
        f"resolve {old} --as deleted' ('orshot-gitops refresh' shows what Orshot holds)"
    )
    return [
        Action(
            post_id=post.spec.id,
            path=post.spec.path,
            account=payload.account.alias,
            account_id=payload.account.id,
            platform=payload.account.platform,
            kind=Kind.AMBIGUOUS,
            reason=reason,
            severity="error",
            fingerprint=payload.fingerprint,
            revision=post.spec.revision,
        )
        for payload in post.payloads
    ]


# Which rule's outcome drift.py's answer replaces: "drift" holds back an edit (or shows a
# post with nothing to send); "edit" (--overwrite-drift) sends where the rule had nothing to do.
_DRIFT_REPLACES: dict[str, tuple[Kind | None, ...]] = {
    Kind.DRIFT.value: (None, Kind.EDIT, Kind.PUBLISH_DRAFT),
    Kind.EDIT.value: (None,),
}


def _decide_post(
    post: CompiledPost, state: State, recorded_id: str, now: datetime, overwrite_drift: bool
) -> tuple[list[Action], int]:
    spec = post.spec
    if spec.queued and not post.times_assigned:
        # Fail closed: without its slot a queued post would read as "publish now".
        raise AssertionError(f"queued post {spec.id!r} reached the plan without its times")
    whole_post = post
    actions: list[Action] = []
    unchanged = 0
    targeted = set()
    for payload in post.payloads:
        # A queued post's accounts may each have their own slot (stagger, jitter, queues).
        at = whole_post.time_for(payload)
        post = (
            whole_post if at == whole_post.scheduled_for else replace(whole_post, scheduled_for=at)
        )
        mode = _mode(post)
        scheduled_iso = at.isoformat() if at else None
        past = at is not None and at <= now
        account = payload.account
        targeted.add(account.alias)
        record = state.account(recorded_id, account.alias)
        has_media = bool(payload.media_urls or post.render)
        base: dict[str, Any] = {
            "post_id": spec.id,
            "path": spec.path,
            "account": account.alias,
            "account_id": account.id,
            "platform": account.platform,
            "mode": mode,
            "fingerprint": payload.fingerprint,
            "revision": spec.revision,
            "content": payload.content,
            "media_urls": payload.media_urls,
            "media_alt": spec.media_alt or spec.render_alt,
            "render": None if post.render is None else post.render.as_json(),
            "platform_options": payload.platform_options,
            "scheduled_for": scheduled_iso,
            "timezone": post.timezone,
            "caption_length": payload.caption_length,
            "caption_limit": platforms.caption_limit(
                account.platform, premium=account.premium, with_media=has_media
            ),
            "orshot_post_id": record.post_id if record else None,
        }
        kind, reason, severity = _rule(
            record, payload.fingerprint, spec.revision, mode, past, post, now
        )
        # Drift stands in only for an edit of what Orshot holds (or for nothing to do): an
        # unfinished step (settle) and an error (a passed schedule) come first.
        drifted = drift_override(record, post, payload, state, recorded_id, overwrite_drift)
        if drifted is not None and kind in _DRIFT_REPLACES[drifted[0]]:
            kind, reason, severity = Kind(drifted[0]), drifted[1], drifted[2]
        if kind is None:
            unchanged += 1
            continue
        if kind is Kind.SETTLE and record is not None:
            base["group"] = record.group  # settle the accounts of one interrupted request together
        actions.append(Action(kind=kind, reason=reason, severity=severity, **base))
    post = whole_post
    recorded = state.posts.get(recorded_id)
    if recorded is not None:
        actions = mark_moves(actions, recorded.accounts)
    # An account dropped from a reviewed file's `accounts:` is an edit, not an accident: a post
    # Orshot still holds for it is taken back (DESIGN.md: accounts changed -> edit in place),
    # with or without `prune`; what is live stays live and is noted.
    if recorded is not None:
        for key, record in sorted(recorded.accounts.items()):
            if key not in targeted:
                actions.append(
                    _removed(spec.id, spec.path, key, record, now, prune=True, dropped=True)
                )
    return actions, unchanged


def _fired(record: AccountState, now: datetime) -> bool:
    if record.scheduled_for is None:
        return False
    return datetime.fromisoformat(record.scheduled_for) <= now


def _rule(
    record: AccountState | None,
    fingerprint: str,
    revision: int,
    mode: str,
    past: bool,
    post: CompiledPost,
    now: datetime,
) -> tuple[Kind | None, str, str]:
    """DESIGN.md's table, row by row. Returns (kind or None for nothing to do, reason, severity)."""
    when = f" for {post.scheduled_for:%Y-%m-%d %H:%M} UTC" if post.scheduled_for else ""
    new_verb = {
        "publish": "publish now",
        "schedule": f"schedule{when}",
        "draft": "create as a draft",
    }[mode]
    if record is None:
        if past and mode != "draft":
            return Kind.PAST_SCHEDULE, f"never sent, and its schedule{when} has passed", "error"
        return Kind.CREATE, f"new: {new_verb}", ""
    status = record.status
    if record.replaces is not None and status not in (AccountStatus.PENDING, AccountStatus.UNKNOWN):
        return (
            Kind.SETTLE,
            f"an earlier run did not finish moving it off Orshot post {record.replaces}: "
            "take it off that post first",
            "warning",
        )
    if status in (AccountStatus.PENDING, AccountStatus.UNKNOWN):
        return (
            Kind.SETTLE,
            f"an earlier run did not finish its {record.step.value if record.step else 'step'}: confirm with Orshot first",
            "warning",
        )
    if status is AccountStatus.PROCESSING:
        return Kind.SYNC, "still processing on the platform: ask Orshot for the final state", ""
    live = status is AccountStatus.PUBLISHED or (
        status is AccountStatus.SCHEDULED and _fired(record, now)
    )
    if record.revision != revision and (live or status is AccountStatus.FAILED):
        if past and mode != "draft":
            return (
                Kind.PAST_SCHEDULE,
                f"revision {revision} was never sent, and its schedule{when} has passed",
                "error",
            )
        return (
            Kind.CREATE,
            f"revision {revision} (was {record.revision}): {new_verb} as a new post",
            "",
        )
    if status is AccountStatus.FAILED:
        if past and mode != "draft":
            return (
                Kind.PAST_SCHEDULE,
                f"failed before ({record.error or 'no reason given'}), and its schedule{when} has passed",
                "error",
            )
        waiting = waiting_reason(record, fingerprint, now)
        if waiting is not None:
            return Kind.WAITING, waiting, "warning"
        attempt = f" (attempt {record.attempts + 1})" if record.attempts else ""
        # Same post, account needing a reconnect: apply asks Orshot for the account's health
        # first and sends nothing while it still needs one.
        health = (
            ", once Orshot reports the account reconnected"
            if record.fingerprint == fingerprint and needs_reconnect(record)
            else ""
        )
        return (
            Kind.RETRY,
            f"failed before: {record.error or 'no reason given'}; {new_verb}{health}{attempt}",
            "",
        )
    if live:
        if record.fingerprint != fingerprint:
            return (
                Kind.CHANGED_AFTER_PUBLISH,
                "changed after it was published: live posts cannot be edited, nothing is sent "
                "(bump 'revision' to post it again)",
                "warning",
            )
        return None, "", ""
    # Held by Orshot: a draft, or scheduled and not yet fired.
    held_mode = "draft" if status is AccountStatus.DRAFTED else "schedule"
    changed = record.fingerprint != fingerprint
    if held_mode == "draft" and mode != "draft":
        if past and mode == "schedule":
            return Kind.PAST_SCHEDULE, f"the draft's schedule{when} has passed", "error"
        verb = (
            "publish the existing draft now"
            if mode == "publish"
            else f"schedule the existing draft{when}"
        )
        why = (
            "paused before (a pause took it back to a draft)"
            if record.paused_schedule
            else ("draft: false now")
        )
        return (
            Kind.PUBLISH_DRAFT,
            f"{why}: {verb}" + (" (edited first)" if changed else ""),
            "",
        )
    if not changed and held_mode == mode:
        return None, "", ""
    if past and mode == "schedule":
        return Kind.PAST_SCHEDULE, f"changed, but its new schedule{when} has passed", "error"
    what = {"draft": "back to a draft", "publish": "publish now", "schedule": f"reschedule{when}"}[
        mode
    ]
    moved = (
        post.scheduled_for is not None
        and record.scheduled_for is not None
        and datetime.fromisoformat(record.scheduled_for) != post.scheduled_for
    )
    if mode == held_mode:
        what = f"reschedule{when}, same Orshot post" if moved else "edit in place, same Orshot post"
    return Kind.EDIT, f"still held by Orshot: {what}", ""


def _removed(
    post_id: str,
    path: str,
    key: str,
    record: AccountState,
    now: datetime,
    prune: bool,
    dropped: bool = False,
) -> Action:
    held = record.status is AccountStatus.DRAFTED or (
        record.status is AccountStatus.SCHEDULED and not _fired(record, now)
    )
    base: dict[str, Any] = {
        "post_id": post_id,
        "path": path,
        "account": key,
        "account_id": record.account_id,
        "platform": "",
        "orshot_post_id": record.post_id,
        "revision": record.revision,
    }
    interrupted = record.status in (AccountStatus.PENDING, AccountStatus.UNKNOWN)
    if interrupted and record.step is Step.DISCARD and record.post_id is not None:
        # A discard cut off mid-way: send it again (a repeated DELETE is harmless: 404 = done).
        return Action(
            kind=Kind.DISCARD, reason="an earlier discard did not finish: discard it again", **base
        )
    if interrupted:
        return Action(
            kind=Kind.REMOVED,
            reason=f"removed while its {record.step.value if record.step else 'last'} step was unfinished: "
            "nothing is sent; check it with 'orshot-gitops refresh', settle it with 'resolve'",
            severity="warning",
            **base,
        )
    if held and prune and record.post_id is not None:
        reason = (
            "no longer in this post's accounts: take it off the post Orshot still holds"
            if dropped
            else "removed from the repository: discard the post Orshot still holds"
        )
        return Action(kind=Kind.DISCARD, reason=reason, **base)
    if dropped:
        return Action(
            kind=Kind.REMOVED,
            reason="no longer in this post's accounts; live posts are not deleted",
            **base,
        )
    if record.status is AccountStatus.SCHEDULED and held:
        when = datetime.fromisoformat(record.scheduled_for or "").strftime("%Y-%m-%d %H:%M UTC")
        reason = (
            f"removed from the repository, but still scheduled for {when}: it WILL go out "
            "(set 'prune: true' in orshot.yaml to discard it)"
        )
        return Action(kind=Kind.REMOVED, reason=reason, severity="warning", **base)
    if record.status is AccountStatus.DRAFTED:
        reason = "removed from the repository; its draft stays in Orshot (set 'prune: true' to discard it)"
        return Action(kind=Kind.REMOVED, reason=reason, **base)
    return Action(
        kind=Kind.REMOVED, reason="removed from the repository; live posts are not deleted", **base
    )


def _with_groups(actions: list[Action]) -> list[Action]:
    """Accounts of one post that get the same caption and media share one Orshot post."""
    grouped = []
    for action in actions:
        if action.kind in (Kind.CREATE, Kind.RETRY):
            key = group_key(
                action.post_id,
                action.kind.value,
                action.mode,
                action.content,
                action.media_urls,
                sorted((action.render or {}).items(), key=str),
                action.scheduled_for,
                action.revision,
            )
            action = replace(action, group=key)
        elif action.kind is Kind.SETTLE and action.group:
            pass
        elif action.orshot_post_id is not None:
            action = replace(action, group=f"{action.post_id}#orshot-{action.orshot_post_id}")
        grouped.append(action)
    return sorted(grouped, key=lambda a: (a.post_id, a.account, a.kind.value))
