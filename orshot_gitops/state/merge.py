"""The three-way merge of two states that grew from one base, entry by entry.

Used when a push loses a race (the runner, claims): never a textual conflict, and never a
lost record of a post Orshot holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from orshot_gitops.errors import UserError
from orshot_gitops.state.layout import dump_post
from orshot_gitops.state.model import (
    STATE_PATH,
    STATE_VERSION,
    AccountState,
    AccountStatus,
    PostState,
    State,
    recorded_time,
)
from orshot_gitops.state.postfiles import parse_post
from orshot_gitops.state.store import dump_index, dump_state, parse_state


def merge_text(base: str, ours: str, theirs: str) -> str:
    """`merge_states` on the texts of three versions of a state file (git's merge driver,
    `state repair`): a v1 state file, a v2 index, or a v2 post file.

    An empty `base` means both sides created the file (two first runs, neither saw the
    other's): each side's records are of posts Orshot may hold, so both are kept, under the
    pushed side's (theirs) lineage. Raises UserError, naming which side, for a file that is
    not a valid state."""
    kinds = {_kind(ours), _kind(theirs)}
    if kinds == {"post"}:
        return _merge_post_text(base, ours, theirs)
    if kinds == {"schedule"}:
        return _merge_schedule_text(ours, theirs)
    if kinds == {"preview"}:
        return _merge_preview_text(ours, theirs)

    def parsed(text: str, side: str) -> State:
        if _kind(text) == "post":
            parse_post(text, f"a state post file ({side})")
            return State(lineage="")
        return parse_state(text, f"{STATE_PATH} ({side})", posts=lambda tally: {})

    if len(kinds) != 1:
        parsed(ours, "ours"), parsed(theirs, "theirs")  # a broken side is named first
        raise UserError(
            "one side of the merge has the state in the old single-file layout, the other in "
            "the new one (a folder of post files)",
            path=STATE_PATH,
            hint="finish the merge with the side in the new layout ('git checkout --ours' or "
            "'--theirs' .orshot/state.json, the one with \"version\": 2), commit, then run "
            "'orshot-gitops refresh --rebuild' to record what the other side sent",
            code="state-layouts",
        )

    ours_state, theirs_state = parsed(ours, "ours"), parsed(theirs, "theirs")
    if base.strip():
        base_state = parsed(base, "base")
    else:
        base_state = State(lineage=theirs_state.lineage)
        ours_state = replace(ours_state, lineage=theirs_state.lineage)
    merged = merge_states(base_state, ours_state, theirs_state)
    if kinds == {"index"}:
        # The posts are merged file by file; the tally is counted again on the next load.
        return dump_index(merged, None)
    return dump_state(merged)


def _kind(text: str) -> str:
    """ "index" (v2), "post" (a v2 post file) or "v1", told by the top-level keys; a text
    that is not JSON is left to the parser, which says where it breaks."""
    try:
        data = json.loads(text)
    except ValueError:
        return "v1"
    if isinstance(data, dict) and "accounts" in data and "posts" not in data:
        return "post"
    if isinstance(data, dict) and list(data) == ["scheduled"]:
        return "schedule"
    if isinstance(data, dict) and "urls" in data and "template" in data:
        return "preview"  # state/previews.py
    if isinstance(data, dict) and "posts" not in data and data.get("version") == STATE_VERSION:
        return "index"
    return "v1"


def _merge_schedule_text(ours: str, theirs: str) -> str:
    """Both sides' schedules (the earlier time of a post both list). The index merged beside
    it says "stale", so the next load counts the records again whatever this holds."""
    merged: dict[str, str] = {}
    for text in (ours, theirs):
        for post_id, when in (json.loads(text).get("scheduled") or {}).items():
            if isinstance(when, str) and (post_id not in merged or when < merged[post_id]):
                merged[post_id] = when
    return json.dumps({"scheduled": dict(sorted(merged.items()))}, indent=2) + "\n"


def _merge_preview_text(ours: str, theirs: str) -> str:
    """Two renders of the same inputs (two branches previewed the same post): either is
    that post's image; the earlier is kept, the same whichever side merges, so the first
    one reviewed (and perhaps already published) stays the record."""
    sides = [json.loads(text) for text in (ours, theirs)]
    earlier = min(
        sides, key=lambda data: (str(data.get("rendered_at")), json.dumps(data, sort_keys=True))
    )
    return ours if earlier == sides[0] else theirs


def _merge_post_text(base: str, ours: str, theirs: str) -> str:
    """One post's file, merged account by account as in `merge_states`."""
    where = "a state post file"
    merged = _merge_post(
        parse_post(base, f"{where} (base)") if base.strip() else None,
        parse_post(ours, f"{where} (ours)"),
        parse_post(theirs, f"{where} (theirs)"),
    )
    if merged is None:  # nothing left to keep: both sides had already dropped every record
        return ours
    return dump_post(merged)


def merge_states(base: State, ours: State, theirs: State) -> State:
    """Merge two states that grew from `base`, entry by entry: never a textual conflict.

    Used when our push is rejected and we rebase onto another run's results. For each
    (post, account): a side that left it as in `base` yields to the other; when both changed
    it, the record that says more about what Orshot holds wins (see `_prefer`). A record
    deleted on one side and changed on the other is kept: losing a post id could mean a
    duplicate. The result's serial is max(ours, theirs) + 1; lineages must all match.
    """
    lineages = {base.lineage, ours.lineage, theirs.lineage}
    if len(lineages) != 1:
        raise UserError(
            "cannot merge state files of different lineages: " + ", ".join(sorted(lineages)),
            path=STATE_PATH,
            hint="they belong to different repositories or one was recreated; keep one by hand",
            code="state-lineage",
        )
    posts: dict[str, PostState] = {}
    for post_id in sorted({*base.posts, *ours.posts, *theirs.posts}):
        merged = _merge_post(
            base.posts.get(post_id), ours.posts.get(post_id), theirs.posts.get(post_id)
        )
        if merged is not None:
            posts[post_id] = merged
    commit, merged_commits = _three_way(
        _reconciled(base), _reconciled(ours), _reconciled(theirs), _both_reconciled
    )
    return State(
        lineage=base.lineage,
        serial=max(ours.serial, theirs.serial) + 1,
        commit=commit,
        merged_commits=merged_commits,
        posts=posts,
        heartbeats=_merge_heartbeats(base, ours, theirs),
        ended=_merge_ended(base, ours, theirs),
        # A report each apply rewrites whole: when both sides rewrote it, ours is the later
        # run's (we merge because our push came second), and it planned on theirs' records.
        awaiting_approval=_three_way(
            base.awaiting_approval,
            ours.awaiting_approval,
            theirs.awaiting_approval,
            lambda o, t: o,
        ),
    )


def _merge_ended(base: State, ours: State, theirs: State) -> dict[str, str]:
    """A run's end is written once, by that run, and forgotten once no record names it. When
    both sides changed one (one wrote it, the other forgot it), keep it: forgetting an end
    only makes the next run wait out the window for that run's records."""
    merged: dict[str, str] = {}
    for run in sorted({*base.ended, *ours.ended, *theirs.ended}):
        end = _three_way(
            base.ended.get(run), ours.ended.get(run), theirs.ended.get(run), lambda o, t: o or t
        )
        if end is not None:
            merged[run] = end
    return merged


def _merge_heartbeats(base: State, ours: State, theirs: State) -> dict[str, str]:
    """Only a run beats for itself; others only remove beats they found stale. So when both
    sides changed one, a beat on one side means the run was alive after the other side
    judged it: keep the later beat."""

    def later(o: str | None, t: str | None) -> str | None:
        if o is None or t is None:
            return o or t
        return o if _instant(o) >= _instant(t) else t

    merged: dict[str, str] = {}
    for run in sorted({*base.heartbeats, *ours.heartbeats, *theirs.heartbeats}):
        beat = _three_way(
            base.heartbeats.get(run), ours.heartbeats.get(run), theirs.heartbeats.get(run), later
        )
        if beat is not None:
            merged[run] = beat
    return merged


# Beyond this many, a merged state keeps none: each costs the next plan a `git diff`.
MAX_MERGED_COMMITS = 8


def _reconciled(state: State) -> tuple[str | None, tuple[str, ...]]:
    return state.commit, state.merged_commits


def _both_reconciled(
    ours: tuple[str | None, tuple[str, ...]], theirs: tuple[str | None, tuple[str, ...]]
) -> tuple[str | None, tuple[str, ...]]:
    """Both sides reconciled different commits: no one commit explains the merged records, so
    the next run compiles everything (level-triggered) instead of trusting a diff base that may
    skip changes. It keeps every commit the sides had reconciled: a post file added since each
    is new for certain, and one moved since any is that record's post (reconcile/merged.py).
    A side that knows no commit leaves none: nothing is then proven new."""
    commits: set[str] = set()
    for commit, merged in (ours, theirs):
        reconciled = (commit,) if commit else merged
        if not reconciled:
            return None, ()
        commits.update(reconciled)
    if len(commits) > MAX_MERGED_COMMITS:
        return None, ()
    return None, tuple(sorted(commits))


def _three_way(base: Any, ours: Any, theirs: Any, both_changed: Any) -> Any:
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    return both_changed(ours, theirs)


def _merge_post(
    base: PostState | None, ours: PostState | None, theirs: PostState | None
) -> PostState | None:
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    empty: Mapping[str, AccountState] = {}
    b_acc = base.accounts if base else empty
    o_acc = ours.accounts if ours else empty
    t_acc = theirs.accounts if theirs else empty
    accounts: dict[str, AccountState] = {}
    for key in sorted({*b_acc, *o_acc, *t_acc}):
        account = _three_way(b_acc.get(key), o_acc.get(key), t_acc.get(key), _prefer)
        if account is not None:
            accounts[key] = account
    if ours is None or theirs is None:
        # Deleted on one side, changed on the other: keep the changed side's fields.
        present = ours or theirs
        assert present is not None
        return replace(present, accounts=accounts) if accounts else None
    b_path = base.path if base else None
    b_render = base.render if base else None
    return PostState(
        # The remote side is already committed and pushed: it wins a tie on plain fields.
        path=_three_way(b_path, ours.path, theirs.path, lambda o, t: t),
        revision=max(ours.revision, theirs.revision),
        # A finished render beats one still under way: its output is what the posts carry.
        render=_three_way(
            b_render,
            ours.render,
            theirs.render,
            lambda o, t: o if o and o.done and not (t and t.done) else t or o,
        ),
        accounts=accounts,
    )


def _prefer(ours: AccountState | None, theirs: AccountState | None) -> AccountState | None:
    """Both sides changed one record: pick the one that says more about what Orshot holds.

    Two intents of different runs: the pushed one (theirs) is the claim of record; ours was
    written by a run that had lost the claim and must not win it back by being later."""
    if ours is None or theirs is None:
        return ours or theirs
    if _rank(ours)[0] == _rank(theirs)[0] == 1 and ours.run != theirs.run:
        return theirs
    return ours if _rank(ours) > _rank(theirs) else theirs


def _rank(account: AccountState) -> tuple[int, datetime]:
    if account.status.holds_post and account.post_id is not None:
        tier = 2
    elif account.status in (AccountStatus.PENDING, AccountStatus.UNKNOWN):
        # An intent without an outcome must be settled by reading Orshot: fail closed, keep it.
        tier = 1
    else:
        tier = 0
    return tier, _instant(account.last_attempt_at)


_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def _instant(text: str | None) -> datetime:
    return recorded_time(text) or _EPOCH
