"""Before -> after in the review: a team edits a post Orshot already holds, and the pull request
shows what Orshot holds now against what it will hold (the caption word by word, both times
in the post's zone, media added, removed or reordered, options changed), from the copy of
what was sent that apply records per (post, account). A real git repository with a bare
remote, the sandbox on loopback; the Posts Log says what went out."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import FakeClock, SandboxFactory
from fault_helpers import Gate
from hypothesis import given
from hypothesis import strategies as st
from reconcile_helpers import CONFIG, Workspace, post_yaml, sandbox_config
from test_github_comment import outside_fences

from orshot_gitops.report.changes import word_diff
from orshot_gitops.state.merge import merge_states
from orshot_gitops.state.model import AccountStatus
from orshot_gitops.state.sent import Sent
from orshot_gitops.state.store import load_state, write_state

FUTURE = "2099-01-05T09:00"
LATER = "2099-02-10T15:30"
PARIS = "Europe/Paris"
A, B, C = (f"https://cdn.example.com/launch/{n}.png" for n in "abc")
OPTIONS = {"li": {"firstComment": "Docs at acme.com"}}


def scheduled(ws: Workspace, caption: str, **fields: object) -> None:
    values: dict[str, object] = {
        "schedule": FUTURE,
        "timezone": PARIS,
        "media_urls": [A, B],
        "platform_options": OPTIONS,
        **fields,
    }
    ws.post("2026/launch", post_yaml(caption, ("li", "fb"), **values))


def test_apply_records_what_was_sent_per_account(ws: Workspace) -> None:
    scheduled(ws, "Acme Rockets 2.0 lands on Monday.")
    assert ws.apply().code == 0
    li, fb = ws.record("2026/launch", "li"), ws.record("2026/launch", "fb")
    sent = ws.sent()[-1]["request"]
    assert li["sent"] == {
        "caption": sent["content"],
        "media": [A, B],
        "at": "2099-01-05T08:00:00+00:00",
        "options": {"firstComment": "Docs at acme.com"},
    }
    assert fb["sent"] == {k: v for k, v in li["sent"].items() if k != "options"}


def test_an_edit_in_place_shows_the_word_diff_and_both_times_in_the_posts_zone(
    ws: Workspace,
) -> None:
    scheduled(ws, "Acme Rockets 2.0 lands on Monday.")
    assert ws.apply().code == 0
    scheduled(ws, "Acme Rockets 2.1 lands on Tuesday!", schedule=LATER)
    review = ws.plan("--format", "markdown").out
    assert "**Orshot holds now → after the merge** for `fb` (Facebook), `li` (LinkedIn):" in review
    assert "> Acme Rockets ~~2\\.0~~ **2\\.1** lands on ~~Monday.~~ **Tuesday!**" in review
    # Both times in the post's zone (Paris: CET), not only the new one.
    assert (
        "- **Time**: ~~Mon 2099\\-01\\-05 09:00 CET (Europe/Paris)~~ → "
        "**Tue 2099\\-02\\-10 15:30 CET (Europe/Paris)**" in review
    )
    # Nothing else changed, so nothing else is claimed to.
    assert "**Media" not in review.split("Orshot holds now")[1]
    assert "**Option**" not in review


def test_media_added_removed_and_reordered_and_options_changed_are_shown(ws: Workspace) -> None:
    scheduled(ws, "Launch day.")
    assert ws.apply().code == 0
    scheduled(
        ws,
        "Launch day.",
        media_urls=[B, C],
        platform_options={"li": {"firstComment": "Docs at acme.com/v2"}},
    )
    review = ws.plan("--format", "markdown").out
    changes = review.split("Orshot holds now → after the merge", 1)[1]
    assert f"- **Media**: 2 → 2 file(s)\n  - added: <{C}>\n  - removed: <{A}>" in changes
    assert '- **Option** `firstComment`: `"Docs at acme.com"` → `"Docs at acme.com/v2"`' in changes
    assert "**Caption**" not in changes  # the caption did not change

    scheduled(ws, "Launch day.", media_urls=[B, A])  # the same two files, the other way round
    changes = ws.plan("--format", "markdown").out.split("after the merge", 1)[1]
    assert f"- **Media reordered**, now: 1. <{B}> → 2. <{A}>" in changes
    assert "added:" not in changes and "removed:" not in changes


def test_a_change_after_publish_shows_what_is_live_against_the_file(ws: Workspace) -> None:
    ws.post("2026/live", post_yaml("Live now: Acme 2.0.", ("li",)))
    assert ws.apply().code == 0
    ws.post("2026/live", post_yaml("Live now: Acme 2.0, faster.", ("li",)))
    review = ws.plan("--format", "markdown").out
    assert "⚠️ changed after publish" in review
    assert "**Live now → the file (not sent: live posts cannot be edited)** for `li`" in review
    assert "> Live now: Acme ~~2\\.0\\.~~ **2\\.0, faster.**" in review


def test_a_record_from_an_older_version_says_its_before_is_not_recorded(ws: Workspace) -> None:
    scheduled(ws, "Launch day.")
    assert ws.apply().code == 0
    state = ws.state()
    for record in state["posts"]["2026/launch"]["accounts"].values():
        del record["sent"]  # as an older version wrote it
    ws.write_state(state)
    ws.commit("state from an older version")
    scheduled(ws, "Launch day, moved.", schedule=LATER)
    review = ws.plan("--format", "markdown").out
    assert "> before: not recorded (sent by an older version)" in review
    assert "~~" not in review  # nothing invented
    plan = ws.plan_json()
    assert [a["before"] for a in plan["actions"]] == [None, None]


def test_the_json_plan_carries_the_before_and_the_after(ws: Workspace) -> None:
    scheduled(ws, "Launch day.")
    assert ws.apply().code == 0
    scheduled(ws, "Launch day!", schedule=LATER)
    li = next(a for a in ws.plan_json()["actions"] if a["account"] == "li")
    assert li["before"] == {
        "caption": "Launch day.",
        "media": [A, B],
        "at": "2099-01-05T08:00:00+00:00",
        "options": {"firstComment": "Docs at acme.com"},
    }
    assert (li["content"], li["scheduled_for"]) == ("Launch day!", "2099-02-10T14:30:00+00:00")


def test_the_plan_after_the_edit_is_applied_has_nothing_left_to_show(ws: Workspace) -> None:
    scheduled(ws, "Launch day.")
    assert ws.apply().code == 0
    scheduled(ws, "Launch day!", media_urls=[C], schedule=LATER)
    assert ws.apply().code == 0
    record = ws.record("2026/launch", "li")
    assert record["sent"]["caption"] == "Launch day!"
    assert (record["sent"]["media"], record["sent"]["at"]) == ([C], "2099-02-10T14:30:00+00:00")
    # The edit went out in place: one Orshot post, now carrying the new version.
    assert len(ws.sent()) == 1
    assert ws.orshot_post(ws.sent()[0]["post_id"])["content"] == "Launch day!"


HOSTILE_OLD = "Hi team, see https://acme.com/a\n- list\n"
HOSTILE_NEW = (
    "Hi @everyone see https://evil.example/x www.evil.example #12\n"
    "- list </details><img src=x onerror=alert(1)> [x](javascript:alert(1)) ~~**\n"
    "1. ordered\n===\n"
)


def test_a_hostile_caption_in_the_word_diff_cannot_ping_link_inject_or_format(
    ws: Workspace,
) -> None:
    scheduled(ws, HOSTILE_OLD)
    assert ws.apply().code == 0
    scheduled(ws, HOSTILE_NEW)
    review = ws.plan("--format", "markdown").out
    diff = review.split("**Caption** (", 1)[1]
    rendered = outside_fences(diff)
    assert "@everyone" not in rendered  # a zero-width space after the @
    assert "https://evil" not in rendered and "www.evil" not in rendered  # no autolink
    assert (
        "<img" not in rendered
        and "</details>" not in rendered
        and "javascript:alert" in (rendered.replace("\\", ""))
    )
    assert "](javascript" not in rendered.replace("\\]", "")
    # No line of the diff can start a list, a heading or a setext underline.
    for line in re.findall(r"^  > (.*)$", rendered, flags=re.M):
        assert not re.match(r"(~~|\*\*)?([-+=]|\d+[.)])", line), line
    assert "#\u200b12" in rendered


# --- plan --show-content ------------------------------------------------------------------


def test_show_content_prints_the_exact_caption_media_time_and_the_before_after(
    ws: Workspace,
) -> None:
    scheduled(ws, "Acme Rockets 2.0 lands on Monday.\nBe there.")
    assert ws.apply().code == 0
    scheduled(ws, "Acme Rockets 2.1 lands on Tuesday!\nBe there.", schedule=LATER)
    out = ws.plan("--show-content").out
    li = out.split("~ edit li (linkedin)", 1)[1]
    assert "      when: Tue 2099-02-10 15:30 CET (Europe/Paris)\n" in li
    assert "      │ Acme Rockets 2.1 lands on Tuesday!\n      │ Be there.\n" in li
    assert f"        1. {A} · image (png)\n        2. {B} · image (png)\n" in li
    assert '      options: {"firstComment": "Docs at acme.com"}\n' in li
    assert "      Orshot holds now → after the merge:\n" in li
    assert "        │ Acme Rockets [-2.0-]{+2.1+} lands on [-Monday.-]{+Tuesday!+}\n" in li
    assert "        │ Be there." in li
    assert (
        "        time: Mon 2099-01-05 09:00 CET (Europe/Paris) → "
        "Tue 2099-02-10 15:30 CET (Europe/Paris)" in li
    )
    # Without the flag, the plan stays one line per action.
    assert "│" not in ws.plan().out


def test_show_content_cannot_drive_the_terminal_with_a_captions_control_characters(
    ws: Workspace,
) -> None:
    ws.write(
        "posts/2026/esc.yaml", 'accounts: [li]\ncontent: "Hi \\e[2J\\e]0;owned\\a \\u202Eevil"\n'
    )
    ws.commit("a caption with escape sequences")
    out = ws.plan("--show-content").out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "│ Hi \\u{001B}[2J\\u{001B}]0;owned\\u{0007} \\u{202E}evil" in out


# --- the fold, images ------------------------------------------------------------------------


def _section(out: str, after: str) -> str:
    """The lines `--show-content` printed under the action line naming `after`."""
    return re.split(r"\n  (?=\S)", out.split(after, 1)[1])[0]


LONG = " ".join(f"word{n:03d}" for n in range(40))  # 319 characters


def test_each_platforms_fold_is_marked_in_the_comment_and_in_show_content(
    ws: Workspace,
) -> None:
    ws.post("2026/long", post_yaml(LONG, ("li", "ig", "fb"), media_urls=[A]))
    review = ws.plan("--format", "markdown").out
    # One caption block for the three accounts, a mark for each platform that folds it.
    assert (
        LONG[:125] + "┆…more (Instagram)" + LONG[125:210] + "┆…more (LinkedIn)" + LONG[210:]
        in review
    )
    assert (
        '┆…more marks where the platform shows "…more" (Instagram after 125 characters, '
        "LinkedIn after 210 characters); the mark is not part of the caption" in review
    )
    out = ws.plan("--show-content").out
    ig = _section(out, "instagram)")
    assert "│ " + LONG[:125] + "┆…more" + LONG[125:] in ig
    li = _section(out, "linkedin)")
    assert "│ " + LONG[:210] + "┆…more" + LONG[210:] in li
    fb = _section(out, "(facebook)")
    assert "┆" not in fb  # Facebook folds after 480: this caption is shown whole


def test_media_are_thumbnails_in_order_and_a_video_is_a_link_naming_its_format(
    ws: Workspace,
) -> None:
    video = "https://cdn.example.com/launch/teaser.mp4"
    ws.post("2026/carousel", post_yaml("Three looks.", ("li",), media_urls=[A, B, C]))
    ws.post("2026/teaser", post_yaml("Watch.", ("li",), media_urls=[video]))
    review = ws.plan("--format", "markdown").out
    carousel = review.split("`2026/carousel`", 2)[2]
    assert (
        "| 1 | 2 | 3 |\n| :-: | :-: | :-: |\n"
        f'| <img src="{A}" alt="1 of 3" width="160"> | <img src="{B}" alt="2 of 3" width="160"> '
        f'| <img src="{C}" alt="3 of 3" width="160"> |' in carousel
    )
    assert f"1. <{A}> · image (png)\n2. <{B}> · image (png)\n3. <{C}> · image (png)" in carousel
    teaser = review.split("`2026/teaser`", 2)[2]
    assert f"1. <{video}> · video (mp4)" in teaser
    assert "<img" not in teaser  # a video is a link, not a broken image


# --- the sent copy tells the truth through faults ----------------------------------------------


def holds_what_the_record_says(ws: Workspace, post_id: str, account: str) -> None:
    """A record that says Orshot holds its post carries exactly what that post holds."""
    record = ws.record(post_id, account)
    held = ws.orshot_post(record["post_id"])
    assert record["sent"]["caption"] == held["content"]
    assert record["sent"].get("media", []) == held["media_urls"]
    assert record["sent"].get("at") == record.get("scheduled_for")


def test_an_edit_whose_answer_is_lost_keeps_the_copy_of_what_orshot_is_known_to_hold(
    ws: Workspace,
) -> None:
    ws.post("2026/talk", post_yaml("Talk on Monday.", ("li",), schedule=FUTURE, media_urls=[A]))
    assert ws.apply().code == 0
    holds_what_the_record_says(ws, "2026/talk", "li")
    ws.post("2026/talk", post_yaml("Talk on Tuesday.", ("li",), schedule=LATER, media_urls=[B]))
    gate = Gate(ws.sandbox)
    try:
        gate.drop_next("PATCH /v1/social/posts/{id}", 10)  # done by Orshot, answers lost
        ws.apply()
    finally:
        gate.close()
    record = ws.record("2026/talk", "li")
    # Not confirmed: the copy stays with the fingerprint, on the version last known held.
    assert record["status"] == "unknown"
    assert record["sent"]["caption"] == "Talk on Monday."
    assert ws.apply().code == 0  # settled by reading the post by id
    holds_what_the_record_says(ws, "2026/talk", "li")
    assert ws.record("2026/talk", "li")["sent"]["caption"] == "Talk on Tuesday."
    assert len(ws.sent()) == 1  # edited in place, never sent again
    assert "Plan: no changes" in ws.plan().out


# --- the word diff: exact, and bounded on any caption -----------------------------------------


@given(st.text(alphabet=" \n\tab-c", max_size=60), st.text(alphabet=" \n\tab-c", max_size=60))
def test_the_word_diff_gives_back_both_captions_exactly(old: str, new: str) -> None:
    pieces = word_diff(old, new)
    assert "".join(t for op, t in pieces if op != "+") == old
    assert "".join(t for op, t in pieces if op != "-") == new
    assert all(text for _, text in pieces)


def test_the_word_diff_of_a_huge_caption_is_bounded_in_time_and_exact() -> None:
    """Before the bound, an edit in the middle of a 60,000-character caption (a PR can
    write one: Facebook takes 63,206) kept `plan` busy for minutes."""
    old = " ".join(f"w{i % 50}" for i in range(12000))
    for new in (old.replace("w7 ", "x7 ", 300), "b " * 30000, old[::-1]):
        started = time.monotonic()
        pieces = word_diff(old, new)
        assert time.monotonic() - started < 5
        assert "".join(t for op, t in pieces if op != "+") == old
        assert "".join(t for op, t in pieces if op != "-") == new
    # A small edit in a long caption is still shown word by word.
    edited = old[:30000] + " NEW " + old[30000:]
    changed = [(op, text.strip()) for op, text in word_diff(old, edited) if op != "="]
    assert changed == [("+", "NEW")]


def test_a_state_file_edited_to_carry_a_hostile_before_stays_inert_or_is_refused(
    ws: Workspace,
) -> None:
    """A pull request may edit the state's files too: the before it shows is text like any
    other, and a time that is not one is refused at its place, never a traceback."""
    scheduled(ws, "Launch day.")
    assert ws.apply().code == 0
    state = ws.state()
    li = state["posts"]["2026/launch"]["accounts"]["li"]
    li["sent"].update(
        caption="@everyone <script>x</script> https://evil.example ```",
        media=["javascript:alert(1)//a.png", A],
        options={"`</details>": "@team"},
    )
    ws.write_state(state)
    ws.commit("a hostile before")
    scheduled(ws, "Launch day!")
    review = ws.plan("--format", "markdown").out
    rendered = outside_fences(review)
    assert "@everyone" not in rendered and "<script" not in rendered
    assert "https://evil" not in rendered and "</details>" not in rendered
    assert "@team" not in rendered and "<javascript" not in rendered
    assert "- removed: `javascript:alert(1)//a.png`" in review

    post_file = ws.root / ".orshot/state/posts/2026/launch.json"
    stored = json.loads(post_file.read_text(encoding="utf-8"))
    stored["accounts"]["li"]["sent"]["at"] = "next Tuesday"
    post_file.write_text(json.dumps(stored, indent=2), encoding="utf-8")
    ws.commit("a before whose time is not one")
    run = ws.plan("--format", "markdown")
    assert run.code == 1 and "Traceback" not in run.output
    assert "sent" in run.err and "next Tuesday" in run.err


def test_a_pause_keeps_the_copy_of_what_orshot_holds(ws: Workspace) -> None:
    """A pause changes only the status of the held post (back to a draft): what it holds is
    the same, and so is the copy; lifted, the review has its before."""
    scheduled(ws, "Launch day.")
    assert ws.apply().code == 0
    sent = ws.record("2026/launch", "li")["sent"]
    ws.set_config(CONFIG + "paused: true\n")
    assert ws.apply().code == 0
    record = ws.record("2026/launch", "li")
    assert record["status"] == "drafted" and record["sent"] == sent
    ws.set_config(CONFIG)
    scheduled(ws, "Launch day!")
    review = ws.plan("--format", "markdown").out
    assert "not recorded" not in review
    assert "> Launch ~~day.~~ **day!**" in review


def test_a_held_post_that_fired_before_the_split_keeps_the_copy_of_what_went_out(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    fake_clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """LinkedIn's edit is split off the shared post, and the shared post fires while its new
    draft is made: LinkedIn got the old caption. The copy says so (not the new caption the
    abandoned draft carried), and the review shows what is live against the file."""
    from test_held_posts import LI_EDITED, SHARED

    ws = Workspace(
        tmp_path, sandbox_factory(sandbox_config(), clock=fake_clock), monkeypatch, capsys
    )
    ws.post("2026/webinar", post_yaml(SHARED, schedule=FUTURE))
    assert ws.apply().code == 0
    ws.post("2026/webinar", post_yaml(LI_EDITED, schedule=FUTURE))
    fires = datetime(2099, 1, 5, 9, 1, tzinfo=timezone.utc).timestamp()
    gate = Gate(ws.sandbox)
    try:
        gate.after("POST /v1/social/publish", lambda: fake_clock.advance(fires - fake_clock()))
        assert ws.apply().code == 0
    finally:
        gate.close()
    li = ws.record("2026/webinar", "li")
    assert li["status"] == "published"
    assert li["sent"]["caption"] == ws.orshot_post(li["post_id"])["content"] == SHARED
    ws.set_config(CONFIG + "# touched\n")  # a full compile: the change is planned again
    review = ws.plan("--format", "markdown").out
    assert "> Webinar on Tuesday. **Agenda and slides inside.**" in review


def test_a_rendered_post_records_its_outputs_and_an_edit_says_it_renders_again(
    ws: Workspace,
) -> None:
    render = {"template": 123, "modifications": {"title": "{{ product }} 3.2"}, "format": "png"}
    ws.post("2026/release", post_yaml("Release 3.2.", ("li",), schedule=FUTURE, render=render))
    assert ws.apply().code == 0
    outputs = ws.state()["posts"]["2026/release"]["render"]["media_urls"]
    assert ws.record("2026/release", "li")["sent"]["media"] == outputs
    render["modifications"] = {"title": "{{ product }} 3.3"}
    ws.post("2026/release", post_yaml("Release 3.3.", ("li",), schedule=FUTURE, render=render))
    changes = ws.plan("--format", "markdown").out.split("after the merge", 1)[1]
    assert "- **Media**: the Studio render's outputs (rendered again only if its" in changes
    assert "added:" not in changes and "removed:" not in changes  # nothing invented


# --- the copy in the state file ---------------------------------------------------------------

SENT_OLD = Sent("Launch day.", (A, B), "2099-01-05T08:00:00+00:00", {"firstComment": "x"})
SENT_NEW = Sent("Launch day!", (C,), None)


def test_the_copy_round_trips_through_a_post_file_and_is_absent_when_unset(
    tmp_path: Path,
) -> None:
    from test_state import account, launch_state

    state = launch_state(**{"acme-x": account(sent=SENT_OLD), "acme-li": account()})
    write_state(tmp_path, state)
    stored = json.loads((tmp_path / ".orshot/state/posts/2026/12/launch.json").read_text())
    assert stored["accounts"]["acme-x"]["sent"] == {
        "caption": "Launch day.",
        "media": [A, B],
        "at": "2099-01-05T08:00:00+00:00",
        "options": {"firstComment": "x"},
    }
    assert "sent" not in stored["accounts"]["acme-li"]  # an older record's bytes are unchanged
    loaded = load_state(tmp_path)
    assert loaded.account("2026/12/launch", "acme-x") == account(sent=SENT_OLD)
    assert loaded.account("2026/12/launch", "acme-li") == account()


def test_a_merge_keeps_each_record_with_its_own_copy_never_a_mix() -> None:
    """Both runs changed one record: the merge picks a record (the one that says more about
    what Orshot holds), and its copy comes with it, matching its fingerprint."""
    from test_state import FP_A, FP_B, account, launch_state

    base = launch_state(x=account(status=AccountStatus.SCHEDULED, sent=SENT_OLD))
    ours = launch_state(
        x=account(
            status=AccountStatus.SCHEDULED,
            fingerprint=FP_B,
            sent=SENT_NEW,
            last_attempt_at="2026-12-02T09:00:00+00:00",
        )
    )
    theirs = launch_state(
        x=account(status=AccountStatus.FAILED, fingerprint=FP_A, sent=SENT_OLD, post_id=None)
    )
    for merged in (merge_states(base, ours, theirs), merge_states(base, theirs, ours)):
        record = merged.account("2026/12/launch", "x")
        assert record is not None
        assert (record.fingerprint, record.sent) == (FP_B, SENT_NEW)


def test_a_draft_edited_as_it_is_published_shows_what_changes(ws: Workspace) -> None:
    ws.post("2026/news", post_yaml("News, draft one.", ("li",), draft=True))
    assert ws.apply().code == 0
    assert ws.record("2026/news", "li")["sent"] == {"caption": "News, draft one."}
    ws.post("2026/news", post_yaml("News, final.", ("li",), schedule=FUTURE, timezone=PARIS))
    review = ws.plan("--format", "markdown").out
    assert "🚀 publish the draft" in review
    assert "> News, ~~draft one.~~ **final.**" in review
    assert (
        "- **Time**: ~~not scheduled (on publish, or kept as a draft)~~ → "
        "**Mon 2099\\-01\\-05 09:00 CET (Europe/Paris)**" in review
    )
