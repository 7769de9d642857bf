"""apply, for steps an earlier run left unfinished: settle them by what Orshot holds.

A pending or unknown (post, account) is settled before anything else is sent for it: by
reading its post by id when the record has one, or, for a draft whose answer was lost, by
searching the Posts Log for exactly what that request carried (`sent_digest`, the accounts),
never a post any record owns. A draft step that provably left nothing behind is sent again:
a draft is invisible. Another run's leftovers are touched only once that run's heartbeat is
stale (claims.py).
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from orshot_gitops.orshot.client import ApiError, NotFound, Post, UnknownOutcome
from orshot_gitops.reconcile.plan import Action, Kind, Plan
from orshot_gitops.reconcile.recorder import Recorder
from orshot_gitops.state.model import AccountStatus, State, Step, sent_digest

_SETTLING = (AccountStatus.PENDING, AccountStatus.UNKNOWN)
LOST_ANSWER_WAIT = 3.0
"""Seconds a run waits, once, before it settles the answers it lost: a request whose answer
died on the way back has had time to finish at Orshot, and a search then finds what it made."""


class SettleSteps(Recorder):
    """The part of `Applier` that finishes what an interrupted run left."""

    if TYPE_CHECKING:  # provided by Applier
        plan: Plan

        def _recorded_media(self, actions: Sequence[Action]) -> tuple[str, ...] | None: ...
        def _create(self, actions: list[Action], replaces: int | None = None) -> None: ...
        def _second_phase(self, actions: Sequence[Action], post_id: int) -> None: ...
        def _edit(self, actions: list[Action]) -> None: ...
        def _finish_moves(self, actions: list[Action]) -> None: ...
        def _owned_by_a_live_run(self, actions: Sequence[Action]) -> bool: ...
        def _check_stop(self) -> None: ...

    def _settle_own_lost_answers(self) -> None:
        """This run lost answers (a timeout, a dropped connection, 5xx after its retries): it
        is the only run that can be creating those posts, so it settles them itself before it
        exits, after a short wait, by id or by the Posts Log search for what it sent. Left to
        the next run, they would wait out the settle window. What it cannot settle stays
        unknown; the run then ends normally (claims.end), and the next run settles it at once."""
        actions = {(a.post_id, a.account): a for a in self.plan.actions if a.kind.sends}
        groups: dict[str, list[Action]] = defaultdict(list)
        for outcome in self.outcomes:
            pair = (outcome.post_id, outcome.account)
            record = self.state.account(*pair)
            action = actions.get(pair)
            if (
                outcome.status != "unknown"
                or action is None
                or record is None
                or record.status not in _SETTLING
                or record.run != self.run_id
            ):
                continue
            # The accounts of one request are settled together, as the next run would: the
            # orphan is found by exactly the accounts it was sent to.
            groups[record.group or f"{pair[0]}/{pair[1]}"].append(replace(action, kind=Kind.SETTLE))
        if not groups:
            return
        time.sleep(LOST_ANSWER_WAIT)
        for key in sorted(groups):
            self._check_stop()  # a stopped run keeps its "unknown" for what it did not settle
            settling = {(a.post_id, a.account) for a in groups[key]}
            self.outcomes[:] = [o for o in self.outcomes if (o.post_id, o.account) not in settling]
            self._settle(groups[key])

    def _settle(self, actions: list[Action]) -> None:
        by_record: dict[tuple[Step | None, int | None], list[Action]] = defaultdict(list)
        unfinished_moves = []
        for action in actions:
            record = self.state.account(action.post_id, action.account)
            if record is None:
                continue
            if record.replaces is not None and record.status not in _SETTLING:
                unfinished_moves.append(action)
                continue
            by_record[(record.step, record.post_id)].append(action)
        if unfinished_moves:
            self._finish_moves(unfinished_moves)
        for (step, post_id), group in sorted(by_record.items(), key=repr):
            if self._owned_by_a_live_run(group):
                continue
            if post_id is not None:
                self._settle_by_id(group, post_id)
            elif step in (Step.DRAFT, None):
                self._settle_draft(group)
            elif step is Step.RENDER:
                # A render whose answer was lost: it posted nothing (no publish object), so
                # rendering again costs a credit and nothing else.
                self._create([replace(a, kind=Kind.CREATE) for a in group])
            else:
                self._failed(
                    group,
                    UnknownOutcome(f"cannot settle a {step.value} step without a post id"),
                    step,
                )

    def _settle_by_id(self, actions: list[Action], post_id: int) -> None:
        try:
            post = self.client.get_post(post_id)
        except NotFound:
            # Discarded (by us or in the dashboard): nothing is held; send again from scratch.
            self._create([replace(a, kind=Kind.CREATE) for a in actions])
            return
        except ApiError as error:
            for action in actions:
                self._outcome(
                    action,
                    "unknown",
                    error=f"could not read Orshot post {post_id}: {error.message}",
                )
            return
        self._settle_post(actions, post)

    def _settle_post(self, actions: list[Action], post: Post) -> None:
        """Finish an interrupted step from what Orshot holds now (read by id, or found)."""
        post_id = post.id
        first = actions[0]
        record = self.state.account(first.post_id, first.account)
        held = post.status in ("draft", "scheduled")
        if held and record is not None and record.step is Step.PATCH and record.paused_schedule:
            # The PATCH was a pause (pause.py: only the status was to change; an edit's intent
            # clears `paused_schedule`). Sent again from the file it would be an edit, over
            # any dashboard edit (drift): record what Orshot holds, the plan decides the rest.
            self._results(as_sent(actions, post), post.accounts, post_id)
            for action in actions:
                now_held = self.state.account(action.post_id, action.account)
                if now_held is not None and now_held.status is not AccountStatus.DRAFTED:
                    self.state = self.state.with_account(
                        action.post_id, action.account, replace(now_held, paused_schedule=None)
                    )
            self.save()
            return
        if held and record is not None and record.step is Step.PATCH:
            # An edit whose answer was lost: PATCH sets fields, so sending it again is safe.
            self._edit([replace(a, kind=Kind.EDIT, orshot_post_id=post_id) for a in actions])
            return
        desired_public = first.mode != "draft"
        if post.status == "draft" and desired_public:
            self.progress(f"settled   {first.post_id}: Orshot post {post_id} is still a draft")
            self._second_phase(actions, post_id)
            return
        if post.status == "scheduled" and first.mode == "publish":
            self._second_phase(actions, post_id)
            return
        self._results(as_sent(actions, post), post.accounts, post_id)

    def _settle_draft(self, actions: list[Action]) -> None:
        """A draft create that got no answer: find what it left behind, or prove it left nothing.

        Every post created since the attempt is searched, not only drafts: the orphan may have
        gone further since (a run that published it was killed before its results reached
        git, and CI's next job starts from the pushed intents). "No draft" does not prove
        "nothing went out"; only "no post at all" does.
        """
        records = [self.state.account(a.post_id, a.account) for a in actions]
        first = actions[0]
        # The file may have been edited since the attempt: then what the plan wants now is not
        # what was sent. The orphan is matched on what the record says was sent (its digest),
        # never on accounts and time alone: that would take any post of these accounts.
        sent = records[0].fingerprint if records and records[0] else None
        edited_since = bool(first.fingerprint and sent and sent != first.fingerprint)
        since = min((r.first_attempt_at for r in records if r and r.first_attempt_at), default=None)
        wanted_ids = sorted(a.account_id for a in actions)
        sent_digests = {r.sent_digest for r in records if r is not None and r.sent_digest}
        media = self._recorded_media(actions)
        # Posts a record owns are nobody's orphans: this one's earlier revisions, a user's
        # draft with the same caption, and the held posts accounts are moving off
        # (`replaces`: the same accounts and maybe the same caption, not what this step made).
        owned = _owned_post_ids(self.state)
        matches = []
        try:
            for post in self.client.list_posts():
                if since and post.created_at and _instant(post.created_at) < _earlier(since):
                    break  # newest first: everything further is older than our attempt
                ids = sorted(r.account_id for r in post.accounts if r.account_id is not None)
                if post.id in owned or ids != wanted_ids:
                    continue
                if sent_digests:
                    carried = sent_digest(post.content, tuple(post.media_urls))
                    same = carried in sent_digests
                else:
                    # A record from before digests were kept: only the caption the plan wants
                    # now (and its media, when known) is proof enough.
                    same = post.content == first.content and (
                        media is None or tuple(post.media_urls) == media
                    )
                if same:
                    matches.append(post)
        except ApiError as error:
            for action in actions:
                self._outcome(
                    action, "unknown", error=f"could not search the Posts Log: {error.message}"
                )
            return
        if not matches:
            self.progress(f"settled   {first.post_id}: no draft was left behind; creating it")
            self._create([replace(a, kind=Kind.CREATE) for a in actions])
            return
        gone_out = [p for p in matches if p.status != "draft"]
        if gone_out:
            # It went further than a draft: record what Orshot says, send nothing. Drafts made
            # beside it by retried creates are invisible leftovers: discard them.
            for draft in (p for p in matches if p.status == "draft"):
                with contextlib.suppress(ApiError):
                    self.client.discard_post(draft.id)
            found = gone_out[-1]  # the oldest: the one the first attempt made
            self.progress(f"settled   {first.post_id}: Orshot post {found.id} is {found.status}")
            self._settle_post(actions, found)
            return
        adopted, extra = matches[0], matches[1:]
        for duplicate in extra:
            # An invisible draft left over if this fails; `refresh` reports it.
            with contextlib.suppress(ApiError):
                self.client.discard_post(duplicate.id)
        self.progress(f"settled   {first.post_id}: adopted orphan draft {adopted.id}")
        for action in actions:
            self._record(
                action,
                status=AccountStatus.DRAFTED,
                step=None,
                post_id=adopted.id,
                fingerprint=(sent if edited_since else action.fingerprint) or "",
            )
        self.save()
        if edited_since:
            # The draft holds the old text: edit it to what the plan wants, then go on.
            self._edit([replace(a, kind=Kind.EDIT, orshot_post_id=adopted.id) for a in actions])
        elif first.mode == "draft":
            for action in actions:
                self._outcome(action, "drafted", orshot_post_id=adopted.id)
        else:
            self._second_phase(actions, adopted.id)


def _owned_post_ids(state: State) -> set[int]:
    return {post_id for _, _, record in state.entries() for post_id in record.owned_post_ids()}


def as_sent(actions: Sequence[Action], post: Post) -> list[Action]:
    """Actions whose fingerprint says what Orshot holds: the desired one if the post carries
    the desired caption, else the record's (what was sent before the file changed), so a
    changed file is flagged "changed after publish" instead of being taken as sent."""
    return [a if post.content == a.content else replace(a, fingerprint=None) for a in actions]


def _earlier(stamp: str) -> datetime:
    # Clocks differ between us and Orshot: search a little further back than our own stamp.
    return _instant(stamp) - timedelta(minutes=10)


def _instant(stamp: str) -> datetime:
    """An ISO 8601 time as an aware datetime: compared as times, not as strings, because
    Orshot may write another offset, a 'Z' or fractions of a second."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
