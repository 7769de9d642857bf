"""Reading what commits recorded: a file's versions across branches, reflogs and merges,
a folder's blobs at a commit, many blobs at once, what was deleted since a commit. Mixed
into `gitrepo.GitRepo`, whose git runner it uses."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING


class RecordedReads:
    """The reading half of GitRepo that looks at history rather than the work tree."""

    if TYPE_CHECKING:  # provided by GitRepo

        def _git(
            self,
            *args: str,
            ok: Sequence[int] | None = (0,),
            env: dict[str, str] | None = None,
            hint: str = "",
            stdin: str | None = None,
        ) -> tuple[int, str, str]: ...

        def _full(self, path: str) -> str: ...

        def _relative(self, path: str) -> str | None: ...

    def last_change_is_merge(self, path: str) -> bool:
        """Whether the commit that last changed `path` on this branch's first-parent line is
        a merge: then git, or a person resolving a conflict, wrote it, not our writer."""
        _, out, _ = self._git(
            "log", "-1", "--first-parent", "--format=%P", "--", self._full(path), ok=None
        )
        return len(out.split()) > 1

    def recorded_versions(
        self, path: str, reflog_entries: int = 20, skip_subjects: Sequence[str] = ()
    ) -> list[str]:
        """The texts of `path` at every branch and remote-tracking tip, at HEAD's recent
        reflog entries and at those of each remote-tracking ref (what the remote once had),
        each distinct version once: where a newer state may survive a force-push that dropped
        it from this branch. HEAD's entries whose subject starts with one of `skip_subjects`
        are left out (commits of ours that were reset away unpushed). One git call per
        remote-tracking ref, and a fixed number more."""
        _, tips, _ = self._git(
            "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads", "refs/remotes"
        )
        _, reflog, _ = self._git(
            "reflog", "show", f"-n{reflog_entries}", "--format=%H %s", "HEAD", ok=None
        )
        found = [line.split(" ", 1)[0] for line in tips.splitlines() if line]
        for line in reflog.splitlines():
            commit, _, subject = line.partition(" ")
            if commit and not subject.startswith(tuple(skip_subjects)):
                found.append(commit)
        for line in tips.splitlines():
            _, _, ref = line.partition(" ")
            if ref.startswith("refs/remotes/") and not ref.endswith("/HEAD"):
                _, pushed, _ = self._git(
                    "reflog", "show", f"-n{reflog_entries}", "--format=%H", ref, ok=None
                )
                found += pushed.split()
        return self._texts_at(sorted({c for c in found if c}), path)

    def versions_since(self, commit: str, path: str) -> list[str]:
        """The texts of `path` at every commit in `commit..HEAD` that changed it, each
        distinct version once: the states committed since `commit`, on every side of a merge."""
        _, out, _ = self._git(
            # --full-history: a merge that kept one side's file would otherwise hide the
            # other side's versions, the very ones a `checkout --theirs` dropped.
            "log",
            "--full-history",
            "--format=%H",
            f"{commit}..HEAD",
            "--",
            self._full(path),
            ok=None,
        )
        return self._texts_at(sorted(set(out.split())), path)

    def deleted_since(self, commit: str, folder: str) -> set[str]:
        """The paths under `folder` (relative to it) that a commit in `commit..HEAD` deleted,
        on any side of a merge (each merge is compared with each of its parents)."""
        full = self._full(folder).rstrip("/") + "/"
        _, out, _ = self._git(
            "log",
            "--full-history",
            "-m",
            "--no-renames",
            "--diff-filter=D",
            "--name-only",
            "-z",
            "--format=",
            f"{commit}..HEAD",
            "--",
            full,
            ok=None,
        )
        return {
            name[len(full) :]
            for name in out.replace("\n", "\0").split("\0")
            if name.startswith(full)
        }

    def _texts_at(self, commits: Sequence[str], path: str) -> list[str]:
        if not commits:
            return []
        full = self._full(path)
        lookups = "".join(f"{commit}:{full}\n" for commit in commits)
        _, checked, _ = self._git(
            "cat-file", "--batch-check=%(objectname) %(objecttype)", stdin=lookups
        )
        blobs = sorted({line.split()[0] for line in checked.splitlines() if line.endswith(" blob")})
        texts = []
        for blob in blobs:
            _, text, _ = self._git("cat-file", "blob", blob)
            texts.append(text)
        return texts

    # --- what changed -------------------------------------------------------------------

    def show_file(self, rev: str, path: str) -> str | None:
        """The text of `path` in commit `rev` (e.g. 'origin/main'), or None if it has no
        such file. An unknown `rev` is a UserError."""
        full = self._full(path)
        _, out, _ = self._git("ls-tree", "-z", rev, "--", full, hint="is the commit fetched?")
        entry = out.split("\0", 1)[0]
        if not entry:
            return None
        meta, _, name = entry.partition("\t")
        _, kind, sha = meta.split(" ")
        if kind != "blob" or name != full:
            return None
        _, text, _ = self._git("cat-file", "blob", sha)
        return text

    def tree_blobs(self, rev: str, folder: str) -> dict[str, str]:
        """{path under `folder`: blob id} of every file below `folder` in commit `rev`
        (empty when there is none): one git call, however many files."""
        full = self._full(folder).rstrip("/") + "/"
        _, out, _ = self._git("ls-tree", "-r", "-z", rev, "--", full, hint="is the commit fetched?")
        found: dict[str, str] = {}
        for entry in out.split("\0"):
            meta, _, name = entry.partition("\t")
            parts = meta.split(" ")
            if len(parts) == 3 and parts[1] == "blob" and name.startswith(full):
                found[name[len(full) :]] = parts[2]
        return found

    def blob_texts(self, blobs: Sequence[str]) -> dict[str, str]:
        """{blob id: its text} for many blobs in one git call (`cat-file --batch`)."""
        wanted = sorted(set(blobs))
        if not wanted:
            return {}
        lookups = "".join(f"{blob}\n" for blob in wanted)
        _, text, _ = self._git("cat-file", "--batch", stdin=lookups, hint="is the commit fetched?")
        # Sizes are in bytes: undo the runner's decoding (lossless: surrogate escapes).
        out, at, texts = os.fsencode(text), 0, {}
        for _ in wanted:
            header_end = out.index(b"\n", at)
            header = out[at:header_end].decode("ascii").split(" ")
            if len(header) != 3:  # "<id> missing"
                at = header_end + 1
                continue
            name, kind, size = header
            start = header_end + 1
            if kind == "blob":
                texts[name] = out[start : start + int(size)].decode("utf-8", "surrogateescape")
            at = start + int(size) + 1
        return texts

    def last_commit_touching(self, paths: Sequence[str], rev: str = "HEAD") -> str | None:
        """The newest commit reachable from `rev` that changed any of `paths` (files or
        folders ending in '/'), or None."""
        full = [self._full(p) for p in paths]
        _, out, _ = self._git("log", "-1", "--format=%H", rev, "--", *full, ok=None)
        return out.strip() or None

    def paths_changed(self, old: str, new: str) -> frozenset[str]:
        """Every path (repository-relative) that differs between two commits."""
        _, out, _ = self._git("diff", "--name-only", "--no-renames", "-z", old, new)
        return frozenset(p for p in out.split("\0") if p)

    def commits_touching(self, path: str, since: str | None, limit: int = 200) -> list[str]:
        """The commits after `since` (all, when None) up to HEAD that changed `path`,
        newest first, each with its first parent's id: "commit parent" (parent empty for a
        root commit)."""
        span = f"{since}..HEAD" if since else "HEAD"
        _, out, _ = self._git(
            "log", f"-n{limit}", "--format=%H %P", span, "--", self._full(path), ok=None
        )
        return [" ".join(line.split()[:2]) for line in out.splitlines() if line]

    def file_at(self, commit: str, path: str) -> str | None:
        """The text of `path` at a recorded commit, or None if it did not exist there."""
        return self.show_file(commit, path)

    # --- batches (content/batches.py) ---------------------------------------------------

    def files_containing(self, text: str, folder: str) -> tuple[str, ...]:
        """The tracked files under `folder` whose work-tree text holds `text` (a fixed
        string), sorted: one `git grep`, far cheaper than reading every post file to find
        the few batches among them."""
        status, out, _ = self._git(
            "grep", "-l", "-z", "-F", "-e", text, "--", self._full(folder), ok=(0, 1)
        )
        if status == 1:
            return ()
        names = (self._relative(name) for name in out.split("\0") if name)
        return tuple(sorted(name for name in names if name is not None))

    def changed_files(self, since: str, until: str, paths: Sequence[str]) -> frozenset[str]:
        """Which of `paths` differ between two commits (added, changed or deleted)."""
        if not paths:
            return frozenset()
        _, out, _ = self._git(
            "diff",
            "--name-only",
            "--no-renames",
            "-z",
            since,
            until,
            "--",
            *(self._full(p) for p in paths),
            hint="the recorded commit and HEAD must both be readable",
        )
        names = (self._relative(name) for name in out.split("\0") if name)
        return frozenset(name for name in names if name is not None)
