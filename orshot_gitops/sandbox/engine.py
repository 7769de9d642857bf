"""The workspace's behaviour: creating posts, sending them, firing schedules, settling
asynchronous platforms, editing and discarding. Time is always passed in (`now`), never read.

Callers hold the server's lock: these methods read and write the store without their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from orshot_gitops.sandbox.config import SandboxAccount, SandboxConfig
from orshot_gitops.sandbox.connect import ConnectSession
from orshot_gitops.sandbox.model import (
    DISCONNECTED_ERROR,
    DRAFT,
    DRAFTED,
    DUPLICATE_ERROR,
    FAILED,
    LIVE,
    PLATFORM_RATE_LIMITED_ERROR,
    PROCESSING,
    PUBLISHED,
    SCHEDULED,
    TOKEN_EXPIRED_ERROR,
    Post,
    Target,
)
from orshot_gitops.sandbox.platforms import ASYNC_PLATFORMS, incompatibility, permalink
from orshot_gitops.sandbox.store import Store
from orshot_gitops.sandbox.validation import (
    ApiError,
    PublishSpec,
    account_ids,
    content,
    media,
    resolve_accounts,
    timestamp,
)

NOT_PUBLISHABLE = "Only draft or scheduled posts can be published"
NOT_EDITABLE = "Only draft or scheduled posts can be edited"
NO_COMPATIBLE = "No compatible platforms for the media format"


class Workspace:
    """One Orshot workspace: its accounts (from the config) and its Posts Log (the store)."""

    def __init__(self, config: SandboxConfig, store: Store) -> None:
        self.config = config
        self.store = store
        # Accounts whose expired token was renewed through a connect session (connect.py).
        self.reconnected: set[int] = set()
        self.connect_sessions: dict[str, ConnectSession] = {}

    def requires_reconnect(self, account: SandboxAccount) -> bool:
        """What `include_health` reports (config.py: by default, whether the token expired)."""
        reported = (
            account.token_expired
            if account.requires_reconnect is None
            else account.requires_reconnect
        )
        return reported and account.id not in self.reconnected

    def token_expired(self, account: SandboxAccount) -> bool:
        """Every send to the account fails (reconnect) until a connect session renews it."""
        return account.token_expired and account.id not in self.reconnected

    # --- creating and sending -------------------------------------------------------------

    def create_post(
        self, spec: PublishSpec, *, request_json: str, now: float, render_id: int | None = None
    ) -> Post:
        """A new post from a validated request: held as a draft, scheduled, or sent now."""
        held = DRAFT if spec.is_draft else SCHEDULED if spec.scheduled_for is not None else None
        targets = self._targets(spec.accounts, spec.media_urls, held)
        post = Post(
            id=self.store.next_id("post"),
            created_at=now,
            request_json=request_json,
            held=held,
            content=spec.content,
            media_urls=spec.media_urls,
            targets=targets,
            scheduled_for=spec.scheduled_for,
            timezone=spec.timezone,
            platform_options_json=spec.platform_options_json,
            render_id=render_id,
        )
        if held != DRAFT:
            # A schedule is checked against the platform now as well as when it fires.
            post = self._send(post, now, schedule=held == SCHEDULED, count_scheduled=True)
        self.store.save(post)
        return post

    def _targets(
        self, accounts: Iterable[SandboxAccount], media_urls: tuple[str, ...], held: str | None
    ) -> tuple[Target, ...]:
        """Fresh per-account entries; accounts that cannot take the media fail at once, and a
        request where no account can take it is refused (422)."""
        waiting = SCHEDULED if held == SCHEDULED else DRAFTED
        targets = tuple(
            Target(
                account_id=a.id,
                platform=a.platform,
                username=a.username,
                name=a.name,
                status=FAILED if reason else waiting,
                error=reason,
            )
            for a in accounts
            for reason in [incompatibility(a.platform, media_urls)]
        )
        if all(t.status == FAILED for t in targets):
            raise ApiError(422, NO_COMPATIBLE)
        return targets

    def _send(self, post: Post, at: float, *, schedule: bool, count_scheduled: bool) -> Post:
        """Hand every still-waiting account to its platform (or to the scheduler)."""
        targets = []
        for target in post.targets:
            if target.status == FAILED:
                targets.append(target)
                continue
            account = self.config.account(target.account_id)
            if account is None:
                targets.append(replace(target, status=FAILED, error=DISCONNECTED_ERROR))
            elif self.token_expired(account):
                targets.append(
                    replace(target, status=FAILED, error=TOKEN_EXPIRED_ERROR, action="reconnect")
                )
            elif account.platform_rate_limited:
                targets.append(replace(target, status=FAILED, error=PLATFORM_RATE_LIMITED_ERROR))
            elif self._is_duplicate(post, target.account_id, count_scheduled=count_scheduled):
                targets.append(replace(target, status=FAILED, error=DUPLICATE_ERROR))
            elif schedule:
                targets.append(replace(target, status=SCHEDULED))
            elif target.platform in ASYNC_PLATFORMS:
                targets.append(replace(target, status=PROCESSING, processing_since=at))
            else:
                targets.append(self._live(post, target))
        went_live = not schedule and any(t.status in LIVE for t in targets)
        return replace(
            post,
            targets=tuple(targets),
            held=SCHEDULED if schedule else None,
            published_at=at if went_live else post.published_at,
        )

    def _live(self, post: Post, target: Target) -> Target:
        url = permalink(target.platform, target.username, post.id, target.account_id)
        return replace(target, status=PUBLISHED, url=url, processing_since=None)

    def _is_duplicate(self, post: Post, account_id: int, *, count_scheduled: bool) -> bool:
        """Platforms refuse the same caption and media twice on one account. A schedule that is
        firing only yields to live posts, or two identical schedules would block each other."""
        blocking = (*LIVE, SCHEDULED) if count_scheduled else LIVE
        return any(
            other.id != post.id
            and not other.discarded
            and other.content == post.content
            and other.media_urls == post.media_urls
            and any(t.account_id == account_id and t.status in blocking for t in other.targets)
            for other in self.store
        )

    # --- time passing ---------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Fire due schedules and settle processing posts whose delay has passed. Called on
        every request, so the log is current whenever anyone looks."""
        for post in list(self.store):
            if post.discarded:
                continue
            updated = post
            when = post.scheduled_for
            if post.status == SCHEDULED and when is not None and when <= now:
                updated = self._send(post, when, schedule=False, count_scheduled=False)
            updated = self._settle(updated, now, force=False)
            if updated != post:
                self.store.save(updated)

    def _settle(self, post: Post, now: float, *, force: bool) -> Post:
        delay = self.config.processing_seconds
        targets = tuple(
            self._live(post, t)
            if t.status == PROCESSING and (force or (t.processing_since or 0.0) + delay <= now)
            else t
            for t in post.targets
        )
        return replace(post, targets=targets)

    # --- post management ------------------------------------------------------------------

    def publish_now(self, post: Post, now: float) -> Post:
        """POST /social/posts/{id}/publish: guarded by state, so a second call is a 400."""
        if not post.is_editable:
            raise ApiError(400, NOT_PUBLISHABLE)
        post = self._send(post, now, schedule=False, count_scheduled=True)
        self.store.save(post)
        return post

    def patch(self, post: Post, body: Mapping[str, object], now: float) -> Post:
        """PATCH /social/posts/{id}: only the fields sent change; the post keeps its id."""
        if not post.is_editable:
            raise ApiError(400, NOT_EDITABLE)
        text = content(body["content"]) if "content" in body else post.content
        media_urls = post.media_urls
        if "media_url" in body or "media_urls" in body:
            media_urls = media(body.get("media_url"), body.get("media_urls"))
        if "accounts" in body:
            accounts = resolve_accounts(account_ids(body["accounts"]), self.config)
        else:
            accounts = resolve_accounts([t.account_id for t in post.targets], self.config)
        held = post.held
        if "status" in body:
            if body["status"] not in (DRAFT, SCHEDULED):
                raise ApiError(400, "status must be 'draft' or 'scheduled'")
            held = str(body["status"])
        scheduled_for = post.scheduled_for
        if "scheduled_for" in body:
            raw = body["scheduled_for"]
            scheduled_for = (
                None
                if raw is None
                else timestamp(raw, post.timezone, now, field_name="scheduled_for")
            )
        if held == SCHEDULED and scheduled_for is None:
            raise ApiError(400, "scheduled_for is required for a scheduled post")
        updated = replace(
            post,
            content=text,
            media_urls=media_urls,
            targets=self._targets(accounts, media_urls, held),
            held=held,
            scheduled_for=scheduled_for,
        )
        if held == SCHEDULED:
            # Scheduling by PATCH is checked like scheduling by publish: no hidden difference.
            updated = self._send(updated, now, schedule=True, count_scheduled=True)
        self.store.save(updated)
        return updated

    def discard(self, post: Post) -> None:
        """DELETE /social/posts/{id}: only what never went live anywhere."""
        if not post.is_discardable:
            raise ApiError(
                400,
                "This post has already been published to at least one account",
                {"message": "A post that is live on a platform cannot be discarded."},
            )
        self.store.save(replace(post, discarded=True))

    def sync(self, post: Post, now: float) -> tuple[Post, bool]:
        """POST /social/posts/{id}/sync: ask the platforms; processing posts settle now."""
        updated = self._settle(post, now, force=True)
        if updated == post:
            return post, False
        self.store.save(updated)
        return updated, True
