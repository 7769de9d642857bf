"""`resolve --as failed` with `prune: true`: discard the draft a failed step left in Orshot.

A step that failed after its draft was made (a schedule Orshot refused, an unknown outcome a
person resolved as failed) leaves an invisible draft behind, and the retry makes a new one. The
draft is read back first: only a post that is still a draft is discarded. One that is not
(scheduled, published) did not fail, and the resolve is refused before anything is written:
recording it failed would send it a second time.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from orshot_gitops.errors import UserError
from orshot_gitops.orshot.errors import NotFound
from orshot_gitops.state.model import AccountStatus, State


def discard_left_drafts(
    before: State, after: State, post_id: str, client: Any
) -> tuple[State, list[str]]:
    """Discard the drafts of `post_id`'s records that `after` newly says failed; returns the
    state with those records let go of their draft, and one note per draft discarded."""
    notes: list[str] = []
    post = after.posts[post_id]
    for key, record in sorted(post.accounts.items()):
        old = before.account(post_id, key)
        if old is None or record.status is not AccountStatus.FAILED or record.post_id is None:
            continue
        was_failed = old.status is AccountStatus.FAILED
        draft_id = record.post_id
        if _still_used(after, draft_id, post_id, key):
            continue  # other accounts still hold that post: it is theirs too
        try:
            orshot = client.get_post(draft_id)
        except NotFound:
            orshot = None  # already gone
        if orshot is not None and orshot.status != "draft" and was_failed:
            continue  # a failed account of a post that went out elsewhere: nothing to discard
        if orshot is not None and orshot.status != "draft":
            raise UserError(
                f"Orshot shows post {draft_id} ({post_id} → {key}) as {orshot.status}, not as "
                "a draft: it did not simply fail",
                hint="nothing was changed; if it went out, 'orshot-gitops resolve "
                f"{post_id} --account {key} --as published' ('orshot-gitops refresh' shows "
                "what Orshot holds)",
                code="resolve-not-a-draft",
            )
        if orshot is not None:
            client.discard_post(draft_id)
        post = post.with_account(
            key, replace(record, post_id=None, earlier_post_ids=record.owned_post_ids())
        )
        notes.append(f"discarded Orshot draft {draft_id} ({post_id} → {key})")
    return after.with_post(post_id, post), notes


def _still_used(state: State, draft_id: int, post_id: str, key: str) -> bool:
    return any(
        record.post_id == draft_id and record.status is not AccountStatus.FAILED
        for other_post, other_key, record in state.entries()
        if (other_post, other_key) != (post_id, key)
    )
