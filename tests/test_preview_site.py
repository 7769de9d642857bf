"""`orshot-gitops preview --out DIR`: the static review site, its calendar and its ICS feeds.

User stories on a real repository with a bare remote and the sandbox (reconcile_helpers): a
post published by apply, new posts in a pull request, then the site read back as files. What
a browser makes of the pages is tests/test_preview_browser.py's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import icalendar
import pytest
from reconcile_helpers import CONFIG, Workspace, git, post_yaml

from orshot_gitops.report.site.ics import event_uid

CONFIG_ALL = CONFIG.replace("timezone: UTC\n", "timezone: America/New_York\n").replace(
    "  fb: {id: 4, platform: facebook}\n",
    "  fb: {id: 4, platform: facebook}\n"
    "  pins: {id: 5, platform: pinterest}\n"
    "  store: {id: 8, platform: googlebusiness}\n",
)

HOSTILE = (
    '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> @everyone\n'
    "[click](javascript:alert(1)) javascript:alert(1) </div></article></main>\n"
    "END:VEVENT\nBEGIN:VEVENT\nUID:forged@evil; SUMMARY,split"
)


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def events(path: Path) -> list[icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    return list(calendar.walk("VEVENT"))


@pytest.fixture
def story(ws: Workspace) -> Workspace:
    """One post live (applied), then a pull request's posts: scheduled, a near pair, hostile."""
    ws.set_config(CONFIG_ALL)
    ws.post("2026/live", post_yaml("Already out: {{ product }}.", accounts=("x",)))
    assert ws.apply().code == 0
    ws.post(
        "2030/berlin-night",
        post_yaml(
            "Midnight sale in Berlin.",
            accounts=("x", "fb"),
            schedule="2030-03-10T00:30",
            timezone="Europe/Berlin",
        ),
    )
    ws.post(
        "2030/soon-after",
        post_yaml("A second post, 40 minutes later.", accounts=("x",), schedule="2030-03-09T19:10"),
    )
    ws.post("2030/hostile", post_yaml(HOSTILE, accounts=("x", "li"), schedule="2030-03-12T12:00"))
    return ws


def test_preview_writes_pages_calendars_and_feeds_per_account(story: Workspace) -> None:
    out = story.root.parent / "site"
    run = story.cli("preview", "--out", str(out), "--format", "json")
    assert run.code == 0, run.output
    written = run.json()
    assert written["accounts"] == ["fb", "li", "x"]
    assert written["posts"] == 4
    names = set(written["files"])
    assert {"index.html", "calendar.html", "calendar.ics"} <= names
    for alias in ("fb", "li", "x"):
        assert {f"calendar-{alias}.html", f"calendar-{alias}.ics"} <= names
    assert sorted(names) == sorted(p.name for p in out.iterdir())
    index = (out / "index.html").read_text(encoding="utf-8")
    # The pull request's own posts are marked; the one already live is not.
    rows = {
        post: cls for cls, post in re.findall(r'<tr class="([a-z-]+)" data-post="([^"]+)"', index)
    }
    assert rows == {
        "2026/live": "unchanged",
        "2030/berlin-night": "in-change",
        "2030/hostile": "in-change",
        "2030/soon-after": "in-change",
    }


def test_text_output_says_where_the_site_is(story: Workspace) -> None:
    out = story.root.parent / "site"
    run = story.cli("preview", "--out", str(out))
    assert run.code == 0, run.output
    assert f"open {out / 'index.html'}" in run.out


def test_without_out_the_site_goes_where_git_ignores_it_and_apply_still_runs(
    story: Workspace,
) -> None:
    """A first `orshot-gitops preview` needs no flag, and what it writes is never something
    to commit nor an uncommitted input that stops apply."""
    run = story.cli("preview")
    assert run.code == 0, run.output
    site = story.root / ".orshot" / "preview"
    assert "open " in run.out and (site / "index.html").is_file()
    assert git(story.root, "status", "--porcelain", "--untracked-files=all") == ""
    assert story.cli("preview").code == 0  # again: its own folder, written over
    assert story.apply().code == 0


def test_two_builds_give_the_same_bytes(story: Workspace) -> None:
    first, second = story.root.parent / "one", story.root.parent / "two"
    assert story.cli("preview", "--out", str(first)).code == 0
    assert story.cli("preview", "--out", str(second)).code == 0
    assert files_of(first) == files_of(second)


def test_ics_events_have_stable_uids_and_their_post_time(story: Workspace) -> None:
    out = story.root.parent / "site"
    assert story.cli("preview", "--out", str(out)).code == 0
    found = {str(e["uid"]): e for e in events(out / "calendar-x.ics")}
    night = found[event_uid("2030/berlin-night", "x")]
    start = night.decoded("dtstart")
    assert (start.isoformat(), str(start.tzinfo)) == ("2030-03-10T00:30:00+01:00", "Europe/Berlin")
    # No drift between builds: DTSTAMP is the post's moment, in UTC as RFC 5545 wants.
    assert night.decoded("dtstamp").isoformat() == "2030-03-09T23:30:00+00:00"
    # The post moved an hour: the same UID, so a subscribed calendar moves the event.
    story.post(
        "2030/berlin-night",
        post_yaml(
            "Midnight sale in Berlin, an hour later.",
            accounts=("x", "fb"),
            schedule="2030-03-10T01:30",
            timezone="Europe/Berlin",
        ),
    )
    assert story.cli("preview", "--out", str(out)).code == 0
    moved = {str(e["uid"]): e for e in events(out / "calendar-x.ics")}
    assert set(moved) == set(found)
    assert moved[event_uid("2030/berlin-night", "x")].decoded("dtstart").hour == 1


def test_a_hostile_caption_cannot_break_the_feed(story: Workspace) -> None:
    out = story.root.parent / "site"
    assert story.cli("preview", "--out", str(out)).code == 0
    raw = (out / "calendar.ics").read_bytes()
    # One event per dated (post, account): the caption's END/BEGIN lines did not add any.
    assert raw.count(b"\r\nBEGIN:VEVENT\r\n") == 6
    assert b"\r\nUID:forged" not in raw
    parsed = events(out / "calendar.ics")
    hostile = [e for e in parsed if str(e["uid"]) == event_uid("2030/hostile", "li")]
    assert len(hostile) == 1
    assert str(hostile[0]["description"]) == HOSTILE
    assert len(parsed) == 6
    # The live post is on the calendar too, on the day apply published it.
    assert any(str(e["uid"]) == event_uid("2026/live", "x") for e in parsed)


def test_the_calendar_reads_each_day_in_the_posts_zone(story: Workspace) -> None:
    """00:30 in Berlin on March 10th is March 9th in UTC and in New York (the repo's zone):
    the post is on the 10th, where its author put it; with --timezone UTC, on the 9th."""
    out = story.root.parent / "site"
    assert story.cli("preview", "--out", str(out)).code == 0
    page = (out / "calendar-x.html").read_text(encoding="utf-8")
    assert _day_of(page, "2030/berlin-night") == "2030-03-10"
    utc = story.root.parent / "utc"
    assert story.cli("preview", "--out", str(utc), "--timezone", "UTC").code == 0
    assert _day_of((utc / "calendar-x.html").read_text(encoding="utf-8"), "2030/berlin-night") == (
        "2030-03-09"
    )


def test_two_posts_within_an_hour_on_one_account_are_marked(story: Workspace) -> None:
    """berlin-night (23:30 UTC) and soon-after (19:10 New York = 00:10 UTC) are 40 minutes
    apart on x: both marked there; on fb berlin-night is alone, unmarked."""
    out = story.root.parent / "site"
    assert story.cli("preview", "--out", str(out)).code == 0
    x = (out / "calendar-x.html").read_text(encoding="utf-8")
    assert _classes(x, "2030/berlin-night", "x") >= {"close"}
    assert _classes(x, "2030/soon-after", "x") >= {"close"}
    fb = (out / "calendar-fb.html").read_text(encoding="utf-8")
    assert "close" not in _classes(fb, "2030/berlin-night", "fb")
    # The days between x's posts with none are gaps; the posts' own days are not.
    gaps = set(re.findall(r'class="day gap" data-date="(2030-03-\d\d)" data-view="week"', x))
    assert gaps == {"2030-03-11"}


def test_a_render_shows_its_modifications_as_written(ws: Workspace) -> None:
    """Not `"price": "\\u20ac35"`: the parameters as the reviewer reads them."""
    ws.post(
        "2030/render",
        "accounts: [x]\ncontent: Sale\nrender:\n  template: 7\n  modifications:\n"
        "    price: €35\n    title: '<b>bold</b>'\n",
    )
    out = ws.root.parent / "site"
    assert ws.cli("preview", "--out", str(out)).code == 0
    page = next(out.glob("post-2030-render-*.html")).read_text(encoding="utf-8")
    assert "<dt>price</dt><dd>€35</dd>" in page
    assert "<dd>&lt;b&gt;bold&lt;/b&gt;</dd>" in page


def test_bad_input_writes_nothing_and_names_the_line(ws: Workspace) -> None:
    ws.post("2030/fine", post_yaml("Fine."))
    ws.post("2030/broken", "accounts: [x]\ncontent: [unclosed\n")
    out = ws.root.parent / "site"
    run = ws.cli("preview", "--out", str(out))
    assert run.code == 1
    assert re.search(r"posts/2030/broken\.yaml:\d+:\d+: error", run.err), run.err
    assert "Traceback" not in run.output
    assert not out.exists()


def test_an_unknown_zone_is_a_usage_error(ws: Workspace) -> None:
    run = ws.cli("preview", "--out", str(ws.root.parent / "site"), "--timezone", "Mars/Olympus")
    assert run.code == 2
    assert "Mars/Olympus" in run.err
    assert not (ws.root.parent / "site").exists()


def test_the_key_is_nowhere_in_the_site(story: Workspace) -> None:
    from reconcile_helpers import API_KEY

    out = story.root.parent / "site"
    run = story.cli("preview", "--out", str(out))
    assert API_KEY not in run.output
    assert all(API_KEY.encode() not in data for data in files_of(out).values())


def _day_of(page: str, post_id: str) -> str:
    """The data-date of the month cell holding post_id's entry."""
    found = None
    for cell in re.finditer(
        r'data-date="([\d-]+)" data-view="month">(.*?)\n</div>', page, flags=re.S
    ):
        if f'data-post="{post_id}"' in cell.group(2):
            assert found is None, "the post is on two days"
            found = cell.group(1)
    assert found is not None, f"{post_id} is on no day"
    return found


def _classes(page: str, post_id: str, account: str) -> set[str]:
    match = re.search(
        rf'<a class="([^"]+)" href="[^"]+" data-post="{re.escape(post_id)}" '
        rf'data-account="{account}"',
        page,
    )
    assert match, post_id
    return set(match.group(1).split())


def test_json_output_is_json(story: Workspace) -> None:
    run = story.cli("preview", "--out", str(story.root.parent / "site"), "--format", "json")
    assert json.loads(run.out)["index"].endswith("index.html")


def test_an_out_path_that_is_a_file_is_one_line_not_a_crash(ws: Workspace) -> None:
    ws.post("2030/fine", post_yaml("Fine."))
    taken = ws.root.parent / "taken"
    taken.write_text("not a folder\n")
    run = ws.cli("preview", "--out", str(taken))
    assert run.code == 1, run.output
    assert run.err.count("\n") == 1 and str(taken) in run.err
    assert "crashed" not in run.err and "Traceback" not in run.err
    assert taken.read_text() == "not a folder\n"


def test_a_state_with_an_unreadable_time_is_not_a_crash(ws: Workspace) -> None:
    """The state file is the repository's, so untrusted: a hand-edited time that is no time
    is refused by the state's check, or left off the calendar, never a crash."""
    ws.post("2026/live", post_yaml("Live.", accounts=("x",)))
    assert ws.apply().code == 0
    state = ws.state()
    state["posts"]["2026/live"]["accounts"]["x"]["last_attempt_at"] = "2026-02-30T25:61Z"
    ws.write_state(state)
    out = ws.root.parent / "site"
    run = ws.cli("preview", "--out", str(out))
    assert run.code in (0, 1), run.output
    assert "crashed" not in run.err and "Traceback" not in run.output
    if run.code == 0:
        assert 'data-post="2026/live"' not in (out / "calendar.html").read_text(encoding="utf-8")
    else:
        assert run.err.count("\n") <= 2 and "last_attempt_at" in run.err


def test_a_follow_up_of_an_earlier_run_is_not_this_changes_post(ws: Workspace) -> None:
    """Instagram still processing: the next plan syncs it (a request, not a change anyone
    reviews). The page highlights what the pull request changes, not that."""
    ws.post(
        "2026/photo", post_yaml("A photo.", accounts=("ig",), media_url="https://a.example/p.jpg")
    )
    assert ws.apply().code == 0
    assert [a["kind"] for a in ws.plan_json()["actions"]] == ["sync"]
    out = ws.root.parent / "site"
    assert ws.cli("preview", "--out", str(out)).code == 0
    index = (out / "index.html").read_text(encoding="utf-8")
    assert '<tr class="unchanged" data-post="2026/photo">' in index
    # Processing is out in the world: on the calendar as published, not "on merge".
    assert "ig: published, " in index


def test_control_characters_in_a_caption_cannot_break_the_feed(ws: Workspace) -> None:
    """A double-quoted YAML string can hold a bare CR or a vertical tab: RFC 5545 allows no
    control character in a TEXT value but the tab, and a bare CR is a line break to some
    readers. The feed has none; the page keeps the caption as it is sent."""
    ws.post(
        "2030/controls",
        'accounts: [x]\ncontent: "one\\rEND:VEVENT\\rBEGIN:VEVENT\\vUID:forged\\x07"\n'
        "schedule: 2030-03-10T09:00\n",
    )
    out = ws.root.parent / "site"
    run = ws.cli("preview", "--out", str(out))
    assert run.code == 0, run.output
    raw = (out / "calendar.ics").read_bytes()
    assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", raw.replace(b"\r\n", b""))
    assert raw.count(b"\r\nBEGIN:VEVENT\r\n") == 1
    (event,) = events(out / "calendar.ics")
    assert str(event["description"]) == "one\nEND:VEVENT\nBEGIN:VEVENT\ufffdUID:forged\ufffd"


def test_a_rebuild_removes_the_page_of_a_deleted_post_and_nothing_else(ws: Workspace) -> None:
    """A page left from a post since deleted would show a post that no longer goes out."""
    ws.post("2030/kept", post_yaml("Kept.", accounts=("x",), schedule="2030-03-10T09:00"))
    ws.post("2030/gone", post_yaml("Gone.", accounts=("fb",), schedule="2030-03-11T09:00"))
    out = ws.root.parent / "site"
    assert ws.cli("preview", "--out", str(out)).code == 0
    (out / "notes.txt").write_text("mine\n")
    ws.delete("2030/gone")
    assert ws.cli("preview", "--out", str(out)).code == 0
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if "gone" in n or n.startswith("calendar-fb")]
    assert "notes.txt" in names
    assert [n for n in names if n.startswith("post-")] == [
        n for n in names if n.startswith("post-2030-kept-")
    ]


def test_a_folder_holding_someone_elses_site_is_refused(ws: Workspace) -> None:
    """--out . in the wrong folder must not overwrite another site's index.html."""
    ws.post("2030/fine", post_yaml("Fine."))
    out = ws.root.parent / "their-site"
    out.mkdir()
    (out / "index.html").write_text("<h1>their home page</h1>\n")
    (out / "calendar.html").write_text("<h1>their calendar</h1>\n")
    run = ws.cli("preview", "--out", str(out))
    assert run.code == 1
    assert run.err.count("\n") == 1 and "not written by orshot-gitops preview" in run.err
    assert (out / "index.html").read_text() == "<h1>their home page</h1>\n"
    assert sorted(p.name for p in out.iterdir()) == ["calendar.html", "index.html"]
