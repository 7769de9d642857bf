"""apply, for requests that did not succeed: record each as failed (permanent or transient,
reconcile/failures.py) or, when it may have been done, as unknown.

A definite answer is never recorded as unknown (DESIGN.md, "Failures: permanent or
transient"), except where the request acted on a post Orshot already holds: then only reading
that post by id can say what it did.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from orshot_gitops.orshot.client import ApiError, AuthError, PaidPlanRequired, UnknownOutcome
from orshot_gitops.reconcile.failures import (
    PERMANENT,
    SCHEDULE_HINT,
    TRANSIENT,
    classify_error,
    failed_fields,
    schedule_too_soon,
    waits_for_reconnect,
)
from orshot_gitops.reconcile.plan import Action
from orshot_gitops.reconcile.settle import as_sent
from orshot_gitops.state.model import AccountState, AccountStatus, State, Step

if TYPE_CHECKING:
    from collections.abc import Callable

    from orshot_gitops.orshot.client import AccountResult, OrshotClient

_FATAL = (AuthError, PaidPlanRequired)


class Stop(Exception):
    """Raised between steps when a signal asked the run to stop, or a fatal API error ended it."""


class FailedSteps:
    """The part of `Applier` that records what did not succeed."""

    if TYPE_CHECKING:  # provided by Applier
        client: OrshotClient
        state: State
        now: Callable[[], datetime]
        needs_reconnect: frozenset[int]

        def save(self) -> None: ...
        def _record(self, item: Action, /, **changes: Any) -> AccountState: ...
        def _outcome(self, item: Action, status: str, /, **details: Any) -> None: ...
        def _results(
            self, actions: Sequence[Action], results: Sequence[AccountResult], post_id: int
        ) -> None: ...

    def _attempts(self, action: Action) -> int:
        record = self.state.account(action.post_id, action.account)
        return record.attempts if record else 1

    def _failed(
        self,
        actions: Sequence[Action],
        error: ApiError,
        step: Step,
        *,
        held: bool = False,
        draft_gone: bool = False,
    ) -> None:
        """Record a request that did not succeed: `unknown` when it may have been done.

        `held`: the request acted on a post Orshot already holds (phase two, an edit). Whatever
        the error, only reading that post by id can say what it did, so the record stays
        `unknown`, with its post id, and the next run settles it by id. Recorded as `failed`,
        the plan would retry with a new post beside the held one: a public duplicate if the
        first went out (an answer lost after the retries) or fires on its schedule.
        """
        unknown = isinstance(error, UnknownOutcome) or error.after_uncertain_attempt or held
        status = AccountStatus.UNKNOWN if unknown else AccountStatus.FAILED
        message = error.message
        # Our own draft gone (discarded in the dashboard): nothing is wrong with the post, so
        # it is tried again (after a backoff) with a new draft.
        kind = TRANSIENT if draft_gone else classify_error(error)
        if kind == PERMANENT and error.hint:
            message = f"{message} ({error.hint})"
        for action in actions:
            failure: dict[str, Any] = {}
            if not unknown:
                failure = failed_fields(kind, self._attempts(action), self.now())
            self._record(action, status=status, step=step, error=message, **failure)
            self._outcome(action, status.value, error=message)
        self.save()
        if isinstance(error, _FATAL):
            raise Stop(f"stopped: {message}")

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
