"""apply, for posts Orshot still holds: edit in place, or move accounts to a post of their own.

Which accounts move is decided by `held.split_held` (the plan shows the same). A move is, in
this order, each step recorded before its request:

1. intent: the account is `pending` on a new draft, `replaces` names the held post it leaves;
2. the new draft (invisible: it can never fire);
3. its id recorded (crash point `before-retire`);
4. the account taken off the held post: PATCH `accounts` to exactly the accounts the state
   says stay on it, or DELETE when none stay (crash point `after-retire`);
5. `replaces` cleared; then phase two makes the new draft public or schedules it.

So at every crash point the account is on at most one post that can fire (the held one until
step 4, then none until phase two) and the record names it: `replaces` until step 5, its
`post_id` after. Step 4 is idempotent (the same target set, or a DELETE whose 404 is done), so
a run that dies around it repeats it. If the held post fired before step 4, that is what the
account got: recorded from Orshot's answer, and the new draft is discarded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from orshot_gitops.content.compile import fingerprint
from orshot_gitops.crashpoints import crash_point
from orshot_gitops.orshot.client import ApiError, NotFound, Post
from orshot_gitops.reconcile.failures import schedule_too_soon
from orshot_gitops.reconcile.held import payload_key, split_held
from orshot_gitops.reconcile.plan import Action, Kind, group_key
from orshot_gitops.reconcile.recorder import Recorder
from orshot_gitops.state.model import AccountStatus, Step


class HeldPosts(Recorder):
    """The part of `Applier` that edits, splits and replaces posts Orshot holds."""

    if TYPE_CHECKING:  # provided by Applier

        def _held_too_soon(
            self, actions: Sequence[Action], why: str, post_id: int | None
        ) -> None: ...

        def _media(self, actions: Sequence[Action]) -> tuple[str, ...] | None: ...
        def _create(self, actions: list[Action], replaces: int | None = None) -> None: ...
        def _second_phase(self, actions: Sequence[Action], post_id: int) -> None: ...
        def _check_stop(self) -> None: ...
        def _still_claimed(
            self,
            actions: Sequence[Action],
            *,
            shared: int | None = None,
            before_publish: bool = False,
        ) -> list[Action]: ...

    def _edit(self, actions: list[Action]) -> None:
        """Bring a held post to what the file says: accounts whose payload a PATCH can give
        them stay on it; the others move to a post of their own, first."""
        post_id = actions[0].orshot_post_id
        assert post_id is not None
        if len(self._still_claimed(actions, shared=post_id)) < len(actions):
            return  # another run took over (this one was slow or frozen): send nothing
        editing = {(a.post_id, a.account) for a in actions}
        residents = self._on_post(post_id, leaving=editing)
        records = {a.account: self.state.account(a.post_id, a.account) for a in actions}
        split = split_held(actions, records, len(residents))
        for move in split.moves:
            self._check_stop()
            moved = [
                replace(
                    a,
                    kind=Kind.CREATE,
                    orshot_post_id=None,
                    group=group_key(a.post_id, "moved-from", post_id, payload_key(a)),
                )
                for a in move
            ]
            self.progress(
                f"moving    {move[0].post_id} → {', '.join(a.account for a in move)} "
                f"off Orshot post {post_id}: a post of its own"
            )
            self._create(moved, replaces=post_id)
        if split.keep:
            self._check_stop()
            self._patch_in_place(list(split.keep), post_id, residents)

    def _on_post(self, post_id: int, leaving: set[tuple[str, str]]) -> list[int]:
        """Account ids the state says the held post keeps, besides `leaving`. A failed account
        is not kept: its retry makes a post of its own, so the held one must not hold it."""
        return sorted(
            record.account_id
            for pid, key, record in self.state.entries_of(pid for pid, _ in leaving)
            if record.post_id == post_id
            and (pid, key) not in leaving
            and record.status is not AccountStatus.FAILED
        )

    def _patch_in_place(self, keep: list[Action], post_id: int, residents: list[int]) -> None:
        media = self._media(keep)
        if media is None:
            return
        first = keep[0]
        fields: dict[str, Any] = {
            "content": first.content,
            "media_urls": list(media),
            # PATCH replaces the target set: name every account that stays, never a subset
            # by accident (the residents' records say the post holds them).
            "accounts": sorted({*residents, *(a.account_id for a in keep)}),
        }
        if first.mode == "draft":
            fields["status"] = "draft"
        elif first.mode == "schedule":
            fields.update(status="scheduled", scheduled_for=first.scheduled_for)
            why = schedule_too_soon(first.scheduled_for, self.now())
            if why is not None:  # this run's own waits brought it too close
                self._held_too_soon(keep, why, post_id)
                return
        self._intent(keep, Step.PATCH, post_id=post_id)
        self.progress(f"editing   {first.post_id} (Orshot post {post_id})")
        try:
            post = self.client.update_post(post_id, **fields)
        except NotFound as error:
            self._failed(
                keep, error, Step.DRAFT, draft_gone=True
            )  # discarded meanwhile: nothing is held
            return
        except ApiError as error:
            self._failed(keep, error, Step.PATCH, held=True)
            return
        if first.mode == "publish":
            self._second_phase(keep, post_id)
        else:
            # Each account from its own answer: one whose token expired is failed there.
            self._results(keep, post.accounts, post.id)

    # --- moving accounts off a held post ---------------------------------------------------

    def _retire(self, actions: Sequence[Action], new_id: int | None) -> bool:
        """Take accounts that moved to `new_id` off the held post they leave (step 4).

        True when nothing stops phase two of the new post; False when it must not go on (the
        old post fired first, or the outcome is unknown: recorded either way)."""
        records = [(a, self.state.account(a.post_id, a.account)) for a in actions]
        old_ids = sorted({r.replaces for _, r in records if r is not None and r.replaces})
        for old in old_ids:
            movers = [a for a, r in records if r is not None and r.replaces == old]
            staying = self._on_post(old, leaving={(a.post_id, a.account) for a in movers})
            crash_point("before-retire")
            self.progress(
                f"retiring  {movers[0].post_id} → {', '.join(a.account for a in movers)} "
                f"from Orshot post {old}"
            )
            try:
                if staying:
                    answer = self.client.update_post(old, accounts=staying)
                    self._note_staying(answer, leaving={(a.post_id, a.account) for a in movers})
                else:
                    self.client.discard_post(old)
            except NotFound:
                pass  # gone already (discarded by us before, or in the dashboard)
            except ApiError as error:
                if not self._retire_refused(movers, old, new_id, error):
                    return False
                continue
            crash_point("after-retire")
            for action in movers:
                self._record(action, replaces=None)
            self.save()
        return True

    def _note_staying(self, post: Post, leaving: set[tuple[str, str]]) -> None:
        """A PATCH of the target set answers for every account that stays on the post, and
        Orshot checks them again: record a failure it reports there (a token that expired
        since), as every other answer is recorded, account by account."""
        answers = {a.account_id: a for a in post.accounts if a.account_id is not None}
        for post_id, key, record in list(self.state.entries_of(pid for pid, _ in leaving)):
            if (
                record.post_id != post.id
                or (post_id, key) in leaving
                or record.status not in (AccountStatus.SCHEDULED, AccountStatus.DRAFTED)
            ):
                continue
            answer = answers.get(record.account_id)
            if answer is None or answer.status != "failed":
                continue
            failed = replace(
                record,
                status=AccountStatus.FAILED,
                step=Step.DRAFT,
                error=answer.error,
                action=answer.action,
            )
            self.state = self.state.with_account(post_id, key, failed)
            item = Action(
                post_id=post_id,
                path=self.state.posts[post_id].path,
                account=key,
                account_id=record.account_id,
                platform=answer.platform,
                kind=Kind.EDIT,
                reason="stays on the held post",
            )
            self._outcome(item, "failed", error=answer.error, action=answer.action)
        self.save()

    def _retire_refused(
        self, movers: Sequence[Action], old: int, new_id: int | None, error: ApiError
    ) -> bool:
        """The held post would not let go: read it to know why."""
        try:
            post = self.client.get_post(old)
        except NotFound:
            for action in movers:
                self._record(action, replaces=None)
            self.save()
            return True
        except ApiError:
            self._failed(movers, error, Step.DRAFT, held=True)  # settled by id next run
            return False
        if post.status in ("draft", "scheduled"):
            self._failed(movers, error, Step.DRAFT, held=True)
            return False
        self._fired_first(movers, post, new_id)
        return False

    def _fired_first(self, movers: Sequence[Action], post: Post, new_id: int | None) -> None:
        """The held post went out before these accounts were taken off it: they got what it
        held. Record that (its fingerprint is not the file's: the plan flags the change), and
        discard the new draft, which never went anywhere."""
        if new_id is not None:
            with contextlib.suppress(ApiError):
                self.client.discard_post(new_id)
        held = fingerprint({"orshot_post": post.id, "content": post.content})
        for action in movers:
            # The copy of what went out: the record's from before this run, if it is what the
            # post held; else not known (the new draft's copy never went anywhere).
            before = self.unmarked.account(action.post_id, action.account)
            copy = before.sent if before is not None else None
            if copy is not None and (copy.caption, copy.media) != (
                post.content,
                tuple(post.media_urls),
            ):
                copy = None
            self._record(action, replaces=None, fingerprint=held, post_id=post.id, sent=copy)
        self._results([replace(a, fingerprint=None) for a in movers], post.accounts, post.id)

    def _finish_moves(self, actions: list[Action]) -> None:
        """Records whose result is final but whose move off a held post never finished."""
        by_post: dict[int | None, list[Action]] = {}
        for action in actions:
            record = self.state.account(action.post_id, action.account)
            if record is not None:
                # No post id: its new draft failed. It still leaves the held post, whose
                # caption is not the file's; its retry makes a post of its own.
                by_post.setdefault(record.post_id, []).append(action)
        for new_id, group in sorted(by_post.items(), key=repr):
            if self._retire(group, new_id):
                for action in group:
                    record = self.state.account(action.post_id, action.account)
                    status = record.status.value if record else "unknown"
                    self._outcome(action, status, orshot_post_id=new_id)
