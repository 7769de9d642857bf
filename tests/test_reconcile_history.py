"""History git cannot show, and names that change: a moved post, a renamed account alias, a
shallow clone or a state that went backwards must never make the reconciler post again what
already went out. The sandbox's Posts Log is the ground truth of what went out."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import SandboxFactory
from fault_helpers import (
    FAST,
    apply,
    assert_no_public_duplicates,
    content_remote,
    converge,
    logged_posts,
    reported,
)
from fault_helpers import git as fgit
from reconcile_helpers import CONFIG, Workspace, actions, git, post_yaml

# --- an account alias renamed (same Orshot id) ------------------------------------------------


def test_renaming_an_account_alias_republishes_nothing(ws: Workspace) -> None:
    ws.post("launch", post_yaml("We launched", accounts=("x", "li")))
    ws.post(
        "later",
        post_yaml("Coming soon", accounts=("x",), schedule="2099-01-01T09:00", timezone="UTC"),
    )
    assert ws.apply().code == 0
    sent_before = ws.sent()
    held_id = ws.record("later", "x")["post_id"]

    # The alias `x` becomes `acme-x`: the same Orshot account, id 1.
    ws.write("orshot.yaml", CONFIG.replace("  x: {id: 1", "  acme-x: {id: 1"))
    ws.write("posts/launch.yaml", post_yaml("We launched", accounts=("acme-x", "li")))
    ws.write(
        "posts/later.yaml",
        post_yaml("Coming soon", accounts=("acme-x",), schedule="2099-01-01T09:00", timezone="UTC"),
    )
    ws.commit("rename the x alias")

    assert actions(ws.plan_json()) == []
    run = ws.apply()
    assert run.code == 0, run.output
    assert ws.sent() == sent_before  # nothing new, nothing discarded
    assert ws.record("launch", "acme-x")["status"] == "published"
    assert ws.record("later", "acme-x")["post_id"] == held_id
    assert "x" not in ws.state()["posts"]["launch"]["accounts"]

    # And an edit after the rename edits the held post in place, under the new alias.
    ws.post(
        "later",
        post_yaml(
            "Coming sooner", accounts=("acme-x",), schedule="2099-01-01T09:00", timezone="UTC"
        ),
    )
    assert actions(ws.plan_json()) == [("later", "acme-x", "edit")]


# --- a moved and edited post, when git cannot show the move -----------------------------------


def moved_and_edited(ws: Workspace) -> None:
    """launch.yaml moves to 2026/launch.yaml with a new caption (too different for git alone
    to see a rename once history is gone)."""
    (ws.root / "posts/2026").mkdir(parents=True, exist_ok=True)
    git(ws.root, "mv", "posts/launch.yaml", "posts/2026/launch.yaml")
    ws.write("posts/2026/launch.yaml", post_yaml("Rockets are go. Read all about it today"))
    ws.commit("move and edit the launch post")


def assert_held_back(ws: Workspace, run_output: str) -> None:
    assert "2026/launch" in run_output
    assert "adopt" in run_output and "resolve" in run_output


def test_a_move_after_squashed_history_is_held_back_not_published_again(ws: Workspace) -> None:
    ws.post("launch", post_yaml("We launched"))
    assert ws.apply().code == 0
    sent_before = ws.sent()

    # Squash everything into one new root commit: the recorded commit is gone.
    git(ws.root, "checkout", "--quiet", "--orphan", "squashed")
    moved_and_edited(ws)
    git(ws.root, "branch", "-D", "main")
    git(ws.root, "branch", "-m", "main")
    git(ws.root, "reflog", "expire", "--expire=now", "--all")
    git(ws.root, "gc", "--quiet", "--prune=now")

    plan = ws.plan_json()
    assert ("2026/launch", "x", "ambiguous") in actions(plan)
    run = ws.apply()
    assert run.code == 1
    assert_held_back(ws, run.output)
    assert ws.sent() == sent_before
    # Held back on every later run too, not just the first one.
    assert ws.apply().code == 1
    assert ws.sent() == sent_before

    # The user says what it is: the launch post moved.
    assert ws.cli("adopt", "2026/launch", "--from", "launch").code == 0
    assert ws.log()[0].startswith("orshot: adopt 2026/launch moved from launch")  # committed
    run = ws.apply()
    assert run.code == 0, run.output
    assert ws.sent() == sent_before


def test_a_move_after_a_state_without_commit_is_held_back(ws: Workspace) -> None:
    ws.post("launch", post_yaml("We launched"))
    ws.post("other", post_yaml("Something else", accounts=("x",)))
    assert ws.apply().code == 0
    sent_before = ws.sent()
    state = ws.state()
    state["commit"] = None  # what a merge of two runs, or a killed first run, leaves
    ws.write(".orshot/state.json", json.dumps(state, indent=2, sort_keys=True) + "\n")
    ws.commit("state without a commit")
    moved_and_edited(ws)

    run = ws.apply()
    assert run.code == 1
    assert_held_back(ws, run.output)
    assert ws.sent() == sent_before


def test_a_new_post_after_a_deletion_is_published_once_the_deletion_is_confirmed(
    ws: Workspace,
) -> None:
    ws.post("launch", post_yaml("We launched"))
    assert ws.apply().code == 0
    state = ws.state()
    state["commit"] = None
    ws.write(".orshot/state.json", json.dumps(state, indent=2, sort_keys=True) + "\n")
    ws.delete("launch")
    ws.post("hiring", post_yaml("We are hiring"))

    assert ws.apply().code == 1  # could be the launch post moved: nothing sent
    assert len(ws.sent()) == 1
    assert ws.cli("resolve", "launch", "--as", "deleted").code == 0
    assert ws.log()[0].startswith("orshot: resolve launch as deleted")  # committed
    run = ws.apply()
    assert run.code == 0, run.output
    assert [p["request"]["content"] for p in ws.sent()] == ["We launched", "We are hiring"]


def test_a_move_seen_from_a_shallow_clone_is_a_rename(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    """CI checks out one commit (actions/checkout's fetch-depth: 1): the history the diff
    needs is fetched, and the move is a move."""
    server = sandbox_factory(FAST)
    remote = content_remote(
        tmp_path, {"orshot.yaml": CONFIG, "posts/launch.yaml": post_yaml("We launched")}
    )
    first = remote.clone()
    converge(first, server, "--push")
    sent_before = logged_posts(server)
    (first / "posts/2026").mkdir()
    fgit(first, "mv", "posts/launch.yaml", "posts/2026/launch.yaml")
    (first / "posts/2026/launch.yaml").write_text(post_yaml("We launched!"))
    for n in range(3):
        (first / f"posts/filler-{n}.yaml").write_text(post_yaml(f"Filler {n}", draft=True))
        fgit(first, "add", "--all")
        fgit(first, "commit", "--quiet", "-m", f"filler {n}")
    fgit(first, "push", "--quiet", "origin", "main")

    shallow = tmp_path / "shallow"
    fgit(tmp_path, "clone", "--quiet", "--depth", "1", f"file://{remote.bare}", str(shallow))
    run = apply(shallow, server, "--push")
    assert run.returncode == 0, run.describe()
    assert reported(run).get(("2026/launch", "x")) == "renamed"
    assert [p for p in logged_posts(server) if p["request"]["content"].startswith("We")] == [
        p for p in sent_before
    ]
    assert_no_public_duplicates(server)


def test_a_move_after_a_first_apply_killed_after_publishing_is_not_published_again(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    server = sandbox_factory(FAST)
    remote = content_remote(
        tmp_path, {"orshot.yaml": CONFIG, "posts/launch.yaml": post_yaml("We launched")}
    )
    repo = remote.clone()
    crashed = apply(repo, server, crash_at="after-publish")
    assert crashed.killed, crashed.describe()
    fgit(repo, "add", "--all")
    fgit(repo, "commit", "--quiet", "-m", "the intents the killed run left")
    (repo / "posts/2026").mkdir()
    fgit(repo, "mv", "posts/launch.yaml", "posts/2026/launch.yaml")
    (repo / "posts/2026/launch.yaml").write_text(post_yaml("Rockets are go. Read all about it"))
    fgit(repo, "commit", "--quiet", "-am", "move and edit")

    apply(repo, server, "--settle-after", "0")
    apply(repo, server, "--settle-after", "0")
    assert_no_public_duplicates(server)
    public = [p for p in logged_posts(server) if p["status"] != "draft"]
    assert len(public) == 1, public


# --- a state that went backwards --------------------------------------------------------------


def drop_the_results(ws: Workspace, commits: int) -> None:
    """Someone force-pushes the branch without the last `commits` commits (the results)."""
    git(ws.root, "reset", "--quiet", "--hard", f"HEAD~{commits}")
    git(ws.root, "push", "--quiet", "--force", "origin", "main")


def test_a_state_that_went_backwards_is_refused_until_rebuilt(ws: Workspace) -> None:
    ws.post("launch", post_yaml("We launched"))
    ws.post("hiring", post_yaml("We are hiring", accounts=("x",)))
    git(ws.root, "push", "--quiet", "origin", "main")
    assert ws.apply("--push").code == 0
    sent_before = ws.sent()
    drop_the_results(ws, 2)  # the intents and the results commits

    run = ws.plan()
    assert run.code == 1
    assert "refresh --rebuild" in run.output
    run = ws.apply("--push")
    assert run.code == 1 and "refresh --rebuild" in run.output
    assert ws.sent() == sent_before

    run = ws.cli("refresh", "--rebuild", "--format", "json")
    assert run.code == 0, run.output
    found = run.json()
    assert sorted((r["post"], r["account"], r["status"]) for r in found["recorded"]) == [
        ("hiring", "x", "published"),
        ("launch", "li", "published"),
        ("launch", "x", "published"),
    ]
    assert ws.sent() == sent_before  # rebuilding reads; it never sends
    ws.commit("rebuilt state")
    run = ws.apply("--push")
    assert run.code == 0, run.output
    assert ws.sent() == sent_before


def test_a_state_that_went_backwards_is_caught_by_the_posts_log_in_a_fresh_clone(
    ws: Workspace, tmp_path: Path
) -> None:
    """CI's fresh clone has no reflog and no ref that remembers the dropped results: only
    Orshot's Posts Log says what went out."""
    ws.post("launch", post_yaml("We launched"))
    git(ws.root, "push", "--quiet", "origin", "main")
    assert ws.apply("--push").code == 0
    sent_before = ws.sent()
    drop_the_results(ws, 2)
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "--quiet", str(ws.remote), str(fresh))
    ws.root = fresh

    run = ws.apply("--push")
    assert run.code == 1, run.output
    assert "refresh --rebuild" in run.output
    assert ws.sent() == sent_before

    # Rebuilt from the Posts Log, the state is trusted again: nothing goes out twice.
    assert ws.cli("refresh", "--rebuild").code == 0
    ws.commit("rebuilt state")
    run = ws.apply("--push")
    assert run.code == 0, run.output
    assert ws.sent() == sent_before


def test_a_deleted_state_file_is_a_state_that_went_backwards(ws: Workspace) -> None:
    ws.post("launch", post_yaml("We launched"))
    assert ws.apply().code == 0
    sent_before = ws.sent()
    git(ws.root, "rm", "-r", "--quiet", ".orshot/state.json", ".orshot/state")
    ws.commit("start over")

    run = ws.apply()
    assert run.code == 1
    assert "went backwards" in run.output and "refresh --rebuild" in run.output
    assert ws.sent() == sent_before
