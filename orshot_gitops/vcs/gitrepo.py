"""Everything orshot-gitops asks of git, run as `git` itself.

Values in, values out: commit shas and paths as strings, results as frozen dataclasses. Paths
are relative to the *content root* (the directory holding orshot.yaml), which may sit below the
git work tree's top level; this module translates. Every question costs a fixed number of git
calls, whatever the size of the repository or the change, and every git failure becomes a
UserError carrying what git said, never a traceback.

Not through gitpython: all we used it for was finding the repository and starting `git`, and
importing it cost 40 ms and two `git version` runs (its import-time refresh) on every command.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from orshot_gitops.errors import UserError
from orshot_gitops.vcs.changes import ChangeSet, classify, follow_moves
from orshot_gitops.vcs.commitgraph import worth_writing
from orshot_gitops.vcs.gitreads import RecordedReads
from orshot_gitops.vcs.rungit import git_error as _git_error
from orshot_gitops.vcs.rungit import run_git as _run

DEFAULT_AUTHOR = ("orshot-gitops", "orshot-gitops@users.noreply.github.com")
SHARED_INPUTS = ("orshot.yaml", "templates/")
"""Inputs every post may depend on: a change to any of them means compiling everything.
An entry ending in '/' is a directory."""
POST_SUFFIXES = (".yaml", ".yml")

# Never wait for a typed password or passphrase: in CI nobody would answer.
_NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}


@dataclass(frozen=True)
class PushResult:
    """What a push did. `rejected` is the expected outcome of losing a race (another run
    pushed first: fetch, merge, plan again), so it is a result, not an exception.
    `up_to_date`: the remote already had this very commit. Whether that is a win is the
    caller's to judge: apply counts it as a lost race for its intents (DESIGN.md, "Claims,
    not windows": an identical commit is another run's claim, not ours)."""

    remote: str
    branch: str
    commit: str | None
    rejected: bool = False
    up_to_date: bool = False
    summary: str = ""


def open_repo(path: Path | str) -> GitRepo:
    """The git repository holding the content root `path` (it may be a subdirectory).

    Raises UserError when `path` is not inside a git work tree. A repository with no commits
    yet is fine: `head_commit()` is then None.
    """
    root = Path(path).resolve()
    if not root.is_dir():
        raise UserError(f"{path} is not a directory", hint="pass --repo DIR")
    where = ["--show-toplevel", "--git-path", "objects", "--git-path", "shallow"]
    status, out, err = _run(root, ["rev-parse", "--is-bare-repository", *where])
    if out.startswith("true"):
        raise UserError(f"{path} is a bare git repository", hint="run in a clone with files")
    if status != 0 and "not a git repository" in err:
        raise UserError(
            f"{path} is not in a git repository",
            hint="run 'git init' or pass --repo",
            code="not-a-repo",
        )
    if status != 0:  # inside .git, dubious ownership: git says which
        raise _git_error("rev-parse", err, "run in a clone with files")
    _, top, objects, shallow = out.splitlines()[:4]
    toplevel = Path(top).resolve()
    prefix = root.relative_to(toplevel).as_posix()
    return GitRepo(toplevel, "" if prefix == "." else prefix, (root / objects, root / shallow))


class GitRepo(RecordedReads):
    """A git work tree seen from a content root. Create with `open_repo`."""

    def __init__(
        self, toplevel: Path, prefix: str, graph_paths: tuple[Path, Path] | None = None
    ) -> None:
        # The objects folder and the shallow file, to write a missing commit-graph (once).
        self._graph_paths = graph_paths
        self.toplevel = toplevel
        """The work tree's top level."""
        self.prefix = prefix
        """The content root relative to `toplevel` ('' when they are the same)."""

    @property
    def root(self) -> Path:
        """The content root."""
        return self.toplevel / self.prefix if self.prefix else self.toplevel

    def close(self) -> None:
        """Nothing to release (each question is one `git` process); kept for `with`."""

    def __enter__(self) -> GitRepo:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- commits ------------------------------------------------------------------------

    def resolve(self, rev: str) -> str | None:
        """The full sha of the commit `rev` names, or None if there is no such commit."""
        status, out, _ = self._git(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", ok=(0, 1)
        )
        return out.strip() if status == 0 else None

    def head_commit(self) -> str | None:
        """HEAD's sha, or None in a repository with no commits yet."""
        return self.resolve("HEAD")

    def current_branch(self) -> str | None:
        """The checked-out branch's name, or None when HEAD is detached."""
        status, out, _ = self._git("symbolic-ref", "--quiet", "--short", "HEAD", ok=(0, 1))
        return out.strip() if status == 0 else None

    def upstream(self) -> tuple[str, str] | None:
        """(remote, branch) the current branch tracks (`git pull` pulls), or None."""
        branch = self.current_branch()
        if branch is None:
            return None
        status, out, _ = self._git("config", "--get", f"branch.{branch}.remote", ok=(0, 1))
        remote = out.strip()
        if status != 0 or not remote or remote == ".":
            return None
        status, out, _ = self._git("config", "--get", f"branch.{branch}.merge", ok=(0, 1))
        merge = out.strip()
        if status != 0 or not merge.startswith("refs/heads/"):
            return None
        return remote, merge[len("refs/heads/") :]

    def is_ancestor(self, old: str, new: str = "HEAD") -> bool:
        """Whether commit `old` is `new` or one of its ancestors. False for an unknown `old`
        (after a force-push the recorded commit may be gone)."""
        if self._graph_paths is not None and worth_writing(*self._graph_paths):
            # 0.2 s saved by every later check on a long history; never fails the command.
            self._git("commit-graph", "write", "--reachable", "--no-progress", ok=None)
        self._graph_paths = None
        status, _, _ = self._git("merge-base", "--is-ancestor", old, new, ok=(0, 1, 128))
        if status == 128:
            if self.resolve(old) is None:
                return False
            self._git("merge-base", "--is-ancestor", old, new)  # raises with git's words
        return status == 0

    def merge_base(self, one: str, other: str) -> str | None:
        """The best common ancestor of two commits, or None when they share no history."""
        status, out, _ = self._git("merge-base", one, other, ok=(0, 1))
        return out.strip() if status == 0 else None

    def is_shallow(self) -> bool:
        """A shallow clone (CI's default checkout): old commits may be missing."""
        _, out, _ = self._git("rev-parse", "--is-shallow-repository")
        return out.strip() == "true"

    def deepen_to(self, commit: str, remote: str = "origin") -> bool:
        """In a shallow clone (CI's default), fetch the history back to `commit` so a diff
        from it can follow renames. Returns whether `commit` is now an ancestor of HEAD.

        Best effort, never an error: without the history the plan falls back to matching
        posts by their recorded identity, and holds back what it cannot tell apart."""
        if not self.is_shallow():
            return self.resolve(commit) is not None and self.is_ancestor(commit)
        status, _, _ = self._git("remote", "get-url", remote, ok=None)
        if status != 0:
            return False
        # All of it: a post repository's history is small, and a depth that is a guess can
        # stop one commit short of the recorded one.
        self._git("fetch", "--quiet", "--unshallow", remote, env=_NO_PROMPT, ok=None)
        return self.resolve(commit) is not None and self.is_ancestor(commit)

    # --- what changed -------------------------------------------------------------------

    def changed_paths(
        self,
        since: str | None,
        until: str = "HEAD",
        under: Sequence[str] = ("posts/",),
        shared: Sequence[str] = SHARED_INPUTS,
        suffixes: Sequence[str] = POST_SUFFIXES,
        rename_threshold: int = 50,
    ) -> ChangeSet:
        """The post files (under `under`, ending in one of `suffixes`) changed from `since` to
        `until`, in one `git diff`. A full rescan is needed when `since` is None, unknown or
        not an ancestor of `until` (a force-push), or when a `shared` input changed.

        A deleted and an added file at least `rename_threshold` percent alike count as a
        rename (git's default, 50). Erring towards "rename" is the safe side: the moved record
        of a live post makes the plan say "changed after publish" and send nothing, whereas
        mistaking a move for a new post would publish it a second time."""
        until_sha = self.resolve(until)
        if until_sha is None:
            if until == "HEAD" and self.head_commit() is None:
                return ChangeSet(since, None, full_rescan_needed=True, reason="no commits yet")
            raise UserError(f"unknown commit {until!r}", hint="pass a commit, branch or tag")
        if since is None:
            return ChangeSet(
                None,
                until_sha,
                full_rescan_needed=True,
                reason="no reconciled commit recorded",
                base_missing=True,
            )
        since_sha = self.resolve(since)
        if since_sha is None:
            why = (
                "a shallow clone: fetch full history (actions/checkout: fetch-depth: 0)"
                if self.is_shallow()
                else "history rewritten?"
            )
            reason = f"the recorded commit {since[:12]} is not in this repository ({why})"
            return ChangeSet(
                since, until_sha, full_rescan_needed=True, reason=reason, base_missing=True
            )
        if not self.is_ancestor(since_sha, until_sha):
            reason = f"the recorded commit {since[:12]} is not an ancestor of {until} (force-push?)"
            return ChangeSet(
                since_sha, until_sha, full_rescan_needed=True, reason=reason, base_missing=True
            )
        _, out, _ = self._git(
            "diff",
            "--name-status",
            f"--find-renames={rename_threshold}%",
            "-z",
            since_sha,
            until_sha,
            "--",
            *(self._full(p) for p in (*under, *shared)),
            hint="the recorded commit and HEAD must both be readable",
        )
        changes = classify(
            since_sha, until_sha, self._parse_name_status(out), under, shared, suffixes
        )
        # Moves the range's diff cannot see, or pairs wrongly: asked only then, so a range
        # of plain edits and additions costs nothing more.
        added, deleted, renamed = changes.added, changes.deleted, changes.renamed
        if (added and deleted) or (renamed and (added or deleted)) or len(renamed) > 1:
            changes = self._follow_stepwise_renames(changes, under, rename_threshold)
        return changes

    def _follow_stepwise_renames(
        self, changes: ChangeSet, under: Sequence[str], rename_threshold: int
    ) -> ChangeSet:
        """A file moved in one commit and rewritten in a later one is a deletion and an
        addition in the diff of the whole range: too little of it is alike. Walked commit by
        commit, git sees the move; taken for a new post, it would be published again. Only
        asked when the range both adds and deletes post files, so it costs nothing otherwise."""
        _, out, _ = self._git(
            "log",
            "--reverse",
            "--first-parent",
            "--diff-merges=first-parent",
            "--name-status",
            f"--find-renames={rename_threshold}%",
            "-z",
            "--format=%x01",
            f"{changes.since}..{changes.until}",
            "--",
            *(self._full(p) for p in under),
        )
        commits = [self._parse_name_status(c.lstrip("\0\n")) for c in out.split("\x01")]
        return follow_moves(changes, commits)

    def tracked_post_files(
        self,
        commit: str = "HEAD",
        posts_dir: str = "posts/",
        suffixes: Sequence[str] = POST_SUFFIXES,
    ) -> tuple[str, ...]:
        """Every post file in `commit`, sorted, from one `git ls-tree`. Empty when the
        repository has no commits yet."""
        if commit == "HEAD" and self.head_commit() is None:
            return ()
        _, out, _ = self._git(
            "ls-tree", "-r", "--name-only", "-z", commit, "--", self._full(posts_dir)
        )
        names = (self._relative(name) for name in out.split("\0") if name)
        return tuple(sorted(n for n in names if n is not None and n.endswith(tuple(suffixes))))

    def tracked_regular_files(self, folder: str) -> frozenset[str]:
        """The regular files git's index holds under `folder` (content-root relative, "." for
        all), as paths relative to that folder; links and submodules left out. What a template
        may include in plan and apply: what the pull request holds, nothing else on disk."""
        spec = self._full(folder) if folder != "." else (self.prefix or ".")
        _, out, _ = self._git("ls-files", "--stage", "-z", "--", spec)
        inner = "" if folder == "." else folder + "/"
        found = set()
        for entry in out.split("\0"):
            meta, _, name = entry.partition("\t")
            relative = self._relative(name) if name else None
            regular = meta.split(" ", 1)[0] in ("100644", "100755")
            if regular and relative is not None and relative.startswith(inner):
                found.add(relative[len(inner) :])
        return frozenset(found)

    def dirty_paths(self, under: Sequence[str], *, ignored: bool = False) -> tuple[str, ...]:
        """Paths under `under` that differ from HEAD in the working tree or index, untracked
        ones included (one `git status`). A rename shows as its new path. `ignored` adds
        files .gitignore hides, one by one: on disk, in no commit."""
        _, out, _ = self._git(
            "status",
            "--porcelain",
            "-z",
            "--untracked-files=all",
            *(("--ignored=traditional",) if ignored else ()),
            "--",
            *(self._full(p) for p in under),
        )
        entries = out.split("\0")
        paths: list[str] = []
        skip_next = False
        for entry in entries:
            if skip_next:  # the old path of a rename or copy
                skip_next = False
                continue
            if len(entry) < 4:
                continue
            if entry[0] in "RC":
                skip_next = True
            relative = self._relative(entry[3:])
            if relative is not None:
                paths.append(relative)
        return tuple(sorted(paths))

    # --- writing ------------------------------------------------------------------------

    def commit_paths(
        self, paths: Iterable[str], message: str, author: tuple[str, str] = DEFAULT_AUTHOR
    ) -> str | None:
        """Commit exactly `paths` (files or directories; additions, edits and deletions) and
        nothing else the index may hold. Returns the new commit's sha, or None (and makes no
        commit) when none of them changed."""
        specs = [self._full(p) for p in paths]
        if not specs:
            return None
        _, out, _ = self._git(
            "status", "--porcelain", "-z", "--untracked-files=all", "--no-renames", "--", *specs
        )
        changed = [record[3:] for record in out.split("\0") if record]
        if not changed:
            return None
        name, email = author
        env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email}
        if not self._has_committer_identity():
            # A fresh CI runner has no identity; the bot then commits as itself.
            env.update({"GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email})
        # Each changed file by name, from a file: a folder as the pathspec makes `add` and
        # `commit --only` look at every file under it (0.67 s -> 0.41 s for one post's file
        # among 50,000), and converting a big state changes more files than one command
        # line can name.
        with tempfile.NamedTemporaryFile("wb", suffix=".pathspec") as listing:
            listing.write(b"".join(path.encode("utf-8") + b"\0" for path in sorted(changed)))
            listing.flush()
            from_file = (f"--pathspec-from-file={listing.name}", "--pathspec-file-nul")
            self._git("add", "--all", *from_file, hint="is the path ignored by .gitignore?")
            # --only: the user's other staged changes stay staged and out of our commit.
            # --no-verify: a hook must not stop us recording what was already sent to Orshot.
            # -F -: the message on stdin, as no size of it can fail (an argument over 128 KiB does).
            commit = ("commit", "--only", "--no-verify", "--quiet", "-F", "-", *from_file)
            self._git(*commit, env=env, stdin=message)
        return self.head_commit()

    def fetch(self, remote: str = "origin", branch: str | None = None) -> None:
        """Fetch `remote` (only `branch` when given, into refs/remotes/REMOTE/BRANCH)."""
        refspec = [f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"] if branch else []
        self._git(
            "fetch",
            "--quiet",
            remote,
            *refspec,
            env=_NO_PROMPT,
            hint=f"check that remote '{remote}' exists and that this job may read it",
        )

    def reset_hard(self, rev: str) -> None:
        """Move the branch and the work tree to `rev`: used only to drop our own commit of
        intents that lost a push race (nothing was sent for it)."""
        self._git("reset", "--hard", "--quiet", rev, hint="is the commit fetched?")

    def fast_forward(self, rev: str) -> bool:
        """Fast-forward the current branch to `rev`; False when that is not possible."""
        status, _, _ = self._git("merge", "--ff-only", "--quiet", rev, ok=None)
        return status == 0

    def remote_head(self, remote: str = "origin", branch: str | None = None) -> str | None:
        """The sha of REMOTE/BRANCH as of the last fetch (no network), or None if unknown.
        `branch` defaults to the current branch."""
        branch = branch or self._branch_or_fail()
        return self.resolve(f"refs/remotes/{remote}/{branch}")

    def push(self, remote: str = "origin", branch: str | None = None) -> PushResult:
        """Push HEAD to BRANCH (default: the current branch) on `remote`, never forcing.

        A non-fast-forward rejection (someone pushed first) is returned as `rejected=True`;
        any other failure (no such remote, no permission, a protected branch) is a UserError.
        """
        branch = branch or self._branch_or_fail()
        commit = self.head_commit()
        status, out, err = self._git(
            "push", "--porcelain", remote, f"HEAD:refs/heads/{branch}", env=_NO_PROMPT, ok=None
        )
        target = f"refs/heads/{branch}"
        for line in out.splitlines():
            flag, _, rest = line.partition("\t")
            refs, _, summary = rest.partition("\t")
            if not refs.endswith(f":{target}"):
                continue
            if flag == "!":
                if _lost_race(summary):
                    return PushResult(remote, branch, commit, rejected=True, summary=summary)
                raise UserError(
                    f"git push to {remote}/{branch} was refused: {summary}",
                    hint="check branch protection and this job's permission to push",
                    code="git",
                )
            return PushResult(remote, branch, commit, up_to_date=flag == "=", summary=summary)
        if status != 0:
            raise _git_error("push", err, f"check that remote '{remote}' exists and is writable")
        raise UserError(f"git push to {remote}/{branch} reported nothing", code="git")

    # --- plumbing -----------------------------------------------------------------------

    def _git(
        self,
        *args: str,
        ok: Sequence[int] | None = (0,),
        env: dict[str, str] | None = None,
        hint: str = "",
        stdin: str | None = None,
    ) -> tuple[int, str, str]:
        """Run git; `stdin`, text of any size (a commit message, lookups), is fed from a file."""
        with tempfile.TemporaryFile() if stdin is not None else nullcontext() as stream:
            if stream is not None and stdin is not None:
                stream.write(stdin.encode("utf-8"))
                stream.seek(0)
            status, out, err = _run(
                self.toplevel, ["--literal-pathspecs", *args], env=env, stdin=stream
            )
        if ok is not None and status not in ok:
            raise _git_error(args[0], err, hint)
        return status, out, err

    def _has_committer_identity(self) -> bool:
        if os.environ.get("GIT_COMMITTER_EMAIL"):
            return True
        status, _, _ = self._git("config", "--get", "user.email", ok=(0, 1))
        return status == 0

    def _branch_or_fail(self) -> str:
        branch = self.current_branch()
        if branch is None:
            raise UserError("HEAD is detached: no branch to use", hint="pass the branch name")
        return branch

    def _full(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def _relative(self, path: str) -> str | None:
        if not self.prefix:
            return path
        head = self.prefix + "/"
        return path[len(head) :] if path.startswith(head) else None

    def _parse_name_status(self, out: str) -> list[tuple[str, str, str | None]]:
        """(status letter, path, new path for a rename) from `--name-status -z` output,
        relative to the content root; paths outside it read as None and are dropped."""
        tokens = out.split("\0")
        records: list[tuple[str, str, str | None]] = []
        index = 0
        while index < len(tokens) and tokens[index]:
            letter = tokens[index][0]
            if letter in "RC":
                old, new = tokens[index + 1], tokens[index + 2]
                index += 3
            else:
                old, new = tokens[index + 1], ""
                index += 2
            old_rel = self._relative(old)
            new_rel = self._relative(new) if new else None
            if old_rel is None and new_rel is not None:
                records.append(("A", new_rel, None))
            elif old_rel is not None:
                records.append((letter, old_rel, new_rel if letter in "RC" else None))
        return records


def _lost_race(summary: str) -> bool:
    """Whether a refused push lost a race to another push rather than being forbidden.

    "[rejected] (fetch first)" and "(non-fast-forward)": someone pushed before our push began.
    "[remote rejected] (failed to update ref)": both pushes passed the fast-forward check and
    theirs updated the ref first (ours then finds the ref moved, or locked). Any other
    "[remote rejected]" (a hook, branch protection) is a refusal, and an error."""
    if summary.startswith("[rejected]"):
        return "non-fast-forward" in summary or "fetch first" in summary
    return summary == "[remote rejected] (failed to update ref)"
