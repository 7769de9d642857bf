"""A saved plan is what was reviewed, and what was reviewed is what is committed.

`plan --out plan.json && apply plan.json` is the Terraform habit: review one file, send
exactly it. The hole these stories close: a plan saved from a working tree with uncommitted
edits (or a plan file changed after it was saved) would publish what no commit holds.
"""

from __future__ import annotations

import json

import pytest
from reconcile_helpers import Workspace, git, post_yaml


def test_a_plan_is_not_saved_from_uncommitted_changes(ws: Workspace) -> None:
    plan_file = ws.root.parent / "plan.json"
    ws.post("2026/launch", post_yaml("Launch day!", ("x",)))
    ws.write("posts/2026/launch.yaml", post_yaml("Launch day! Never committed.", ("x",)))

    run = ws.plan("--out", str(plan_file))

    assert run.code == 1
    assert "posts/2026/launch.yaml has uncommitted changes" in run.output
    assert "commit or stash" in run.output
    assert not plan_file.exists()
    # Without --out the plan still previews the working tree: that is what a writer wants.
    assert ws.plan().code == 0


@pytest.mark.parametrize(
    "dirty",
    [
        ("posts/2026/new.yaml", post_yaml("An untracked post.", ("x",))),
        ("templates/signature.j2", "-- changed, not committed\n"),
        ("orshot.yaml", "paused: true\n"),
    ],
    ids=["untracked-post", "template", "config"],
)
def test_every_input_counts_as_uncommitted_for_a_saved_plan(
    ws: Workspace, dirty: tuple[str, str]
) -> None:
    plan_file = ws.root.parent / "plan.json"
    ws.post("2026/launch", post_yaml("Launch day!", ("x",)))
    path, text = dirty
    original = ws.root / path
    ws.write(path, (original.read_text() if original.exists() else "") + text)

    run = ws.plan("--out", str(plan_file))

    assert run.code == 1, run.output
    assert f"{path} has uncommitted changes" in run.output
    assert not plan_file.exists()


def test_the_stash_trick_cannot_publish_what_was_never_committed(ws: Workspace) -> None:
    """The reported route: a plan saved from a dirty tree, the edit stashed, the plan applied.
    Made here through the library (the CLI now refuses to save it) to prove apply checks too."""
    from datetime import datetime, timezone

    from orshot_gitops.reconcile.planner import make_plan
    from orshot_gitops.report.plan import as_json
    from orshot_gitops.vcs.gitrepo import open_repo

    plan_file = ws.root.parent / "plan.json"
    ws.post("2026/launch", post_yaml("Launch day!", ("x",)))
    ws.write("posts/2026/launch.yaml", post_yaml("Launch day! Never committed.", ("x",)))
    with open_repo(ws.root) as repo:
        dirty_plan, _, _ = make_plan(ws.root, repo, datetime.now(timezone.utc))
    plan_file.write_text(as_json(dirty_plan) + "\n", encoding="utf-8")
    git(ws.root, "stash", "--quiet")

    run = ws.apply(str(plan_file))

    assert run.code == 1
    assert "the saved plan does not match what the committed files would send" in run.err
    assert ws.sent() == []
    assert not (ws.root / ".orshot/state.json").exists()


def test_a_saved_plan_edited_after_review_is_refused(ws: Workspace) -> None:
    plan_file = ws.root.parent / "plan.json"
    ws.post("2026/launch", post_yaml("Launch day!", ("x", "li")))
    assert ws.plan("--out", str(plan_file)).code == 0
    saved = json.loads(plan_file.read_text())
    saved["actions"][0]["content"] = "Something nobody reviewed"
    plan_file.write_text(json.dumps(saved))

    run = ws.apply(str(plan_file))

    assert run.code == 1
    assert "the saved plan does not match" in run.err
    assert ws.sent() == []


def test_apply_refuses_uncommitted_changes_under_a_custom_posts_dir(ws: Workspace) -> None:
    """`posts_dir: content` moves the posts: their uncommitted edits must be refused too."""
    ws.set_config(
        (ws.root / "orshot.yaml").read_text() + "posts_dir: content\ntemplates_dir: snippets\n"
    )
    ws.write("content/launch.yaml", post_yaml("Launch day!", ("x",)))
    ws.write("snippets/sig.j2", "-- us\n")
    ws.commit("posts under content/")
    ws.write("content/launch.yaml", post_yaml("Launch day! Never committed.", ("x",)))

    run = ws.apply()

    assert run.code == 1
    assert "content/launch.yaml has uncommitted changes" in run.err
    assert ws.sent() == []

    git(ws.root, "checkout", "--", "content/launch.yaml")
    ws.write("snippets/sig.j2", "-- changed\n")
    run = ws.apply()
    assert run.code == 1
    assert "snippets/sig.j2 has uncommitted changes" in run.err
    assert ws.sent() == []


def test_a_clean_saved_plan_is_still_applied_exactly(ws: Workspace) -> None:
    plan_file = ws.root.parent / "plan.json"
    ws.post("2026/launch", post_yaml("Launch day!", ("x", "li")))
    assert ws.plan("--out", str(plan_file)).code == 0
    run = ws.apply(str(plan_file))
    assert run.code == 0, run.output
    assert ws.public() == [(1, "Launch day!"), (2, "Launch day!")]


def test_a_post_file_git_ignores_is_never_sent(ws: Workspace) -> None:
    """An ignored file is on this disk only: no commit holds it, no review saw it."""
    ws.write(".gitignore", "posts/private/\n")
    ws.commit("ignore private drafts")
    ws.post("2026/launch", post_yaml("Launch day!", ("x",)))
    ws.write("posts/private/idea.yaml", post_yaml("Not for review.", ("x",)))

    run = ws.apply()

    assert run.code == 1
    assert "posts/private/idea.yaml has uncommitted changes" in run.err
    assert ws.sent() == []
    assert ws.plan("--out", str(ws.root.parent / "plan.json")).code == 1
