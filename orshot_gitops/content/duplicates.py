"""A `revision` bump that sends what is already live: the platforms refuse it as duplicate
content (publish-from-api.md, "Common Publishing Errors": "Duplicate content ... Modify the
caption slightly"), so it is an error before anything is sent, not a failed post after.

A bump re-sends a live post as a new one (DESIGN.md's table). The state's record of each
account keeps the copy it sent (`state/sent.py`): the same caption and the same media URLs on
the same account is the same post again. A render's outputs are new URLs each time it is
rendered, so for a render post only the caption can be compared, and is not: a render whose
modifications changed is a new image, and the state does not keep the old modifications.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from orshot_gitops.content.compile import CompiledPost
from orshot_gitops.content.model import STATE_FILE, STATE_POSTS
from orshot_gitops.errors import Diagnostic, Severity


@dataclass(frozen=True)
class SentCopy:
    """What the state records of one (post, account), as far as this check needs it: the
    content layer reads no state module, so the plan and validate each fill one in."""

    status: str
    revision: int
    caption: str | None
    media: tuple[str, ...]
    scheduled_for: str | None = None
    url: str | None = None

    @classmethod
    def from_record_json(cls, data: Mapping[str, Any]) -> SentCopy | None:
        """From a record as the state file holds it (state/model.py's AccountState.to_json);
        None when it keeps no sent copy (older records) or is not what it should be."""
        sent = data.get("sent")
        if not isinstance(sent, Mapping):
            return None
        media = sent.get("media") or ()
        status, revision = data.get("status"), data.get("revision")
        if not isinstance(status, str) or not isinstance(revision, int):
            return None
        if not isinstance(media, list | tuple) or not all(isinstance(m, str) for m in media):
            return None
        caption = sent.get("caption")
        at, url = data.get("scheduled_for"), data.get("url")
        return cls(
            status,
            revision,
            caption if isinstance(caption, str) else None,
            tuple(media),
            at if isinstance(at, str) else None,
            url if isinstance(url, str) else None,
        )


@dataclass(frozen=True)
class Resend:
    """What a bumped post would send one account: small, so validate's workers send it back."""

    post_id: str
    account: str  # the alias, the state's key
    caption: str
    media: tuple[str, ...]
    revision: int
    path: str
    line: int
    column: int


def resends(post: CompiledPost) -> list[Resend]:
    """The accounts a post could be re-sending to: only a bumped post (revision above 1) with
    media URLs of its own, or none (a text post), can repeat what went out."""
    spec = post.spec
    if spec.revision <= 1 or post.render is not None:
        return []
    line, column = spec.document.position(("content",)) if spec.document else (1, 1)
    return [
        Resend(
            spec.id,
            payload.account.alias,
            payload.content,
            tuple(payload.media_urls),
            spec.revision,
            spec.path,
            line,
            column,
        )
        for payload in post.payloads
    ]


def _live(copy: SentCopy, now: datetime) -> bool:
    if copy.status == "published":
        return True
    if copy.status != "scheduled" or copy.scheduled_for is None:
        return False
    try:
        fired = datetime.fromisoformat(copy.scheduled_for)
    except ValueError:
        return False
    return (fired if fired.tzinfo else fired.replace(tzinfo=timezone.utc)) <= now


def duplicate_problem(resend: Resend, copy: SentCopy | None, now: datetime) -> Diagnostic | None:
    """The error when `resend` would send this live post's caption and media again."""
    if copy is None or copy.revision == resend.revision or not _live(copy, now):
        return None  # a held or failed post is edited or retried, not posted next to itself
    if copy.caption != resend.caption or copy.media != resend.media:
        return None
    where = f" ({copy.url})" if copy.url else ""
    return Diagnostic(
        resend.path,
        resend.line,
        resend.column,
        Severity.ERROR,
        "duplicate-content",
        f"revision {resend.revision} sends {resend.account!r} the same caption and media as "
        f"its live post{where}: the platform refuses it as duplicate content",
        "change the text (or the media) of this revision, or undo the revision bump",
    )


def recorded_copies(root: Path, post_ids: set[str]) -> dict[tuple[str, str], SentCopy]:
    """The sent copies the state at root records for these posts, by (post id, account),
    read as validate reads the state: leniently (plan and apply report a broken state) and
    only the records asked for (a v2 state's file per post; a v1 file, whole)."""
    found: dict[tuple[str, str], SentCopy] = {}
    if not post_ids:
        return found
    records: dict[str, Any] = {}
    folder = root / STATE_POSTS
    if folder.is_dir() and not folder.is_symlink():
        for post_id in sorted(post_ids):
            path = folder / f"{post_id}.json"
            if ".." in post_id.split("/") or _linked(folder, path):
                continue
            records[post_id] = _read_json(path)
    else:
        whole = _read_json(root / STATE_FILE)
        posts = whole.get("posts") if isinstance(whole, dict) else None
        if isinstance(posts, dict):
            records = {p: posts.get(p) for p in post_ids}
    for post_id, record in records.items():
        accounts = record.get("accounts") if isinstance(record, dict) else None
        if not isinstance(accounts, dict):
            continue
        for account, data in accounts.items():
            copy = SentCopy.from_record_json(data) if isinstance(data, dict) else None
            if copy is not None:
                found[(post_id, account)] = copy
    return found


def _linked(folder: Path, path: Path) -> bool:
    """A record reached through a symbolic link: the repository is untrusted input, and the
    state is read only where it lies."""
    current = path
    while current != folder:
        if current.is_symlink():
            return True
        current = current.parent
    return False


def _read_json(path: Path) -> Any:
    try:
        if os.path.getsize(path) > 64 * 1024 * 1024:
            return None
        with path.open("rb") as handle:
            return json.load(handle)
    except (OSError, ValueError, RecursionError):
        return None
