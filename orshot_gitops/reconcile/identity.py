"""Who a record belongs to when names change or history is missing.

Records follow the Orshot account id, not the alias written in orshot.yaml: renaming an
alias (the same id) is a rename, not a new account. And a post that git cannot show to be
new, while a recorded post of its accounts lost its file, is held back: it may be that post
moved, and sending it would post it twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from orshot_gitops.content.compile import CompiledPost
from orshot_gitops.content.model import Config
from orshot_gitops.state.model import State


def follow_account_ids(state: State, config: Config) -> State:
    """The state with each record whose alias is no longer in orshot.yaml moved to the one
    alias that now names the same Orshot account id.

    Nothing moves where that is not certain: an alias still configured keeps its records
    (even if it now names another id), an id that two aliases name is ambiguous, and a
    record already present under the new alias is never overwritten."""
    aliases_by_id: dict[int, list[str]] = defaultdict(list)
    for alias, account in config.accounts.items():
        aliases_by_id[account.id].append(alias)
    moves: list[tuple[str, str, str]] = []
    # Asked of the file's values: the usual answer, "none", costs no post built.
    for post_id in sorted(state.post_ids_with_aliases_outside(config.accounts)):
        accounts = state.posts[post_id].accounts
        for key, record in sorted(accounts.items()):
            targets = aliases_by_id.get(record.account_id, [])
            if key in config.accounts or len(targets) != 1 or targets[0] in accounts:
                continue
            moves.append((post_id, key, targets[0]))
    if not moves:
        return state  # a copy would build every post of the file
    moved = state
    for post_id, key, new_key in moves:
        post = moved.posts[post_id]
        record = post.accounts[key]
        moved = moved.with_post(post_id, post.without_account(key).with_account(new_key, record))
    return moved


def unexplained_posts(
    posts: Iterable[CompiledPost],
    state: State,
    *,
    present: set[str],
    renames: Mapping[str, str],
    explained_paths: set[str],
) -> dict[str, tuple[str, ...]]:
    """The new-looking posts that might be recorded posts moved and edited, each with the
    recorded posts it might be: fail closed, send nothing for them.

    A post is new for certain when git shows its file added since the reconciled commit
    (`explained_paths`). Without that (a shallow or squashed history, no recorded commit, a
    first run killed before it recorded one), a post that is not in the state while a
    recorded post of one of its accounts has lost its file cannot be told apart from that
    post moved: its captions changed, so fingerprints cannot match, and the Orshot post id
    is only known to the record. Exact matches were already taken as renames."""
    gone = {pid for pid in state.posts if pid not in present and pid not in renames.values()}
    if not gone:
        return {}
    gone_accounts = {
        pid: {record.account_id for record in state.posts[pid].accounts.values()}
        for pid in sorted(gone)
    }
    held: dict[str, tuple[str, ...]] = {}
    for post in posts:
        spec = post.spec
        if spec.id in state.posts or spec.id in renames or spec.path in explained_paths:
            continue
        ids = {payload.account.id for payload in post.payloads}
        maybe = tuple(pid for pid, accounts in gone_accounts.items() if accounts & ids)
        if maybe:
            held[spec.id] = maybe
    return held
