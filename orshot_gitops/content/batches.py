"""One file, many posts: a batch (`for_each:` a data file) becomes one PostSpec per row.

A row's post id is `<file id>/<row id>`, the row id rendered from `id:` (`{{ row.sku }}`), so
it follows the row, not its place in the file: reordering rows changes nothing, editing a
row edits its post, deleting a row removes it. Each row's post is a post like any other from
here on (compile, validate, plan, apply).

`expand_posts` is the one place a post file turns into the posts it stands for. Each post, a
batch row or a single post, may also repeat (`repeat:`, content/recurrence.py): its
occurrences get ids `<post id>@YYYY-MM-DD`.

What goes wrong with a row is said at the row's line in the data file (`at_row`), where a
person fixes it; what goes wrong with the templates is said in the post file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from orshot_gitops.content.compile import CompiledPost
from orshot_gitops.content.datafiles import (
    DataTable,
    Row,
    data_path_problem,
    parse_table,
    read_table,
)
from orshot_gitops.content.model import BatchRow, Config, PostSpec
from orshot_gitops.content.recurrence_checks import expand_all
from orshot_gitops.content.templating import TemplateEngine, TemplateProblem
from orshot_gitops.errors import Diagnostic, Severity, UserError

# What a row id may not hold: `/` and `@` separate a post id's parts (`file/row@date`), `\`
# and control characters make no file name the state could hold (`.orshot/state/posts/<id>`),
# a leading `.` is a name the state's layout takes for a temporary file.
_BAD_ROW_ID = re.compile(r"[/@\\\s\x00-\x1f\x7f]")
MAX_ROW_ID = 120

# Problems of the post file itself, the same for every row: said once, in the post file.
# Everything else a row's post can get wrong (a column it lacks, a value that is no date, a
# caption too long once filled in) is the row's, said at its line in the data file.
POST_FILE_CODES = frozenset(
    {
        "template-syntax",
        "template-sandbox",
        "template-include",
        "unknown-account",
        "option-untargeted",
        "option-unsupported",
        "timezone",
    }
)


@dataclass(frozen=True)
class Expanded:
    """What `expand_posts` made: every post, the problems, and the post ids each file stands
    for (None: the file could not be read whole, so which posts it holds is unknown)."""

    posts: tuple[PostSpec, ...]
    problems: tuple[Diagnostic, ...]
    ids_by_file: Mapping[str, tuple[str, ...] | None]
    # Each series' rotation (recurrence.rotation_sample): compiled only to find a caption the
    # series repeats beyond the horizon (recurrence_checks.repeated_captions), never sent.
    samples: tuple[PostSpec, ...] = ()


def expand_posts(
    root: Path,
    config: Config,
    specs: Iterable[PostSpec],
    engine: TemplateEngine,
    *,
    is_tracked: Callable[[str], bool] | None = None,
    now: datetime | None = None,
    skip_rows: Mapping[str, RowSkip] | None = None,
) -> Expanded:
    """Every post the files stand for. `skip_rows` (post file -> RowSkip): rows known to be
    unchanged, counted present and not made (the planner's, for a 10,000-row batch of which
    one row changed)."""
    posts: list[PostSpec] = []
    problems: list[Diagnostic] = []
    ids_by_file: dict[str, tuple[str, ...] | None] = {}
    samples: list[PostSpec] = []
    for spec in specs:
        known_ids: set[str] = set()  # rows not made, for a problem found after their id
        if spec.for_each is None:
            rows: list[PostSpec] = [spec]
            problems.extend(_templated_media_outside_batch(spec))
        else:
            table, read_problems = _table(root, spec, is_tracked)
            problems.extend(read_problems)
            if table is None:
                ids_by_file[spec.path] = None
                continue
            skip = (skip_rows or {}).get(spec.path)
            rows, row_problems, failed = expand_batch(spec, table, config, engine, skip)
            problems.extend(row_problems)
            known_ids.update(failed)
        made: list[PostSpec] = []
        # Each post, a batch row or a single post, may repeat (`repeat:`): its occurrences
        # are posts with ids `<post id>@YYYY-MM-DD` (content/recurrence.py).
        occurrences, series_samples, repeat_problems = expand_all(
            rows, config, now or datetime.now(timezone.utc)
        )
        made.extend(occurrences)
        samples.extend(series_samples)
        problems.extend(repeat_problems)
        posts.extend(made)
        ids_by_file[spec.path] = tuple(sorted({p.id for p in made} | known_ids))
    return Expanded(tuple(posts), tuple(problems), ids_by_file, tuple(samples))


def _table(
    root: Path, spec: PostSpec, is_tracked: Callable[[str], bool] | None
) -> tuple[DataTable | None, list[Diagnostic]]:
    assert spec.for_each is not None
    line, column = spec.document.position(("for_each",)) if spec.document else (1, 1)
    why = data_path_problem(root, spec.for_each, is_tracked)
    if why:
        return None, [
            Diagnostic(
                spec.path,
                line,
                column,
                Severity.ERROR,
                "batch-data",
                f"for_each: {spec.for_each!r} {why}",
                "name a .csv, .yaml or .json file the repository holds, by its path from "
                "the folder of orshot.yaml (e.g. data/products.csv)",
            )
        ]
    try:
        return read_table(root, spec.for_each), []
    except UserError as exc:
        return None, [exc.as_diagnostic()]
    except OSError as exc:
        return None, [
            Diagnostic(
                spec.for_each, 0, 0, Severity.ERROR, "unreadable", f"cannot read: {exc.strerror}"
            )
        ]


# Whether a row (its post id, its values) is known unchanged and need not be compiled: the
# planner's answer for a batch whose post file did not change, from the data file as the
# reconciled commit had it (batchplan.unchanged_rows).
RowSkip = Callable[[str, Row], bool]


def expand_batch(
    spec: PostSpec,
    table: DataTable,
    config: Config,
    engine: TemplateEngine,
    skip: RowSkip | None = None,
) -> tuple[list[PostSpec], list[Diagnostic], set[str]]:
    """One PostSpec per row whose id renders; a row id used twice is an error at both rows,
    and neither is made (which of the two is meant, only a person can say). Also returns
    the ids of rows present but not made: skipped as unchanged (`skip`), or not made for a
    problem found after their id: still in the file, so their records are not "removed"."""
    rows: list[tuple[Row, PostSpec, bool]] = []  # (row, its post, made: not skipped)
    problems: list[Diagnostic] = []
    failed: set[str] = set()
    for row in table.rows:
        post, row_id, row_problems, skipped = _row_post(spec, table.path, row, config, engine, skip)
        problems.extend(row_problems)
        if post is not None:
            rows.append((row, post, not skipped))
        elif row_id is not None:
            failed.add(f"{spec.id}/{row_id}")
    lines: dict[str, list[int]] = {}
    for row, post, _ in rows:
        lines.setdefault(post.id, []).append(row.line)
    repeated = {post_id for post_id, at in lines.items() if len(at) > 1}
    for row, post, _ in rows:
        if post.id not in repeated:
            continue
        others = ", ".join(str(line) for line in lines[post.id] if line != row.line)
        assert post.batch is not None
        problems.append(
            at_row(
                post,
                "batch-duplicate-id",
                f"row id {post.batch.row_id!r} is also the id of the row at line {others}",
                "give each row its own id: the id is what a post is known by, in Orshot and "
                "in the state",
            )
        )
    made = [post for _, post, fresh in rows if fresh and post.id not in repeated]
    present = {post.id for _, post, fresh in rows if not fresh}
    return made, problems, failed | repeated | present


def _row_post(
    spec: PostSpec,
    data_path: str,
    row: Row,
    config: Config,
    engine: TemplateEngine,
    skip: RowSkip | None = None,
) -> tuple[PostSpec | None, str | None, list[Diagnostic], bool]:
    """The row's post, or None with the problems; the row id when it rendered; whether the
    row was skipped as unchanged (its post then carries only its id and origin)."""
    assert spec.id_template is not None
    variables = {**config.vars, **spec.vars, "row": dict(row.values)}
    origin = BatchRow(spec.id, data_path, row.line, "")
    placeholder = replace(spec, batch=origin, for_each=None, id_template=None)
    problems: list[Diagnostic] = []

    def rendered(source: str, what: str) -> str | None:
        try:
            return engine.render(source, variables).strip()
        except TemplateProblem as problem:
            problems.append(
                at_row(placeholder, f"template-{problem.kind}", f"{what}: {problem.message}", "")
            )
            return None

    row_id = rendered(spec.id_template, "id")
    if row_id is None:
        return None, None, problems, False
    placeholder = replace(placeholder, batch=replace(origin, row_id=row_id))
    why = row_id_problem(row_id)
    if why:
        problems.append(
            at_row(
                placeholder,
                "batch-row-id",
                f"row id {row_id!r} {why}",
                "an id is a short name such as a SKU: letters, digits, '-', '_', '.'",
            )
        )
        return None, None, problems, False
    if skip is not None and skip(f"{spec.id}/{row_id}", row):
        return replace(placeholder, id=f"{spec.id}/{row_id}"), row_id, [], True
    schedule = spec.schedule
    if schedule is not None and _is_template(schedule):
        schedule = rendered(schedule, "schedule") or None
    media = []
    for url in spec.media_urls:
        value = rendered(url, "media") if _is_template(url) else url
        if value is not None and not re.fullmatch(r"https?://\S+", value):
            problems.append(
                at_row(
                    placeholder,
                    "batch-media",
                    f"media renders to {value!r}, not an http(s) URL",
                    "give the row's media column a URL starting with https://",
                    column=_column_used(row, url),
                )
            )
            value = None
        media.append(value)
    if problems:
        return None, row_id, problems, False
    post = replace(
        spec,
        id=f"{spec.id}/{row_id}",
        vars={**spec.vars, "row": dict(row.values)},
        schedule=schedule,
        media_urls=tuple(url for url in media if url is not None),
        for_each=None,
        id_template=None,
        batch=replace(origin, row_id=row_id),
    )
    return post, row_id, [], False


def row_id_problem(row_id: str) -> str:
    if not row_id:
        return "is empty"
    if len(row_id) > MAX_ROW_ID:
        return f"is longer than {MAX_ROW_ID} characters"
    if row_id.startswith("."):
        return "starts with '.'"
    found = _BAD_ROW_ID.search(row_id)
    if found:
        return f"holds {found.group()!r}, which a row id may not"
    return ""


def _is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def _templated_media_outside_batch(spec: PostSpec) -> list[Diagnostic]:
    """Only a batch renders its media URLs: a single post's `{{ ... }}` would be sent as is."""
    if not any(_is_template(url) for url in spec.media_urls):
        return []
    where = ("media_urls",) if spec.carousel else ("media_url",)
    line, column = spec.document.position(where) if spec.document else (1, 1)
    return [
        Diagnostic(
            spec.path,
            line,
            column,
            Severity.ERROR,
            "media-template",
            "a media URL is a template, and only a batch (for_each) renders one",
            "write the URL itself, or make this file a batch with for_each and id",
        )
    ]


def _column_used(row: Row, source: str) -> int:
    """The column of the one row value a template reads (`{{ row.image }}`), else 1."""
    names = set(re.findall(r"row\.(\w+)|row\[['\"]([^'\"]+)['\"]\]", source))
    used = {a or b for a, b in names}
    return row.column_of(used.pop()) if len(used) == 1 else 1


def at_row(post: PostSpec, code: str, message: str, hint: str, *, column: int = 1) -> Diagnostic:
    """A problem of a batch row's post, at the row's line in the data file."""
    assert post.batch is not None
    name = f"row {post.batch.row_id!r}" if post.batch.row_id else "row"
    fix = f"{post.path} makes a post of each row of this file"
    return Diagnostic(
        post.batch.data_path,
        post.batch.line,
        column,
        Severity.ERROR,
        code,
        f"{name}: {message}",
        f"{hint}; {fix}" if hint else fix,
    )


def repeated_rows(compiled: Iterable[CompiledPost]) -> list[Diagnostic]:
    """Two rows of one batch that send one account the same caption and media: the platform
    refuses the second ("Duplicate content", publish-from-api.md), so it is an error at the
    later row's line, naming the earlier row, before anything is sent. A catalogue whose
    caption reads no column of its row says so at its second row."""
    first_seen: dict[tuple[str, str, str], str] = {}
    problems: list[Diagnostic] = []
    for post in compiled:
        row = post.spec.batch
        if row is None or post.spec.occurrence is not None:
            continue  # a row's occurrences are compared within their series (recurrence_checks)
        render = json.dumps(post.render.as_json(), sort_keys=True) if post.render else ""
        for payload in post.payloads:
            sent = json.dumps([payload.content, list(payload.media_urls), render])
            key = (row.file_id, payload.account.alias, sent)
            earlier = first_seen.setdefault(key, row.row_id)
            if earlier != row.row_id:
                message = (
                    f"sends {payload.account.alias!r} the same caption and media as row "
                    f"{earlier!r}: the platform refuses duplicate content"
                )
                hint = "make each row's caption differ, e.g. with a column: {{ row.name }}"
                problems.append(at_row(post.spec, "batch-duplicate", message, hint))
    return problems


def for_row(post: PostSpec, problems: Iterable[Diagnostic]) -> list[Diagnostic]:
    """The problems compiling and checking one post found; a batch row's are moved from the
    post file to the row's line in the data file (`POST_FILE_CODES` stay in the post file:
    every row shares them, and the set of diagnostics says each once)."""
    if post.batch is None:
        return list(problems)
    return [
        problem
        if problem.path != post.path or problem.code in POST_FILE_CODES
        else at_row(post, problem.code, *_said_of_a_row(post, problem))
        for problem in problems
    ]


def _said_of_a_row(post: PostSpec, problem: Diagnostic) -> tuple[str, str]:
    """A column the templates read and the row lacks, said as such (Jinja says "'dict
    object' has no attribute 'name'", and its hint speaks of vars)."""
    lacking = re.fullmatch(r"'dict object' has no attribute '([^']*)'", problem.message)
    row = post.vars.get("row")
    if problem.code != "template-undefined" or lacking is None or not isinstance(row, dict):
        return problem.message, problem.hint
    columns = ", ".join(str(name) for name in row) or "none"
    return (
        f"no column {lacking.group(1)!r} (the templates read row.{lacking.group(1)})",
        f"add the column to the data file, or fix the name; its columns: {columns}",
    )


def batch_row_ids(
    post_text: str, data_text: str | None, post_path: str, file_id: str, config: Config
) -> frozenset[str] | None:
    """The post ids a batch held at a recorded commit (its file and data file as they were
    then), or None when they cannot be told: the planner asks when a row is not in the state,
    to tell a row added since (new) from one whose record was lost (never sent again)."""
    from orshot_gitops.content.yamlload import load_document

    try:
        data = load_document(post_text, post_path).data
    except UserError:
        return None
    for_each, template = data.get("for_each"), data.get("id")
    if not isinstance(for_each, str) or not isinstance(template, str):
        return frozenset()  # not a batch then: none of its rows existed
    if data_text is None:
        return None
    try:
        table = parse_table(data_text, for_each)
    except UserError:
        return None
    variables: dict[str, Any] = {**config.vars, **dict(data.get("vars") or {})}
    engine = TemplateEngine(None)
    found = set()
    for row in table.rows:
        try:
            row_id = engine.render(template, {**variables, "row": dict(row.values)}).strip()
        except TemplateProblem:
            continue
        if not row_id_problem(row_id):
            found.add(f"{file_id}/{row_id}")
    return frozenset(found)


def without_clashing_ids(
    posts: Iterable[PostSpec],
) -> tuple[list[PostSpec], list[Diagnostic]]:
    """A batch row whose post id is also another post's (`posts/products/SKU1.yaml` next to
    the batch `posts/products.yaml` with a row SKU1): an error at both, and neither is made.
    Two files of one id were already refused by the loader."""
    by_id: dict[str, list[PostSpec]] = {}
    for post in posts:
        by_id.setdefault(post.id, []).append(post)
    kept: list[PostSpec] = []
    problems: list[Diagnostic] = []
    for post_id, same in by_id.items():
        if len(same) == 1:
            kept.append(same[0])
            continue
        for post in same:
            others = [other for other in same if other is not post]
            problems.append(clash_problem(post, post_id, [where_made(o) for o in others]))
    return kept, problems


def where_made(post: PostSpec) -> str:
    if post.batch is None:
        return post.path
    return f"the row at {post.batch.data_path}:{post.batch.line} of {post.path}"


def clash_problem(post: PostSpec, post_id: str, others: list[str]) -> Diagnostic:
    message = f"post id {post_id!r} is also made by {', '.join(others)}"
    hint = "a post id must be unique: rename the file or change the row's id"
    if post.batch is not None:
        return at_row(post, "duplicate-post", message, hint)
    return Diagnostic(post.path, 1, 1, Severity.ERROR, "duplicate-post", message, hint)


def row_fingerprint(row: Row) -> str:
    """A row's values, independent of its place in the file: equal for an unchanged row."""
    return json.dumps(dict(row.values), sort_keys=True, default=str, ensure_ascii=False)
