"""apply, for what Orshot would refuse or has refused: a schedule its own waits brought too
close is failed before it is sent, a retry waiting for its account's reconnect is skipped, and
a definite 4xx to scheduling a draft is read back and recorded as an answer, not an unknown
(DESIGN.md, "Failures: permanent or transient"). Recording failures is recorder.py's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from orshot_gitops.orshot.client import ApiError
from orshot_gitops.reconcile.failures import (
    PERMANENT,
    SCHEDULE_HINT,
    failed_fields,
    schedule_too_soon,
    waits_for_reconnect,
)
from orshot_gitops.reconcile.plan import Action
from orshot_gitops.reconcile.recorder import Recorder
from orshot_gitops.reconcile.settle import as_sent
from orshot_gitops.state.model import AccountStatus, Step


class FailedSteps(Recorder):
    """The part of `Applier` that refuses, before sending, what Orshot would refuse, and
    records a schedule Orshot refused."""

    if TYPE_CHECKING:  # provided by Applier
        needs_reconnect: frozenset[int]

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

    def _healthy(self, actions: list[Action]) -> list[Action]:
        """The retries that may be sent: a (post, account) that failed for a reconnect and has
        not changed waits while Orshot still reports the account as needing one."""
        ready = []
        for action in actions:
            record = self.state.account(action.post_id, action.account)
            waits = waits_for_reconnect(action, record, self.needs_reconnect)
            if waits:
                self._outcome(
                    action,
                    "skipped",
                    error="Orshot still reports the account as needing a reconnect: not sent "
                    "(reconnect it in Orshot's dashboard, Social Accounts)",
                )
            else:
                ready.append(action)
        return ready
