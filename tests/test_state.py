"""The state file: round trips, atomic and guarded writes, refusals, and the three-way merge."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from orshot_gitops.errors import UserError
from orshot_gitops.state.merge import merge_states
from orshot_gitops.state.model import (
    STATE_PATH,
    AccountState,
    AccountStatus,
    PostState,
    Render,
    State,
    Step,
    new_state,
)
from orshot_gitops.state.store import dump_state, load_state, parse_state, write_state

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schemas" / "state.schema.json"
LINEAGE = "0b7c5e4e-2d1a-4e8e-9a3f-6c1d2e3f4a5b"
FP_A = "a" * 64
FP_B = "b" * 64
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def account(**changes: Any) -> AccountState:
    base = AccountState(
        account_id=15,
        fingerprint=FP_A,
        revision=1,
        status=AccountStatus.PUBLISHED,
        post_id=512,
        url="https://x.com/acmehq/status/1",
        attempts=1,
        first_attempt_at="2026-12-01T09:00:00+00:00",
        last_attempt_at="2026-12-01T09:00:00+00:00",
    )
    return replace(base, **changes)


def launch_state(**accounts: AccountState) -> State:
    post = PostState(path="posts/2026/12/launch.yaml", revision=1, accounts=accounts)
    return new_state(LINEAGE).with_post("2026/12/launch", post)


def rich_state() -> State:
    state = launch_state(
        **{
            "acme-x": account(group="2026/12/launch#1"),
            "acme-linkedin": account(
                account_id=22,
                status=AccountStatus.FAILED,
                step=Step.PUBLISH,
                url=None,
                error="Account token expired — reconnect required",
                action="reconnect",
                group="2026/12/launch#1",
            ),
        }
    )
    later = PostState(
        path="posts/2027/01/teaser.yml",
        revision=2,
        render=Render(FP_B, ("https://cdn.example/1.png", "https://cdn.example/2.png")),
        accounts={
            "acme-x": account(
                status=AccountStatus.SCHEDULED,
                post_id=600,
                url=None,
                scheduled_for="2027-01-05T14:00:00Z",
            )
        },
    )
    return state.with_post("2027/01/teaser", later).with_commit("3f" * 20)


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


def state_text(repo: Path) -> str:
    return (repo / STATE_PATH).read_text(encoding="utf-8")


# --- loading ------------------------------------------------------------------------------


def test_a_repository_without_state_starts_blank_with_a_fresh_lineage(tmp_path: Path) -> None:
    first, second = load_state(tmp_path), load_state(tmp_path)
    assert (first.serial, first.commit, dict(first.posts)) == (0, None, {})
    assert UUID4.match(first.lineage)
    assert first.lineage != second.lineage
    assert not (tmp_path / ".orshot").exists()


def test_invalid_json_is_reported_at_its_line_and_column() -> None:
    with pytest.raises(UserError) as caught:
        parse_state('{\n  "version": 1,\n  "serial": ,\n}\n')
    error = caught.value
    assert (error.path, error.line, error.column, error.code) == (STATE_PATH, 3, 13, "state-json")
    assert "restore it from git" in error.hint
    assert str(error).startswith(".orshot/state.json:3:13: error: the state file is not valid JSON")


def test_a_schema_violation_points_at_the_offending_value() -> None:
    text = dump_state(rich_state()).replace('"attempts": 1,', '"attempts": "once",', 1)
    with pytest.raises(UserError) as caught:
        parse_state(text)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if '"once"' in t)
    assert (caught.value.line, caught.value.column) == (line, 23)
    assert caught.value.code == "state-schema"
    assert "attempts must be a whole number, not a string" in caught.value.message
    assert "posts/2026/12/launch/accounts/acme-linkedin/attempts" in caught.value.message


def test_a_missing_key_points_at_the_object_that_lacks_it() -> None:
    text = dump_state(rich_state()).replace('  "commit": "' + "3f" * 20 + '",\n', "")
    with pytest.raises(UserError) as caught:
        parse_state(text)
    assert (caught.value.line, caught.value.column) == (1, 1)
    assert "missing required key 'commit'" in caught.value.message
    assert "is a required property" not in caught.value.message


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"attempts": 1,', '"attempts": [1],'),
        ('"status": "', '"status": "nearly-'),
        ('"serial": 0,', '"serial": 0, "extra": true,'),
    ],
    ids=["type", "enum", "extra-key"],
)
def test_a_state_schema_error_speaks_in_our_words_not_jsonschemas(old: str, new: str) -> None:
    from test_schema_wording import RAW_SCHEMA_WORDING

    text = dump_state(rich_state())
    assert old in text
    with pytest.raises(UserError) as caught:
        parse_state(text.replace(old, new, 1))
    said = caught.value.message.split(" (at ")[0].split("its schema: ")[1]
    assert caught.value.code == "state-schema"
    assert not [raw for raw in RAW_SCHEMA_WORDING if raw in said], said


def test_merge_conflict_markers_are_named_with_their_line() -> None:
    text = '{\n<<<<<<< HEAD\n  "serial": 3,\n=======\n  "serial": 4,\n>>>>>>> theirs\n}\n'
    with pytest.raises(UserError) as caught:
        parse_state(text)
    assert (caught.value.line, caught.value.code) == (2, "state-conflict")
    assert "never as text" in caught.value.hint


def test_a_key_given_twice_is_refused() -> None:
    text = dump_state(new_state(LINEAGE)).replace('"serial": 0', '"serial": 0, "serial": 9')
    with pytest.raises(UserError, match="the key 'serial' twice"):
        parse_state(text)


def test_a_newer_format_is_refused_and_never_overwritten(tmp_path: Path) -> None:
    newer = {"version": 3, "serial": 7, "lineage": LINEAGE, "future": True}
    target = tmp_path / STATE_PATH
    target.parent.mkdir()
    target.write_text(json.dumps(newer), encoding="utf-8")
    before = target.read_bytes()

    with pytest.raises(UserError) as caught:
        load_state(tmp_path)
    assert "written by a newer orshot-gitops; upgrade" in caught.value.message
    assert caught.value.code == "state-version"
    with pytest.raises(UserError, match="newer orshot-gitops"):
        write_state(tmp_path, replace(new_state(LINEAGE), serial=99))
    assert target.read_bytes() == before


# --- dumping and writing ------------------------------------------------------------------


def test_dump_is_sorted_indented_and_ends_with_a_newline() -> None:
    state = new_state(LINEAGE).with_post(
        "hello", PostState("posts/hello.yaml", 1, accounts={"acme-x": account()})
    )
    assert dump_state(state) == (
        "{\n"
        '  "commit": null,\n'
        f'  "lineage": "{LINEAGE}",\n'
        '  "posts": {\n'
        '    "hello": {\n'
        '      "accounts": {\n'
        '        "acme-x": {\n'
        '          "account_id": 15,\n'
        '          "action": null,\n'
        '          "attempts": 1,\n'
        '          "error": null,\n'
        f'          "fingerprint": "{FP_A}",\n'
        '          "first_attempt_at": "2026-12-01T09:00:00+00:00",\n'
        '          "group": null,\n'
        '          "last_attempt_at": "2026-12-01T09:00:00+00:00",\n'
        '          "post_id": 512,\n'
        '          "revision": 1,\n'
        '          "scheduled_for": null,\n'
        '          "status": "published",\n'
        '          "step": null,\n'
        '          "url": "https://x.com/acmehq/status/1"\n'
        "        }\n"
        "      },\n"
        '      "path": "posts/hello.yaml",\n'
        '      "render": null,\n'
        '      "revision": 1\n'
        "    }\n"
        "  },\n"
        '  "serial": 0,\n'
        '  "version": 1\n'
        "}\n"
    )


def test_dump_does_not_depend_on_the_order_entries_were_added() -> None:
    one = rich_state()
    other = new_state(LINEAGE).with_commit("3f" * 20)
    for post_id in reversed(sorted(one.posts)):
        post = one.posts[post_id]
        reordered = dict(reversed(list(post.accounts.items())))
        other = other.with_post(post_id, replace(post, accounts=reordered))
    assert list(other.posts) != list(one.posts)
    assert dump_state(other) == dump_state(one)


def test_write_then_load_round_trips_byte_for_byte(tmp_path: Path) -> None:
    written = write_state(tmp_path, rich_state())
    text = state_text(tmp_path)
    posts = {k: v for k, v in _post_files(tmp_path).items() if k != STATE_PATH}
    loaded = load_state(tmp_path)
    assert loaded == written
    assert dump_state(loaded) == dump_state(written)
    assert write_state(tmp_path, loaded) == replace(loaded, serial=2)
    assert state_text(tmp_path) == text.replace('"serial": 1,', '"serial": 2,')
    # Nothing changed: no post file rewritten.
    assert {k: v for k, v in _post_files(tmp_path).items() if k != STATE_PATH} == posts


def test_every_write_bumps_the_serial_and_keeps_the_lineage(tmp_path: Path) -> None:
    first = write_state(tmp_path, new_state(LINEAGE))
    second = write_state(tmp_path, first.with_commit("ab" * 20))
    assert (first.serial, second.serial) == (1, 2)
    on_disk = json.loads(state_text(tmp_path))
    assert (on_disk["serial"], on_disk["lineage"], on_disk["commit"]) == (2, LINEAGE, "ab" * 20)


def _post_files(root: Path) -> dict[str, bytes]:
    """Every file of the state (index and post files), by path: temporary ones included."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted((root / ".orshot").rglob("*"))
        if p.is_file()
    }


def test_a_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    write_state(tmp_path, rich_state())
    assert sorted(_post_files(tmp_path)) == [
        ".orshot/state.json",
        ".orshot/state/posts/2026/12/launch.json",
        ".orshot/state/posts/2027/01/teaser.json",
        ".orshot/state/scheduled.json",
    ]


def test_a_crash_before_the_rename_leaves_the_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = write_state(tmp_path, rich_state())
    before = _post_files(tmp_path)

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(UserError) as caught:
        write_state(tmp_path, old.with_commit("cd" * 20))
    assert caught.value.message == "cannot write the state file: No space left on device"
    assert _post_files(tmp_path) == before


def test_a_crash_between_the_post_files_and_the_index_loses_no_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write renames the index (marked stale), the post files, then the index: a crash
    before the last leaves the new post file and an index that says "count me again", so the
    post that now needs work is found, though the old index did not list it."""
    old = write_state(tmp_path, launch_state(**{"acme-x": account()}))
    failed = account(status=AccountStatus.FAILED, step=Step.PUBLISH, url=None, error="boom")
    renames: list[object] = []
    real_replace = os.replace

    def crash_third(src: str, dst: str) -> None:
        renames.append(dst)
        if len(renames) == 3:
            raise OSError(5, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_third)
    with pytest.raises(UserError):
        write_state(tmp_path, old.with_account("2026/12/launch", "acme-x", failed))
    monkeypatch.setattr(os, "replace", real_replace)
    assert json.loads(state_text(tmp_path))["tally"] == "stale"
    reloaded = load_state(tmp_path)
    assert reloaded.post_ids_needing_work() == {"2026/12/launch"}
    assert reloaded.account("2026/12/launch", "acme-x") == failed


def test_a_concurrent_writer_is_detected_and_its_file_kept(tmp_path: Path) -> None:
    write_state(tmp_path, new_state(LINEAGE))
    run_a, run_b = load_state(tmp_path), load_state(tmp_path)
    write_state(tmp_path, run_a.with_commit("aa" * 20))
    kept = state_text(tmp_path)

    with pytest.raises(UserError) as caught:
        write_state(tmp_path, run_b.with_commit("bb" * 20))
    assert caught.value.code == "state-serial"
    assert "serial 2, newer than the 1 this run read" in caught.value.message
    assert state_text(tmp_path) == kept


def test_a_state_of_another_lineage_is_not_written_over(tmp_path: Path) -> None:
    write_state(tmp_path, new_state(LINEAGE))
    kept = state_text(tmp_path)
    stranger = new_state("11111111-2222-4333-8444-555555555555")
    with pytest.raises(UserError) as caught:
        write_state(tmp_path, replace(stranger, serial=50))
    assert caught.value.code == "state-lineage"
    assert state_text(tmp_path) == kept


def test_an_invalid_state_is_never_written(tmp_path: Path) -> None:
    bad = launch_state(**{"acme-x": account(fingerprint="not-a-digest")})
    with pytest.raises(ValueError, match="bug: refusing to write an invalid state"):
        write_state(tmp_path, bad)
    assert not (tmp_path / STATE_PATH).exists()
    # With a file on disk only changed posts are checked: the change must still be caught.
    good = write_state(tmp_path, rich_state())
    kept = state_text(tmp_path)
    late = account(status=AccountStatus.SCHEDULED, scheduled_for="tomorrow")
    with pytest.raises(ValueError, match="'tomorrow' is not a valid value"):
        write_state(tmp_path, good.with_account("2027/01/teaser", "acme-x", late))
    assert state_text(tmp_path) == kept


# --- the schema ---------------------------------------------------------------------------


def test_the_schema_is_valid_draft_2020_12_and_describes_every_property() -> None:
    document = schema()
    Draft202012Validator.check_schema(document)
    undescribed: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if "description" not in sub:
                    undescribed.append(f"{where}/{name}")
            for key, sub in node.items():
                walk(sub, f"{where}/{key}")
        elif isinstance(node, list):
            for index, sub in enumerate(node):
                walk(sub, f"{where}/{index}")

    walk(document, "")
    assert undescribed == []


@pytest.mark.parametrize("state", [new_state(LINEAGE), rich_state()], ids=["blank", "rich"])
def test_dumped_states_match_the_schema(state: State) -> None:
    validator = Draft202012Validator(schema())
    assert [e.message for e in validator.iter_errors(json.loads(dump_state(state)))] == []


@pytest.mark.parametrize(
    "status", [AccountStatus.SCHEDULED, AccountStatus.DRAFTED, AccountStatus.PROCESSING]
)
def test_the_schema_requires_a_post_id_for_a_post_orshot_holds(status: AccountStatus) -> None:
    data = json.loads(dump_state(launch_state(**{"acme-x": account(status=status, post_id=None)})))
    errors = list(Draft202012Validator(schema()).iter_errors(data))
    assert [e.message for e in errors] == ["None is not of type 'integer'"]


def test_an_adopted_post_is_published_without_an_orshot_id() -> None:
    # `orshot-gitops adopt` records posts that went out by other means: no Orshot id exists.
    data = json.loads(dump_state(launch_state(**{"acme-x": account(post_id=None, url=None)})))
    assert list(Draft202012Validator(schema()).iter_errors(data)) == []


# --- values -------------------------------------------------------------------------------


def test_updaters_return_new_values_and_leave_the_old_ones_alone() -> None:
    before = launch_state(**{"acme-x": account()})
    after = before.with_account("2026/12/launch", "acme-bsky", account(account_id=30))
    assert sorted(before.posts["2026/12/launch"].accounts) == ["acme-x"]
    assert sorted(after.posts["2026/12/launch"].accounts) == ["acme-bsky", "acme-x"]
    assert after.without_account("2026/12/launch", "acme-bsky") == before
    assert after.without_post("2026/12/launch") == new_state(LINEAGE)
    with pytest.raises(TypeError):
        after.posts["x"] = after.posts["2026/12/launch"]  # type: ignore[index]
    with pytest.raises(KeyError, match="with_post first"):
        before.with_account("nope", "acme-x", account())


def test_needing_work_lists_pending_failed_processing_and_unknown() -> None:
    state = launch_state(
        **{
            "a": account(),
            "b": account(status=AccountStatus.FAILED, step=Step.DRAFT, post_id=None),
            "c": account(status=AccountStatus.PENDING, step=Step.PUBLISH),
            "d": account(status=AccountStatus.PROCESSING),
            "e": account(status=AccountStatus.DRAFTED),
        }
    )
    assert [key for _, key, _ in state.needing_work()] == ["b", "c", "d"]
    assert state.account("2026/12/launch", "c") == account(
        status=AccountStatus.PENDING, step=Step.PUBLISH
    )
    assert state.account("2026/12/launch", "zz") is None


# --- merge --------------------------------------------------------------------------------

POST = "2026/12/launch"
PENDING = account(status=AccountStatus.PENDING, step=Step.DRAFT, post_id=None, url=None)


def merged_account(base: State, ours: State, theirs: State, key: str) -> AccountState | None:
    return merge_states(base, ours, theirs).account(POST, key)


def test_an_entry_changed_on_one_side_only_takes_that_side() -> None:
    base = launch_state(**{"x": PENDING, "li": PENDING})
    ours = base.with_account(POST, "x", account())
    theirs = base.with_account(POST, "li", account(account_id=22, post_id=513))
    merged = merge_states(base, ours, theirs)
    assert merged.account(POST, "x") == account()
    assert merged.account(POST, "li") == account(account_id=22, post_id=513)


def test_a_final_record_with_a_post_id_beats_a_pending_or_failed_one() -> None:
    base = launch_state(**{"x": PENDING})
    drafted = account(status=AccountStatus.DRAFTED, url=None, last_attempt_at=None)
    later_failure = replace(
        PENDING, status=AccountStatus.FAILED, last_attempt_at="2027-01-01T00:00:00Z"
    )
    for loser in (later_failure, replace(PENDING, last_attempt_at="2027-01-01T00:00:00Z")):
        assert merged_account(
            base, base.with_account(POST, "x", drafted), base.with_account(POST, "x", loser), "x"
        ) == (drafted)
        assert merged_account(
            base, base.with_account(POST, "x", loser), base.with_account(POST, "x", drafted), "x"
        ) == (drafted)


def test_with_both_final_the_later_attempt_wins() -> None:
    base = launch_state(**{"x": PENDING})
    early = account(post_id=700, last_attempt_at="2026-12-01T09:00:00+00:00")
    late = account(post_id=701, last_attempt_at="2026-12-01T08:30:00-01:00")  # 09:30 UTC
    ours, theirs = base.with_account(POST, "x", early), base.with_account(POST, "x", late)
    assert merged_account(base, ours, theirs, "x") == late
    assert merged_account(base, theirs, ours, "x") == late


def test_an_unsettled_intent_beats_a_failure() -> None:
    base = launch_state(**{"x": account(status=AccountStatus.DRAFTED, url=None)})
    pending = account(status=AccountStatus.PENDING, step=Step.PUBLISH, url=None)
    failed = account(
        status=AccountStatus.FAILED,
        step=Step.PUBLISH,
        url=None,
        last_attempt_at="2027-01-01T00:00Z",
    )
    ours, theirs = base.with_account(POST, "x", pending), base.with_account(POST, "x", failed)
    assert merged_account(base, ours, theirs, "x") == pending
    assert merged_account(base, theirs, ours, "x") == pending


def test_a_record_deleted_on_one_side_and_changed_on_the_other_is_kept() -> None:
    base = launch_state(**{"x": PENDING, "li": PENDING})
    ours = base.without_account(POST, "x").without_account(POST, "li")
    theirs = base.with_account(POST, "x", account())
    merged = merge_states(base, ours, theirs)
    assert dict(merged.posts[POST].accounts) == {"x": account()}
    gone = merge_states(base, base.without_post(POST), base)
    assert dict(gone.posts) == {}


def test_posts_added_on_both_sides_are_all_kept() -> None:
    base = new_state(LINEAGE)
    ours = base.with_post("a", PostState("posts/a.yaml", 1, accounts={"x": account()}))
    theirs = base.with_post("b", PostState("posts/b.yaml", 1, accounts={"x": account()}))
    assert sorted(merge_states(base, ours, theirs).posts) == ["a", "b"]


def test_post_fields_changed_on_both_sides() -> None:
    base = launch_state(**{"x": PENDING})
    post = base.posts[POST]
    ours = base.with_post(
        POST, replace(post, path="posts/ours.yaml", revision=3, render=Render(FP_A, ("u1",)))
    ).with_account(POST, "x", account())
    theirs = base.with_post(POST, replace(post, path="posts/theirs.yaml", revision=2)).with_account(
        POST, "x", replace(PENDING, attempts=2)
    )
    merged = merge_states(base, ours, theirs).posts[POST]
    assert (merged.path, merged.revision, merged.render) == (
        "posts/theirs.yaml",
        3,
        Render(FP_A, ("u1",)),
    )
    assert dict(merged.accounts) == {"x": account()}


def test_merge_serial_commit_and_lineage() -> None:
    base = replace(launch_state(**{"x": PENDING}), serial=4, commit="11" * 20)
    ours = replace(base, serial=9, commit="22" * 20)
    theirs = replace(base, serial=6)
    merged = merge_states(base, ours, theirs)
    assert (merged.serial, merged.commit, merged.lineage) == (10, "22" * 20, LINEAGE)
    both = merge_states(base, ours, replace(theirs, commit="33" * 20))
    assert both.commit is None  # two different commits reconciled: compile everything next
    stranger = replace(theirs, lineage="11111111-2222-4333-8444-555555555555")
    with pytest.raises(UserError) as caught:
        merge_states(base, ours, stranger)
    assert caught.value.code == "state-lineage"


def test_a_merged_state_is_valid_and_writable(tmp_path: Path) -> None:
    base = write_state(tmp_path, rich_state())
    ours = base.with_account(POST, "acme-linkedin", account(account_id=22, post_id=514))
    theirs = replace(base.without_post("2027/01/teaser"), serial=3)
    merged = merge_states(base, ours, theirs)
    assert merged.serial == 4
    assert sorted(merged.posts) == [POST]
    assert write_state(tmp_path, merged).serial == 5
    assert load_state(tmp_path).account(POST, "acme-linkedin") == account(
        account_id=22, post_id=514
    )


# --- claims and heartbeats (DESIGN.md, "Claims, not windows") -------------------------------

RUN_A, RUN_B = "a1b2c3d4e5f60718", "0f1e2d3c4b5a6978"


def test_claims_and_heartbeats_round_trip_and_old_files_stay_byte_identical(
    tmp_path: Path,
) -> None:
    old = launch_state(x=account())
    old_text = dump_state(old)
    assert '"run"' not in old_text and '"heartbeats"' not in old_text
    assert dump_state(parse_state(old_text)) == old_text

    claimed = launch_state(
        x=account(status=AccountStatus.PENDING, step=Step.DRAFT, post_id=None, run=RUN_A)
    ).with_heartbeat(RUN_A, "2026-12-01T09:05:00+00:00")
    text = dump_state(claimed)
    Draft202012Validator(json.loads(SCHEMA_FILE.read_text("utf-8"))).validate(json.loads(text))
    again = parse_state(text)
    assert again == claimed
    assert dict(again.heartbeats) == {RUN_A: "2026-12-01T09:05:00+00:00"}
    record = again.account("2026/12/launch", "x")
    assert record is not None and record.run == RUN_A
    assert write_state(tmp_path, claimed).heartbeats == claimed.heartbeats
    assert dict(claimed.with_heartbeat(RUN_A, None).heartbeats) == {}


def test_a_run_id_that_is_not_one_is_refused_with_its_line() -> None:
    text = dump_state(launch_state(x=account(run=RUN_A))).replace(RUN_A, "not-a-run")
    with pytest.raises(UserError) as caught:
        parse_state(text)
    assert caught.value.line is not None and caught.value.code == "state-schema"


def test_merge_keeps_the_pushed_claim_over_a_later_intent_of_the_run_that_lost_it() -> None:
    mine = account(status=AccountStatus.PENDING, step=Step.DRAFT, post_id=None, run=RUN_A)
    base = launch_state(x=mine).with_heartbeat(RUN_A, "2026-12-01T09:00:00+00:00")
    taken = replace(mine, run=RUN_B, last_attempt_at="2026-12-01T09:20:00+00:00")
    theirs = launch_state(x=taken).with_heartbeat(RUN_B, "2026-12-01T09:20:00+00:00")
    theirs = theirs.with_heartbeat(RUN_A, "2026-12-01T09:00:00+00:00")
    # The frozen run wakes and writes a later intent on the record it no longer holds.
    late = replace(mine, step=Step.PUBLISH, post_id=77, last_attempt_at="2026-12-01T09:30:00+00:00")
    ours = launch_state(x=late).with_heartbeat(RUN_A, None)

    merged = merge_states(base, ours, theirs)

    assert merged.account("2026/12/launch", "x") == taken
    # Our run ended (its heartbeat removed); theirs is still under way.
    assert dict(merged.heartbeats) == {RUN_B: "2026-12-01T09:20:00+00:00"}
    # A definite result still beats a claim: it says what Orshot holds.
    done = replace(mine, status=AccountStatus.PUBLISHED, step=None, post_id=77)
    assert merge_states(base, launch_state(x=done), theirs).account("2026/12/launch", "x") == done


def test_merge_keeps_the_later_heartbeat_of_a_run_still_under_way() -> None:
    base = new_state(LINEAGE).with_heartbeat(RUN_A, "2026-12-01T09:00:00+00:00")
    ours = base.with_heartbeat(RUN_A, "2026-12-01T09:10:00+00:00")
    theirs = base.with_heartbeat(RUN_A, "2026-12-01T09:05:00+00:00")
    assert dict(merge_states(base, ours, theirs).heartbeats) == {RUN_A: "2026-12-01T09:10:00+00:00"}


def test_a_runs_end_round_trips_is_forgotten_with_its_records_and_survives_a_merge(
    tmp_path: Path,
) -> None:
    old_text = dump_state(launch_state(x=account(run=RUN_A)))
    assert '"ended"' not in old_text and dump_state(parse_state(old_text)) == old_text

    ended = launch_state(x=account(run=RUN_A)).with_ended(RUN_A, "2026-12-01T09:30:00+00:00")
    text = dump_state(ended)
    Draft202012Validator(json.loads(SCHEMA_FILE.read_text("utf-8"))).validate(json.loads(text))
    assert dict(parse_state(text).ended) == {RUN_A: "2026-12-01T09:30:00+00:00"}
    assert write_state(tmp_path, ended).ended == ended.ended
    # A run no record names has nothing to settle at once: its end is not kept.
    assert (
        dict(launch_state(x=account(run=RUN_B)).with_ended(RUN_A, "2026-12-01T09:30:00Z").ended)
        == {}
    )
    later = replace(ended, posts=launch_state(x=account(run=RUN_B)).posts)
    assert dict(later.with_ended(RUN_B, "2026-12-01T09:40:00+00:00").ended) == {
        RUN_B: "2026-12-01T09:40:00+00:00"
    }

    # One side wrote the end, the other did not touch it: kept. One side forgot it: gone.
    base = launch_state(x=account(run=RUN_A))
    assert dict(merge_states(base, ended, replace(base, serial=3)).ended) == dict(ended.ended)
    forgot = replace(ended, ended={})
    assert dict(merge_states(ended, forgot, ended).ended) == {}
    # Written on one side, forgotten on the other: kept (forgetting would only cost a wait).
    other = replace(base, ended={RUN_B: "2026-12-01T09:00:00+00:00"})
    assert RUN_A in merge_states(other, ended, replace(other, ended={})).ended


def test_a_merge_of_two_reconciled_commits_keeps_both_until_a_run_records_one() -> None:
    a, b, c, d = ("a" * 40), ("b" * 40), ("c" * 40), ("d" * 40)
    base = launch_state(x=account()).with_commit(c)
    merged = merge_states(base, base.with_commit(a), base.with_commit(b))
    assert (merged.commit, merged.merged_commits) == (None, (a, b))
    # Merged again with a third side: every commit any side had reconciled.
    again = merge_states(base, merged, base.with_commit(d))
    assert (again.commit, again.merged_commits) == (None, (a, b, d))
    # A side that knows no commit proves nothing: none is kept.
    assert merge_states(base, base.with_commit(a), base.with_commit(None)).merged_commits == ()
    # One side moved on alone: its commit, as before.
    assert merge_states(base, base.with_commit(a), base).commit == a
    recorded = merged.with_commit(c)
    assert (recorded.commit, recorded.merged_commits) == (c, ())
    dumped = json.loads(dump_state(merged))
    assert dumped["merged_commits"] == [a, b] and dumped["commit"] is None
    Draft202012Validator(schema()).validate(dumped)


def test_more_merged_commits_than_a_plan_should_diff_keep_none() -> None:
    from orshot_gitops.state.merge import MAX_MERGED_COMMITS

    sides = [f"{n:040x}" for n in range(MAX_MERGED_COMMITS + 1)]
    base = launch_state(x=account())
    merged = base.with_commit(sides[0])
    for commit in sides[1:]:
        merged = merge_states(base, merged, base.with_commit(commit))
    assert merged.commit is None and merged.merged_commits == ()
