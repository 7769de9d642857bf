"""The parts of batches that need no repository: reading rows with their lines, row ids, and
which recorded post ids a file stands for (batch rows `/`, occurrences `@`)."""

from __future__ import annotations

import pytest

from orshot_gitops.content.batches import row_id_problem
from orshot_gitops.content.datafiles import parse_table
from orshot_gitops.errors import UserError
from orshot_gitops.reconcile.batchplan import recorded_by_file


def test_csv_rows_keep_their_first_line_and_each_value_its_column() -> None:
    table = parse_table(
        'sku,name,price\nA1,"Boots, red",20\n\nB2,"two\nlines",30\nC3,Cape,40\n', "d.csv"
    )
    assert [(row.line, row.values["sku"]) for row in table.rows] == [
        (2, "A1"),
        (4, "B2"),
        (6, "C3"),
    ]
    assert table.rows[0].column_of("price") == 17
    assert table.rows[1].values["name"] == "two\nlines"


@pytest.mark.parametrize(
    ("text", "path", "where"),
    [
        ('[{"sku": "A1"},\n {"sku": "B2", "name": "x"}]\n', "d.json", (2, 10)),
        ("- {sku: A1}\n- sku: B2\n  name: x\n", "d.yaml", (2, 8)),
    ],
)
def test_yaml_and_json_rows_keep_their_lines(text: str, path: str, where: tuple[int, int]) -> None:
    table = parse_table(text, path)
    assert (table.rows[1].line, table.rows[1].column_of("sku")) == where
    assert table.rows[1].values == {"sku": "B2", "name": "x"}


@pytest.mark.parametrize(
    ("text", "path", "message", "line"),
    [
        ("sku,sku\nA1,A2\n", "d.csv", "column 'sku' is named twice", 1),
        ("sku,,x\n", "d.csv", "a column has no name", 1),
        ("sku\nA1\nA2,B2\n", "d.csv", "this row has 2 values", 3),
        ("{sku: A1}\n", "d.yaml", "the data must be a list of rows", 1),
        ("- A1\n", "d.yaml", "a row must be a mapping", 1),
        ("- {sku: [A1\n", "d.yaml", "syntax error", 2),
    ],
)
def test_a_bad_data_file_is_one_error_at_its_line(
    text: str, path: str, message: str, line: int
) -> None:
    with pytest.raises(UserError) as caught:
        parse_table(text, path)
    assert message in caught.value.message
    assert (caught.value.path, caught.value.line) == (path, line)


@pytest.mark.parametrize(
    ("row_id", "problem"),
    [
        ("A1", ""),
        ("sku-1_x.2", ""),
        ("", "is empty"),
        ("a/b", "holds '/'"),
        ("a@b", "holds '@'"),
        ("a b", "holds ' '"),
        ("a\\b", "holds '\\\\'"),
        (".hidden", "starts with '.'"),
        ("..", "starts with '.'"),
        ("x" * 121, "is longer than 120 characters"),
    ],
)
def test_a_row_id_is_a_plain_name(row_id: str, problem: str) -> None:
    found = row_id_problem(row_id)
    assert found.startswith(problem) if problem else found == ""


def test_recorded_ids_belong_to_the_longest_file_id_before_a_separator() -> None:
    files = {"products": "posts/products.yaml", "shop/tips": "posts/shop/tips.yaml"}
    recorded = [
        "products/A1",
        "products/A1@2027-01-12",
        "shop/tips@2027-01-05",
        "shop/tips",  # a file's own id is not one of its rows
        "productsX/A1",  # another file's prefix, not a row of products
        "elsewhere/A1",
    ]
    assert recorded_by_file(recorded, files) == {
        "posts/products.yaml": ["products/A1", "products/A1@2027-01-12"],
        "posts/shop/tips.yaml": ["shop/tips@2027-01-05"],
    }


def test_validate_keeps_a_batch_and_the_files_under_its_id_in_one_process() -> None:
    """validate splits a large repository across processes at files no post id spans; a
    batch's rows (`b/1`) may clash with the files under its id (`posts/b/1.yaml`): they are
    never split from it, or the clash would go unseen."""
    from orshot_gitops.content.validate import _cut

    files = ["posts/a.yaml", "posts/b.yaml", "posts/b/1.yaml", "posts/b/2.yaml", "posts/c.yaml"]
    assert _cut(files, "posts", lambda runs: runs + 1) == [
        ["posts/a.yaml"],
        ["posts/b.yaml", "posts/b/1.yaml", "posts/b/2.yaml"],
        ["posts/c.yaml"],
    ]
