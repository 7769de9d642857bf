"""apply, for what Orshot would refuse or has refused: a schedule its own waits brought too
close is failed before it is sent, and a definite 4xx to scheduling a draft is read back and recorded as an answer, not an unknown
(DESIGN.md, "Failures: permanent or transient"). Recording failures is recorder.py's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from orshot_gitops.orshot.client import ApiError
from orshot_gitops.reconcile.failures import (
    PERMANENT,
    SCHEDULE_HINT,
    failed_fields,
    refused_before_sending,
    schedule_too_soon,
)
from orshot_gitops.reconcile.plan import Action, Kind
from orshot_gitops.reconcile.recorder import Recorder
from orshot_gitops.reconcile.settle import as_sent
from orshot_gitops.state.model import AccountStatus, Step


class FailedSteps(Recorder):
    """The part of `Applier` that refuses, before sending, what Orshot would refuse, and
    records a schedule Orshot refused."""

    if TYPE_CHECKING:  # provided by Applier
        unrecorded: bool

    def _too_soon(self, actions: Sequence[Action]) -> bool:
        """A schedule this run's own waits brought too close is failed here, not sent: Orshot
        would refuse it, and the same request would be refused on every later run."""
        why = schedule_too_soon(actions[0].scheduled_for, self.now())
        if why is None:
            return False
        for action in actions:
            fields = failed_fields(PERMANENT, self._attempts(action), self.now())
            self._record(action, status=AccountStatus.FAILED, step=Step.DRAFT, error=why, **fields)
            self._outcome(action, "failed", error=why)
        self.save()
        return True

    def _schedule_refused(self, actions: Sequence[Action], post_id: int, error: ApiError) -> None:
        """A definite 4xx to scheduling our draft: an answer, not an unknown. Read the post
        back: a draft still is one and nothing went out (failed, with Orshot's message); a
        post that is no longer a draft is recorded as Orshot shows it."""
        try:
            post = self.client.get_post(post_id)
        except ApiError:
            self._failed(actions, error, Step.SCHEDULE, held=True)
            return
        if post.status != "draft":
            self._results(as_sent(actions, post), post.accounts, post_id)
            return
        message = f"{error.server_message or error.message} ({SCHEDULE_HINT})"
        for action in actions:
            fields = failed_fields(PERMANENT, self._attempts(action), self.now())
            self._record(
                action, status=AccountStatus.FAILED, step=Step.DRAFT, error=message, **fields
            )
            self._outcome(action, "failed", error=message, orshot_post_id=post_id)
        self.save()

    def _sendable_now(self, actions: list[Action]) -> list[Action]:
        """The actions that may go on to their claim check and request. The others are what
        the runner did not mark as intents (failures.refused_before_sending), decided again
        here with the run's clock: a schedule already too close for Orshot to take."""
        ready: list[Action] = []
        too_soon: list[Action] = []
        for action in actions:
            (too_soon if refused_before_sending(action, self.now()) else ready).append(action)
        held = [a for a in too_soon if a.kind in (Kind.EDIT, Kind.PUBLISH_DRAFT)]
        if held:
            why = schedule_too_soon(held[0].scheduled_for, self.now())
            record = self.state.account(held[0].post_id, held[0].account)
            self._held_too_soon(held, why or "", record.post_id if record else None)
        fresh = [a for a in too_soon if a.kind not in (Kind.EDIT, Kind.PUBLISH_DRAFT)]
        if fresh:
            self._too_soon(fresh)
        return ready

    def _held_too_soon(self, actions: Sequence[Action], why: str, post_id: int | None) -> None:
        """An edit of a post Orshot holds, to a schedule too close: Orshot would refuse it
        (400) and keep the post as it is, so nothing is sent and the record stays what Orshot
        holds. No record changed, so the reconciled commit must not move past this edit: the
        next run's diff would not see it, and the edit would be lost."""
        self._unmark(actions)
        for action in actions:
            self._outcome(action, "failed", error=why, orshot_post_id=post_id)
        self.unrecorded = True
