"""Which image each `render:` post of a plan will publish, what it costs, and the previews
`plan --render-previews` renders so a pull request shows them (state/previews.py).

One rule decides the image, here and in apply (send.py `_media`, rendering.py `_previewed`):
the state's recorded render of the same inputs first (already rendered, maybe already in a
draft), then a preview of the same inputs, else a render at apply (one credit). The review
embeds the URL this rule picks, so a preview file planted by hand shows its own image in the
review: what is reviewed is what goes out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from orshot_gitops.orshot.client import ApiError, OrshotClient
from orshot_gitops.orshot.render_jobs import ASYNC_FORMATS
from orshot_gitops.reconcile.plan import Action, Kind, Plan
from orshot_gitops.state.model import State
from orshot_gitops.state.previews import Preview, preview_digest, write_preview

#: The kinds whose step asks for the post's media (send.py `_create`, send_held.py's edit).
_NEEDS_MEDIA = frozenset({Kind.CREATE, Kind.RETRY, Kind.EDIT, Kind.PUBLISH_DRAFT})
#: Held now, sent by a later apply that no pull request may show (a retry after its backoff,
#: an account reconnected, a pause lifted): a preview they would publish is shown now.
_LATER = _NEEDS_MEDIA | {
    Kind.WAITING,
    Kind.NEEDS_RECONNECT,
    Kind.DENY_WINDOW,
    Kind.AWAITING_APPROVAL,
}

RECORDED = "recorded"  # the state holds this render: reused, no credit
PREVIEWED = "previewed"  # a reviewed preview of these inputs: published as is, no credit
RUNNING = "running"  # a render job of these inputs is under way: apply finishes it
TO_RENDER = "to render"  # rendered by apply: one credit, not reviewed as an image


@dataclass(frozen=True)
class RenderOutlook:
    """One post's render in a plan: the image apply will publish, and where it comes from."""

    post_id: str
    path: str
    accounts: tuple[str, ...]
    digest: str
    template: int
    format: str
    source: str
    urls: tuple[str, ...] = ()
    #: Not sent by this plan's apply but by a later one (see _LATER): shown, not counted.
    later: bool = False

    @property
    def credits(self) -> int:
        return 1 if self.source == TO_RENDER and not self.later else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "post_id": self.post_id,
            "path": self.path,
            "accounts": list(self.accounts),
            "digest": self.digest,
            "template": self.template,
            "format": self.format,
            "source": self.source,
            "urls": list(self.urls),
            "credits": self.credits,
            "later": self.later,
        }


@dataclass(frozen=True)
class Renders:
    """A plan's renders: `credits` is what apply will spend; `previews_rendered` what
    `--render-previews` spent in this run (and `previews_failed`, the renders it could not
    do, with why)."""

    posts: tuple[RenderOutlook, ...] = ()
    previews_rendered: int = 0
    previews_failed: tuple[str, ...] = ()

    @property
    def credits(self) -> int:
        return sum(r.credits for r in self.posts)

    def to_json(self) -> dict[str, Any]:
        return {
            "credits": self.credits,
            "previews_rendered": self.previews_rendered,
            "previews_failed": list(self.previews_failed),
            "posts": [r.to_json() for r in self.posts],
        }

    def summary(self) -> str:
        """One line for the plan's text, its comment header."""
        if not self.posts and not self.previews_rendered:
            return ""
        previewed = sum(1 for r in self.posts if r.source == PREVIEWED)
        text = f"renders: apply will spend {_credits(self.credits)}"
        if previewed:
            text += f"; {previewed} reviewed preview{'s' if previewed != 1 else ''} published as is"
        if self.previews_rendered:
            text += f"; this plan rendered {_credits(self.previews_rendered)} of previews"
        return text


def render_outlook(
    plan: Plan, state: State, previews: Mapping[str, Preview], *, rendered: int = 0
) -> Renders:
    """The render of each post the plan sends with a `render:`, by the rule above; and of
    each post a later apply may send with a preview's image (a planted preview must show in
    the review of the pull request that plants it, whenever it goes out)."""
    sending = {id(a) for a in plan.sending}  # the same objects as in plan.actions
    by_post: dict[str, list[Action]] = {}
    for action in plan.actions:
        if action.render and action.kind in _LATER:
            by_post.setdefault(action.post_id, []).append(action)
    posts = []
    for post_id in sorted(by_post):
        actions = by_post[post_id]
        now = [a for a in actions if id(a) in sending and a.kind in _NEEDS_MEDIA]
        render = dict(actions[0].render or {})
        digest = preview_digest(render)
        source, urls = render_source(state, post_id, digest, previews)
        if not now and source != PREVIEWED:
            continue  # held, and no preview waiting for it: nothing to show or count
        actions = now or actions
        posts.append(
            RenderOutlook(
                post_id=post_id,
                path=actions[0].path,
                accounts=tuple(sorted(a.account for a in actions)),
                digest=digest,
                template=int(render.get("template", 0)),
                format=str(render.get("format", "png")),
                source=source,
                urls=urls,
                later=not now,
            )
        )
    return Renders(tuple(posts), previews_rendered=rendered)


def render_source(
    state: State, post_id: str, digest: str, previews: Mapping[str, Preview]
) -> tuple[str, tuple[str, ...]]:
    """Where the image of `post_id`'s render of inputs `digest` comes from, and its URLs when
    known: the state's finished render of these very inputs, else a reviewed preview of
    them, else a job under way or a render at apply (no URLs yet). The review, the preview
    site and apply all follow it, so what is shown is what goes out."""
    post = state.posts.get(post_id)
    recorded = post.render if post is not None else None
    if recorded is not None and recorded.fingerprint == digest and recorded.done:
        return RECORDED, tuple(recorded.media_urls)
    if digest in previews:
        return PREVIEWED, previews[digest].urls
    if recorded is not None and recorded.fingerprint == digest and recorded.job:
        return RUNNING, ()
    return TO_RENDER, ()


def render_previews(
    plan: Plan,
    state: State,
    previews: Mapping[str, Preview],
    client: OrshotClient,
    root: Path,
    now: Callable[[], datetime],
    progress: Callable[[str], None] = lambda message: None,
) -> tuple[Renders, tuple[str, ...]]:
    """Render, without publishing, each post apply would render, and write its preview; the
    outlook afterwards and the files written (relative to root, for the user to commit).
    A render that fails is reported, not retried: the post is rendered at apply instead."""
    before = render_outlook(plan, state, previews)
    found = dict(previews)
    written: list[str] = []
    failed: list[str] = []
    renders: dict[str, Mapping[str, Any]] = {}
    for action in plan.sending:
        if action.render:
            renders.setdefault(action.post_id, action.render)
    for item in before.posts:
        if item.source != TO_RENDER or item.digest in found:
            continue  # two posts with the same inputs: one render serves both
        render = renders[item.post_id]
        progress(f"rendering a preview of {item.post_id} (template {item.template})")
        try:
            urls = _render(client, render, item.digest)
        except (ApiError, _JobUnfinished) as error:
            failed.append(f"{item.post_id}: {error}")
            continue
        if not urls:
            failed.append(f"{item.post_id}: the render produced no output")
            continue
        preview = Preview(
            template=int(render["template"]),
            modifications=dict(render.get("modifications") or {}),
            format=str(render.get("format", "png")),
            urls=urls,
            rendered_at=now().isoformat(timespec="seconds"),
        )
        written.append(write_preview(root, preview))
        found[preview.digest] = preview
    after = render_outlook(plan, state, found, rendered=len(written))
    return replace(after, previews_failed=tuple(failed)), tuple(written)


def _render(client: OrshotClient, render: Mapping[str, Any], digest: str) -> tuple[str, ...]:
    """One render without `publish`: synchronously for stills, as a job (waited for) for
    videos, gifs and PDFs, as apply renders them, so the preview is the output apply would
    have made."""
    template = render["template"]
    modifications = render.get("modifications") or {}
    fmt = str(render.get("format", "png")).lower()
    if fmt not in ASYNC_FORMATS:
        return client.render(template, modifications, fmt).media_urls
    # Its own tag: apply's search for a lost job of its own (rendering.py) never finds it.
    tag = "orshot-gitops-preview:" + hashlib.sha256(digest.encode()).hexdigest()[:32]
    job = client.wait_for_render_job(
        client.start_render_job(template, modifications, fmt, tag=tag).id
    )
    if not job.finished or job.result is None:
        raise _JobUnfinished(f"render job {job.id} is {job.status or 'unfinished'}")
    return job.result.media_urls


class _JobUnfinished(Exception):
    """A preview's render job that did not finish well while we waited."""


def _credits(count: int) -> str:
    return f"{count} render credit{'s' if count != 1 else ''}"
