"""`adopt` records the commit it adopted at, so the next plan is incremental (issue 18) --
but only when no post of that commit is left undecided by it: a post file of the recorded
commit without a record is taken for a lost record (reconcile/missing.py), and an edit
between the old recorded commit and HEAD must still be planned."""

from __future__ import annotations

from reconcile_helpers import Workspace, actions, git, post_yaml


def test_adopt_all_records_head_and_the_next_plan_is_incremental(ws: Workspace) -> None:
    ws.post("2026/launch", post_yaml("Launch day."))
    content = ws.post("2026/photo", post_yaml("A photo.", accounts=("x",)))
    run = ws.cli("adopt", "--all")
    assert run.code == 0, run.output
    assert ws.state()["commit"] == content  # what was adopted: the posts of this commit
    assert "next plan starts there" in run.output, run.output

    plan = ws.plan_json()
    assert plan["full_rescan"] == "" and plan["base_commit"] == content, plan
    assert actions(plan) == [] and plan["unchanged"] == 3

    ws.post("2026/launch", post_yaml("Launch day, edited."))
    plan = ws.plan_json()
    assert plan["full_rescan"] == "", plan
    assert actions(plan) == [
        ("2026/launch", "li", "changed-after-publish"),
        ("2026/launch", "x", "changed-after-publish"),
    ]
    assert ws.sent() == []


def test_a_post_left_unadopted_keeps_the_commit_unrecorded(ws: Workspace) -> None:
    """Recording HEAD with a post of it unrecorded would make that post a lost record: the
    plan would refuse it as record-missing instead of creating it."""
    ws.post("2026/launch", post_yaml("Launch day."))
    ws.post("2026/new", post_yaml("Brand new.", accounts=("x",)))
    run = ws.cli("adopt", "2026/launch")
    assert run.code == 0, run.output
    assert actions(ws.plan_json()) == [("2026/new", "x", "publish")]  # not record-missing
    assert ws.state().get("commit") is None
    assert "posts/2026/new.yaml has no record" in run.output, run.output


def test_an_edit_since_the_recorded_commit_is_not_hidden_by_adopting_another_post(
    ws: Workspace,
) -> None:
    """A draft Orshot holds, edited after the last apply: adopting a new post must not move
    the recorded commit past that edit, or the edit would never be sent."""
    ws.post("2026/draft", post_yaml("A draft.", accounts=("x",), draft=True))
    assert ws.apply().code == 0
    git(ws.root, "pull", "--quiet")
    recorded = ws.state()["commit"]
    assert recorded is not None
    ws.post("2026/draft", post_yaml("A draft, edited.", accounts=("x",), draft=True))
    ws.post("2026/old", post_yaml("Sent by hand.", accounts=("x",)))
    run = ws.cli("adopt", "2026/old")
    assert run.code == 0, run.output
    assert actions(ws.plan_json()) == [("2026/draft", "x", "edit")]  # the edit is not lost
    assert ws.state()["commit"] == recorded
    assert "posts/2026/draft.yaml changed" in run.output, run.output


def test_an_uncommitted_edit_adopted_then_reverted_is_still_planned(ws: Workspace) -> None:
    """adopt reads the working tree: what it recorded of an uncommitted edit is not HEAD's
    post, so HEAD is not recorded (after `git checkout` the file differs from its record)."""
    ws.post("2026/launch", post_yaml("Launch day.", accounts=("x",)))
    ws.write("posts/2026/launch.yaml", post_yaml("Launch day, uncommitted.", accounts=("x",)))
    run = ws.cli("adopt", "--all")
    assert run.code == 0, run.output
    git(ws.root, "checkout", "--", "posts/2026/launch.yaml")
    assert actions(ws.plan_json()) == [("2026/launch", "x", "changed-after-publish")]
    assert ws.state().get("commit") is None
    assert "uncommitted" in run.output, run.output
