"""`refresh --rebuild`: record from Orshot's Posts Log what went out, when the state cannot
say (it went backwards: a force-push dropped a results commit). Reads; never sends.

Each (post, account) of the repository is matched to a post in the Posts Log by exactly what
would be sent (the account, the caption and the media), never by accounts and time alone.
A match is recorded with Orshot's id and status; what matches nothing is left as the state
has it, and listed. The rebuilt state's serial is put past every version git still has, so
the plan trusts it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from orshot_gitops.content.compile import CompiledPost, with_times
from orshot_gitops.content.load import discover_posts, load_config
from orshot_gitops.content.validate import check_posts
from orshot_gitops.errors import Severity, UserError
from orshot_gitops.orshot.client import Post
from orshot_gitops.state.model import (
    AccountState,
    AccountStatus,
    PostState,
    State,
    Step,
    recorded_time,
    sent_digest,
)

_STATUSES = {
    "published": AccountStatus.PUBLISHED,
    "scheduled": AccountStatus.SCHEDULED,
    "draft": AccountStatus.DRAFTED,
    "drafted": AccountStatus.DRAFTED,
    "processing": AccountStatus.PROCESSING,
}


@dataclass(frozen=True)
class Found:
    """One (post, account) and what the Posts Log says of it (`orshot_post_id` None: nothing)."""

    post: str
    account: str
    status: str
    orshot_post_id: int | None = None
    url: str | None = None


def compile_repository(root: Path) -> list[CompiledPost]:
    """Every post of the repository, compiled; a post with errors stops the rebuild (its
    record would be guesswork)."""
    config, problems = load_config(root)
    if config is None:
        raise UserError(problems[0].message, path=problems[0].path, hint=problems[0].hint)
    files, found = discover_posts(root, config)
    post_problems, compiled = check_posts(root, config, files)
    errors = [d for d in (*found, *post_problems) if d.severity is Severity.ERROR]
    if errors:
        first = errors[0]
        raise UserError(
            first.message,
            path=first.path,
            line=first.line,
            column=first.column,
            hint="fix it first (orshot-gitops validate): a rebuild records every post",
        )
    return compiled


def rebuild(
    state: State, compiled: Iterable[CompiledPost], posts_log: Iterable[Post], newest_serial: int
) -> tuple[State, list[Found]]:
    """The state with every (post, account) the Posts Log holds exactly, recorded."""
    by_sent: dict[tuple[int, str], list[Post]] = {}
    for post in posts_log:  # newest first
        if post.status == "discarded":
            continue
        digest = sent_digest(post.content, post.media_urls)
        for result in post.accounts:
            if result.account_id is not None:
                by_sent.setdefault((result.account_id, digest), []).append(post)
    report: list[Found] = []
    for item in sorted(compiled, key=lambda p: p.spec.id):
        spec = item.spec
        recorded = state.posts.get(spec.id) or PostState(path=spec.path, revision=spec.revision)
        recorded = replace(recorded, path=spec.path, revision=max(recorded.revision, spec.revision))
        media = _media(item, recorded)
        for payload in item.payloads:
            alias, account_id = payload.account.alias, payload.account.id
            current = recorded.accounts.get(alias)
            matches = (
                []
                if media is None
                else by_sent.get(
                    (account_id, sent_digest(payload.content, payload.media_urls or media)), []
                )
            )
            match = _best(matches)
            if match is None:
                status = current.status.value if current else "not sent"
                report.append(Found(spec.id, alias, f"not found ({status} in the state)"))
                continue
            result = next(r for r in match.accounts if r.account_id == account_id)
            status = _STATUSES.get(result.status, AccountStatus.FAILED)
            earlier = current.owned_post_ids() if current else ()
            fingerprint = payload.fingerprint
            if spec.queued:
                # A queued post's time is Orshot's: fingerprinted as the plan will read it back.
                at = match.scheduled_for if status is AccountStatus.SCHEDULED else None
                fingerprint = (
                    with_times(item, {alias: recorded_time(at)})
                    .payloads[item.payloads.index(payload)]
                    .fingerprint
                )
            record = AccountState(
                account_id=account_id,
                fingerprint=fingerprint,
                revision=spec.revision,
                status=status,
                step=Step.DRAFT if status is AccountStatus.FAILED else None,
                post_id=match.id,
                url=result.url,
                error=result.error,
                action=result.action,
                attempts=current.attempts if current else 1,
                first_attempt_at=match.created_at,
                last_attempt_at=match.created_at,
                scheduled_for=match.scheduled_for if status is AccountStatus.SCHEDULED else None,
                sent_digest=sent_digest(match.content, match.media_urls),
                earlier_post_ids=tuple(i for i in earlier if i != match.id),
            )
            recorded = recorded.with_account(alias, record)
            report.append(Found(spec.id, alias, status.value, match.id, result.url))
        if recorded.accounts:
            state = state.with_post(spec.id, recorded)
    # Every post of the repository has now been looked for: one whose record was missing
    # (reconcile/missing.py) and that the Posts Log does not hold was never sent. Forgetting
    # the commit makes the next plan compile everything and trust these records alone.
    return replace(
        state, serial=max(state.serial, newest_serial), commit=None, merged_commits=()
    ), report


def _media(item: CompiledPost, recorded: PostState) -> tuple[str, ...] | None:
    """The media a post carried when sent: a render's recorded outputs (None if unknown)."""
    if item.render is None:
        return ()
    return recorded.render.media_urls if recorded.render and recorded.render.done else None


def _best(matches: list[Post]) -> Post | None:
    """The post that went furthest (public before held), then the oldest: the first send."""
    if not matches:
        return None
    rank = {"published": 0, "processing": 1, "scheduled": 2}
    return min(reversed(matches), key=lambda p: rank.get(p.status, 3))
