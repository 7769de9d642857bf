"""apply's bookkeeping: every step written to the state before its request and with its
result after, and what happened to each (post, account) reported as an `Outcome`.

`Recorder` is the base of `Applier` and of its parts (send_held.py, settle.py, claims.py):
they all record through the same few methods, so a record is written one way only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from orshot_gitops.crashpoints import crash_point
from orshot_gitops.orshot.client import (
    AccountResult,
    ApiError,
    AuthError,
    OrshotClient,
    PaidPlanRequired,
    UnknownOutcome,
)
from orshot_gitops.reconcile.failures import (
    PERMANENT,
    TRANSIENT,
    classify_error,
    classify_result,
    failed_fields,
)
from orshot_gitops.reconcile.held import options_fingerprint
from orshot_gitops.reconcile.plan import Action, Kind
from orshot_gitops.state.model import AccountState, AccountStatus, PostState, State, Step
from orshot_gitops.state.sent import Sent

_FINAL = {"published": AccountStatus.PUBLISHED, "scheduled": AccountStatus.SCHEDULED}
_FATAL = (AuthError, PaidPlanRequired)
_NOT_REPORTED = "Orshot did not report this account"


@dataclass(frozen=True)
class Outcome:
    """What happened to one (post, account) in this run."""

    post_id: str
    account: str
    kind: Kind
    status: str  # published, scheduled, drafted, processing, failed, unknown, discarded, renamed, skipped
    url: str | None = None
    error: str | None = None
    action: str | None = None
    orshot_post_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status not in ("failed", "unknown", "skipped")


Progress = Callable[[str], None]


class Stop(Exception):
    """Raised between steps when a signal asked the run to stop, or a fatal API error ended it."""


class Recorder:
    """Writes each step of a run to the state and reports its outcome. The attributes are
    set by `Applier.__init__`."""

    client: OrshotClient | Any
    state: State
    now: Callable[[], datetime]
    progress: Progress
    run_id: str | None
    outcomes: list[Outcome]
    total: int
    unmarked: State  # the state before `mark_intents` claimed this run's steps
    unrecorded: bool  # a step taken back: the reconciled commit must not move past it
    _save: Callable[[State], State]

    def save(self) -> None:
        self.state = self._save(self.state)

    def _stamp(self) -> str:
        return self.now().isoformat(timespec="seconds")

    def _record(self, item: Action, /, **changes: Any) -> AccountState:
        # `item`, positional-only: AccountState has a field named `action` (e.g. "reconnect").
        post = self.state.posts.get(item.post_id)
        if post is None:
            post = PostState(path=item.path, revision=item.revision)
        elif post.path != item.path or post.revision < item.revision:
            post = replace(post, path=item.path, revision=max(post.revision, item.revision))
        current = post.accounts.get(item.account)
        base = current or AccountState(
            account_id=item.account_id,
            fingerprint=item.fingerprint or "",
            revision=item.revision,
            status=AccountStatus.PENDING,
        )
        updated = replace(base, **changes)
        self.state = self.state.with_post(item.post_id, post.with_account(item.account, updated))
        return updated

    def _intent(
        self,
        actions: Iterable[Action],
        step: Step,
        *,
        keep_drift: bool = False,
        media: tuple[str, ...] | None = None,
        **extra: Any,
    ) -> None:
        """Write-ahead: the step is on disk before its request leaves. `keep_drift`: the
        request leaves Orshot's version as it is (a pause changes only the status). `media`:
        a draft's media as its request carries them (a render's outputs)."""
        stamp = self._stamp()
        for action in actions:
            current = self.state.account(action.post_id, action.account)
            # An attempt is a try at sending this account, not each request of the protocol;
            # they count per revision: a new revision starts again at one.
            earlier = current if current and current.revision == action.revision else None
            if current and step is not Step.DRAFT:
                earlier = current  # a later step of the same try
            attempts = (earlier.attempts if earlier else 0) + (
                1 if step is Step.DRAFT or not earlier else 0
            )
            first = earlier.first_attempt_at if earlier and earlier.first_attempt_at else stamp
            changes: dict[str, Any] = {
                "status": AccountStatus.PENDING,
                "step": step,
                "attempts": attempts,
                "first_attempt_at": first,
                "last_attempt_at": stamp,
                "group": action.group,
                "run": self.run_id,
                # A request for the account ends a pause (pause.py sets it again for its own)
                # and sends the file's version over any drift (drift.py): both are cleared.
                "paused_schedule": None,
                **({} if keep_drift else {"drift": None, "drift_digest": None}),
                **extra,
            }
            if step is Step.DRAFT:
                # A new post for this account: forget the old one's outcome, but keep its id
                # among the record's earlier posts, so no settle search takes it for an orphan.
                changes.update(
                    fingerprint=action.fingerprint or "",
                    revision=action.revision,
                    post_id=None,
                    url=None,
                    error=None,
                    action=None,
                    failure=None,
                    next_try_at=None,
                    scheduled_for=action.scheduled_for,
                    earlier_post_ids=current.owned_post_ids() if current else (),
                    options_fingerprint=options_fingerprint(action.platform_options),
                    sent=self._sent_copy(action, media),
                )
            self._record(action, **changes)
        self.save()
        crash_point("after-intent")

    def _unmark(self, actions: Iterable[Action]) -> None:
        """A step marked as this run's intent that the run then decided not to send (a
        schedule its own waits brought too close): its record goes back to what it was before
        the mark. Left pending, the next run would
        settle a request that never left, and the record would forget what Orshot holds."""
        restored = False
        for action in actions:
            current = self.state.account(action.post_id, action.account)
            before = self.unmarked.account(action.post_id, action.account)
            if current is None or before is None or current.run != self.run_id:
                continue
            if current.status is AccountStatus.PENDING:
                post = self.state.posts[action.post_id]
                self.state = self.state.with_post(
                    action.post_id, post.with_account(action.account, before)
                )
                restored = True
        if restored:  # a save rewrites the whole state file: only when something changed
            self.save()

    def _restore_before_step(self, actions: Iterable[Action]) -> None:
        """This run's mark on each account, taken back after a definite refusal that did
        nothing: the record it had before the run, or none for an account never sent."""
        for action in actions:
            current = self.state.account(action.post_id, action.account)
            if current is None or current.run != self.run_id:
                continue
            before = self.unmarked.account(action.post_id, action.account)
            if before is not None:
                post = self.state.posts[action.post_id]
                self.state = self.state.with_post(
                    action.post_id, post.with_account(action.account, before)
                )
                continue
            self.state = self.state.without_account(action.post_id, action.account)
            left = self.state.posts.get(action.post_id)
            if left is not None and not left.accounts and left.render is None:
                self.state = self.state.without_post(action.post_id)

    def _outcome(self, item: Action, status: str, /, **details: Any) -> None:
        self.outcomes.append(Outcome(item.post_id, item.account, item.kind, status, **details))
        label = {"skipped": "skipped", "unknown": "UNKNOWN"}.get(status, status)
        extra = details.get("url") or details.get("error") or ""
        # "[3/18]": how far the run is, so a long, rate-limited run shows what is left.
        counter = f"[{len(self.outcomes)}/{max(self.total, len(self.outcomes))}]"
        self.progress(
            f"{counter} {label:<10} {item.post_id} → {item.account}"
            + (f"  {extra}" if extra else "")
        )

    def _results(
        self, actions: Sequence[Action], results: Sequence[AccountResult], post_id: int
    ) -> None:
        """Record per-account results of a publish, a publish by id, a read or a sync.

        Each result is matched to its account by `account_id`, never by position: the
        documented answer of `POST /social/publish` carries no ids, and nothing says Orshot
        keeps the request's order. Where ids are missing, the post is read back by its id
        (its `accounts` carry them); an account still unmatched is `unknown`, never guessed.
        """
        by_id = {r.account_id: r for r in results if r.account_id is not None}
        unmatched = [a for a in actions if a.account_id not in by_id]
        fatal: ApiError | None = None
        if unmatched and any(r.account_id is None for r in results):
            try:
                post = self.client.get_post(post_id)
            except ApiError as error:
                # Left unmatched: `unknown`, settled by id by the next run. A fatal error
                # (the key) stops the run once everything this answer said is recorded.
                fatal = error if isinstance(error, _FATAL) else None
            else:
                by_id.update({r.account_id: r for r in post.accounts if r.account_id is not None})
        for action in actions:
            result = by_id.get(action.account_id)
            if result is None:
                self._record(
                    action, status=AccountStatus.UNKNOWN, post_id=post_id, error=_NOT_REPORTED
                )
                self._outcome(action, "unknown", error=_NOT_REPORTED, orshot_post_id=post_id)
                continue
            self._apply_result(action, result, post_id)
        self.save()
        if fatal is not None:
            raise Stop(f"stopped: {fatal.message}")

    def _apply_result(self, action: Action, result: AccountResult, post_id: int) -> None:
        status = result.status
        if status in ("drafted", "draft"):
            account_status = AccountStatus.DRAFTED
        elif status == "processing":
            account_status = AccountStatus.PROCESSING
        elif status in _FINAL:
            account_status = _FINAL[status]
        else:
            account_status = AccountStatus.FAILED
        final_step = None if account_status is not AccountStatus.FAILED else Step.DRAFT
        failure: dict[str, Any] = {"failure": None, "next_try_at": None}
        if account_status is AccountStatus.FAILED:
            attempts = self._attempts(action)
            failure = failed_fields(
                classify_result(result.error, result.action), attempts, self.now()
            )
        # The sent copy goes with the fingerprint: replaced only when this answer is for the
        # version the action carries (a sync or a read-back of an older one keeps both), and
        # kept by an action that carries no version (a pause changes only the status).
        copy = self._sent_copy(action) if action.fingerprint else None
        sent = {"sent": copy} if copy is not None else {}
        self._record(
            action,
            status=account_status,
            step=final_step,
            **failure,
            **sent,
            post_id=post_id,
            url=result.url,
            error=result.error,
            action=result.action,
            fingerprint=action.fingerprint or self._current_fingerprint(action),
            revision=action.revision,
            scheduled_for=action.scheduled_for
            if account_status is AccountStatus.SCHEDULED
            else None,
        )
        self._outcome(
            action,
            account_status.value,
            url=result.url,
            error=result.error,
            action=result.action,
            orshot_post_id=post_id,
        )

    def _sent_copy(self, action: Action, media: tuple[str, ...] | None = None) -> Sent | None:
        """What a request for `action` carries, for the record's `sent` (state/sent.py). A
        render's media are its recorded outputs; None for an action that carries no version
        (a pause changes only the status)."""
        if action.content is None and not action.media_urls and not action.render:
            return None
        if media is None:
            media = action.media_urls
            if action.render:
                post = self.state.posts.get(action.post_id)
                render = post.render if post is not None else None
                media = render.media_urls if render is not None and render.done else ()
        return Sent(
            caption=action.content,
            media=media,
            at=action.scheduled_for if action.mode == "schedule" else None,
            options=action.platform_options,
        )

    def _current_fingerprint(self, action: Action) -> str:
        record = self.state.account(action.post_id, action.account)
        return record.fingerprint if record else ""

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
        """Record a request that did not succeed: `unknown` when it may have been done, else
        failed, permanent or transient (reconcile/failures.py).

        A definite answer is never recorded as unknown (DESIGN.md, "Failures: permanent or
        transient"), except with `held`: the request acted on a post Orshot already holds
        (phase two, an edit). Whatever the error, only reading that post by id can say what it
        did, so the record stays `unknown`, with its post id, and the next run settles it by
        id. Recorded as `failed`, the plan would retry with a new post beside the held one: a
        public duplicate if the first went out (an answer lost after the retries) or fires on
        its schedule.
        """
        unknown = isinstance(error, UnknownOutcome) or error.after_uncertain_attempt or held
        status = AccountStatus.UNKNOWN if unknown else AccountStatus.FAILED
        message = error.message
        if isinstance(error, _FATAL) and not unknown:
            # The key (revoked since apply checked it) or the plan refused, not the post:
            # nothing was done. Recorded failed, the post would wait for a change to itself
            # before it is tried again; its record goes back to what it was before this step.
            self._restore_before_step(actions)
            # No record moved: the reconciled commit must not move past these posts either,
            # or the next run would take them for records lost, not for posts to send.
            self.unrecorded = True
            for action in actions:
                self._outcome(action, "skipped", error=f"stopped: {message}")
            self.save()
            raise Stop(f"stopped: {message}")
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
