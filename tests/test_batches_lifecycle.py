"""Batches (`for_each:` a data file): one post per row, through plan and apply, against a real
git repository with a bare remote and the sandbox. Each row is a post like any other: adding
a row adds a post, editing a row edits that post (in place while held), deleting a row
removes it, reordering rows changes nothing; moving the batch file or renaming its data file
never sends a row again. The sandbox's Posts Log says what went out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from reconcile_helpers import CONFIG, Workspace, actions, git, outcomes, post_yaml

from orshot_gitops.content import batches

HEADER = "sku,name,price,when\n"
A1 = "A1,Rocket,10,2099-01-05T09:00\n"
B2 = 'B2,"Boots, red",20,2099-01-06T09:00\n'
C3 = "C3,Cape,30,2099-01-07T09:00\n"

BATCH = """\
for_each: data/products.csv
id: "{{ row.sku }}"
accounts: [x]
content: "{{ row.name }} for ${{ row.price }}"
schedule: "{{ row.when }}"
"""


def write_batch(ws: Workspace, *rows: str, data: str = "data/products.csv") -> str:
    ws.write(data, HEADER + "".join(rows))
    ws.write("posts/products.yaml", BATCH.replace("data/products.csv", data))
    return ws.commit("products batch")


def contents(ws: Workspace) -> list[str]:
    return sorted(post["request"]["content"] for post in ws.sent())


def diagnostics(plan: dict[str, Any]) -> list[tuple[str, int, int, str]]:
    return [(d["path"], d["line"], d["column"], d["code"]) for d in plan["diagnostics"]]


def test_rows_added_edited_deleted_and_reordered_are_posts_added_edited_removed_and_nothing(
    ws: Workspace,
) -> None:
    write_batch(ws, A1, B2)
    assert actions(ws.plan_json()) == [
        ("products/A1", "x", "schedule"),
        ("products/B2", "x", "schedule"),
    ]
    assert ws.apply().code == 0
    assert contents(ws) == ["Boots, red for $20", "Rocket for $10"]
    assert ws.record("products/A1", "x")["status"] == "scheduled"
    assert ws.state()["posts"]["products/A1"]["path"] == "posts/products.yaml"

    # Reordered: the same rows, the same posts. Nothing to do, nothing sent.
    write_batch(ws, B2, A1)
    plan = ws.plan_json()
    assert actions(plan) == []
    before = ws.requests()
    assert ws.apply().code == 0
    assert ws.requests() == before

    # An edited row is an edit of its post, in place while Orshot holds it.
    write_batch(ws, B2, A1.replace("Rocket", "Rocket 2"))
    assert actions(ws.plan_json()) == [("products/A1", "x", "edit")]
    patches = ws.calls("PATCH /v1/social/posts/{id}")
    assert ws.apply().code == 0
    assert len(ws.sent()) == 2
    assert ws.calls("PATCH /v1/social/posts/{id}") == patches + 1
    held = ws.orshot_post(ws.record("products/A1", "x")["post_id"])
    assert held["content"] == "Rocket 2 for $10"

    # An added row is a new post; the others are untouched.
    write_batch(ws, B2, A1.replace("Rocket", "Rocket 2"), C3)
    assert actions(ws.plan_json()) == [("products/C3", "x", "schedule")]
    assert ws.apply().code == 0
    assert len(ws.sent()) == 3

    # A deleted row is a removed post: warned about, and discarded once prune says so.
    write_batch(ws, B2, C3)
    assert actions(ws.plan_json()) == [("products/A1", "x", "removed")]
    ws.set_config(CONFIG + "prune: true\n")
    report = ws.apply_json()
    assert report["exit_code"] == 0
    assert outcomes(report) == [("products/A1", "x", "discarded")]
    assert sorted(ws.state()["posts"]) == ["products/B2", "products/C3"]
    assert ws.plan_json()["actions"] == []


def test_an_unchanged_batch_is_not_read_when_another_post_changes(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_batch(ws, A1, B2)
    assert ws.apply().code == 0
    reads: list[str] = []
    real = batches.read_table

    def counted(root: Path, path: str) -> Any:
        reads.append(path)
        return real(root, path)

    monkeypatch.setattr(batches, "read_table", counted)
    ws.post("news", post_yaml("Hello", ("x",)))
    assert actions(ws.plan_json()) == [("news", "x", "publish")]
    assert reads == []
    assert ws.apply().code == 0
    # Its data file changed: then (and only then) the batch is read again.
    write_batch(ws, A1, B2.replace("20", "25"))
    assert actions(ws.plan_json()) == [("products/B2", "x", "edit")]
    assert reads == ["data/products.csv"]


def test_a_moved_batch_file_moves_every_row_and_sends_nothing(ws: Workspace) -> None:
    write_batch(ws, A1, B2)
    assert ws.apply().code == 0
    (ws.root / "posts/shop").mkdir()
    git(ws.root, "mv", "posts/products.yaml", "posts/shop/products.yaml")
    ws.commit("move the batch")
    assert actions(ws.plan_json()) == [
        ("shop/products/A1", "x", "rename"),
        ("shop/products/B2", "x", "rename"),
    ]
    before = ws.requests()
    assert ws.apply().code == 0
    assert ws.requests() == before
    assert len(ws.sent()) == 2
    assert sorted(ws.state()["posts"]) == ["shop/products/A1", "shop/products/B2"]
    assert ws.plan_json()["actions"] == []


def test_a_renamed_data_file_sends_nothing(ws: Workspace) -> None:
    write_batch(ws, A1, B2)
    assert ws.apply().code == 0
    git(ws.root, "mv", "data/products.csv", "data/catalogue.csv")
    ws.write("posts/products.yaml", BATCH.replace("data/products.csv", "data/catalogue.csv"))
    ws.commit("rename the data file")
    assert actions(ws.plan_json()) == []
    before = ws.requests()
    assert ws.apply().code == 0
    assert ws.requests() == before


def test_a_row_whose_record_was_lost_is_never_sent_again(ws: Workspace) -> None:
    write_batch(ws, A1, B2)
    assert ws.apply().code == 0
    # A state conflict resolved by hand drops B2's record; a new row C3 lands meanwhile.
    data = ws.state()
    del data["posts"]["products/B2"]
    ws.write_state(data)
    ws.commit("state edited by hand")
    plan = ws.plan_json()
    assert actions(plan) == [("products/B2", "x", "record-missing")]
    write_batch(ws, A1, B2, C3)
    plan = ws.plan_json()
    assert sorted(actions(plan)) == [
        ("products/B2", "x", "record-missing"),
        ("products/C3", "x", "schedule"),
    ]
    ws.apply()
    # B2 never again; C3, new since the reconciled commit, goes out.
    assert contents(ws) == ["Boots, red for $20", "Cape for $30", "Rocket for $10"]


def test_a_post_file_under_the_batch_id_clashes_with_its_row_at_both(ws: Workspace) -> None:
    write_batch(ws, A1, B2)
    assert ws.apply().code == 0
    ws.post("products/A1", post_yaml("Another A1", ("x",)))
    plan = ws.plan_json()
    assert ("data/products.csv", 2, 1, "duplicate-post") in diagnostics(plan)
    assert ("posts/products/A1.yaml", 1, 1, "duplicate-post") in diagnostics(plan)
    before = ws.requests()
    assert ws.apply().code == 1
    assert ws.requests() == before
    run = ws.cli("validate")
    assert run.code == 1
    assert "data/products.csv:2:1: error: row 'A1': post id 'products/A1' is also made by" in (
        run.out
    )
    assert "posts/products/A1.yaml:1:1: error: post id 'products/A1'" in run.out


@pytest.mark.parametrize(
    ("row", "where", "code"),
    [
        ("D4,Drone,40,next tuesday\n", (4, 1), "schedule-invalid"),
        (",Nameless,40,2099-01-08T09:00\n", (4, 1), "batch-row-id"),
        ("a/b,Slash,40,2099-01-08T09:00\n", (4, 1), "batch-row-id"),
        ("x@y,At,40,2099-01-08T09:00\n", (4, 1), "batch-row-id"),
        ("..,Dots,40,2099-01-08T09:00\n", (4, 1), "batch-row-id"),
        ("D4,Drone,40\n", (4, 1), "data-row-width"),
        ('D4,"unclosed,40,2099-01-08T09:00\n', (4, 1), "data-syntax"),
    ],
)
def test_a_bad_row_is_reported_at_its_line_and_nothing_is_sent(
    ws: Workspace, row: str, where: tuple[int, int], code: str
) -> None:
    write_batch(ws, A1, B2, row)
    run = ws.cli("validate")
    assert run.code == 1
    assert f"data/products.csv:{where[0]}:{where[1]}: error:" in run.out, run.out
    plan = ws.plan_json()
    assert ("data/products.csv", *where, code) in diagnostics(plan)
    assert ws.apply().code == 1
    assert ws.sent() == []
    assert "Traceback" not in "".join(ws.all_output)


def test_a_column_the_caption_uses_and_a_row_lacks_is_an_error_at_that_row(
    ws: Workspace,
) -> None:
    ws.write("data/products.yaml", "- {sku: A1, name: Rocket}\n- {sku: B2}\n")
    ws.write(
        "posts/products.yaml",
        BATCH.replace(".csv", ".yaml")
        .replace(" for ${{ row.price }}", "")
        .replace('schedule: "{{ row.when }}"\n', ""),
    )
    ws.commit("yaml batch")
    run = ws.cli("validate")
    assert run.code == 1
    assert run.out.splitlines()[0].startswith(
        "data/products.yaml:2:1: error: row 'B2': no column 'name' (the templates read "
        "row.name) (add the column to the data file, or fix the name; its columns: sku;"
    ), run.out


def test_a_repeated_row_id_is_an_error_at_both_lines(ws: Workspace) -> None:
    write_batch(ws, A1, B2, A1.replace("Rocket", "Rocket again"))
    run = ws.cli("validate")
    assert run.code == 1
    lines = run.out.splitlines()
    assert any(line.startswith("data/products.csv:2:1: error: row 'A1'") for line in lines)
    assert any(line.startswith("data/products.csv:4:1: error: row 'A1'") for line in lines)
    assert ws.apply().code == 1
    assert ws.sent() == []


def test_a_data_file_linking_out_of_the_repository_is_refused(
    ws: Workspace, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("sku,name,price,when\nK,sk_live_secret,1,2099-01-05T09:00\n")
    (ws.root / "data").mkdir()
    os.symlink(secret, ws.root / "data/products.csv")
    ws.write("posts/products.yaml", BATCH)
    ws.commit("a link out")
    plan = ws.plan_json()
    assert ("posts/products.yaml", 1, 11, "batch-data") in diagnostics(plan)
    assert ws.apply().code == 1
    assert ws.sent() == []
    assert "sk_live_secret" not in "".join(ws.all_output)
    assert ws.cli("validate").code == 1


def test_a_data_file_linking_inside_the_repository_is_refused_too(ws: Workspace) -> None:
    ws.write("data/real.csv", HEADER + A1)
    os.symlink("real.csv", ws.root / "data/products.csv")
    ws.write("posts/products.yaml", BATCH)
    ws.commit("a link in")
    assert ("posts/products.yaml", 1, 11, "batch-data") in diagnostics(ws.plan_json())


def test_an_untracked_data_file_is_refused_by_plan_and_apply(ws: Workspace) -> None:
    ws.write("posts/products.yaml", BATCH)
    ws.commit("the batch, its data file forgotten")
    ws.write("data/products.csv", HEADER + A1)  # on disk only: no pull request showed it
    plan = ws.plan_json()
    assert ("posts/products.yaml", 1, 11, "batch-data") in diagnostics(plan)
    assert ws.apply().code == 1
    assert ws.sent() == []


def test_an_uncommitted_data_file_edit_is_refused_by_apply(ws: Workspace) -> None:
    write_batch(ws, A1)
    ws.write("data/products.csv", HEADER + A1.replace("Rocket", "Unreviewed"))
    run = ws.apply()
    assert run.code != 0
    assert "data/products.csv has uncommitted changes" in run.output
    assert ws.sent() == []


def test_a_10000_row_batch_plans_every_row(ws: Workspace) -> None:
    rows = "".join(f"S{i:05d},Item {i},{i},2099-01-05T09:00\n" for i in range(10_000))
    ws.write("data/products.csv", HEADER + rows)
    ws.write("posts/products.yaml", BATCH)
    ws.commit("a large catalogue")
    plan = ws.plan_json()
    assert plan["diagnostics"] == []
    assert len(plan["actions"]) == 10_000
    assert {a["kind"] for a in plan["actions"]} == {"create"}
    assert plan["actions"][0]["post_id"] == "products/S00000"


def test_a_row_of_the_reconciled_commit_without_a_record_is_not_new(ws: Workspace) -> None:
    """The hand edit folded into the state's own commit and force-pushed: the batch as it was
    at the reconciled commit says B2 is not new (batchplan.rows_new_since). The states in the
    history say so too (missing.records_lost_in_merge); each guard alone passes this test."""
    write_batch(ws, A1, B2)
    assert ws.apply().code == 0
    data = ws.state()
    del data["posts"]["products/B2"]
    ws.write_state(data)
    git(ws.root, "add", "--all")
    git(ws.root, "commit", "--quiet", "--amend", "--no-edit")
    git(ws.root, "push", "--quiet", "--force", "origin", "main")
    write_batch(ws, A1, B2, C3)
    assert sorted(actions(ws.plan_json())) == [
        ("products/B2", "x", "record-missing"),
        ("products/C3", "x", "schedule"),
    ]
    ws.apply()
    assert contents(ws) == ["Boots, red for $20", "Cape for $30", "Rocket for $10"]


RENDER_BATCH = """\
for_each: data/products.csv
id: "{{ row.sku }}"
accounts: [x, li]
content: "{{ row.name }} for ${{ row.price }}"
render:
  template: 123
  modifications: {title: "{{ row.name }}", price: "${{ row.price }}"}
"""


def test_the_plan_groups_a_batch_in_one_line_with_the_render_credits_it_spends(
    ws: Workspace,
) -> None:
    ws.write("data/products.csv", "sku,name,price\nA1,Rocket,10\nB2,Boots,20\nC3,Cape,30\n")
    ws.write("posts/products.yaml", RENDER_BATCH)
    ws.post("news", post_yaml("Hello", ("x",)))
    line = (
        "batch posts/products.yaml (data/products.csv): 3 rows, 3 new, 0 changed, 0 removed, "
        "0 unchanged; render credits: 3"
    )
    text = ws.plan().out.splitlines()
    # Single posts first, then the batch's line over its rows.
    assert text[0] == "news  (posts/news.yaml)"
    assert text[2] == line
    assert text[3] == "products/A1  (posts/products.yaml)"
    data = ws.plan_json()
    assert data["batches"] == [
        {
            "path": "posts/products.yaml",
            "data_path": "data/products.csv",
            "rows": 3,
            "new": 3,
            "changed": 0,
            "moved": 0,
            "removed": 0,
            "unchanged": 0,
            "render_credits": 3,
        }
    ]
    assert data["renders"]["credits"] == 3
    assert f"- {line}" in ws.plan("--format", "markdown").out
    assert ws.apply().code == 0
    assert ws.calls("POST /v1/studio/render") == 3

    # Rows reordered only: the line, and no row under it.
    ws.write("data/products.csv", "sku,name,price\nC3,Cape,30\nB2,Boots,20\nA1,Rocket,10\n")
    ws.commit("reorder")
    assert ws.plan().out.splitlines() == [
        "batch posts/products.yaml (data/products.csv): 3 rows, 0 new, 0 changed, 0 removed, "
        "3 unchanged; render credits: 0",
        "Plan: no changes; 7 unchanged.",
    ]

    # One row edited (published: it stays as it went out), one removed, one added: the line
    # says so, and the new row is the one render to spend.
    ws.write("data/products.csv", "sku,name,price\nA1,Rocket,10\nB2,Boots,25\nD4,Drone,40\n")
    ws.commit("edit B2, remove C3, add D4")
    assert (
        "batch posts/products.yaml (data/products.csv): 3 rows, 1 new, 1 changed, 1 removed, "
        "1 unchanged; render credits: 1"
    ) in ws.plan().out.splitlines()


def test_a_row_sent_by_other_means_is_adopted_by_its_id(ws: Workspace) -> None:
    write_batch(ws, A1, B2)
    run = ws.cli("adopt", "products/A1")
    assert run.code == 0, run.output
    assert ws.record("products/A1", "x")["status"] == "published"
    assert "products/B2" not in ws.state()["posts"]
    assert actions(ws.plan_json()) == [("products/B2", "x", "schedule")]
    assert ws.cli("adopt", "products/Z9").code != 0


def test_only_the_changed_rows_are_compiled_and_a_changed_caption_edits_every_row(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_batch(ws, A1, B2, C3)
    assert ws.apply().code == 0
    from orshot_gitops.content import compile as compile_module

    compiled: list[str] = []
    real = compile_module.Compiler.compile

    def counted(self: Any, spec: Any) -> Any:
        compiled.append(spec.id)
        return real(self, spec)

    monkeypatch.setattr(compile_module.Compiler, "compile", counted)
    # One row edited: only it is compiled; the others are the state's, as reconciled.
    write_batch(ws, A1, B2.replace("Boots", "Shoes"), C3)
    assert actions(ws.plan_json()) == [("products/B2", "x", "edit")]
    assert compiled == ["products/B2"]
    # The caption and a row in one commit: every row is compiled, and every row edited.
    compiled.clear()
    ws.write("data/products.csv", HEADER + A1 + B2 + C3.replace("Cape", "Cloak"))
    ws.write("posts/products.yaml", BATCH.replace(" for $", " at $"))
    ws.commit("caption and a row")
    assert actions(ws.plan_json()) == [
        ("products/A1", "x", "edit"),
        ("products/B2", "x", "edit"),
        ("products/C3", "x", "edit"),
    ]
    assert sorted(compiled) == ["products/A1", "products/B2", "products/C3"]


@pytest.mark.parametrize("for_each", ["../outside.csv", ".git/rows.csv", "/etc/rows.csv"])
def test_a_data_path_outside_the_repository_is_refused(ws: Workspace, for_each: str) -> None:
    (ws.root.parent / "outside.csv").write_text(HEADER + A1)
    ws.write("posts/products.yaml", BATCH.replace("data/products.csv", for_each))
    ws.commit("a path out")
    assert ("posts/products.yaml", 1, 11, "batch-data") in diagnostics(ws.plan_json())
    assert ws.cli("validate").code == 1
    assert ws.apply().code == 1
    assert ws.sent() == []


def test_a_batch_key_git_grep_cannot_see_still_refuses_an_uncommitted_data_file(
    ws: Workspace,
) -> None:
    # "for\\x5feach" is for_each to YAML, and no "for_each" to a text search.
    ws.write("posts/products.yaml", BATCH.replace("for_each:", '"for\\x5feach":'))
    ws.write("data/products.csv", HEADER + A1)
    ws.commit("an escaped key")
    assert actions(ws.plan_json()) == [("products/A1", "x", "schedule")]
    ws.write("data/products.csv", HEADER + A1.replace("Rocket", "Unreviewed"))
    run = ws.apply()
    assert run.code != 0
    assert "data/products.csv has uncommitted changes" in run.output
    assert ws.sent() == []


def test_a_deleted_batch_file_removes_every_row(ws: Workspace) -> None:
    write_batch(ws, A1, B2)
    ws.post("news", post_yaml("Hello", ("x",)))  # not every post goes: prune may act
    assert ws.apply().code == 0
    ws.set_config(CONFIG + "prune: true\n")
    git(ws.root, "rm", "--quiet", "posts/products.yaml")
    ws.commit("the catalogue is over")
    assert sorted(actions(ws.plan_json())) == [
        ("products/A1", "x", "discard"),
        ("products/B2", "x", "discard"),
    ]
    assert ws.apply().code == 0
    assert sorted(ws.state()["posts"]) == ["news"]


def test_adopt_does_not_record_past_a_row_it_left_undecided(ws: Workspace) -> None:
    write_batch(ws, A1)
    assert ws.apply().code == 0
    write_batch(ws, A1, B2)  # a new row, by the data file alone
    ws.post("news", post_yaml("Sent by hand", ("x",)))
    run = ws.cli("adopt", "news")
    assert run.code == 0, run.output
    assert "products/B2 of posts/products.yaml has no record" in run.output
    # So the next plan still sees the data file's change, and sends the new row.
    assert actions(ws.plan_json()) == [("products/B2", "x", "schedule")]


def test_a_json_row_fills_the_caption_media_schedule_and_options(ws: Workspace) -> None:
    ws.write(
        "data/launches.json",
        '[{"id": "r1", "title": "Rocket", "image": "https://cdn.acme.com/r1.png",'
        ' "at": "2099-01-05T09:00", "notes": "https://acme.com/r1"}]\n',
    )
    ws.write(
        "posts/launches.yaml",
        "for_each: data/launches.json\n"
        'id: "{{ row.id }}"\n'
        "accounts: [li]\n"
        'content: "{{ row.title }} by {{ product }}"\n'
        'media_url: "{{ row.image }}"\n'
        'schedule: "{{ row.at }}"\n'
        'platform_options: {li: {firstComment: "Notes: {{ row.notes }}"}}\n',
    )
    ws.commit("launches from JSON")
    [action] = ws.plan_json()["actions"]
    assert (action["post_id"], action["content"]) == ("launches/r1", "Rocket by Acme Rockets")
    assert action["media_urls"] == ["https://cdn.acme.com/r1.png"]
    assert action["scheduled_for"] == "2099-01-05T09:00:00+00:00"
    assert action["platform_options"] == {"firstComment": "Notes: https://acme.com/r1"}
    assert ws.apply().code == 0
    [sent] = ws.sent()
    assert sent["request"]["content"] == "Rocket by Acme Rockets"


def test_a_value_in_a_row_is_data_never_a_template(ws: Workspace) -> None:
    ws.write("data/products.csv", HEADER + "A1,{{ 7 * 7 }} {% include 'signature.j2' %},1,\n")
    ws.write("posts/products.yaml", BATCH.replace('schedule: "{{ row.when }}"\n', ""))
    ws.commit("a row that looks like a template")
    [action] = ws.plan_json()["actions"]
    assert action["content"] == "{{ 7 * 7 }} {% include 'signature.j2' %} for $1"


def test_two_rows_sending_one_account_the_same_caption_are_an_error_at_the_later_row(
    ws: Workspace,
) -> None:
    """The platform refuses duplicate content: a catalogue whose caption reads no column
    would fail at its second row, after the first went out."""
    ws.write("data/products.csv", HEADER + A1 + B2)
    ws.write("posts/products.yaml", BATCH.replace("{{ row.name }} for ${{ row.price }}", "New!"))
    ws.commit("a caption that reads no column")
    run = ws.cli("validate")
    assert run.code == 1
    assert run.out.splitlines()[0].startswith(
        "data/products.csv:3:1: error: row 'B2': sends 'x' the same caption and media as row "
        "'A1': the platform refuses duplicate content"
    ), run.out
    assert ws.apply().code == 1
    assert ws.sent() == []
    # Each row's own caption: nothing to say.
    ws.write("posts/products.yaml", BATCH)
    ws.commit("each row its own caption")
    assert ws.cli("validate").code == 0
