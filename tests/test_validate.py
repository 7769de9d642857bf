"""validate over whole repositories: many problems at once, files as given, state, schemas, examples."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from repo_fixtures import content_repo

from orshot_gitops.content.schemas import load_schema, schema_path
from orshot_gitops.content.validate import validate_repo
from orshot_gitops.content.yamlload import decode, load_document
from orshot_gitops.errors import UserError

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def lines(root: Path, paths: tuple[str, ...] = ()) -> list[str]:
    return [d.format() for d in validate_repo(root, NOW, paths).diagnostics]


def test_examples_are_clean_and_cover_every_kind_of_post() -> None:
    report = validate_repo(EXAMPLES, NOW)
    assert report.diagnostics == ()
    specs = [p.spec for p in report.posts]
    assert len(specs) >= 8
    assert any(s.render and s.render.modifications for s in specs)
    assert any(s.carousel for s in specs)
    assert any(len(s.media_urls) == 1 for s in specs)
    assert any(not s.media_urls and not s.render for s in specs)
    assert any(s.draft for s in specs)
    assert any(s.schedule and s.timezone for s in specs)
    assert any("firstComment" in o for s in specs for o in s.platform_options.values())
    assert any("title" in o for s in specs for o in s.platform_options.values())
    assert any("{% if platform ==" in s.content for s in specs)
    assert any(s.occurrence is not None for s in specs)  # a recurring post, expanded


def test_every_problem_in_every_file_is_reported_sorted(tmp_path: Path) -> None:
    content_repo(
        tmp_path,
        {
            "posts/b.yaml": "accounts: [nobody]\ncontent: '{{ nope }}'\n",
            "posts/a/deep.yaml": "accounts: [x]\ncontent: hi\nextra: 1\n",
            "posts/ok.yaml": "accounts: [x]\ncontent: fine\n",
        },
    )
    assert lines(tmp_path) == [
        "posts/a/deep.yaml:3:1: error: unknown key 'extra' (allowed keys: accounts, content, draft, "
        "for_each, id, media_url, media_urls, overrides, platform_options, render, repeat, revision, "
        "schedule, sponsored, timezone, variants, vars)",
        "posts/b.yaml:1:12: error: unknown account 'nobody' "
        "(known accounts: bsky, fb, gb, ig, li, pin, snap, tg, tok, x, xpremium)",
    ]


def test_undefined_variable_reported_once_for_all_accounts(tmp_path: Path) -> None:
    content_repo(tmp_path, {"posts/p.yaml": "accounts: [x, li, fb]\ncontent: '{{ nope }}'\n"})
    assert len(lines(tmp_path)) == 1


def test_non_utf8_file_points_at_the_bad_byte(tmp_path: Path) -> None:
    content_repo(tmp_path, {})
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts/p.yaml").write_bytes(b"accounts: [x]\ncontent: caf\xe9\n")
    assert lines(tmp_path) == [
        "posts/p.yaml:2:13: error: file is not valid UTF-8 (byte 0xe9) (save the file as UTF-8)"
    ]


def test_symlink_out_of_the_repo_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("accounts: [x]\ncontent: secret\n")
    repo = content_repo(tmp_path / "repo", {"posts/ok.yaml": "accounts: [x]\ncontent: hi\n"})
    (repo / "posts/link.yaml").symlink_to(outside)
    assert lines(repo) == [
        "posts/link.yaml: error: symbolic link points outside the repository "
        "(copy the file into the repository instead of linking to it)"
    ]


def test_same_post_id_twice(tmp_path: Path) -> None:
    content_repo(
        tmp_path,
        {
            "posts/a.yaml": "accounts: [x]\ncontent: hi\n",
            "posts/a.yml": "accounts: [x]\ncontent: ho\n",
        },
    )
    assert lines(tmp_path) == [
        "posts/a.yml:1:1: error: post id 'a' is also used by posts/a.yaml "
        "(rename one of the files: a post's id is its path without the extension)"
    ]


def test_past_schedule_is_fine_once_the_state_records_the_post(tmp_path: Path) -> None:
    content_repo(
        tmp_path, {"posts/old.yaml": "accounts: [x]\ncontent: hi\nschedule: 2026-01-01T10:00\n"}
    )
    assert len(lines(tmp_path)) == 1
    (tmp_path / ".orshot").mkdir()
    (tmp_path / ".orshot/state.json").write_text(json.dumps({"version": 1, "posts": {"old": {}}}))
    assert lines(tmp_path) == []


def test_past_schedule_is_fine_once_a_v2_state_records_the_post(tmp_path: Path) -> None:
    """The v2 layout: the record is a file of its own, found by its name, unread."""
    content_repo(
        tmp_path,
        {"posts/2026/old.yaml": "accounts: [x]\ncontent: hi\nschedule: 2026-01-01T10:00\n"},
    )
    assert len(lines(tmp_path)) == 1
    (tmp_path / ".orshot/state/posts/2026").mkdir(parents=True)
    (tmp_path / ".orshot/state.json").write_text(json.dumps({"version": 2}))
    (tmp_path / ".orshot/state/posts/2026/old.json").write_text("{}")
    assert lines(tmp_path) == []


def test_naive_schedule_is_read_in_the_timezone(tmp_path: Path) -> None:
    content_repo(
        tmp_path, {"posts/p.yaml": "accounts: [x]\ncontent: hi\nschedule: 2027-07-01T09:00\n"}
    )
    (post,) = validate_repo(tmp_path, NOW).posts
    assert post.scheduled_for is not None
    assert post.scheduled_for.isoformat() == "2027-07-01T07:00:00+00:00"  # Europe/Berlin, summer


def test_premium_x_account_gets_25000(tmp_path: Path) -> None:
    text = "word " * 100
    content_repo(tmp_path, {"posts/p.yaml": f"accounts: [xpremium]\ncontent: '{text}'\n"})
    assert lines(tmp_path) == []
    content_repo(tmp_path, {"posts/p.yaml": f"accounts: [x]\ncontent: '{text}'\n"})
    assert len(lines(tmp_path)) == 1


def test_per_platform_caption_checked_on_each_accounts_own_rendering(tmp_path: Path) -> None:
    long_text = "a" * 400
    post = (
        "accounts: [x, li]\ncontent: |\n"
        f"  {{% if platform == 'linkedin' %}}{long_text}{{% else %}}short{{% endif %}}\n"
    )
    content_repo(tmp_path, {"posts/p.yaml": post})
    assert lines(tmp_path) == []


def test_only_named_files_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content_repo(
        tmp_path,
        {"posts/good.yaml": "accounts: [x]\ncontent: hi\n", "posts/bad.yaml": "accounts: [x]\n"},
    )
    monkeypatch.chdir(tmp_path)
    assert lines(tmp_path, ("posts/good.yaml",)) == []
    assert len(lines(tmp_path, ("posts/bad.yaml",))) == 1


def test_broken_config_is_reported_at_its_line(tmp_path: Path) -> None:
    content_repo(tmp_path, {}, config="accounts:\n  x: {id: 1, platform: myspace}\n")
    assert lines(tmp_path) == [
        "orshot.yaml:2:24: error: accounts.x.platform: 'myspace' is not one of twitter, linkedin, "
        "instagram, facebook, pinterest, tiktok, youtube, threads, bluesky, reddit, telegram, googlebusiness, snapchat"
    ]


def test_missing_config_says_what_to_do(tmp_path: Path) -> None:
    (problem,) = lines(tmp_path)
    assert problem.startswith("orshot.yaml: error: no orshot.yaml in ")
    assert problem.endswith(
        "(run 'orshot-gitops init' to create one, or pass --repo DIR of a content repository)"
    )


@pytest.mark.parametrize("name", ["post.schema.json", "config.schema.json"])
def test_schemas_are_valid_draft_2020_12_and_describe_every_property(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    undocumented = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            for key, sub in node.get("properties", {}).items():
                if "description" not in sub or "examples" not in sub:
                    undocumented.append(f"{where}.{key}")
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(schema, name)
    assert undocumented == []
    assert schema_path(name).parent.name == "schemas"


def test_examples_match_their_schema_examples() -> None:
    post_schema = load_schema("post.schema.json")
    for example in post_schema["examples"]:
        Draft202012Validator(post_schema).validate(example)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_give_a_document_or_a_user_error(raw: bytes) -> None:
    try:
        load_document(decode(raw, "posts/fuzz.yaml"), "posts/fuzz.yaml")
    except UserError as exc:
        assert exc.path == "posts/fuzz.yaml"
        assert exc.line >= 1


def test_the_schedule_allowance_is_counted_in_orshots_documented_windows() -> None:
    # The content layer may not import the client: the figure is copied, and kept equal here.
    from orshot_gitops.content.schedule_checks import RATE_LIMIT_WINDOW
    from orshot_gitops.orshot.pacing import DOCUMENTED_WINDOW

    assert RATE_LIMIT_WINDOW == DOCUMENTED_WINDOW
