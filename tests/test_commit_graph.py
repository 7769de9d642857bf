"""A long history gets git's commit-graph the first time a plan asks whether the recorded
commit is an ancestor of HEAD (vcs/commitgraph.py); a short one is left alone, a shallow clone
too, and a repository where it cannot be written still answers."""

from __future__ import annotations

import subprocess
from pathlib import Path

from orshot_gitops.vcs.commitgraph import LONG_HISTORY_OBJECTS
from orshot_gitops.vcs.gitrepo import open_repo


def git(cwd: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, input=stdin, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def history(root: Path, commits: int, *, pack: bool) -> str:
    """A repository of `commits` commits (each changes one post), made by git fast-import;
    returns the first commit."""
    git(root.parent, "init", "--quiet", str(root))
    stream = []
    for n in range(1, commits + 1):
        message, text = f"commit {n}\n", f"content: post {n}\n"
        parent = f"from :{n - 1}\n" if n > 1 else ""
        stream.append(
            f"commit refs/heads/main\nmark :{n}\n"
            f"committer T <t@example.com> {1_700_000_000 + n} +0000\n"
            f"data {len(message)}\n{message}{parent}"
            f"M 644 inline posts/p{n % 50}.yaml\ndata {len(text)}\n{text}\n"
        )
    git(root, "fast-import", "--quiet", stdin="".join(stream))
    git(root, "checkout", "--quiet", "-f", "main")
    if not pack:
        # fast-import packs what it imports: unpack it, as a short history made by hand is.
        for idx in (root / ".git" / "objects" / "pack").glob("*.pack"):
            data = idx.read_bytes()
            idx.unlink()
            idx.with_suffix(".idx").unlink()
            subprocess.run(["git", "unpack-objects", "-q"], cwd=root, input=data, check=True)
    return git(root, "rev-list", "--max-parents=0", "HEAD")


def graph(root: Path) -> Path:
    return root / ".git" / "objects" / "info" / "commit-graph"


def test_a_long_history_gets_a_commit_graph_once(tmp_path: Path) -> None:
    root = tmp_path / "long"
    first = history(root, LONG_HISTORY_OBJECTS // 2 + 200, pack=True)
    assert not graph(root).exists()
    with open_repo(root) as repo:
        assert repo.is_ancestor(first)
    assert graph(root).is_file()
    # git reads it: the graph covers every commit of HEAD.
    assert "num_commits" not in git(root, "commit-graph", "verify")
    written = graph(root).stat().st_mtime_ns
    with open_repo(root) as repo:
        assert repo.is_ancestor(first)
        assert not repo.is_ancestor(git(root, "rev-parse", "HEAD"), first)
    assert graph(root).stat().st_mtime_ns == written


def test_a_short_history_is_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "short"
    first = history(root, 20, pack=True)
    with open_repo(root) as repo:
        assert repo.is_ancestor(first)
    assert not graph(root).exists()


def test_loose_objects_are_not_counted(tmp_path: Path) -> None:
    root = tmp_path / "loose"
    first = history(root, LONG_HISTORY_OBJECTS // 2 + 200, pack=False)
    with open_repo(root) as repo:
        assert repo.is_ancestor(first)
    assert not graph(root).exists()


def test_a_shallow_clone_gets_none(tmp_path: Path) -> None:
    source = tmp_path / "source"
    history(source, LONG_HISTORY_OBJECTS // 2 + 200, pack=True)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", "--depth", "1200", f"file://{source}", str(clone))
    assert (clone / ".git" / "shallow").is_file()
    head = git(clone, "rev-parse", "HEAD")
    with open_repo(clone) as repo:
        assert repo.is_ancestor(head)
    assert not graph(clone).exists()


def test_where_it_cannot_be_written_the_answer_still_comes(tmp_path: Path) -> None:
    root = tmp_path / "long"
    first = history(root, LONG_HISTORY_OBJECTS // 2 + 200, pack=True)
    # objects/info is a file: no lock file, no graph can be made there (as a read-only disk,
    # which the tests, run as root, cannot make).
    info = root / ".git" / "objects" / "info"
    info.rmdir()
    info.write_text("")
    with open_repo(root) as repo:
        assert repo.is_ancestor(first)
        assert not repo.is_ancestor(git(root, "rev-parse", "HEAD"), first)
    assert info.is_file()
