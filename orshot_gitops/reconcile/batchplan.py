"""The planner's side of files that stand for many posts: a batch (`for_each`, one post per
row, ids `<file id>/<row id>`) and a recurring post (ids `<post id>@YYYY-MM-DD`).

The cost still follows the change. Which post files are batches is asked of git (`git grep
for_each`, one process), not by reading every post file, and only their own few lines are
read, for the data file each names. A batch file is compiled (its data file read) when:
it or its data file changed since the reconciled commit or in the work tree; the state
records none of its posts; one of its posts needs work; or one of its posts repeats (an
occurrence's posts change with the clock). Otherwise its posts are the state's: the
recorded ids under its `<file id>/` are present, unread, and unchanged by construction
(the post file and its data file are the ones the recorded commit reconciled). A
10,000-row batch whose data did not change costs a prefix scan of the state's index.

A row the state does not know is new only when git shows it was not in the batch at the
recorded commit (the batch's file and data file as they were then are expanded again): a
row whose record was lost (a state conflict resolved by hand) is never sent again, exactly
as a post file of the recorded commit without a record (missing.py).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from orshot_gitops.content.batches import RowSkip, batch_row_ids, row_fingerprint
from orshot_gitops.content.datafiles import Row, parse_table
from orshot_gitops.content.load import post_id_for
from orshot_gitops.content.model import Config
from orshot_gitops.content.repopaths import dir_problem
from orshot_gitops.content.validate import CheckedFiles
from orshot_gitops.content.yamlload import decode, load_document
from orshot_gitops.errors import UserError
from orshot_gitops.reconcile.actions import Action, Batch
from orshot_gitops.vcs.gitrepo import GitRepo

# A post id's parts: `<file id>/<row id>` (a batch row), `<post id>@<date>` (an occurrence).
ROW_SEPARATOR = "/"
OCCURRENCE_SEPARATOR = "@"


@dataclass(frozen=True)
class Batches:
    """The batch files git tracks under posts_dir, each with the data file it names."""

    data_of: Mapping[str, str]  # post file -> data file (as for_each wrote it)

    @property
    def data_paths(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.data_of.values())))


def find_batches(root: Path, git: GitRepo, config: Config) -> Batches:
    found: dict[str, str] = {}
    for path in git.files_containing("for_each", config.posts_dir + "/"):
        data_path = written_for_each(root, path)
        if data_path is not None:
            found[path] = data_path
    return Batches(found)


def written_for_each(root: Path, path: str) -> str | None:
    """The `for_each` a post file writes, or None (not a batch, or not readable: the
    loader reports that when the file is compiled)."""
    try:
        data = load_document(decode((root / path).read_bytes(), path), path).data
    except (UserError, OSError):
        return None
    value = data.get("for_each")
    # Only a path inside the repository is asked of git: the loader refuses the others, at
    # their line, when the file is compiled.
    if not isinstance(value, str) or dir_problem(root, value):
        return None
    return value


def recorded_by_file(
    recorded_ids: Iterable[str], file_ids: Mapping[str, str]
) -> dict[str, list[str]]:
    """{post file: the recorded post ids it stands for beyond its own id}: the ids under
    `<file id>/` or `<file id>@` of each file in `file_ids` (file id -> path). The longest
    file id wins (`a/b/c` is a row of the batch `a/b` before it could be one of `a`)."""
    found: dict[str, list[str]] = {}
    for post_id in recorded_ids:
        if post_id in file_ids:
            continue  # a post file's own id
        cut = len(post_id)
        while cut > 0:
            cut = max(
                post_id.rfind(ROW_SEPARATOR, 0, cut), post_id.rfind(OCCURRENCE_SEPARATOR, 0, cut)
            )
            if cut <= 0:
                break
            path = file_ids.get(post_id[:cut])
            if path is not None:
                found.setdefault(path, []).append(post_id)
                break
    return found


def batch_candidates(
    batches: Batches,
    recorded: Mapping[str, list[str]],
    needing_work: Collection[str],
    changed_data: Collection[str],
) -> set[str]:
    """The batch files to compile: see the module's docstring."""
    chosen = set()
    for path, data_path in batches.data_of.items():
        rows = recorded.get(path, [])
        if (
            data_path in changed_data
            or not rows
            or any(OCCURRENCE_SEPARATOR in row for row in rows)
            or any(row in needing_work for row in rows)
        ):
            chosen.add(path)
    return chosen


def changed_data_files(
    git: GitRepo, since: str | None, batches: Batches, dirty: Collection[str]
) -> set[str]:
    """The data files changed since the reconciled commit, or in the work tree."""
    changed = set(dirty)
    if since is not None and batches.data_paths:
        changed |= git.changed_files(since, "HEAD", batches.data_paths)
    return changed


def present_posts(
    file_ids: Mapping[str, str],
    compiled_files: Mapping[str, tuple[str, ...] | None],
    recorded: Mapping[str, list[str]],
    batch_files: Collection[str],
) -> dict[str, str]:
    """Every post id in the repository -> the file that makes it. A compiled file stands
    for the ids its expansion made; a batch not compiled, or one whose data could not be
    read, for the ids the state records under it (unknown is never "removed")."""
    present: dict[str, str] = {}
    for post_id, path in file_ids.items():
        made = compiled_files.get(path)
        if made is not None:
            present.update((made_id, path) for made_id in made)
            continue
        if path not in batch_files or path in compiled_files:
            present[post_id] = path  # a single post, or a batch that could not be read
        present.update((row, path) for row in recorded.get(path, []))
    return present


def row_renames(
    moves: Iterable[tuple[str, str]],
    made_ids: Iterable[str],
    recorded_ids: Collection[str],
    present: Collection[str],
    posts_dir: str,
) -> dict[str, str]:
    """A moved batch file (`git mv posts/products.yaml posts/shop/products.yaml`) moves each
    of its rows' posts: new row id -> the recorded one it continues. Never sent again."""
    moved = {post_id_for(new, posts_dir): post_id_for(old, posts_dir) for old, new in moves}
    found: dict[str, str] = {}
    for post_id in made_ids:
        if post_id in recorded_ids:
            continue
        for new_file, old_file in moved.items():
            prefix_length = len(new_file)
            if post_id.startswith(new_file) and post_id[prefix_length : prefix_length + 1] in (
                ROW_SEPARATOR,
                OCCURRENCE_SEPARATOR,
            ):
                old_id = old_file + post_id[prefix_length:]
                if old_id in recorded_ids and old_id not in present:
                    found[post_id] = old_id
                    break
    return found


def rows_new_since(
    root: Path,
    git: GitRepo,
    config: Config,
    since: str,
    unknown_rows: Mapping[str, list[str]],
    old_path_of: Mapping[str, str],
) -> tuple[frozenset[str], frozenset[str]]:
    """Of each batch file's rows the state does not know (`unknown_rows`: path -> ids):
    (those git shows new since `since`, those that were in the batch then: records lost).
    A row whose batch cannot be read as it was then counts as lost (fail closed)."""
    new: set[str] = set()
    lost: set[str] = set()
    for path, rows in sorted(unknown_rows.items()):
        old_path = old_path_of.get(path, path)
        post_text = git.show_file(since, old_path)
        if post_text is None:
            new.update(rows)  # the file itself is new since
            continue
        data_path = _for_each_in(post_text, old_path)
        data_text = git.show_file(since, data_path) if data_path else None
        old_ids = batch_row_ids(
            post_text, data_text, old_path, post_id_for(old_path, config.posts_dir), config
        )
        for row in rows:
            old_row = (
                post_id_for(old_path, config.posts_dir)
                + row[len(post_id_for(path, config.posts_dir)) :]
            )
            if old_ids is not None and old_row not in old_ids:
                new.add(row)
            else:
                lost.add(row)
    return frozenset(new), frozenset(lost)


def _for_each_in(text: str, path: str) -> str | None:
    try:
        value = load_document(text, path).data.get("for_each")
    except UserError:
        return None
    return value if isinstance(value, str) else None


def batches_shown(
    batches: Batches, checked: CheckedFiles, present: Mapping[str, str], actions: list[Action]
) -> tuple[Batch, ...]:
    """The batches the plan shows as one line each: those it compiled, and those with an
    action (a removed batch's rows)."""
    data_of = dict(batches.data_of)
    for post in checked.compiled:
        if post.spec.batch is not None:
            data_of[post.spec.path] = post.spec.batch.data_path
    touched = {a.path for a in actions} | set(checked.ids_by_file)
    rows: dict[str, int] = {}
    for path in present.values():
        rows[path] = rows.get(path, 0) + 1
    return tuple(
        Batch(path, data_path, rows.get(path, 0))
        for path, data_path in sorted(data_of.items())
        if path in touched
    )


def unchanged_rows(
    git: GitRepo,
    since: str,
    batches: Batches,
    candidates: Collection[str],
    untouched_files: Collection[str],
    recorded: Mapping[str, list[str]],
    recorded_ids: Collection[str],
    needing_work: Collection[str],
) -> dict[str, RowSkip]:
    """For each batch to compile whose post file is as the reconciled commit had it and whose
    data file changed: the rows whose values are a row of the data file then, and whose post
    the state records and needs no work. Such a row's post is what was reconciled (the same
    post file, orshot.yaml and templates, else every file is compiled): not compiled again,
    so a 10,000-row catalogue with one row edited compiles one row (docs/benchmarks.md)."""
    skips: dict[str, RowSkip] = {}
    for path in sorted(candidates):
        data_path = batches.data_of.get(path)
        rows = recorded.get(path, [])
        if data_path is None or path not in untouched_files or not rows:
            continue
        if any(OCCURRENCE_SEPARATOR in row or row in needing_work for row in rows):
            continue
        old_text = git.show_file(since, data_path)
        if old_text is None:
            continue
        try:
            old_rows = frozenset(row_fingerprint(r) for r in parse_table(old_text, data_path).rows)
        except UserError:
            continue
        skips[path] = _skip(old_rows, recorded_ids, needing_work)
    return skips


def _skip(
    old_rows: frozenset[str], recorded_ids: Collection[str], needing_work: Collection[str]
) -> RowSkip:
    def unchanged(post_id: str, row: Row) -> bool:
        return (
            post_id in recorded_ids
            and post_id not in needing_work
            and row_fingerprint(row) in old_rows
        )

    return unchanged
