"""The v2 state layout (issue 18): an index and a file per post, written in proportion to
the change, converted from v1 on the first write, refused when damaged or linked away."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from orshot_gitops.cli import main
from orshot_gitops.state import postfiles
from orshot_gitops.state.model import POSTS_DIR, STATE_PATH
from orshot_gitops.state.store import dump_state, load_state, write_state
from tests.reconcile_helpers import Workspace, git, post_yaml


def _files_in(ws: Workspace, rev: str) -> list[str]:
    out = git(ws.root, "show", "--name-only", "--format=", rev)
    return sorted(line for line in out.splitlines() if line)


def _published(ws: Workspace, *post_ids: str) -> None:
    for post_id in post_ids:
        ws.post(post_id, post_yaml(f"Post {post_id}"))
    assert ws.apply().code == 0


def test_an_apply_rewrites_only_the_files_of_the_posts_it_sent(ws: Workspace) -> None:
    _published(ws, "2026/a", "2026/b")
    before = (ws.root / POSTS_DIR / "2026/a.json").read_bytes()
    stamp = (ws.root / POSTS_DIR / "2026/a.json").stat().st_mtime_ns
    ws.post("2026/c", post_yaml("Post c"))
    assert ws.apply().code == 0
    # The results commit holds the index and c's record; a and b are not touched.
    assert _files_in(ws, "HEAD") == [STATE_PATH, f"{POSTS_DIR}/2026/c.json"]
    assert (ws.root / POSTS_DIR / "2026/a.json").read_bytes() == before
    assert (ws.root / POSTS_DIR / "2026/a.json").stat().st_mtime_ns == stamp
    index = json.loads((ws.root / STATE_PATH).read_text(encoding="utf-8"))
    assert index["version"] == 2 and "posts" not in index
    # Two accounts per post (post_yaml): six records, none needing work.
    assert index["tally"]["records"] == 6 and index["tally"]["needs_work"] == []


def test_a_record_holds_no_nulls_and_no_defaults(ws: Workspace) -> None:
    _published(ws, "2026/a")
    text = (ws.root / POSTS_DIR / "2026/a.json").read_text(encoding="utf-8")
    assert "null" not in text
    record = json.loads(text)["accounts"]["x"]
    assert record["status"] == "published"
    assert "step" not in record and "error" not in record and "scheduled_for" not in record


def test_a_v1_state_is_converted_on_the_first_apply_and_nothing_is_sent_again(
    ws: Workspace,
) -> None:
    _published(ws, "2026/a", "2026/b")
    # The repository as an older orshot-gitops left it: everything in one v1 file.
    v1 = dump_state(load_state(ws.root))
    shutil.rmtree(ws.root / ".orshot/state")
    ws.write(STATE_PATH, v1)
    ws.commit("the state as orshot-gitops 1 wrote it")
    assert json.loads((ws.root / STATE_PATH).read_text(encoding="utf-8"))["version"] == 1
    sent_before = len(ws.sent())
    assert ws.plan().code == 0  # nothing to send: the v1 records are read as they are

    ws.post("2026/c", post_yaml("Post c"))
    assert ws.apply().code == 0
    assert [p["request"]["content"] for p in ws.sent()[sent_before:]] == ["Post c"]
    index = json.loads((ws.root / STATE_PATH).read_text(encoding="utf-8"))
    assert index["version"] == 2
    assert sorted(
        p.relative_to(ws.root / POSTS_DIR).as_posix() for p in (ws.root / POSTS_DIR).rglob("*.json")
    ) == ["2026/a.json", "2026/b.json", "2026/c.json"]
    assert not git(ws.root, "status", "--porcelain").strip()
    assert ws.apply().code == 0
    assert len(ws.sent()) == sent_before + 1


def test_two_clones_that_sent_different_posts_merge_without_a_conflict(ws: Workspace) -> None:
    _published(ws, "2026/a")
    other = ws.root.parent / "other"
    git(ws.root.parent, "clone", "--quiet", str(ws.remote), str(other))
    ws.post("2026/b", post_yaml("Post b"))
    assert ws.apply("--local").code == 0
    (other / "posts/2026").mkdir(parents=True, exist_ok=True)
    (other / "posts/2026/c.yaml").write_text(post_yaml("Post c"), encoding="utf-8")
    git(other, "add", "--all")
    git(other, "commit", "--quiet", "-m", "post c")
    from orshot_gitops.cli import main

    assert main(["apply", "--repo", str(other)]) == 0
    git(ws.root, "pull", "--quiet", "--no-rebase", "--no-edit")  # raises on a conflict
    state = ws.state()
    assert sorted(state["posts"]) == ["2026/a", "2026/b", "2026/c"]
    assert load_state(ws.root).record_count() == 6
    plan = ws.plan_json()
    assert all(a["kind"] in ("unchanged",) for a in plan.get("actions", [])), plan


def test_a_stale_index_is_counted_again(ws: Workspace) -> None:
    """A crash between the post files and the index leaves "tally": "stale": the next load
    counts the records instead of trusting what the index said before."""
    _published(ws, "2026/a")
    data = ws.state()
    data["posts"]["2026/a"]["accounts"]["x"]["status"] = "failed"
    data["posts"]["2026/a"]["accounts"]["x"]["error"] = "boom"
    ws.write_state(data)
    index = json.loads((ws.root / STATE_PATH).read_text(encoding="utf-8"))
    index["tally"] = "stale"
    (ws.root / STATE_PATH).write_text(json.dumps(index), encoding="utf-8")
    assert load_state(ws.root).post_ids_needing_work() == {"2026/a"}


def test_a_missing_index_with_records_is_refused_not_taken_for_no_state(ws: Workspace) -> None:
    _published(ws, "2026/a")
    (ws.root / STATE_PATH).unlink()
    sent = len(ws.sent())
    run = ws.apply()
    assert run.code == 1
    assert "index is missing" in run.err and "Traceback" not in run.err
    assert len(ws.sent()) == sent


def test_a_link_in_the_state_folder_is_refused(ws: Workspace, tmp_path: Path) -> None:
    _published(ws, "2026/a")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (ws.root / POSTS_DIR / "2026/evil.json").symlink_to(outside / "x.json")
    run = ws.plan()
    assert run.code == 1
    assert "symbolic link" in run.err and "Traceback" not in run.err
    (ws.root / POSTS_DIR / "2026/evil.json").unlink()
    shutil.rmtree(ws.root / POSTS_DIR / "2026")
    (ws.root / POSTS_DIR / "2026").symlink_to(outside, target_is_directory=True)
    run = ws.apply()
    assert run.code == 1 and "Traceback" not in run.err
    assert list(outside.iterdir()) == []


def test_a_broken_post_file_names_its_line(ws: Workspace) -> None:
    """`status` reads every record (a plan reads only those it needs)."""
    _published(ws, "2026/a")
    path = ws.root / POSTS_DIR / "2026/a.json"
    path.write_text(path.read_text(encoding="utf-8").replace('"published"', '"nonsense"'))
    run = ws.cli("status")
    assert run.code == 1
    assert f"{POSTS_DIR}/2026/a.json:" in run.err and "Traceback" not in run.err


@pytest.mark.parametrize("spelling", ["relative", "link"])
def test_an_apply_through_another_spelling_of_the_repo_reads_only_the_posts_it_changes(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, spelling: str
) -> None:
    """`--repo .` (the Action's and most people's spelling) named the post folder otherwise
    than the absolute path the state was read through: every write then compared, and so read,
    every post file (a 50,000-post apply ran for minutes), and pinned nothing before it wrote.
    A path through a link (macOS's /tmp) differs from git's answer the same way."""
    _published(ws, *(f"2026/old-{i}" for i in range(6)))
    ws.post("2026/new", post_yaml("Post new"))
    read: list[str] = []
    parse = postfiles.parse_post

    def counting(text: str, relative: str) -> object:
        read.append(relative)
        return parse(text, relative)

    monkeypatch.setattr(postfiles, "parse_post", counting)
    if spelling == "relative":
        monkeypatch.chdir(ws.root)
        repo = "."
    else:
        (tmp_path / "via-link").symlink_to(ws.root.resolve())
        repo = str(tmp_path / "via-link")
    assert main(["apply", "--repo", repo]) == 0
    assert not [path for path in read if "old-" in path]
    assert load_state(ws.root).posts["2026/new"].accounts


def test_a_state_read_through_one_spelling_keeps_its_posts_when_written_through_another(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A state value is a value: a write through `.` must pin what an earlier read through the
    absolute path has not looked up yet, or that value would read the new file."""
    _published(ws, "2026/a")
    before = load_state(ws.root.resolve())
    monkeypatch.chdir(ws.root)
    changed = load_state(Path("."))
    post = changed.posts["2026/a"]
    alias = sorted(post.accounts)[0]
    edited = post.with_account(alias, replace(post.accounts[alias], url="https://x.example/new"))
    write_state(Path("."), changed.with_post("2026/a", edited))
    assert before.posts["2026/a"].accounts[alias].url != "https://x.example/new"
