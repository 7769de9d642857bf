"""Who a record belongs to when names change: records follow the Orshot account id, not the
alias written in orshot.yaml.

A record is keyed by the alias it was sent under. Renaming an alias (the same Orshot id) is
a rename, not a new account: without this, every post under it would be planned as new for
the new alias and published a second time.
"""

from __future__ import annotations

from collections import defaultdict

from orshot_gitops.model import Config
from orshot_gitops.state import State


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
