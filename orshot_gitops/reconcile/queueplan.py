"""`schedule: next` in the plan: each queued post's accounts get a time before `decide`.

- A (post, account) whose record holds a post in Orshot (scheduled, published, processing,
  or a step in flight) keeps the time recorded: the queue never moves a recorded post, so an
  edit to its caption is an edit in place at that time, and `schedule: next` after an
  explicit time keeps that time.
- A draft (`draft: true`) takes no slot; a draft flipped to `draft: false`, a post that
  failed before its time passed, and a new post take the first free slot (slots.py).
- Taken are: the times the state records on that account still ahead (found from the
  index's schedules and the posts needing work, never by reading every record), and the
  times of this repository's other posts, written or queued, in post-id order.

The slot given here is *tentative*: another pull request merged first may take it, and then
apply gives this post the next free one. The plan says so (`Action.tentative`); once apply
records the time, it is fixed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from orshot_gitops.content.compile import (
    AccountPayload,
    CompiledPost,
    payload_fingerprint,
    with_times,
)
from orshot_gitops.content.model import Config
from orshot_gitops.content.queues import MAX_JITTER, MAX_STAGGER
from orshot_gitops.content.rulecheck import deny_window_now
from orshot_gitops.errors import Diagnostic, Severity
from orshot_gitops.reconcile.actions import Action
from orshot_gitops.reconcile.failures import PERMANENT, failure_of
from orshot_gitops.reconcile.slots import SEARCH_DAYS, Ask, Blocked, assign
from orshot_gitops.state.model import AccountState, AccountStatus, State, recorded_time

# A post's accounts are at most a stagger either way and a jitter apart: a post whose
# earliest schedule is older than this holds no account's time that is still ahead.
LOOKBACK = 2 * MAX_STAGGER + MAX_JITTER + timedelta(days=1)
TENTATIVE = "queue slot: tentative until merged"
_HOLDS_TIME = (
    AccountStatus.SCHEDULED,
    AccountStatus.PUBLISHED,
    AccountStatus.PROCESSING,
    AccountStatus.PENDING,
    AccountStatus.UNKNOWN,
)


def assign_queued(
    compiled: list[CompiledPost],
    config: Config,
    state: State,
    renames: Mapping[str, str],
    now: datetime,
) -> tuple[list[CompiledPost], list[Diagnostic], frozenset[tuple[str, str]]]:
    """The compiled posts with every queued one's times set, the errors of those that found
    no slot (left out), and the (post, account)s given a slot now (tentative)."""
    queued = [p for p in compiled if p.spec.queued]
    if not queued:
        return compiled, [], frozenset()
    fixed: dict[str, dict[str, datetime | None]] = {}
    asks: list[Ask] = []
    for post in queued:
        recorded_id = renames.get(post.spec.id, post.spec.id)
        times = fixed.setdefault(post.spec.id, {})
        for payload in post.payloads:
            alias = payload.account.alias
            if post.spec.draft:
                times[alias] = None  # a draft reaches no one: it takes no slot
                continue
            record = state.account(recorded_id, alias)
            if record is not None and _posted_again(record, post.spec.revision, now):
                record = None  # a new revision of a live post is a new post: a new slot
            held, at = kept_time(record, now)
            if not held and record is not None and _refused_as_is(post, payload, record):
                # Refused for good and unchanged: it waits for an edit at its own time (the
                # plan says the time has passed). A new slot would read as a change and send
                # the refused post again, once per slot.
                held, at = True, _recorded_at(record)
            if held:
                times[alias] = at
            else:
                asks.append(Ask(post.spec.id, alias, post.queue_after))
    if asks:
        wanted = {ask.alias for ask in asks}
        taken = taken_times(state, wanted, now, compiled, renames, fixed)
        queues = {alias: q for alias in wanted if (q := config.queue_for(alias)) is not None}
        answers = assign(
            queues,
            asks,
            taken,
            now,
            blocked=_blocked(config, {p.spec.id: p for p in queued}),
            spacing=_spacing(config, wanted),
        )
    else:
        answers = {}
    problems: list[Diagnostic] = []
    failed: set[str] = set()
    for ask, moment in sorted(answers.items()):
        if moment is None:
            failed.add(ask.post_id)
            problems.append(_no_slot(next(p for p in queued if p.spec.id == ask.post_id), ask))
        fixed[ask.post_id][ask.alias] = moment
    result = [
        with_times(p, fixed[p.spec.id]) if p.spec.queued else p
        for p in compiled
        if p.spec.id not in failed
    ]
    tentative = frozenset((ask.post_id, ask.alias) for ask, m in answers.items() if m is not None)
    return result, problems, tentative


def as_recorded(post: CompiledPost, state: State, recorded_id: str | None = None) -> CompiledPost:
    """A queued post with each account at the time its record fixed (None without one), for
    the commands that compare a file with its records outside a plan (adopt, refresh's drift,
    rebuild): its fingerprints are then the ones apply recorded. Other posts: as they are."""
    if not post.spec.queued:
        return post
    record_of = recorded_id or post.spec.id
    times: dict[str, datetime | None] = {}
    for payload in post.payloads:
        record = state.account(record_of, payload.account.alias)
        written = None
        if record is not None and not post.spec.draft:
            written = record.scheduled_for or (record.sent.at if record.sent else None)
        times[payload.account.alias] = recorded_time(written)
    return with_times(post, times)


def kept_time(record: AccountState | None, now: datetime) -> tuple[bool, datetime | None]:
    """(True, its time) when this record fixes the account's time (None: it went out at
    once, or as a draft); (False, None) when the account needs a slot."""
    if record is None or record.status is AccountStatus.DRAFTED:
        return False, None
    at = _recorded_at(record)
    if record.status in _HOLDS_TIME:
        return True, at
    # Failed: nothing is public. Its time is kept while it is still ahead; past, it takes
    # the next free slot rather than being refused for a time nobody chose.
    if at is not None and at > now:
        return True, at
    return False, None


def _posted_again(record: AccountState, revision: int, now: datetime) -> bool:
    """A `revision` bump of what went out (or failed): the plan creates a new post for it."""
    if record.revision == revision:
        return False
    if record.status is AccountStatus.SCHEDULED:
        at = _recorded_at(record)
        return at is not None and at <= now  # fired; one still held is edited in place
    return record.status in (
        AccountStatus.PUBLISHED,
        AccountStatus.PROCESSING,
        AccountStatus.FAILED,
    )


def _recorded_at(record: AccountState) -> datetime | None:
    return recorded_time(record.scheduled_for or (record.sent.at if record.sent else None))


def _refused_as_is(post: CompiledPost, payload: AccountPayload, record: AccountState) -> bool:
    """A permanent failure of exactly this post at its recorded time."""
    if record.status is not AccountStatus.FAILED or failure_of(record) != PERMANENT:
        return False
    same = payload_fingerprint(
        payload.account.id,
        payload.content,
        payload.media_urls,
        post.render,
        payload.platform_options,
        _recorded_at(record),
        post.spec.revision,
    )
    return same == record.fingerprint


def taken_times(
    state: State,
    aliases: set[str],
    now: datetime,
    compiled: Iterable[CompiledPost],
    renames: Mapping[str, str],
    fixed: Mapping[str, Mapping[str, datetime | None]],
) -> dict[str, list[datetime]]:
    """Per account asked for, the times already taken from now on: recorded, written in the
    repository, and fixed for the queued posts above. Keyed by (post, account) first, so a
    post the repository changes counts at its new time, once."""
    by_pair: dict[tuple[str, str], datetime] = {}
    tally = state.tally()
    since = now - LOOKBACK
    # Only posts scheduled lately or ahead, and those needing work, are read: the queue's
    # cost follows what is waiting in Orshot, not the years already published.
    ids = {pid for pid, earliest in tally.scheduled.items() if _after(earliest, since)}
    ids |= set(state.post_ids_needing_work())
    for post_id in sorted(ids):
        if post_id not in state.posts:
            continue
        for alias, record in state.posts[post_id].accounts.items():
            if alias not in aliases:
                continue
            held, at = kept_time(record, now)
            if held and at is not None and at > now:
                by_pair[(post_id, alias)] = at
    recorded_of = {renames.get(p.spec.id, p.spec.id): p.spec.id for p in compiled}
    by_pair = {(recorded_of.get(pid, pid), alias): at for (pid, alias), at in by_pair.items()}
    for post in compiled:
        if post.spec.queued:
            times = fixed.get(post.spec.id, {})
        else:
            # A draft reaches no one, whatever time it writes: it holds no slot.
            at = None if post.spec.draft else post.scheduled_for
            times = {p.account.alias: at for p in post.payloads}
        for alias, at in times.items():
            key = (post.spec.id, alias)
            by_pair.pop(key, None)  # the file's time, not the record's
            if alias in aliases and at is not None and at > now:
                by_pair[key] = at
    taken: dict[str, list[datetime]] = {alias: [] for alias in sorted(aliases)}
    for (_, alias), at in sorted(by_pair.items()):
        taken[alias].append(at)
    return taken


def _after(text: str, since: datetime) -> bool:
    moment = recorded_time(text)
    return moment is None or moment >= since


def _blocked(config: Config, posts: Mapping[str, CompiledPost]) -> Blocked | None:
    """A slot inside a deny window of the account (DENY rules, as the plan holds a send
    inside one) is skipped: validate would refuse a written time there anyway."""
    if not any(rule.deny_windows for rule in config.rules):
        return None

    def blocked(ask: Ask, moment: datetime) -> bool:
        account = config.accounts[ask.alias]
        sponsored = posts[ask.post_id].spec.sponsored
        found = deny_window_now(config, ask.alias, account.platform, moment, sponsored=sponsored)
        return found is not None

    return blocked


def _spacing(config: Config, aliases: set[str]) -> dict[str, timedelta]:
    """Per account, the widest `min_spacing` of the rules covering it."""
    spacing: dict[str, timedelta] = {}
    for alias in aliases:
        account = config.accounts[alias]
        spans = [
            r.min_spacing
            for r in config.rules
            if r.min_spacing and r.applies_to(alias, account.platform)
        ]
        if spans:
            spacing[alias] = max(spans)
    return spacing


def _no_slot(post: CompiledPost, ask: Ask) -> Diagnostic:
    line, column = (1, 1)
    if post.spec.document is not None:
        line, column = post.spec.document.position(("schedule",))
    return Diagnostic(
        post.spec.path,
        line,
        column,
        Severity.ERROR,
        "no-free-slot",
        f"no free slot for {ask.alias!r} in the next {SEARCH_DAYS} days of its queue",
        "every slot is taken, inside a deny window or too close to another post: add "
        "slots, raise max_per_slot, or give this post a time",
    )


def mark_tentative(actions: list[Action], tentative: frozenset[tuple[str, str]]) -> list[Action]:
    """The sends at a slot given by this plan say it is tentative until merged."""
    if not tentative:
        return actions
    return [
        replace(a, tentative=True, reason=f"{a.reason} ({TENTATIVE})")
        if (a.post_id, a.account) in tentative and a.kind.sends
        else a
        for a in actions
    ]
