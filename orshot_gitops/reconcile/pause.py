"""The emergency stop: `paused: true` in orshot.yaml.

A pause that only stopped new sends would let every post Orshot already holds as scheduled
go out on its time, the very posts one usually wants stopped. So a paused plan lists each
held scheduled (post, account) that has not fired, and `apply` moves it back to a draft in
Orshot (PATCH `status: draft`, recorded `drafted`). The draft keeps its content; lifting the
pause is a change to orshot.yaml, so every post is compared again and such a draft, whose
file still says `schedule`, is scheduled again (the ordinary "schedule the existing draft"
rule), or reported past its time. Nothing else is sent while paused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from orshot_gitops.orshot.client import ApiError
from orshot_gitops.reconcile.plan import Action, Kind
from orshot_gitops.reconcile.recorder import Recorder
from orshot_gitops.state.model import AccountStatus, State, Step


def pause_actions(state: State, now: datetime) -> list[Action]:
    """One action per held scheduled (post, account) whose time has not come: back to a draft.

    A pause whose answer was lost (pending or unknown, its PATCH recorded with the schedule
    it took back) is sent again rather than left to a settle that waits for the pause to be
    lifted: Orshot may still hold the post scheduled, and it would fire during the pause. A
    PATCH of the status alone is safe to repeat; one refused (it fired) is read back."""
    actions = []
    for post_id, key, record in state.entries():
        in_flight = (
            record.status in (AccountStatus.PENDING, AccountStatus.UNKNOWN)
            and record.step is Step.PATCH
            and record.paused_schedule is not None
        )
        if not (record.status is AccountStatus.SCHEDULED or in_flight) or record.post_id is None:
            continue
        schedule = record.paused_schedule if in_flight else record.scheduled_for
        if schedule is None or datetime.fromisoformat(schedule) <= now:
            continue  # fired (or firing): nothing can stop it now; the read-back records it
        when = datetime.fromisoformat(schedule).strftime("%Y-%m-%d %H:%M UTC")
        actions.append(
            Action(
                post_id=post_id,
                path=state.posts[post_id].path,
                account=key,
                account_id=record.account_id,
                platform="",
                kind=Kind.PAUSE,
                reason=f"paused: scheduled for {when}, it would still go out; apply moves it "
                "back to a draft in Orshot (scheduled again when the pause is lifted)",
                mode="draft",
                severity="warning",
                fingerprint=record.fingerprint,
                revision=record.revision,
                group=f"{post_id}#orshot-{record.post_id}",
                scheduled_for=schedule,
                orshot_post_id=record.post_id,
            )
        )
    return actions


class PauseSteps(Recorder):
    """The part of `Applier` that carries out a pause. Recording is recorder.py's."""

    if TYPE_CHECKING:  # provided by Applier

        def _read_back(self, actions: Sequence[Action], post_id: int, step: Step) -> None: ...
        def _still_claimed(
            self,
            actions: Sequence[Action],
            *,
            shared: int | None = None,
            before_publish: bool = False,
        ) -> list[Action]: ...

    def _pause(self, actions: list[Action]) -> None:
        """PATCH the held post back to a draft: only its status changes."""
        post_id = actions[0].orshot_post_id
        assert post_id is not None
        if len(self._still_claimed(actions, shared=post_id)) < len(actions):
            return
        # A pause changes only the status: drift found in Orshot is still there after it, and
        # must still stop the file's version being sent over it when the pause is lifted; a
        # run killed after the intent must not forget it either.
        self._intent(
            actions,
            Step.PATCH,
            keep_drift=True,
            post_id=post_id,
            paused_schedule=actions[0].scheduled_for,
        )
        self.progress(f"pausing   {actions[0].post_id} (Orshot post {post_id}): back to a draft")
        try:
            post = self.client.update_post(post_id, status="draft")
        except ApiError:
            # Refused (it fired meanwhile, or was discarded) or the answer was lost: only
            # Orshot can say where it stands now. Read it back; never guess.
            self._read_back(actions, post_id, Step.PATCH)
        else:
            self._results(actions, post.accounts, post.id)
        for action in actions:
            record = self.state.account(action.post_id, action.account)
            if record is not None and record.status is not AccountStatus.DRAFTED:
                # Not held as a draft after all (it fired first): there is no pause to lift.
                self.state = self.state.with_account(
                    action.post_id, action.account, replace(record, paused_schedule=None)
                )
        self.save()
