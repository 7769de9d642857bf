"""The git layer against real repositories: diffs that follow renames, full-rescan triggers,
commits of exactly our paths, and pushes to a bare remote that a second clone can lose."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import write_tree

from orshot_gitops.errors import UserError
from orshot_gitops.vcs.changes import ChangeSet
from orshot_gitops.vcs.gitrepo import GitRepo, PushResult, open_repo

POST = "accounts: [acme-x]\ncontent: |\n  Hello {{ product }}!\n"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, encoding="utf-8"
    )
    return done.stdout.strip()


def commit_all(cwd: Path, message: str) -> str:
    git(cwd, "add", "--all")
    git(cwd, "commit", "--quiet", "-m", message)
    return git(cwd, "rev-parse", "HEAD")


def content_repo(root: Path, files: dict[str, str] | None = None) -> tuple[Path, str]:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "--quiet")
    write_tree(
        root,
        files
        or {
            "orshot.yaml": "accounts: {acme-x: {id: 1, platform: twitter}}\n",
            "posts/2026/12/launch.yaml": POST,
            "posts/2026/12/teaser.yaml": POST.replace("Hello", "Soon"),
            "posts/README.md": "not a post\n",
            "templates/signature.j2": "-- Acme\n",
        },
    )
    return root, commit_all(root, "initial")


@pytest.fixture
def repo(tmp_path: Path) -> tuple[GitRepo, Path, str]:
    root, first = content_repo(tmp_path / "content")
    return open_repo(root), root, first


# --- opening ------------------------------------------------------------------------------


def test_a_directory_outside_git_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        open_repo(tmp_path)
    assert caught.value.message == f"{tmp_path} is not in a git repository"
    assert caught.value.hint == "run 'git init' or pass --repo"


def test_a_repository_without_commits_can_be_read_and_committed_to(tmp_path: Path) -> None:
    git(tmp_path, "init", "--quiet")
    write_tree(tmp_path, {"posts/a.yaml": POST, ".orshot/state.json": "{}\n"})
    repo = open_repo(tmp_path)
    assert repo.head_commit() is None
    assert repo.current_branch() == "main"
    assert repo.tracked_post_files() == ()
    assert repo.changed_paths(None) == ChangeSet(
        None, None, full_rescan_needed=True, reason="no commits yet"
    )
    sha = repo.commit_paths([".orshot/state.json"], "orshot: record state")
    assert sha is not None and sha == repo.head_commit()
    assert git(tmp_path, "ls-tree", "-r", "--name-only", "HEAD") == ".orshot/state.json"


def test_a_content_root_below_the_top_level_sees_paths_relative_to_itself(tmp_path: Path) -> None:
    top, first = content_repo(
        tmp_path / "mono",
        {"site/index.html": "<p>\n", "social/posts/a.yaml": POST, "social/orshot.yaml": "{}\n"},
    )
    repo = open_repo(top / "social")
    assert (repo.toplevel, repo.prefix, repo.root) == (top, "social", top / "social")
    assert repo.tracked_post_files() == ("posts/a.yaml",)
    write_tree(top, {"social/posts/b.yaml": POST, "site/posts/x.yaml": POST})
    commit_all(top, "more")
    assert repo.changed_paths(first).added == ("posts/b.yaml",)
    assert repo.show_file("HEAD", "orshot.yaml") == "{}\n"


# --- what changed -------------------------------------------------------------------------


def test_added_modified_and_deleted_posts_are_named(repo: tuple[GitRepo, Path, str]) -> None:
    gitrepo, root, first = repo
    brand_new = "accounts: [acme-linkedin]\ncontent: We are hiring.\nschedule: 2027-01-01T09:00\n"
    write_tree(root, {"posts/2027/new.yml": brand_new, "posts/2026/12/launch.yaml": POST + "x\n"})
    (root / "posts/2026/12/teaser.yaml").unlink()
    write_tree(root, {"posts/README.md": "still not a post\n", "README.md": "hi\n"})
    second = commit_all(root, "edit posts")
    assert gitrepo.changed_paths(first) == ChangeSet(
        since=first,
        until=second,
        added=("posts/2027/new.yml",),
        modified=("posts/2026/12/launch.yaml",),
        deleted=("posts/2026/12/teaser.yaml",),
    )
    assert gitrepo.changed_paths(second).is_empty


def test_a_moved_post_is_a_rename_not_a_new_post(repo: tuple[GitRepo, Path, str]) -> None:
    gitrepo, root, first = repo
    (root / "posts/2027").mkdir()
    git(root, "mv", "posts/2026/12/launch.yaml", "posts/2027/launch.yaml")
    commit_all(root, "move the launch to next year")
    changes = gitrepo.changed_paths(first)
    assert changes.renamed == (("posts/2026/12/launch.yaml", "posts/2027/launch.yaml"),)
    assert (changes.added, changes.modified, changes.deleted) == ((), (), ())
    assert not changes.full_rescan_needed


def test_a_moved_and_edited_post_is_still_a_rename(repo: tuple[GitRepo, Path, str]) -> None:
    # Erring this way is the safe one: a "rename" of a live post is flagged as changed after
    # publish and sends nothing, while a "new" post would go out a second time.
    gitrepo, root, first = repo
    (root / "posts/2026/12/launch.yaml").unlink()
    write_tree(root, {"posts/2027/launch.yaml": POST.replace("Hello", "Hello again")})
    commit_all(root, "move and edit")
    changes = gitrepo.changed_paths(first)
    assert changes.renamed == (("posts/2026/12/launch.yaml", "posts/2027/launch.yaml"),)
    assert gitrepo.changed_paths(first, rename_threshold=100).added == ("posts/2027/launch.yaml",)


def test_a_move_then_a_rewrite_in_a_later_commit_is_still_a_rename(
    repo: tuple[GitRepo, Path, str],
) -> None:
    """Across the whole range the file is too little alike to pair; one commit at a time,
    git saw it move. A post added meanwhile, and one deleted, stay what they are."""
    gitrepo, root, first = repo
    (root / "posts/2027").mkdir()
    git(root, "mv", "posts/2026/12/launch.yaml", "posts/2027/launch.yaml")
    commit_all(root, "move")
    write_tree(root, {"posts/2027/launch.yaml": "accounts: [acme-x]\ncontent: Rewritten.\n"})
    write_tree(root, {"posts/2027/other.yaml": "accounts: [acme-x]\ncontent: Other.\n"})
    (root / "posts/2026/12/teaser.yaml").unlink()
    last = commit_all(root, "rewrite, add one, delete one")
    assert gitrepo.changed_paths(first, rename_threshold=100) == ChangeSet(
        since=first,
        until=last,
        added=("posts/2027/other.yaml",),
        deleted=("posts/2026/12/teaser.yaml",),
        renamed=(("posts/2026/12/launch.yaml", "posts/2027/launch.yaml"),),
    )
    # Moved twice, the second time with the rewrite: still one rename, first to last.
    git(root, "mv", "posts/2027/launch.yaml", "posts/2027/launch-day.yaml")
    again = commit_all(root, "rename again")
    changes = gitrepo.changed_paths(first, rename_threshold=100)
    assert changes.renamed == (("posts/2026/12/launch.yaml", "posts/2027/launch-day.yaml"),)
    assert gitrepo.changed_paths(last, rename_threshold=100).renamed == (
        ("posts/2027/launch.yaml", "posts/2027/launch-day.yaml"),
    )
    assert again == gitrepo.head_commit()


def test_moving_a_post_out_of_the_posts_is_a_deletion(repo: tuple[GitRepo, Path, str]) -> None:
    gitrepo, root, first = repo
    (root / "archive").mkdir()
    git(root, "mv", "posts/2026/12/launch.yaml", "archive/launch.yaml")
    git(root, "mv", "posts/2026/12/teaser.yaml", "posts/2026/12/teaser.txt")
    commit_all(root, "archive")
    changes = gitrepo.changed_paths(first)
    assert changes.deleted == ("posts/2026/12/launch.yaml", "posts/2026/12/teaser.yaml")
    assert (changes.added, changes.renamed) == ((), ())


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("templates/signature.j2", "shared inputs changed: templates/signature.j2"),
        ("templates/new/footer.j2", "shared inputs changed: templates/new/footer.j2"),
        ("orshot.yaml", "shared inputs changed: orshot.yaml"),
    ],
)
def test_a_shared_input_change_needs_a_full_rescan(
    repo: tuple[GitRepo, Path, str], path: str, reason: str
) -> None:
    gitrepo, root, first = repo
    write_tree(root, {path: "changed\n", "posts/2026/12/launch.yaml": POST + "y\n"})
    commit_all(root, "shared input")
    changes = gitrepo.changed_paths(first)
    assert (changes.full_rescan_needed, changes.reason) == (True, reason)
    assert changes.modified == ("posts/2026/12/launch.yaml",)
    custom = gitrepo.changed_paths(first, shared=("vars.yaml",))
    assert (custom.full_rescan_needed, custom.reason) == (False, "")


def test_no_recorded_commit_needs_a_full_rescan(repo: tuple[GitRepo, Path, str]) -> None:
    gitrepo, _, first = repo
    assert gitrepo.changed_paths(None) == ChangeSet(
        None,
        first,
        full_rescan_needed=True,
        reason="no reconciled commit recorded",
        base_missing=True,
    )


def test_a_force_push_needs_a_full_rescan(repo: tuple[GitRepo, Path, str]) -> None:
    gitrepo, root, first = repo
    write_tree(root, {"posts/b.yaml": POST})
    dropped = commit_all(root, "to be rewritten")
    git(root, "reset", "--quiet", "--hard", first)
    write_tree(root, {"posts/c.yaml": POST})
    rewritten = commit_all(root, "rewritten history")

    changes = gitrepo.changed_paths(dropped)
    assert changes.full_rescan_needed
    assert changes.reason == (
        f"the recorded commit {dropped[:12]} is not an ancestor of HEAD (force-push?)"
    )
    assert (changes.since, changes.until, changes.added) == (dropped, rewritten, ())
    assert gitrepo.is_ancestor(first, rewritten) is True
    assert gitrepo.is_ancestor(dropped, rewritten) is False
    assert gitrepo.merge_base(dropped, rewritten) == first


def test_an_unknown_recorded_commit_needs_a_full_rescan(repo: tuple[GitRepo, Path, str]) -> None:
    gitrepo, _, _ = repo
    gone = "0123456789" * 4
    changes = gitrepo.changed_paths(gone)
    assert changes.full_rescan_needed
    assert changes.reason == (
        "the recorded commit 012345678901 is not in this repository (history rewritten?)"
    )
    assert gitrepo.is_ancestor(gone) is False


def test_the_diff_costs_a_fixed_number_of_git_calls(
    repo: tuple[GitRepo, Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gitrepo, root, first = repo
    write_tree(root, {f"posts/bulk/{n:03}.yaml": POST for n in range(60)})
    commit_all(root, "sixty posts")
    calls: list[str] = []
    real: Callable[..., Any] = gitrepo._git

    def counting(*args: str, **kwargs: Any) -> Any:
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(gitrepo, "_git", counting)
    changes = gitrepo.changed_paths(first)
    assert len(changes.added) == 60
    assert calls == ["rev-parse", "rev-parse", "merge-base", "diff"]
    calls.clear()
    assert len(gitrepo.tracked_post_files()) == 62
    assert calls == ["rev-parse", "ls-tree"]


# --- reading files ------------------------------------------------------------------------


def test_tracked_post_files_lists_the_yaml_under_posts(repo: tuple[GitRepo, Path, str]) -> None:
    gitrepo, root, first = repo
    write_tree(root, {"posts/z/new.yaml": POST, "notes/x.yaml": POST})
    commit_all(root, "more")
    assert gitrepo.tracked_post_files(first) == (
        "posts/2026/12/launch.yaml",
        "posts/2026/12/teaser.yaml",
    )
    assert gitrepo.tracked_post_files() == (
        "posts/2026/12/launch.yaml",
        "posts/2026/12/teaser.yaml",
        "posts/z/new.yaml",
    )


def test_file_at_reads_a_file_as_committed(repo: tuple[GitRepo, Path, str]) -> None:
    gitrepo, root, first = repo
    write_tree(root, {"posts/2026/12/launch.yaml": "changed\n"})
    commit_all(root, "change")
    assert gitrepo.file_at(first, "posts/2026/12/launch.yaml") == POST
    assert gitrepo.file_at("HEAD", "posts/2026/12/launch.yaml") == "changed\n"
    assert gitrepo.file_at(first, "posts/missing.yaml") is None
    assert gitrepo.file_at(first, "posts/2026") is None
    with pytest.raises(UserError) as caught:
        gitrepo.show_file("no-such-branch", "orshot.yaml")
    assert caught.value.message == "git ls-tree: Not a valid object name no-such-branch"
    assert caught.value.hint == "is the commit fetched?"


# --- committing ---------------------------------------------------------------------------


def test_commit_paths_commits_only_those_paths(repo: tuple[GitRepo, Path, str]) -> None:
    gitrepo, root, first = repo
    write_tree(root, {".orshot/state.json": '{"serial": 1}\n', "posts/wip.yaml": POST})
    git(root, "add", "posts/wip.yaml")  # someone else's staged work
    (root / "templates/signature.j2").unlink()

    sha = gitrepo.commit_paths([".orshot/state.json", "templates/"], "orshot: record results")
    assert sha == git(root, "rev-parse", "HEAD")
    assert git(root, "show", "--name-status", "--format=%an <%ae>|%s", "HEAD").splitlines() == [
        "orshot-gitops <orshot-gitops@users.noreply.github.com>|orshot: record results",
        "",
        "A\t.orshot/state.json",
        "D\ttemplates/signature.j2",
    ]
    assert git(root, "log", "-1", "--format=%cn", "HEAD") == "Test Committer"
    assert git(root, "diff", "--cached", "--name-only") == "posts/wip.yaml"
    assert git(root, "rev-parse", "HEAD~1") == first


def test_a_message_longer_than_one_command_line_argument_is_committed_whole(
    repo: tuple[GitRepo, Path, str],
) -> None:
    """Issue 19: a 161 KB results message passed with -m failed with E2BIG after everything
    was sent (one argument may hold 128 KiB). On stdin, a message of any size commits."""
    gitrepo, root, _ = repo
    lines = [
        f"published  post-{i:06d} → acme-x  https://x.com/acme/status/{i}" for i in range(4000)
    ]
    message = "\n".join(["orshot: 4000 published", "", *lines, "", "Orshot-Run: r1"])
    assert len(message.encode()) > 2 * 131_072
    write_tree(root, {".orshot/state.json": '{"serial": 1}\n'})

    sha = gitrepo.commit_paths([".orshot/state.json"], message)
    assert sha is not None
    assert git(root, "log", "-1", "--format=%B", sha) == message
    # A message starting with what looks like an option is text, not an option.
    write_tree(root, {".orshot/state.json": '{"serial": 2}\n'})
    gitrepo.commit_paths([".orshot/state.json"], "--amend -m nothing")
    assert git(root, "log", "-2", "--format=%s") == "--amend -m nothing\norshot: 4000 published"


def test_commit_paths_with_nothing_changed_makes_no_commit(
    repo: tuple[GitRepo, Path, str],
) -> None:
    gitrepo, root, first = repo
    assert gitrepo.commit_paths(["posts/2026/12/launch.yaml", ".orshot/"], "nothing") is None
    assert gitrepo.commit_paths([], "nothing") is None
    assert git(root, "rev-parse", "HEAD") == first


# --- remotes ------------------------------------------------------------------------------


@pytest.fixture
def two_clones(tmp_path: Path) -> tuple[GitRepo, GitRepo, Path]:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    seed, _ = content_repo(tmp_path / "seed")
    git(seed, "push", "--quiet", str(remote), "main")
    for name in ("a", "b"):
        git(tmp_path, "clone", "--quiet", str(remote), name)
    return open_repo(tmp_path / "a"), open_repo(tmp_path / "b"), remote


def record(clone: GitRepo, text: str) -> str:
    write_tree(clone.root, {".orshot/state.json": text})
    sha = clone.commit_paths([".orshot/state.json"], "orshot: record state")
    assert sha is not None
    return sha


def test_a_push_lands_on_the_remote(two_clones: tuple[GitRepo, GitRepo, Path]) -> None:
    a, _, remote = two_clones
    sha = record(a, '{"serial": 1}\n')
    result = a.push()
    before, after = (git(a.root, "rev-parse", "--short", rev) for rev in ("HEAD~1", "HEAD"))
    moved = f"{before}..{after}"
    assert result == PushResult("origin", "main", sha, summary=moved)
    assert git(remote, "rev-parse", "main") == sha
    again = a.push()
    assert (again.rejected, again.up_to_date, again.summary) == (False, True, "[up to date]")


def test_losing_the_race_is_a_rejected_result_then_fetch_shows_the_winner(
    two_clones: tuple[GitRepo, GitRepo, Path],
) -> None:
    a, b, remote = two_clones
    winner = record(a, '{"serial": 2}\n')
    assert a.push(branch="main").rejected is False
    loser = record(b, '{"serial": 3}\n')

    result = b.push()
    assert result.rejected is True
    assert (result.commit, result.branch) == (loser, "main")
    assert result.summary == "[rejected] (fetch first)"
    assert git(remote, "rev-parse", "main") == winner

    b.fetch("origin", "main")
    assert b.remote_head("origin", "main") == winner
    assert b.push().summary == "[rejected] (non-fast-forward)"
    assert b.push().rejected is True
    assert b.show_file("origin/main", ".orshot/state.json") == '{"serial": 2}\n'
    assert b.merge_base(loser, winner) == git(b.root, "rev-parse", "HEAD~1")


def test_push_errors_carry_what_git_said(two_clones: tuple[GitRepo, GitRepo, Path]) -> None:
    a, _, _ = two_clones
    with pytest.raises(UserError) as caught:
        a.push("nowhere")
    assert caught.value.message == "git push: 'nowhere' does not appear to be a git repository"
    assert caught.value.hint == "check that remote 'nowhere' exists and is writable"
    with pytest.raises(UserError, match="git fetch: 'nowhere' does not appear"):
        a.fetch("nowhere")
    git(a.root, "checkout", "--quiet", "--detach")
    with pytest.raises(UserError, match="HEAD is detached"):
        a.push()


def test_a_push_refused_by_the_remote_is_an_error_not_a_lost_race(
    two_clones: tuple[GitRepo, GitRepo, Path],
) -> None:
    a, _, remote = two_clones
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'main is protected' >&2\nexit 1\n")
    hook.chmod(0o755)
    record(a, '{"serial": 1}\n')
    with pytest.raises(UserError) as caught:
        a.push()
    assert caught.value.message == (
        "git push to origin/main was refused: [remote rejected] (pre-receive hook declined)"
    )


def test_a_bare_repository_is_not_a_content_root(two_clones: tuple[GitRepo, GitRepo, Path]) -> None:
    _, _, remote = two_clones
    with pytest.raises(UserError, match="is a bare git repository"):
        open_repo(remote)


def test_a_ref_update_lost_to_a_concurrent_push_is_a_lost_race_not_an_error(
    two_clones: tuple[GitRepo, GitRepo, Path],
) -> None:
    """Two pushes that both pass the fast-forward check: the one whose ref update comes second
    is told "[remote rejected] (failed to update ref)". That is a race lost like any other:
    fetch, merge, plan again; never fatal with results left only in the local clone."""
    a, _, remote = two_clones
    (remote / "refs" / "heads" / "main.lock").write_text("")  # the other push holds the ref
    record(a, '{"serial": 1}\n')
    result = a.push()
    assert result.rejected is True
    assert result.summary == "[remote rejected] (failed to update ref)"
    (remote / "refs" / "heads" / "main.lock").unlink()
    assert a.push().rejected is False


def test_a_push_that_changes_nothing_says_up_to_date(
    two_clones: tuple[GitRepo, GitRepo, Path],
) -> None:
    a, b, _ = two_clones
    sha = record(a, '{"serial": 1}\n')
    assert a.push().up_to_date is False
    b.fetch("origin", "main")
    assert b.fast_forward(sha)
    same = b.push()
    assert (same.up_to_date, same.rejected, same.commit) == (True, False, sha)


def test_many_blobs_are_read_whole_in_one_call(repo: tuple[GitRepo, Path, str]) -> None:
    """cat-file --batch sizes its answers in bytes: a text with multi-byte characters and
    newlines comes back whole, and an id git does not have is left out."""
    git_repo, root, _ = repo
    texts = {"a.json": '{"caption": "Grüße 🚀\\nzwei"}\n', "b.json": "{}\n"}
    write_tree(root, {f".orshot/state/posts/{name}": text for name, text in texts.items()})
    head = commit_all(root, "records")
    blobs = git_repo.tree_blobs(head, ".orshot/state/posts")
    assert sorted(blobs) == ["a.json", "b.json"]
    read = git_repo.blob_texts([*blobs.values(), "0" * 40])
    assert {name: read[blob] for name, blob in blobs.items()} == texts
    assert "0" * 40 not in read
