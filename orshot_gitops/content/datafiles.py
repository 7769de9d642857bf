"""The data file a batch reads (`for_each: data/products.csv`): its rows, each with its line.

CSV (the first line names the columns), or a YAML or JSON list of mappings. A row keeps the
line it starts on and the column of each value, so a bad row is reported where a person
fixes it: in the data file, not in the post file that reads it.

The file is untrusted input like a template (docs/security.md): it must be a regular file
inside the repository, reached through no link that leaves it, never in `.git`, and in
`plan`/`apply` one git tracks (what the pull request showed), never a leftover on disk.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orshot_gitops.content.repopaths import dir_problem, link_escape
from orshot_gitops.content.yamlload import decode
from orshot_gitops.errors import UserError

DATA_SUFFIXES = (".csv", ".yaml", ".yml", ".json")
# Far above any catalogue (10,000 rows of a dozen columns is ~2 MB), far below what would
# exhaust a CI runner's memory when a pull request commits a huge file.
MAX_DATA_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Row:
    """One row: its values by column, the line it starts on, each value's column (1-based)."""

    line: int
    values: Mapping[str, Any]
    columns: Mapping[str, int]

    def column_of(self, name: str) -> int:
        return self.columns.get(name, 1)


@dataclass(frozen=True)
class DataTable:
    path: str
    rows: tuple[Row, ...]


def data_path_problem(root: Path, path: str, is_tracked: Callable[[str], bool] | None) -> str:
    """Why the data file `path` (repository-relative, as `for_each` wrote it) may not be read;
    "" when it may."""
    if not path.endswith(DATA_SUFFIXES):
        return "is not a .csv, .yaml, .yml or .json file"
    why = dir_problem(root, path)
    if why:
        return why
    escape = link_escape(root, path)
    if escape:
        return f"is a symbolic link that {escape}"
    target = root / path
    if target.is_symlink():
        # Even a link inside the repository: git records the link, not the file it names,
        # so the review would show a different file than the one read.
        return "is a symbolic link: the data must be a file the repository holds"
    if not target.is_file():
        return "does not exist"
    if is_tracked is not None and not is_tracked(path):
        return "is not tracked by git: commit it, so the pull request shows what is sent"
    return ""


def read_table(root: Path, path: str) -> DataTable:
    """Read and parse a data file already checked by `data_path_problem`; a problem is a
    UserError at its line in the data file."""
    target = root / path
    size = target.stat().st_size
    if size > MAX_DATA_BYTES:
        raise UserError(
            f"data file is {size:,} bytes; at most {MAX_DATA_BYTES:,} are read",
            path=path,
            line=1,
            column=1,
            hint="split it into several batches",
            code="data-too-large",
        )
    text = decode(target.read_bytes(), path)
    return parse_table(text, path)


def parse_table(text: str, path: str) -> DataTable:
    if path.endswith(".csv"):
        return _csv_table(text, path)
    return _yaml_table(text, path)


def _problem(path: str, line: int, column: int, message: str, hint: str, code: str) -> UserError:
    return UserError(message, path=path, line=line, column=column, hint=hint, code=code)


def _csv_table(text: str, path: str) -> DataTable:
    lines = io.StringIO(text, newline="")
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise _problem(path, 1, 1, f"CSV error: {exc}", _CSV_HINT, "data-syntax") from None
    if header is None:
        return DataTable(path, ())
    header = [name.strip() for name in header]
    header_columns = _cell_columns(text.split("\n", 1)[0])
    for index, name in enumerate(header):
        column = header_columns[index] if index < len(header_columns) else 1
        if not name:
            raise _problem(
                path, 1, column, "a column has no name", "name every column", "data-header"
            )
        if name in header[:index]:
            raise _problem(
                path,
                1,
                column,
                f"column {name!r} is named twice",
                "give each column its own name",
                "data-header",
            )
    rows = []
    raw_lines = text.splitlines()
    line = reader.line_num + 1
    while True:
        try:
            record = next(reader, None)
        except csv.Error as exc:
            raise _problem(path, line, 1, f"CSV error: {exc}", _CSV_HINT, "data-syntax") from None
        if record is None:
            break
        if not record or all(not cell.strip() for cell in record):
            line = reader.line_num + 1
            continue  # a blank line is no row
        if len(record) != len(header):
            raise _problem(
                path,
                line,
                1,
                f"this row has {len(record)} values, the header names {len(header)} columns",
                "give every row one value per column (quote a value holding a comma)",
                "data-row-width",
            )
        source = raw_lines[line - 1] if line <= len(raw_lines) else ""
        starts = _cell_columns(source) if reader.line_num == line else []
        columns = {name: (starts[i] if i < len(starts) else 1) for i, name in enumerate(header)}
        rows.append(Row(line, dict(zip(header, record, strict=True)), columns))
        line = reader.line_num + 1
    return DataTable(path, tuple(rows))


_CSV_HINT = "quote values holding commas or quotes with double quotes, doubling inner quotes"


def _cell_columns(line: str) -> list[int]:
    """Where each cell of one CSV line starts (1-based), quotes honoured."""
    starts = [1]
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            starts.append(index + 2)
    return starts


def _yaml_table(text: str, path: str) -> DataTable:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise _problem(
            path,
            line,
            column,
            f"syntax error: {exc.problem or exc.context or 'invalid'}",
            "write a list of rows: '- {sku: A1, name: ...}' (YAML) or '[{...}, ...]' (JSON)",
            "data-syntax",
        ) from None
    except yaml.YAMLError as exc:
        raise _problem(path, 1, 1, f"syntax error: {exc}", "", "data-syntax") from None
    if root is None:
        return DataTable(path, ())
    if not isinstance(root, SequenceNode):
        line, column = _at(root)
        raise _problem(
            path,
            line,
            column,
            "the data must be a list of rows",
            "write '- {sku: A1, name: ...}' per row (YAML) or a JSON array of objects",
            "data-not-a-list",
        )
    rows = []
    constructor = SafeConstructor()
    for item in root.value:
        line, column = _at(item)
        if not isinstance(item, MappingNode):
            raise _problem(
                path,
                line,
                column,
                "a row must be a mapping of column names to values",
                "write each row as '- {sku: A1, name: ...}'",
                "data-row",
            )
        values: dict[str, Any] = {}
        columns: dict[str, int] = {}
        for key_node, value_node in item.value:
            if not isinstance(key_node, ScalarNode):
                key_line, key_column = _at(key_node)
                raise _problem(
                    path, key_line, key_column, "a column name must be text", "", "data-row"
                )
            name = str(key_node.value)
            try:
                values[name] = constructor.construct_object(value_node, deep=True)
            except yaml.YAMLError as exc:
                value_line, value_column = _at(value_node)
                raise _problem(
                    path, value_line, value_column, f"bad value: {exc}", "", "data-row"
                ) from None
            columns[name] = _at(value_node)[1]
        rows.append(Row(line, values, columns))
    return DataTable(path, tuple(rows))


def _at(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1
