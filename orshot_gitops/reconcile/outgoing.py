"""What goes out, per (post, account): the preview site's input (report/site/).

Every post of the repository, compiled as `plan` compiles it (templates git tracks only), so
each mock-up shows exactly the caption, media and options apply would send; joined with the
plan (which of them this change sends: the pull request's own posts) and with the state
(which are already scheduled or published, when, and where they are live).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from orshot_gitops.content.compile import CompiledPost
from orshot_gitops.content.load import discover_posts
from orshot_gitops.content.model import Config
from orshot_gitops.content.validate import check_posts
from orshot_gitops.errors import Diagnostic
from orshot_gitops.reconcile.plan import Kind, Plan
from orshot_gitops.reconcile.previews import render_source
from orshot_gitops.state.model import AccountState, AccountStatus, State, recorded_time
from orshot_gitops.state.previews import Preview, preview_digest
from orshot_gitops.vcs.gitrepo import GitRepo

# What a pull request changes, as the page highlights it: new posts, edits, retries, a draft
# published, a discard, a move, a pause. Settling an interrupted step or syncing a processing
# post sends a request too, but it follows up an earlier run: nobody reviews it.
CHANGES = frozenset(
    {
        Kind.CREATE,
        Kind.RETRY,
        Kind.EDIT,
        Kind.PUBLISH_DRAFT,
        Kind.DISCARD,
        Kind.RENAME,
        Kind.PAUSE,
    }
)


class Standing(str, enum.Enum):
    """Where one (post, account) stands for the reviewer, in the calendar's words."""

    PUBLISHED = "published"  # live: the state says so
    SCHEDULED = "scheduled"  # Orshot holds it for its time
    ON_MERGE = "on merge"  # goes out as soon as the change is applied
    DRAFT = "draft"  # a draft: created in Orshot, not posted
    FAILED = "failed"  # the last try failed: see `plan`
    UNKNOWN = "outcome unknown"  # a request whose answer was lost: settled by the next run
    UNSENT = "not sent"  # nothing recorded yet and nothing planned (an error elsewhere)


@dataclass(frozen=True)
class Outgoing:
    """One account's version of one post, as it goes (or went) out."""

    post_id: str
    path: str
    account: str
    platform: str
    caption: str
    media_urls: tuple[str, ...]
    platform_options: Mapping[str, Any] = field(hash=False)
    standing: Standing
    # When it goes (or went) out, aware; None for "on merge" and drafts.
    moment: datetime | None
    zone: str  # the post's own zone: its calendar day is read there
    # The plan sends something for it: this change's own post (highlighted on the page).
    in_change: bool
    change: str = ""  # the plan's word for it: "create", "edit", ...
    url: str | None = None  # where it is live
    render_template: int | None = None  # a Studio render: its media are made at apply
    render_modifications: Mapping[str, Any] = field(default_factory=dict, hash=False)
    carousel: bool = False


def compile_everything(
    root: Path, git: GitRepo, config: Config
) -> tuple[list[Diagnostic], list[CompiledPost]]:
    """Every post file, compiled as `plan` compiles the changed ones: the same checks and only
    the snippets git tracks, so the preview shows what the pull request will send."""
    files, problems = discover_posts(root, config)
    tracked = git.tracked_regular_files(config.templates_dir)
    post_problems, compiled = check_posts(root, config, sorted(files), tracked)
    return [*problems, *post_problems], compiled


def outgoing(
    compiled: Sequence[CompiledPost],
    plan: Plan,
    state: State,
    previews: Mapping[str, Preview] | None = None,
) -> tuple[Outgoing, ...]:
    """Each (post, account) of the compiled posts, in post id then account order. A render
    post shows the image apply publishes for the file's render inputs (`render_source`: the
    state's render of these inputs, or a reviewed preview), never one an earlier version of
    the inputs made; with neither, its modifications."""
    planned = {(a.post_id, a.account): a for a in plan.actions}
    found: list[Outgoing] = []
    for post in sorted(compiled, key=lambda p: p.spec.id):
        record = state.posts.get(post.spec.id)
        rendered: tuple[str, ...] = ()
        if post.render is not None:
            _, rendered = render_source(
                state, post.spec.id, preview_digest(post.render.as_json()), previews or {}
            )
        for payload in post.payloads:
            alias = payload.account.alias
            action = planned.get((post.spec.id, alias))
            recorded = record.accounts.get(alias) if record else None
            changing = action is not None and action.kind in CHANGES
            standing, moment = _standing(post, recorded, changing)
            if post.spec.queued and changing and action is not None and action.scheduled_for:
                # A queue slot the plan gave: the time apply will send (tentative till merged).
                standing, moment = Standing.SCHEDULED, recorded_time(action.scheduled_for)
            found.append(
                Outgoing(
                    post_id=post.spec.id,
                    path=post.spec.path,
                    account=alias,
                    platform=payload.account.platform,
                    caption=payload.content,
                    media_urls=payload.media_urls or rendered,
                    platform_options=payload.platform_options,
                    standing=standing,
                    moment=moment,
                    zone=post.timezone,
                    in_change=changing,
                    change=action.kind.value if action is not None else "",
                    url=recorded.url if recorded is not None else None,
                    render_template=post.render.template if post.render else None,
                    render_modifications=dict(post.render.modifications) if post.render else {},
                    carousel=post.spec.carousel or len(payload.media_urls or rendered) > 1,
                )
            )
    return tuple(found)


def _standing(
    post: CompiledPost, recorded: AccountState | None, changing: bool
) -> tuple[Standing, datetime | None]:
    """The file decides what a change will do; the record, what already happened."""
    if recorded is not None and not changing:
        if recorded.status in (AccountStatus.PENDING, AccountStatus.UNKNOWN):
            when = recorded.scheduled_for or recorded.last_attempt_at
            return Standing.UNKNOWN, recorded_time(when)
        if recorded.status in (AccountStatus.PUBLISHED, AccountStatus.PROCESSING):
            when = recorded.scheduled_for or recorded.last_attempt_at
            return Standing.PUBLISHED, recorded_time(when)
        if recorded.status is AccountStatus.SCHEDULED:
            return Standing.SCHEDULED, recorded_time(recorded.scheduled_for) or post.scheduled_for
        if recorded.status is AccountStatus.DRAFTED:
            return Standing.DRAFT, None
        if recorded.status is AccountStatus.FAILED:
            return Standing.FAILED, post.scheduled_for
    if post.spec.draft:
        return Standing.DRAFT, None
    if post.scheduled_for is not None:
        return Standing.SCHEDULED, post.scheduled_for
    if recorded is None and not changing:
        return Standing.UNSENT, None
    return Standing.ON_MERGE, None
