"""The state as a commit recorded it: its index, and its post files read from git objects
only when looked up (a v1 file at that commit is read whole, as it always was)."""

from __future__ import annotations

from orshot_gitops.state.layout import StoredPosts, post_file, post_id_of, with_schedule
from orshot_gitops.state.model import POSTS_DIR, SCHEDULE_PATH, STATE_PATH, PostState, State
from orshot_gitops.state.postfiles import parse_post
from orshot_gitops.state.posts import Tally
from orshot_gitops.state.store import load_state, parse_state
from orshot_gitops.vcs.gitrepo import GitRepo


def load_checked(git: GitRepo) -> State:
    """The working tree's state (store.load_state), its index's tally not trusted when a
    merge wrote the index last: git merged the post files by itself, and a conflict on the
    index resolved by taking one side (`git checkout --theirs`) keeps that side's tally of
    posts the other side changed. Counting them again costs one read of every record."""
    state = load_state(git.root)
    if isinstance(state.posts, StoredPosts) and git.last_change_is_merge(STATE_PATH):
        state.posts.recount()
    return state


def state_at(git: GitRepo, rev: str, *, whole: bool = False) -> State | None:
    """The state in commit `rev`, or None when it has none. `whole`: read every post file
    now, in one git call (a merge of two states looks at all of them)."""
    text = git.show_file(rev, STATE_PATH)
    if text is None:
        return None
    where = f" (at {rev[:12]})"

    def posts(tally: Tally | None) -> StoredPosts:
        blobs = {
            post_id: blob
            for path, blob in git.tree_blobs(rev, POSTS_DIR).items()
            if (post_id := post_id_of(path)) is not None
        }
        texts = git.blob_texts(list(blobs.values())) if whole else {}

        def read(post_id: str) -> PostState:
            blob = blobs[post_id]
            found = texts.get(blob)
            if found is None:
                found = git.blob_texts([blob]).get(blob, "")
            return parse_post(found, post_file(post_id) + where)

        schedule = with_schedule(tally, git.show_file(rev, SCHEDULE_PATH))
        return StoredPosts(f"git:{rev}", frozenset(blobs), read, schedule)

    return parse_state(text, STATE_PATH + where, posts=posts)
