"""Commit messages stay readable and small at any size of run (issue 19, item 1).

An apply of 500 posts to 3 accounts sent all its requests, then died committing the results:
the message listed all 1,500 outcomes (161,533 bytes) and was passed with -m, over the
128 KiB one argument may hold. Now every commit takes its message on stdin, and the messages
carry their counts, the first lines and "and N more"; the full list is in the state.

A real apply of 2,000 outcomes takes minutes here (each step is written to the state before
its request), so the 2,000 go through the functions the runner records with
(`results_message`, then `push_state` to a real bare remote), and a real apply with --push of
90 outcomes shows the same cut in both of its commits."""

from __future__ import annotations

from reconcile_helpers import Workspace, git, post_yaml

from orshot_gitops.reconcile.claims import PushTarget, push_state
from orshot_gitops.reconcile.plan import Kind
from orshot_gitops.reconcile.recorder import Outcome
from orshot_gitops.reconcile.runner import results_message
from orshot_gitops.state.model import (
    STATE_PATH,
    AccountState,
    AccountStatus,
    PostState,
    State,
    new_state,
)
from orshot_gitops.state.store import load_state, write_state
from orshot_gitops.vcs.gitrepo import open_repo
from orshot_gitops.vcs.messages import LINE_WIDTH, SHOWN_LINES, commit_message

ACCOUNTS = ("x", "li", "ig", "fb")


def _outcomes(posts: int, failed: set[int]) -> list[Outcome]:
    found = []
    for n in range(posts):
        for index, account in enumerate(ACCOUNTS):
            if n in failed and account == "fb":
                found.append(Outcome(f"p{n:04d}", account, Kind.CREATE, "failed", error="refused"))
            else:
                url = f"https://social.example/{account}/{n * 4 + index}"
                found.append(Outcome(f"p{n:04d}", account, Kind.CREATE, "published", url=url))
    return found


def _state_of(outcomes: list[Outcome]) -> State:
    state = new_state()
    for n, o in enumerate(outcomes):
        status = AccountStatus.PUBLISHED if o.ok else AccountStatus.FAILED
        record = AccountState(
            account_id=ACCOUNTS.index(o.account) + 1,
            fingerprint=f"{n:064x}",
            revision=1,
            status=status,
            url=o.url,
            error=o.error,
        )
        post = state.posts.get(o.post_id) or PostState(path=f"posts/{o.post_id}.yaml", revision=1)
        state = state.with_post(o.post_id, post.with_account(o.account, record))
    return state


def test_2000_outcomes_are_committed_and_pushed_with_a_short_message(ws: Workspace) -> None:
    outcomes = _outcomes(500, failed={7, 310, 499})
    assert len(outcomes) == 2000
    message = results_message(outcomes)
    with open_repo(ws.root) as repo:
        pushed, commit = push_state(
            repo,
            lambda s: write_state(ws.root, s),
            write_state(ws.root, _state_of(outcomes)),
            new_state(),
            message,
            PushTarget("origin", "main"),
        )
    assert commit is not None and git(ws.remote, "rev-parse", "main") == commit
    assert ws.log()[0] == "orshot: 3 failed, 1997 published [skip ci]"

    body = ws.message().splitlines()[2:]
    assert len(body) == SHOWN_LINES + 1
    # What went wrong comes first: in a long run it must not hide behind the successes.
    assert body[:3] == [
        "failed     p0007 → fb  refused",
        "failed     p0310 → fb  refused",
        "failed     p0499 → fb  refused",
    ]
    assert body[3] == "published  p0000 → fb  https://social.example/fb/3"
    assert body[-1] == "… and 1,950 more (all of them are in .orshot/state.json)"
    assert len(ws.message().encode()) < 6_000
    # ...because the state, committed and pushed with it, holds every one of them.
    recorded = load_state(ws.root)
    assert recorded == pushed
    assert sum(len(p.accounts) for p in recorded.posts.values()) == 2000
    assert git(ws.remote, "show", f"main:{STATE_PATH}") == (ws.root / STATE_PATH).read_text(
        encoding="utf-8"
    ).rstrip("\n")


def test_a_real_apply_cuts_both_its_commit_messages_after_the_first_lines(ws: Workspace) -> None:
    for n in range(30):
        ws.write(f"posts/p{n:02d}.yaml", post_yaml(f"Post {n} of 30", accounts=("x", "li", "fb")))
    ws.commit("thirty posts")

    run = ws.apply("--push")

    assert run.code == 0, run.output
    assert git(ws.remote, "rev-parse", "main") == ws.head()
    assert ws.log()[:2] == [
        "orshot: 90 published [skip ci]",
        "orshot: sending 90 post(s) [skip ci]",
    ]
    results = ws.message().splitlines()
    assert len(results) == 2 + SHOWN_LINES + 1
    assert results[2].startswith("published  p00 → fb  ")
    assert results[-1] == "… and 40 more (all of them are in .orshot/state.json)"
    intents = ws.message("HEAD~1").splitlines()
    assert intents[2] == "create         p00 → fb"
    assert intents[-3] == "… and 40 more (all of them are in .orshot/state.json)"
    # The run's trailer stays the last paragraph, where git's trailer parsing finds it.
    assert intents[-2] == ""
    trailers = git(ws.root, "log", "-1", "--format=%(trailers:key=Orshot-Run)", "HEAD~1")
    assert trailers.startswith("Orshot-Run: ") and trailers == intents[-1]


def test_a_message_is_bounded_whatever_its_lines_hold() -> None:
    long_error = "Orshot said:\n" + "x" * 5000 + "\r\nretry later"
    message = commit_message(
        "orshot: 1 failed [skip ci]",
        [f"failed     p → x  {long_error}"],
        trailers=["Orshot-Run: r"],
    )
    subject, blank, line, blank2, trailer = message.split("\n")
    assert (subject, blank, blank2, trailer) == (
        "orshot: 1 failed [skip ci]",
        "",
        "",
        "Orshot-Run: r",
    )
    assert len(line) == LINE_WIDTH and line.endswith("x…")
    assert line.startswith("failed     p → x  Orshot said: xxx")
    # A subject is never cut: it carries the counts and "[skip ci]".
    subject = "orshot: adopt " + "p" * 300 + " [skip ci]"
    assert commit_message(subject, []) == subject


def test_a_few_lines_are_kept_whole_and_nothing_is_added() -> None:
    lines = [f"line {n}" for n in range(SHOWN_LINES)]
    assert commit_message("s", lines).split("\n") == ["s", "", *lines]
    assert commit_message("s", [*lines, "one more"]).split("\n")[-1] == (
        "… and 1 more (all of them are in .orshot/state.json)"
    )
