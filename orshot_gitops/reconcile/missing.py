"""A post the state should know and does not: its record is missing, and it is not new.

Every run that records a commit has decided every post file of that commit: each ends with
a record (sent, drafted, failed, held) or the commit is not recorded. So a post file that
existed at the state's recorded commit and has no record lost it afterwards: a state
conflict resolved with `git checkout --theirs` (or `--ours`), a hand edit. Taking it for new
would post it twice. Nothing is sent for it until `orshot-gitops refresh --rebuild` has
looked for it in Orshot's Posts Log and recorded what it found, or a person adopts or
resolves it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from orshot_gitops.content.compile import CompiledPost
from orshot_gitops.errors import UserError
from orshot_gitops.reconcile.plan import Action, Kind
from orshot_gitops.state.model import State
from orshot_gitops.state.store import parse_state

HINT = (
    "'orshot-gitops refresh --rebuild' looks for it in Orshot's Posts Log and records what "
    "it finds (it sends nothing); a state merge conflict is merged by 'orshot-gitops state "
    "repair', never by 'git checkout --theirs'"
)


def records_missing(
    state: State,
    files_at_commit: Iterable[str],
    present: Mapping[str, str],
    renames: Mapping[str, str],
    moves: Iterable[tuple[str, str]] = (),
) -> frozenset[str]:
    """The post ids present now whose file was in the recorded commit, where it is now or
    before a move git shows (`moves`: (old path, new path)), and that the state does not
    know (`present`: post id → path; `files_at_commit`: paths)."""
    at_commit = set(files_at_commit)
    at_commit |= {new for old, new in moves if old in at_commit}
    return frozenset(
        post_id
        for post_id, path in present.items()
        if path in at_commit
        and post_id not in state.posts
        and renames.get(post_id, post_id) not in state.posts
    )


def records_lost_in_merge(
    state: State,
    known_since: Iterable[Collection[str]],
    present: Mapping[str, str],
    renames: Mapping[str, str],
) -> frozenset[str]:
    """The post ids present now that a state committed since the recorded commit knew and
    this one does not (`known_since`: the post ids each such state knew, read lazily). The
    recorded commit alone misses one case: two applies in two clones, each recording posts
    the other's commit never had, and a conflict resolved with `git checkout --theirs`. The
    kept side's commit has no file of the other side's posts; the other side's state, still
    in the merged history, has their records."""
    unknown = {
        post_id
        for post_id in present
        if post_id not in state.posts and renames.get(post_id, post_id) not in state.posts
    }
    lost: set[str] = set()
    for known in known_since if unknown else ():
        lost |= {post_id for post_id in unknown if post_id in known}
    return frozenset(lost)


def known_by(text: str) -> Collection[str]:
    """The post ids a v1 state file's text knows (none for a v2 index, whose records are
    files of their own, or for a text that is no valid state)."""
    try:
        return parse_state(text, posts=lambda tally: {}).posts.keys()
    except UserError:
        return ()  # a version committed with conflict markers, or hand-broken: no records


def record_missing_actions(post: CompiledPost) -> list[Action]:
    reason = (
        "its file was in the commit the state records as reconciled, but the state has no "
        f"record of it: it was sent or decided then, so nothing is sent now. {HINT}"
    )
    return [
        Action(
            post_id=post.spec.id,
            path=post.spec.path,
            account=payload.account.alias,
            account_id=payload.account.id,
            platform=payload.account.platform,
            kind=Kind.RECORD_MISSING,
            reason=reason,
            severity="error",
            fingerprint=payload.fingerprint,
            revision=post.spec.revision,
        )
        for payload in post.payloads
    ]
