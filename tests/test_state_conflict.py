"""A state merge conflict never leads to a repost (issue 13).

An `apply` by hand while CI also applies, then `git pull`: both sides changed
.orshot/state.json. The registered merge driver merges it entry by entry; `state repair`
does the same after the fact; a record lost anyway (`git checkout --theirs`) is "record
missing", never new; and `apply` in a clone with an upstream pushes like `apply --push`.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

from orshot_gitops.cli import main
from orshot_gitops.state.model import STATE_PATH
from tests.reconcile_helpers import Workspace, actions, git, post_yaml
from tests.statefiles import read_state_json, write_state_json


def _clone(ws: Workspace, name: str = "ci") -> Path:
    clone = ws.root.parent / name
    git(ws.root.parent, "clone", "--quiet", str(ws.remote), str(clone))
    return clone


def _cli_in(ws: Workspace, repo: Path, *argv: str) -> int:
    ws.capsys.readouterr()
    code = main([*argv, "--repo", str(repo)])
    out, err = ws.capsys.readouterr()
    ws.all_output.append(out + err)
    return code


def _sent_contents(ws: Workspace) -> list[str]:
    return sorted(s["request"]["content"] for s in ws.sent())


def _conflicting_results(ws: Workspace) -> Path:
    """origin has post a published; this clone publishes b by hand (recorded locally), a
    second clone publishes c and pushes its results: the state now differs on both sides."""
    ws.post("a", post_yaml("Post a"))
    assert ws.apply("--push").code == 0
    ci = _clone(ws)
    ws.post("b", post_yaml("Post b"))
    assert ws.apply("--local").code == 0
    (ci / "posts").mkdir(exist_ok=True)
    (ci / "posts/c.yaml").write_text(post_yaml("Post c"), encoding="utf-8")
    git(ci, "add", "--all")
    git(ci, "commit", "--quiet", "-m", "post c")
    assert _cli_in(ws, ci, "apply") == 0  # an upstream: pushes its results
    return ci


def test_pull_after_apply_by_hand_merges_the_state_entry_by_entry(ws: Workspace) -> None:
    _conflicting_results(ws)
    git(ws.root, "pull", "--quiet", "--no-rebase", "--no-edit")  # raises on a conflict
    state = ws.state()
    assert sorted(state["posts"]) == ["a", "b", "c"]
    plan = ws.plan_json()
    assert [a for a in actions(plan) if a[2] not in ("removed",)] == []
    assert ws.apply().code == 0
    sent = _sent_contents(ws)
    assert len(sent) == len(set(sent)) == 3, sent


def test_state_repair_merges_a_conflict_git_left(ws: Workspace) -> None:
    _conflicting_results(ws)
    # A clone where the driver was never registered: git's line merge conflicts.
    git(ws.root, "config", "--remove-section", "merge.orshot-state")
    pulled = subprocess.run(
        ["git", "pull", "--no-rebase", "--no-edit"], cwd=ws.root, capture_output=True, text=True
    )
    assert pulled.returncode != 0, pulled.stdout + pulled.stderr
    assert "<<<<<<<" in (ws.root / ".orshot/state.json").read_text(encoding="utf-8")
    run = ws.cli("state", "repair")
    assert run.code == 0, run.output
    assert git(ws.root, "diff", "--name-only", "--diff-filter=U") == ""
    git(ws.root, "commit", "--quiet", "--no-edit")
    assert sorted(ws.state()["posts"]) == ["a", "b", "c"]
    assert ws.apply().code == 0
    sent = _sent_contents(ws)
    assert len(sent) == len(set(sent)) == 3, sent


def test_state_repair_without_a_conflict_is_one_line(ws: Workspace) -> None:
    run = ws.cli("state", "repair")
    assert run.code == 1
    assert "not in conflict" in run.err and "Traceback" not in run.output


def test_a_record_dropped_by_checkout_theirs_is_record_missing_not_new(ws: Workspace) -> None:
    ws.post("a", post_yaml("Post a"))
    ws.post("b", post_yaml("Post b"))
    assert ws.apply().code == 0
    before = len(ws.sent())
    # What `git checkout --theirs` does when theirs never had b's record.
    data = ws.state()
    del data["posts"]["b"]
    ws.write(".orshot/state.json", json.dumps(data, indent=2, sort_keys=True) + "\n")
    ws.commit("take theirs")
    plan = ws.plan_json()
    kinds = {(a["post_id"], a["kind"]) for a in plan["actions"]}
    assert ("b", "record-missing") in kinds
    assert not any(a["kind"] == "create" for a in plan["actions"])
    text = ws.plan()
    assert "record" in text.output and "refresh --rebuild" in text.output
    run = ws.apply()
    assert run.code != 0
    assert len(ws.sent()) == before  # nothing sent again
    run = ws.cli("refresh", "--rebuild")
    assert run.code == 0, run.output
    assert "b" in ws.state()["posts"]
    ws.commit("rebuilt")
    assert ws.apply().code == 0
    assert len(ws.sent()) == before


def test_checkout_theirs_after_two_clones_each_added_posts_keeps_both_records(
    ws: Workspace,
) -> None:
    """The conflict as it happens without the merge driver: this clone added b and applied
    by hand, CI added c and pushed. Each post's records are a file of their own (v2), so git
    merges b's and c's by itself and only the index conflicts; `git checkout --theirs` of
    the index keeps CI's tally, which never counted b. The merge wrote the index last, so
    the tally is counted again: b is known, nothing is sent twice, and the counts are true."""
    _conflicting_results(ws)
    git(ws.root, "config", "--remove-section", "merge.orshot-state")
    subprocess.run(["git", "pull", "--no-rebase", "--no-edit"], cwd=ws.root, capture_output=True)
    git(ws.root, "checkout", "--theirs", ".orshot/state.json")
    git(ws.root, "add", ".orshot/state.json")
    git(ws.root, "commit", "--quiet", "--no-edit")
    assert sorted(ws.state()["posts"]) == ["a", "b", "c"]
    before = len(ws.sent())
    plan = ws.plan_json()
    assert [a for a in actions(plan) if a[2] != "removed"] == []
    assert ws.apply().code == 0
    assert len(ws.sent()) == before
    sent = _sent_contents(ws)
    assert len(sent) == len(set(sent)) == 3, sent


def test_a_tally_taken_from_one_side_of_a_merge_is_counted_again(ws: Workspace) -> None:
    """Both sides changed existing records only (same number of posts): the index taken
    from CI's side does not list the post this clone failed. A merge wrote the index last,
    so the records are counted again and the failed post is retried, not forgotten."""
    ws.post("a", post_yaml("Post a"))
    ws.post("b", post_yaml("Post b"))
    assert ws.apply("--push").code == 0
    ci = _clone(ws)
    data = ws.state()
    data["posts"]["b"]["accounts"]["x"].update(
        status="failed",
        step="draft",
        error="boom",
        failure="transient",
        next_try_at="2000-01-01T00:00:00+00:00",
        post_id=None,
        url=None,
    )
    data["serial"] += 1
    ws.write_state(data)
    ws.commit("b failed here")
    theirs = read_state_json(ci)
    theirs["posts"]["a"]["accounts"]["x"]["attempts"] += 1
    theirs["serial"] += 1
    write_state_json(ci, theirs)
    git(ci, "add", "--all")
    git(ci, "commit", "--quiet", "-m", "CI's side")
    git(ci, "push", "--quiet")
    git(ws.root, "config", "--remove-section", "merge.orshot-state")
    subprocess.run(["git", "pull", "--no-rebase", "--no-edit"], cwd=ws.root, capture_output=True)
    # Whether git's line merge of the index went through or not, the person takes CI's.
    git(ws.root, "checkout", "origin/main", "--", ".orshot/state.json")
    git(ws.root, "add", ".orshot/state.json")
    if (ws.root / ".git/MERGE_HEAD").exists():
        git(ws.root, "commit", "--quiet", "--no-edit")
    else:
        git(ws.root, "commit", "--quiet", "--amend", "--no-edit")
    assert (
        "b" not in json.loads((ws.root / ".orshot/state.json").read_text())["tally"]["needs_work"]
    )
    from orshot_gitops.reconcile.snapshots import load_checked
    from orshot_gitops.vcs.gitrepo import open_repo

    with open_repo(ws.root) as repo:
        assert "b" in load_checked(repo).post_ids_needing_work()


def test_record_missing_never_found_in_orshot_is_sent_after_rebuild(ws: Workspace) -> None:
    """A post whose record is missing and that Orshot never got: the rebuild looked and found
    nothing, so it is new after all."""
    ws.post("a", post_yaml("Post a"))
    assert ws.apply().code == 0
    before = len(ws.sent())
    data = ws.state()
    ws.post("b", post_yaml("Post b"))
    # A state claiming the commit with b was reconciled, without b: a hand edit.
    data["commit"] = ws.head()
    ws.write(".orshot/state.json", json.dumps(data, indent=2, sort_keys=True) + "\n")
    ws.commit("hand edit")
    assert ("b", "record-missing") in {(a["post_id"], a["kind"]) for a in ws.plan_json()["actions"]}
    assert ws.cli("refresh", "--rebuild").code == 0
    ws.commit("rebuilt")
    assert ws.apply().code == 0
    assert len(ws.sent()) == before + 1


def test_apply_in_a_clone_with_an_upstream_pushes_its_results(ws: Workspace) -> None:
    ws.post("a", post_yaml("Post a"))
    assert ws.apply().code == 0
    assert git(ws.remote, "rev-parse", "main") == ws.head()
    ws.post("b", post_yaml("Post b"))
    assert ws.apply("--local").code == 0
    assert git(ws.remote, "rev-parse", "main") != ws.head()


def test_init_and_hook_register_the_merge_driver(ws: Workspace, tmp_path: Path) -> None:
    repo = tmp_path / "fresh"
    repo.mkdir()
    git(repo, "init", "--quiet")
    assert main(["init", "--repo", str(repo)]) == 0
    assert "merge=orshot-state" in (repo / ".gitattributes").read_text(encoding="utf-8")
    assert "merge-state" in git(repo, "config", "--get", "merge.orshot-state.driver")
    clone = _clone(ws, "hand")
    assert main(["hook", "install", "--client", "--repo", str(clone)]) == 0
    assert "merge-state" in git(clone, "config", "--get", "merge.orshot-state.driver")
    assert git(clone, "check-attr", "merge", "--", ".orshot/state.json").endswith("orshot-state")


def test_a_lost_record_stays_missing_when_the_file_then_moves(ws: Workspace) -> None:
    ws.post("a", post_yaml("Post a"))
    assert ws.apply().code == 0
    before = len(ws.sent())
    data = ws.state()
    del data["posts"]["a"]
    ws.write(".orshot/state.json", json.dumps(data, indent=2, sort_keys=True) + "\n")
    ws.commit("take theirs")
    ws.rename("a", "2030/a")
    kinds = {(a["post_id"], a["kind"]) for a in ws.plan_json()["actions"]}
    assert ("2030/a", "record-missing") in kinds, kinds
    ws.apply()
    assert len(ws.sent()) == before


def test_plan_on_a_conflicted_state_points_at_state_repair(ws: Workspace) -> None:
    _conflicting_results(ws)
    git(ws.root, "config", "--remove-section", "merge.orshot-state")
    subprocess.run(["git", "pull", "--no-rebase", "--no-edit"], cwd=ws.root, capture_output=True)
    run = ws.plan()
    assert run.code == 1
    assert "state repair" in run.output and "Traceback" not in run.output


def test_pull_with_rebase_merges_the_state_too(ws: Workspace) -> None:
    _conflicting_results(ws)
    git(ws.root, "pull", "--quiet", "--rebase")
    assert sorted(ws.state()["posts"]) == ["a", "b", "c"]
    assert ws.apply().code == 0
    sent = _sent_contents(ws)
    assert len(sent) == len(set(sent)) == 3, sent


def test_merge_driver_refuses_a_broken_side_in_one_line(ws: Workspace, tmp_path: Path) -> None:
    ws.post("a", post_yaml("Post a"))
    assert ws.apply().code == 0
    good = (ws.root / ".orshot/state.json").read_text(encoding="utf-8")
    paths = {}
    for name, text in (("o", good), ("a", good), ("b", '{"posts": {"x": 1}}\n')):
        paths[name] = tmp_path / name
        paths[name].write_text(text, encoding="utf-8")
    ws.capsys.readouterr()
    code = main(["merge-state", str(paths["o"]), str(paths["a"]), str(paths["b"])])
    err = ws.capsys.readouterr().err
    assert code == 1
    assert "(theirs)" in err and "Traceback" not in err
    assert paths["a"].read_text(encoding="utf-8") == good  # ours left as it was
    code = main(["merge-state", str(tmp_path / "nope"), str(paths["a"]), str(paths["b"])])
    assert code == 1 and "crashed" not in ws.capsys.readouterr().err


def test_a_post_never_sent_for_an_error_is_new_once_fixed_not_missing(ws: Workspace) -> None:
    """A post the run refused (its schedule had passed) has no record, yet the run may record
    its commit: fixed, it is new, not "record missing"."""
    ws.post("a", post_yaml("Post a"))
    ws.post("late", post_yaml("Too late", schedule="2020-01-01T09:00"))
    ws.apply()
    ws.post("late", post_yaml("Too late", schedule="2031-01-01T09:00"))
    kinds = {(a["post_id"], a["kind"]) for a in ws.plan_json()["actions"]}
    assert ("late", "record-missing") not in kinds, kinds
    assert ("late", "create") in kinds, kinds


def test_two_first_runs_merge_under_the_pushed_lineage_keeping_both() -> None:
    """Both sides created the state file (no base): each holds records of posts Orshot may
    hold, so both are kept, under theirs' (the pushed side's) lineage."""
    from orshot_gitops.state.merge import merge_text
    from orshot_gitops.state.model import AccountState, AccountStatus, PostState, new_state
    from orshot_gitops.state.store import dump_state, parse_state

    def one(lineage: str, post_id: str, orshot_id: int) -> str:
        record = AccountState(
            account_id=1,
            fingerprint="f" * 64,
            revision=1,
            status=AccountStatus.PUBLISHED,
            post_id=orshot_id,
        )
        post = PostState(path=f"posts/{post_id}.yaml", revision=1, accounts={"x": record})
        return dump_state(replace(new_state(lineage).with_post(post_id, post), serial=3))

    ours = one("11111111-1111-4111-8111-111111111111", "a", 7)
    theirs = one("22222222-2222-4222-8222-222222222222", "b", 8)
    merged = parse_state(merge_text("", ours, theirs))
    assert merged.lineage == "22222222-2222-4222-8222-222222222222"
    assert sorted(merged.posts) == ["a", "b"] and merged.serial == 4


def test_a_post_edited_then_moved_after_a_merged_state_is_known_and_never_sent_again(
    ws: Workspace,
) -> None:
    """Both sides of the pull reconciled a commit of their own, so the merged state records
    none (state/merge.py) and keeps both sides' commits instead. A post edited in one commit
    and moved in the next is a move since the side that had it: the same post, nothing sent.
    Recording the two commits' common ancestor instead looks tempting and is wrong: the post
    was added after it on one side, so the diff from it says "added" of the moved file, and
    the plan published it a second time (tried, and this test caught it). And `b` moved while
    `c`, written alike, arrived in the same range: git's diff of the range pairs `b` with `c`
    and calls the moved `b` added; only the steps say where each came from."""
    _conflicting_results(ws)
    git(ws.root, "pull", "--quiet", "--no-rebase", "--no-edit")
    index = json.loads((ws.root / STATE_PATH).read_text(encoding="utf-8"))
    assert "commit" not in index and len(index["merged_commits"]) == 2
    ws.post("b", post_yaml("Post b, edited after it went out, and more words"))
    ws.rename("b", "moved/b")
    kinds = {a[2] for a in actions(ws.plan_json()) if a[0] == "moved/b"}
    assert kinds == {"rename", "changed-after-publish"}
    before = len(ws.sent())
    assert ws.apply().code == 0
    assert len(ws.sent()) == before
    index = json.loads((ws.root / STATE_PATH).read_text(encoding="utf-8"))
    assert index.get("commit") and "merged_commits" not in index


def test_a_new_post_after_a_merged_state_is_sent_beside_a_moved_one_kept(ws: Workspace) -> None:
    """The model test's find: after such a pull, a post whose revision was bumped and then
    moved, and a post added since, were both held as ambiguous (an error, nothing sent): the
    new one waited for a person though no side ever had a post there. Added since both sides'
    commits, it is new for certain; the moved one is a move since the side that had it."""
    _conflicting_results(ws)
    git(ws.root, "pull", "--quiet", "--no-rebase", "--no-edit")
    ws.post("b", post_yaml("Post b, once more", revision=2))
    ws.rename("b", "moved/b")
    ws.post("d", post_yaml("Post d, brand new after the pull"))
    kinds = {(a[0], a[2]) for a in actions(ws.plan_json()) if a[0] in ("moved/b", "d")}
    assert kinds == {("moved/b", "rename"), ("moved/b", "publish"), ("d", "publish")}
    before = _sent_contents(ws)
    assert ws.apply().code == 0
    assert sorted(c for c in _sent_contents(ws) if c not in before) == [
        "Post b, once more",  # the revision bump: posted again on purpose, once
        "Post d, brand new after the pull",
    ]
    assert ws.plan_json()["actions"] == []


def test_a_post_rewritten_and_moved_in_one_commit_is_new_after_a_merge_as_before_it(
    ws: Workspace,
) -> None:
    """A post deleted and another written elsewhere with none of its words, in one commit, is
    what git says it is, a new post: the same answer with one recorded commit or two."""
    _conflicting_results(ws)
    git(ws.root, "pull", "--quiet", "--no-rebase", "--no-edit")
    (ws.root / "posts/moved").mkdir()
    git(ws.root, "mv", "posts/b.yaml", "posts/moved/b.yaml")
    ws.post("moved/b", post_yaml("Rewritten from scratch: nothing of the old words is left"))
    kinds = {(a[0], a[2]) for a in actions(ws.plan_json()) if a[0] in ("moved/b", "b")}
    assert kinds == {("moved/b", "publish"), ("b", "removed")}
