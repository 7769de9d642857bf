"""Drift: a post Orshot holds for us that was changed there (its dashboard), not through a
file. `refresh` compares each held post's caption, media, time and accounts with what the
file says was sent (the record's fingerprint equals the file's: the file is what was sent)
and records the difference per (post, account). Until it is resolved the plan shows it and
sends nothing over it: `apply --overwrite-drift` sends the file's version, or a file that
took Orshot's version over by hand (its digest is recorded) is simply edited to match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timezone

from orshot_gitops.content.compile import AccountPayload, CompiledPost
from orshot_gitops.orshot.client import Post
from orshot_gitops.reconcile.readback import Drift
from orshot_gitops.state.model import AccountState, AccountStatus, State

_HELD = (AccountStatus.DRAFTED, AccountStatus.SCHEDULED)


def version_digest(
    content: str | None, media_urls: Iterable[str], scheduled_for: str | None
) -> str:
    """sha256 of a version of a post as one account gets it: caption, media and time."""
    canonical = json.dumps(
        {
            "content": _caption(content),
            "media_urls": list(media_urls),
            "at": _instant(scheduled_for),
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _caption(content: str | None) -> str:
    """A caption as compared: whitespace around it is not a change anyone sees (and a file's
    block scalar cannot end the way a dashboard edit may)."""
    return (content or "").strip()


def _instant(stamp: str | None) -> str | None:
    """A time as UTC ISO 8601, whatever offset or 'Z' it was written with."""
    if not stamp:
        return None
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment.astimezone(timezone.utc).isoformat()


def record_drift(
    state: State, compiled: Iterable[CompiledPost], seen: Mapping[int, Post]
) -> tuple[State, list[Drift]]:
    """Compare every held (post, account) read from Orshot (`seen`) with its file."""
    drifts: list[Drift] = []
    for post in compiled:
        recorded = state.posts.get(post.spec.id)
        if recorded is None:
            continue
        render_media = recorded.render.media_urls if recorded.render else None
        for payload in post.payloads:
            moment = post.time_for(payload)  # a queued post's accounts each have their slot
            scheduled = moment.isoformat() if moment else None
            record = recorded.accounts.get(payload.account.alias)
            if record is None or record.status not in _HELD or record.post_id is None:
                continue
            if record.post_id not in seen:
                continue
            if record.fingerprint != payload.fingerprint:
                continue  # the file changed since it was sent: the plan edits it anyway
            remote = seen[record.post_id]
            media = render_media if post.render is not None else payload.media_urls
            differs = []
            if _caption(remote.content) != _caption(payload.content):
                differs.append("caption")
            if media is not None and tuple(remote.media_urls) != tuple(media):
                differs.append("media")
            if record.status is AccountStatus.SCHEDULED and _instant(
                remote.scheduled_for
            ) != _instant(scheduled):
                differs.append("time")
            if _extra_accounts(state, record, remote):
                differs.append("accounts")
            what = ", ".join(differs) or None
            digest = (
                version_digest(remote.content, remote.media_urls, remote.scheduled_for)
                if what
                else None
            )
            if (what, digest) == (record.drift, record.drift_digest):
                continue
            note = (
                f"{what} changed in Orshot: the file's version is not sent over it "
                "(apply --overwrite-drift sends it; or take Orshot's into the file)"
                if what
                else "Orshot agrees with the file again"
            )
            drifts.append(
                Drift(
                    post.spec.id,
                    payload.account.alias,
                    record.status.value,
                    what or "in sync",
                    note,
                )
            )
            state = state.with_account(
                post.spec.id,
                payload.account.alias,
                replace(record, drift=what, drift_digest=digest),
            )
    return state, drifts


def _extra_accounts(state: State, record: AccountState, remote: Post) -> bool:
    """Whether Orshot's post targets an account no record of ours puts on it."""
    ours = {
        r.account_id
        for _, _, r in state.entries()
        if r.post_id == record.post_id and r.status is not AccountStatus.FAILED
    }
    theirs = {a.account_id for a in remote.accounts if a.account_id is not None}
    return bool(theirs - ours)


def drift_reason(record: AccountState | None, file_digest: str, overwrite: bool) -> str | None:
    """Why nothing is sent for a drifted held record, or None when the rule decided for it
    stands: no drift, `--overwrite-drift`, or a file that took Orshot's version over
    (`file_digest`, the file's `version_digest`, equals Orshot's)."""
    if record is None or record.drift is None or record.status not in _HELD or overwrite:
        return None
    if file_digest == record.drift_digest:
        return None
    return (
        f"changed in Orshot's dashboard ({record.drift}): the file's version is not sent "
        "over it. Send it with 'orshot-gitops apply --overwrite-drift', or take Orshot's "
        "version into the file ('orshot-gitops refresh' shows what differs)"
    )


def drift_override(
    record: AccountState | None,
    post: CompiledPost,
    payload: AccountPayload,
    state: State,
    recorded_id: str,
    overwrite: bool,
) -> tuple[str, str, str] | None:
    """What the plan does for a drifted held record instead of its ordinary rule, as (kind,
    reason, severity): "drift" (shown, nothing sent over it), or with --overwrite-drift
    "edit" (the file's version sent, even if the file did not change); None: the rule
    stands. The plan keeps an "edit" only where its rule had nothing to do."""
    if record is None or record.drift is None:
        return None
    recorded = state.posts.get(recorded_id)
    media = (
        recorded.render.media_urls
        if post.render is not None and recorded is not None and recorded.render
        else payload.media_urls
    )
    scheduled = post.scheduled_for.isoformat() if post.scheduled_for else None
    reason = drift_reason(record, version_digest(payload.content, media, scheduled), overwrite)
    if reason is not None:
        return "drift", reason, "warning"
    if overwrite and record.status in _HELD:
        return (
            "edit",
            f"changed in Orshot's dashboard ({record.drift}): send the file's version",
            "",
        )
    return None
