"""A state that went backwards: found in git's history, or in Orshot's Posts Log.

The state file is the only record of what went out. A force-push that drops the commit with
a run's results rolls it back: the posts that run sent look new again, and would be sent
again. Like Terraform's, our state carries a `lineage` (set once) and a `serial` (bumped on
every write), so two versions compare: a version with the same lineage and a higher serial
anywhere git still has it (a branch, a remote-tracking ref, HEAD's reflog) means the one
checked out is behind. In a fresh CI clone git may have nothing left; then Orshot's Posts
Log, read by apply with the key, shows a post that went out exactly as a new one would.

Either way nothing is sent until `orshot-gitops refresh --rebuild` has recorded what Orshot
holds (it reads, never sends) and its state is committed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from orshot_gitops.errors import Diagnostic, Severity
from orshot_gitops.reconcile.plan import Action, Kind, Plan
from orshot_gitops.state.model import STATE_PATH, State, sent_digest
from orshot_gitops.vcs.gitrepo import GitRepo
from orshot_gitops.vcs.messages import commit_message

if TYPE_CHECKING:  # plan imports this module, and needs no HTTP client (150 ms to import)
    from orshot_gitops.orshot.client import Post

INTENT_SUBJECT = "orshot: sending "
"""How an intent commit's message starts (runner.py). A run that loses the push of its
intents resets them away: nothing was sent for them, so their state, though its serial is
higher, is no lost record; it stays in HEAD's reflog and is not counted. An intent commit
that was pushed is still seen, in the remote-tracking ref's reflog."""

REBUILD_HINT = (
    "run 'orshot-gitops refresh --rebuild' (it reads Orshot's Posts Log and records what "
    "went out; it sends nothing), commit .orshot/state.json, then apply again"
)

# Top-level keys sit at an indent of two spaces in the file we write (sorted, indent 2),
# and nothing nested does: found without parsing what may be megabytes of JSON.
_LINEAGE = re.compile(r'^  "lineage": "([^"]*)",?$', re.MULTILINE)
_SERIAL = re.compile(r'^  "serial": ([0-9]+),?$', re.MULTILINE)


def newest_serial_seen(git: GitRepo, lineage: str | None) -> int:
    """The highest serial of a state of `lineage` (of any, for None) that git still has
    (0 for none)."""
    highest = 0
    for text in git.recorded_versions(STATE_PATH, skip_subjects=(INTENT_SUBJECT,)):
        found_lineage, serial = _top_level(text)
        if found_lineage is not None and serial is not None and lineage in (None, found_lineage):
            highest = max(highest, serial)
    return highest


def _top_level(text: str) -> tuple[str | None, int | None]:
    """The lineage and serial of a state file's text. Keys are sorted, so in a v1 file the
    lineage comes before the posts and the serial after them: found from either end, not by
    scanning what may be 70 MB of records (0.55 s a plan at 50,000 posts, by regex)."""
    lineage_at = text.find('\n  "lineage": ')
    serial_at = text.rfind('\n  "serial": ')
    lineage = _LINEAGE.match(text, lineage_at + 1) if lineage_at >= 0 else None
    serial = _SERIAL.match(text, serial_at + 1) if serial_at >= 0 else None
    return (lineage.group(1) if lineage else None), (int(serial.group(1)) if serial else None)


def went_backwards(git: GitRepo, state: State) -> Diagnostic | None:
    """An error when git has a newer version of this state than the one checked out. No
    state file at all, while git has one, counts: its lineage is made up on each load."""
    newest = newest_serial_seen(git, state.lineage if state.serial else None)
    if newest <= state.serial:
        return None
    return Diagnostic(
        STATE_PATH,
        0,
        0,
        Severity.ERROR,
        "state-behind",
        f"the state went backwards: it has serial {state.serial}, but git still has serial "
        f"{newest} of the same state (a force-push that dropped a results commit?); posts "
        "sent since would look new and go out again",
        REBUILD_HINT,
    )


@dataclass(frozen=True)
class AlreadyOut:
    """A post the plan would create, found in the Posts Log, live or held, as it would be sent."""

    post_id: str
    orshot_post_id: int
    status: str

    def message(self) -> str:
        return (
            f"{self.post_id} is already in Orshot as post {self.orshot_post_id} "
            f"({self.status}), but the state does not know it: the state went backwards"
        )


def found_in_posts_log(
    actions: Iterable[Action], state: State, posts: Iterable[Post]
) -> list[AlreadyOut]:
    """The planned creates that Orshot's Posts Log already holds, exactly (accounts, caption
    and media) and outside any record: what a dropped results commit leaves behind.

    Only posts newer than the state's latest attempt can be ones it forgot, so the search
    stops there (newest first); a state with no attempt at all searches the whole log."""
    creating: dict[tuple[tuple[int, ...], str], str] = {}
    groups: dict[str, list[Action]] = {}
    for action in actions:
        if action.kind is Kind.CREATE and not action.render:
            groups.setdefault(action.group or action.post_id, []).append(action)
    for group in groups.values():
        ids = tuple(sorted(a.account_id for a in group))
        creating[(ids, sent_digest(group[0].content, group[0].media_urls))] = group[0].post_id
    if not creating:
        return []
    matches = []
    for post in posts:
        if post.status in ("draft", "discarded"):
            continue
        ids = tuple(sorted(r.account_id for r in post.accounts if r.account_id is not None))
        key = (ids, sent_digest(post.content, post.media_urls))
        if key in creating:
            matches.append((creating[key], post))
    if not matches:
        return []  # the usual case: decided without reading every record
    owned = {pid for _, _, record in state.entries() for pid in record.owned_post_ids()}
    stamps = [r.last_attempt_at for _, _, r in state.entries() if r.last_attempt_at]
    since = _instant(max(stamps, key=_instant)) - timedelta(minutes=10) if stamps else None
    found = [
        AlreadyOut(post_id, post.id, post.status)
        for post_id, post in matches
        if post.id not in owned
        and not (since is not None and post.created_at and _instant(post.created_at) < since)
    ]
    return sorted(found, key=lambda f: (f.post_id, f.orshot_post_id))


def _instant(stamp: str) -> datetime:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def intent_message(plan: Plan, run_id: str) -> str:
    """The intent commit's message: what this run is about to send."""
    lines = [f"{a.kind.value:<14} {a.post_id} → {a.account}" for a in plan.sending]
    # A trailer naming the run: two runs that planned the same thing in the same second still
    # write different commits (their states differ by the run id too).
    subject = f"{INTENT_SUBJECT}{len(plan.sending)} post(s) [skip ci]"
    return commit_message(subject, lines, trailers=[f"Orshot-Run: {run_id}"])
