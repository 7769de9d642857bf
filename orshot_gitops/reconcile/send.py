"""apply: execute a plan against Orshot, two-phase and write-ahead, recording every step.

Why it never posts twice (DESIGN.md, "The reconciler's rules"):
- Phase one creates the post as an invisible draft; phase two publishes it *by id*, which
  Orshot guards (a second publish answers 400). Only phase two makes anything public.
- Each step is written to the state file as `pending` before its request and with its result
  right after (atomic writes). A crash leaves a record, never a silent gap.
- A pending or unknown step is settled before anything else (settle.py): by reading the post
  by its id, or by finding the orphan draft in the Posts Log.
- Each intent carries this run's id (its claim); before a create and before each publish the
  run asks whether another run took the (post, account) over, and if so stands down and
  reports it (claims.py). Posts Orshot already holds are edited, split or replaced by
  send_held.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from orshot_gitops.content.compile import fingerprint
from orshot_gitops.crashpoints import crash_point
from orshot_gitops.orshot.client import (
    ApiError,
    BadRequest,
    NotFound,
    OrshotClient,
    PublishRequest,
)
from orshot_gitops.reconcile.claims import ClaimChecks, Claims
from orshot_gitops.reconcile.pause import PauseSteps
from orshot_gitops.reconcile.plan import Action, Kind, Plan
from orshot_gitops.reconcile.recorder import Outcome, Progress, Recorder, Stop
from orshot_gitops.reconcile.rendering import Renders
from orshot_gitops.reconcile.send_failed import FailedSteps
from orshot_gitops.reconcile.send_held import HeldPosts
from orshot_gitops.reconcile.settle import SettleSteps, as_sent
from orshot_gitops.state.model import (
    AccountStatus,
    State,
    Step,
    sent_digest,
)
from orshot_gitops.state.previews import Preview


class Applier(FailedSteps, HeldPosts, SettleSteps, ClaimChecks, PauseSteps, Renders, Recorder):
    """Runs one plan. `save(state)` persists every change (atomic write; in CI also a commit)."""

    def __init__(
        self,
        client: OrshotClient | Any,  # None for a plan of renames alone
        plan: Plan,
        state: State,
        save: Callable[[State], State],
        now: Callable[[], datetime],
        *,
        progress: Progress = lambda message: None,
        should_stop: Callable[[], bool] = lambda: False,
        settle_after: timedelta = timedelta(minutes=15),
        claims: Claims | None = None,
        unmarked: State | None = None,
        previews: Mapping[str, Preview] | None = None,
    ) -> None:
        self.client = client
        # The renders reviewed in pull requests (state/previews.py), by render fingerprint.
        self.previews = dict(previews or {})
        self.unmarked = state if unmarked is None else unmarked
        # An edit refused before it was sent, with no record to keep it in the next plan.
        self.unrecorded = False
        self.claims = claims
        self.run_id = claims.run_id if claims is not None else None
        self._drafted_here: set[int] = set()  # drafts this run created (may discard its own)
        self.plan = plan
        self.state = state
        self._save = save
        self.now = now
        self.progress = progress
        self.should_stop = should_stop
        self.settle_after = settle_after
        self.outcomes: list[Outcome] = []
        self.total = sum(1 for a in plan.actions if a.kind.sends or a.kind is Kind.RENAME)

    # --- the run --------------------------------------------------------------------------

    def run(self) -> list[Outcome]:
        actions = list(self.plan.actions)
        order = [
            (Kind.RENAME,),
            (Kind.SETTLE, Kind.SYNC),
            (Kind.DISCARD,),
            (Kind.PAUSE,),
            (Kind.EDIT, Kind.PUBLISH_DRAFT),
            (Kind.CREATE, Kind.RETRY),
        ]
        try:
            for kinds in order:
                batch = [a for a in actions if a.kind in kinds]
                for group in _groups(batch):
                    self._check_stop()
                    self._run_group(group)
            self._settle_own_lost_answers()
        except Stop as stop:
            done = {(o.post_id, o.account) for o in self.outcomes}
            for action in actions:
                if action.kind.sends and (action.post_id, action.account) not in done:
                    self._outcome(
                        action, "skipped", error=str(stop) or "stopped before it was sent"
                    )
        return self.outcomes

    def _check_stop(self) -> None:
        if self.should_stop():
            raise Stop("the run was interrupted: not sent")

    def _run_group(self, group: list[Action]) -> None:
        kind = group[0].kind
        if kind is Kind.RENAME:
            for action in group:
                self._rename(action)
        elif kind is Kind.SETTLE:
            self._settle(group)
        elif kind is Kind.SYNC:
            self._sync(group)
        elif kind is Kind.DISCARD:
            self._discard(group)
        elif kind is Kind.PAUSE:
            self._pause(group)
        elif kind in (Kind.EDIT, Kind.PUBLISH_DRAFT):
            group = self._sendable_now(group)
            if group:
                self._edit(group)
        else:
            group = self._sendable_now(group)
            if group:
                self._create(group)

    # --- steps ----------------------------------------------------------------------------

    def _rename(self, action: Action) -> None:
        old = action.previous_post_id
        if old is not None and old in self.state.posts:
            moved = replace(self.state.posts[old], path=action.path)
            self.state = self.state.without_post(old).with_post(action.post_id, moved)
            self.save()
        elif action.post_id not in self.state.posts:
            return
        # One outcome per account, though the first account's action moved the whole post.
        self._outcome(action, "renamed", orshot_post_id=action.orshot_post_id)

    def _media(self, actions: Sequence[Action]) -> tuple[str, ...] | None:
        """The post's media; for a render, its recorded outputs, rendering once if needed."""
        first = actions[0]
        if not first.render:
            return first.media_urls
        render_fp = fingerprint(dict(first.render))
        recorded = self._recorded_render(first, render_fp)
        if recorded is not None and recorded.done:
            return recorded.media_urls
        previewed = self._previewed(actions, render_fp)  # rendering.py: reviewed, no credit
        if previewed is not None:
            return previewed
        return self._render(actions, render_fp)  # rendering.py: once, or the recorded job

    def _recorded_media(self, actions: Sequence[Action]) -> tuple[str, ...] | None:
        """The media a draft of these actions was made with, if known without rendering."""
        first = actions[0]
        if not first.render:
            return tuple(first.media_urls)
        post = self.state.posts.get(first.post_id)
        if post is None or post.render is None:
            return None
        if post.render.fingerprint != fingerprint(dict(first.render)) or not post.render.done:
            return None
        return tuple(post.render.media_urls)

    def _create(self, actions: list[Action], replaces: int | None = None) -> None:
        """A new draft, then phase two. `replaces`: the held post these accounts move off
        (apply_held.py); a retried create keeps the recorded one."""
        actions = self._still_claimed(actions)
        if not actions:
            return
        first = actions[0]
        if first.mode == "schedule" and self._too_soon(actions):
            return  # before any draft: nothing is left behind in Orshot
        media = self._media(actions)
        if media is None:
            return
        moving: dict[str, Any] = {"replaces": replaces} if replaces else {}
        digest = sent_digest(first.content, media)
        self._intent(actions, Step.DRAFT, sent_digest=digest, media=media, **moving)
        request = PublishRequest(
            accounts=tuple(a.account_id for a in actions),
            content=first.content,
            media_url=media[0] if len(media) == 1 else None,
            media_urls=tuple(media) if len(media) > 1 else None,
            is_draft=True,
            timezone=first.timezone,
            # A TikTok account's options are TikTok's settings: the request's tiktokSettings
            # (validate gives every TikTok account of a post the same ones).
            platform_options={
                a.account_id: dict(a.platform_options)
                for a in actions
                if a.platform_options and a.platform != "tiktok"
            }
            or None,
            tiktok_settings=next(
                (dict(a.platform_options) for a in actions if a.platform == "tiktok"), None
            ),
        )
        self.progress(f"drafting  {first.post_id} → {', '.join(a.account for a in actions)}")
        try:
            # A draft is invisible: a duplicate from a retried 5xx is found and adopted later.
            result = self.client.publish(request, retry_server_errors=True)
        except ApiError as error:
            self._failed(actions, error, Step.DRAFT)
            return
        crash_point("after-draft")
        self._drafted_here.add(result.post_id)
        if any(self._moving(a) for a in actions):
            # The new draft's id on disk before the held post lets go of these accounts, and
            # the claim re-checked: taking an account off a shared post acts for the group.
            for action in actions:
                self._record(action, post_id=result.post_id)
            self.save()
            if len(self._still_claimed(actions, shared=result.post_id)) < len(actions):
                return
            if not self._retire(actions, result.post_id):
                return
        if first.mode == "draft":
            # No publish follows to re-check before: check now, or a draft that landed after
            # another run took over would be a second draft, recorded over that run's.
            if len(self._still_claimed(actions, shared=result.post_id)) < len(actions):
                return
            self._results(actions, result.platforms, result.post_id)
            return
        drafted = []
        for action in actions:
            match = next((r for r in result.platforms if r.account_id == action.account_id), None)
            if match is not None and match.status not in ("drafted", "draft"):
                self._apply_result(action, match, result.post_id)
            else:
                drafted.append(action)
        if drafted:
            # The draft's id on disk first: from here on a crash is settled by reading the
            # post by id, not by searching the Posts Log for it.
            for action in drafted:
                self._record(action, post_id=result.post_id)
            self.save()
            self._second_phase(drafted, result.post_id)
        else:
            self.save()

    def _second_phase(self, actions: Sequence[Action], post_id: int) -> None:
        """Make the draft public by id (guarded by Orshot), or schedule it with PATCH."""
        first = actions[0]
        # A settled draft of accounts still moving off a held post: that post lets go first,
        # or they would be on two posts that both go out.
        if not self._retire(actions, post_id):
            return
        crash_point("between-phases")
        self._check_stop_recorded(actions, post_id)
        if len(self._still_claimed(actions, shared=post_id)) < len(actions):
            return
        if first.mode == "schedule":
            if self._too_soon(actions):
                return
            self._intent(actions, Step.SCHEDULE, post_id=post_id)
            try:
                post = self.client.update_post(
                    post_id,
                    status="scheduled",
                    scheduled_for=first.scheduled_for,
                    accounts=[a.account_id for a in actions],
                )
            except NotFound as error:
                self._failed(
                    actions, error, Step.DRAFT, draft_gone=True
                )  # the draft is gone: nothing is held
                return
            except BadRequest as error:
                if error.after_uncertain_attempt:
                    self._failed(actions, error, Step.SCHEDULE, held=True)
                else:
                    self._schedule_refused(actions, post_id, error)
                return
            except ApiError as error:
                self._failed(actions, error, Step.SCHEDULE, held=True)
                return
            # Each account from its own answer: the post is "scheduled" as a whole even when
            # one account's token expired and Orshot failed it.
            self._results(actions, post.accounts, post_id)
            return
        self._intent(actions, Step.PUBLISH, post_id=post_id)
        self.progress(f"publishing {first.post_id} → {', '.join(a.account for a in actions)}")
        try:
            result = self.client.publish_post(post_id)
        except BadRequest as error:
            if "only draft or scheduled" in error.message.lower():
                # The guard: it went out already (a dead run's publish landed after our read).
                self._read_back(actions, post_id, Step.PUBLISH)
            else:
                self._failed(actions, error, Step.PUBLISH, held=True)
            return
        except NotFound as error:
            self._failed(
                actions, error, Step.DRAFT, draft_gone=True
            )  # the draft is gone: nothing went out
            return
        except ApiError as error:
            # Publishing by id is guarded: the next run reads the post and settles it.
            self._failed(actions, error, Step.PUBLISH, held=True)
            return
        crash_point("after-publish")
        self._results(actions, result.platforms, post_id)

    def _read_back(self, actions: Sequence[Action], post_id: int, step: Step) -> None:
        try:
            post = self.client.get_post(post_id)
        except ApiError as error:
            self._failed(actions, error, step, held=True)
            return
        self._results(as_sent(actions, post), post.accounts, post_id)

    def _moving(self, action: Action) -> bool:
        record = self.state.account(action.post_id, action.account)
        return record is not None and record.replaces is not None

    def _check_stop_recorded(self, actions: Sequence[Action], post_id: int) -> None:
        if self.should_stop():
            for action in actions:
                self._record(action, status=AccountStatus.DRAFTED, step=None, post_id=post_id)
            self.save()
            raise Stop("the run was interrupted between the draft and its publication")

    def _discard(self, actions: list[Action]) -> None:
        post_id = actions[0].orshot_post_id
        assert post_id is not None
        if len(self._still_claimed(actions, shared=post_id)) < len(actions):
            return
        leaving = {(a.post_id, a.account) for a in actions}
        # Accounts that keep this Orshot post (the others of its group): take ours off it
        # with PATCH instead of discarding it for everyone. PATCH replaces the target set, so
        # every account the state says the post keeps is named, edits that `--push` marked
        # pending included: one left out would be dropped.
        staying = self._on_post(post_id, leaving)
        self._intent(actions, Step.DISCARD, post_id=post_id)
        try:
            if staying:
                answer = self.client.update_post(post_id, accounts=staying)
                self._note_staying(answer, leaving)
            else:
                self.client.discard_post(post_id)
        except NotFound:
            pass  # already gone: the outcome we wanted
        except ApiError as error:
            self._failed(actions, error, Step.DISCARD)
            return
        for action in actions:
            self.state = self.state.without_account(action.post_id, action.account)
            self._outcome(action, "discarded", orshot_post_id=post_id)
        post = self.state.posts.get(actions[0].post_id)
        if post is not None and not post.accounts:
            self.state = self.state.without_post(actions[0].post_id)
        self.save()

    def _sync(self, actions: list[Action]) -> None:
        post_id = actions[0].orshot_post_id
        assert post_id is not None
        try:
            result = self.client.sync_post(post_id)
        except ApiError as error:
            for action in actions:
                self._outcome(
                    action,
                    "processing",
                    error=f"sync failed: {error.message}",
                    orshot_post_id=post_id,
                )
            return
        self._results([replace(a, fingerprint=None) for a in actions], result.platforms, post_id)


def _groups(actions: list[Action]) -> list[list[Action]]:
    grouped: dict[str, list[Action]] = defaultdict(list)
    for action in actions:
        grouped[action.group or f"{action.post_id}/{action.account}"].append(action)
    return [grouped[key] for key in sorted(grouped)]
