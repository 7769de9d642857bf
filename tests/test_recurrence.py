"""`repeat:`: one post file, one post per occurrence (content/recurrence.py, docs/recurring.md).

The expansion is pure (a post, orshot.yaml, the clock): tested here without git or Orshot.
The reconciler's side, each occurrence sent once, is in tests/test_recurring_lifecycle.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from repo_fixtures import content_repo

from orshot_gitops.cli import main
from orshot_gitops.content.model import Config, PostSpec, config_from_data, post_from_data
from orshot_gitops.content.recurrence import MAX_OCCURRENCES, expand_repeat
from orshot_gitops.content.schemas import schema_diagnostics
from orshot_gitops.content.validate import validate_repo
from orshot_gitops.content.yamlload import load_document
from orshot_gitops.errors import Diagnostic, Severity

NOW = datetime(2027, 1, 1, 12, 0, tzinfo=timezone.utc)


def config(horizon: str | None = None, zone: str = "UTC") -> Config:
    data: dict[str, object] = {
        "accounts": {
            "x": {"id": 1, "platform": "twitter"},
            "li": {"id": 2, "platform": "linkedin"},
        },
        "timezone": zone,
    }
    if horizon is not None:
        data["horizon"] = horizon
    return config_from_data(data)


def spec(text: str, post_id: str = "tips/weekly") -> PostSpec:
    document = load_document(text, f"posts/{post_id}.yaml")
    assert schema_diagnostics(document, "post.schema.json") == []
    return post_from_data(post_id, f"posts/{post_id}.yaml", document.data, document)


WEEKLY = """\
accounts: [x, li]
content: "Tip #{{ occurrence.number }}: commit small."
schedule: "2027-01-05T09:00"
repeat:
  every: 1w
"""


def expand(
    text: str, now: datetime = NOW, cfg: Config | None = None
) -> tuple[list[PostSpec], list[Diagnostic]]:
    return expand_repeat(spec(text), cfg or config(), now)


def ids(posts: list[PostSpec]) -> list[str]:
    return [p.id for p in posts]


def test_a_post_without_repeat_is_itself() -> None:
    post = spec("accounts: [x]\ncontent: once\n")
    assert expand_repeat(post, config(), NOW) == ([post], [])


def test_weekly_occurrences_up_to_the_default_horizon_of_30_days() -> None:
    posts, problems = expand(WEEKLY)
    assert problems == []
    # now 2027-01-01 12:00 + 30 days = 2027-01-31 12:00: four Tuesdays.
    assert ids(posts) == [
        "tips/weekly@2027-01-05",
        "tips/weekly@2027-01-12",
        "tips/weekly@2027-01-19",
        "tips/weekly@2027-01-26",
    ]
    assert [p.schedule for p in posts][:2] == [
        "2027-01-05T09:00:00+00:00",
        "2027-01-12T09:00:00+00:00",
    ]
    second = posts[1]
    assert second.repeat is None and second.variants == () and second.overrides == {}
    assert second.occurrence is not None
    assert (second.occurrence.series, second.occurrence.date, second.occurrence.index) == (
        "tips/weekly",
        "2027-01-12",
        1,
    )
    assert second.vars["occurrence"] == {"date": "2027-01-12", "index": 1, "number": 2}


def test_the_horizon_comes_from_orshot_yaml() -> None:
    posts, _ = expand(WEEKLY, cfg=config("2w"))
    assert ids(posts)[-1] == "tips/weekly@2027-01-12"
    posts, _ = expand(WEEKLY, cfg=config("1d"))
    assert ids(posts) == []  # the first one is four days off


def test_past_occurrences_stay_they_are_posts_that_went_out() -> None:
    posts, _ = expand(WEEKLY, now=datetime(2027, 3, 1, tzinfo=timezone.utc))
    assert ids(posts)[0] == "tips/weekly@2027-01-05"
    assert ids(posts)[-1] == "tips/weekly@2027-03-30"


def test_nine_oclock_stays_nine_oclock_across_dst() -> None:
    text = (
        WEEKLY.replace('"2027-01-05T09:00"', '"2027-03-09T09:00"') + "timezone: America/New_York\n"
    )
    posts, _ = expand(text, now=datetime(2027, 3, 1, tzinfo=timezone.utc))
    # 2027-03-14 is the spring-forward day in New York: the offset changes, the time does not.
    assert [p.schedule for p in posts[:2]] == [
        "2027-03-09T09:00:00-05:00",
        "2027-03-16T09:00:00-04:00",
    ]
    assert ids(posts)[:2] == ["tips/weekly@2027-03-09", "tips/weekly@2027-03-16"]


def test_a_skipped_wall_time_moves_forward_with_the_clock() -> None:
    text = (
        "accounts: [x]\ncontent: 'Night {{ occurrence.date }}'\n"
        "schedule: '2027-03-13T02:30'\ntimezone: America/New_York\nrepeat: {every: 1d, count: 3}\n"
    )
    posts, problems = expand(text, now=datetime(2027, 3, 1, tzinfo=timezone.utc))
    assert problems == []
    assert [p.schedule for p in posts] == [
        "2027-03-13T02:30:00-05:00",
        "2027-03-14T03:30:00-04:00",  # 02:30 does not exist that night
        "2027-03-15T02:30:00-04:00",
    ]


def test_the_date_of_an_id_is_the_local_date_not_utc() -> None:
    text = (
        WEEKLY.replace('"2027-01-05T09:00"', '"2027-01-05T23:30"') + "timezone: Pacific/Auckland\n"
    )
    posts, _ = expand(text)
    assert ids(posts)[0] == "tips/weekly@2027-01-05"
    assert posts[0].schedule == "2027-01-05T23:30:00+13:00"


def test_a_schedule_written_with_an_offset_keeps_its_wall_time_in_the_posts_zone() -> None:
    """A `Z` time with orshot.yaml's zone: its wall time there is what repeats (with the
    post's own `timezone:`, a disagreeing offset is an error: see below)."""
    text = WEEKLY.replace('"2027-01-05T09:00"', '"2027-01-05T14:00:00Z"')
    posts, problems = expand(text, cfg=config(zone="Europe/Berlin"))
    assert problems == []
    assert posts[0].schedule == "2027-01-05T15:00:00+01:00"


def test_monthly_keeps_the_day_or_takes_the_months_last() -> None:
    text = "accounts: [x]\ncontent: 'Report {{ occurrence.date }}'\nschedule: '2027-01-31T10:00'\nrepeat: {every: 1mo, count: 4}\n"
    posts, _ = expand(text, cfg=config("400d"))
    assert ids(posts) == [
        "tips/weekly@2027-01-31",
        "tips/weekly@2027-02-28",
        "tips/weekly@2027-03-31",
        "tips/weekly@2027-04-30",
    ]


def test_count_counts_skipped_dates_and_a_skip_renumbers_nothing() -> None:
    base = WEEKLY.replace("every: 1w", "every: 1w\n  count: 4")
    posts, _ = expand(base)
    skipped, problems = expand(base.replace("count: 4", "count: 4\n  skip: [2027-01-12]"))
    assert problems == []
    assert ids(skipped) == [i for i in ids(posts) if not i.endswith("01-12")]
    # The others are exactly what they were: the same caption number, the same everything.
    assert [p for p in posts if p.id in ids(skipped)] == skipped


def test_until_is_inclusive() -> None:
    posts, _ = expand(WEEKLY.replace("every: 1w", "every: 1w\n  until: 2027-01-19"))
    assert ids(posts)[-1] == "tips/weekly@2027-01-19"


def test_variants_rotate_after_content() -> None:
    text = WEEKLY + "variants: ['Tip B {{ occurrence.index }}', 'Tip C']\n"
    posts, _ = expand(text, cfg=config("60d"))
    assert [p.content for p in posts[:5]] == [
        "Tip #{{ occurrence.number }}: commit small.",
        "Tip B {{ occurrence.index }}",
        "Tip C",
        "Tip #{{ occurrence.number }}: commit small.",
        "Tip B {{ occurrence.index }}",
    ]
    assert posts[0].occurrence is not None and posts[0].occurrence.variants == 2


def test_an_override_changes_one_occurrence_only() -> None:
    text = WEEKLY + (
        "overrides:\n  2027-01-12:\n    content: Holiday edition\n"
        "    media_urls: ['https://cdn.acme.com/a.png', 'https://cdn.acme.com/b.png']\n"
        "  2027-01-19: {draft: true}\n"
    )
    posts, problems = expand(text)
    assert problems == []
    by_id = {p.id: p for p in posts}
    assert by_id["tips/weekly@2027-01-12"].content == "Holiday edition"
    assert by_id["tips/weekly@2027-01-12"].media_urls == (
        "https://cdn.acme.com/a.png",
        "https://cdn.acme.com/b.png",
    )
    assert by_id["tips/weekly@2027-01-19"].draft is True
    others = [by_id["tips/weekly@2027-01-05"], by_id["tips/weekly@2027-01-26"]]
    assert all(p.content.startswith("Tip #") and not p.draft and not p.media_urls for p in others)


def problem_lines(text: str, **kwargs: object) -> list[str]:
    posts, problems = expand(text, **kwargs)  # type: ignore[arg-type]
    assert posts == [] or all(p.severity is Severity.WARNING for p in problems)
    return [p.format() for p in problems]


def test_repeat_without_a_schedule_is_an_error_at_repeat() -> None:
    assert problem_lines("accounts: [x]\ncontent: hi\nrepeat: {every: 1w}\n") == [
        "posts/tips/weekly.yaml:3:1: error: repeat needs a schedule: the date and time of the "
        "first occurrence (add 'schedule: 2027-01-12T09:00' (the first date; the time is kept "
        "for all))"
    ]


@pytest.mark.parametrize(
    ("every", "says"),
    [
        ("12h", "shorter than a day"),
        ("30m", "shorter than a day"),
        ("0d", "never moves on"),
        ("weekly", "is not an interval"),
        ("2y", "is not an interval"),
    ],
)
def test_a_bad_interval_is_an_error_at_every(every: str, says: str) -> None:
    [line] = problem_lines(WEEKLY.replace("every: 1w", f"every: {every}"))
    assert line.startswith("posts/tips/weekly.yaml:5:10: error: ")
    assert says in line and "'1d', '2w' or '1mo'" in line


def test_until_and_count_together_are_refused() -> None:
    [line] = problem_lines(
        WEEKLY.replace("every: 1w", "every: 1w\n  until: 2027-02-01\n  count: 3")
    )
    assert line.startswith("posts/tips/weekly.yaml:7:3: error: repeat has both 'until' and 'count'")


def test_until_before_the_first_occurrence_is_refused() -> None:
    [line] = problem_lines(WEEKLY.replace("every: 1w", "every: 1w\n  until: 2027-01-04"))
    assert line == (
        "posts/tips/weekly.yaml:6:10: error: repeat until 2027-01-04 is before the first "
        "occurrence, 2027-01-05 (move 'until' after the schedule, or the schedule before it)"
    )


def test_count_zero_is_refused_by_the_schema() -> None:
    document = load_document(WEEKLY.replace("every: 1w", "every: 1w\n  count: 0"), "p.yaml")
    [problem] = schema_diagnostics(document, "post.schema.json")
    assert (problem.line, problem.column) == (6, 10)


def test_a_skip_that_is_not_a_date_of_the_series_says_the_nearest() -> None:
    [line] = problem_lines(WEEKLY.replace("every: 1w", "every: 1w\n  skip: [2027-01-13]"))
    assert line == (
        "posts/tips/weekly.yaml:6:10: error: skip 2027-01-13 is not a date of this series "
        "(did you mean '2027-01-12'? the series starts 2027-01-05 and repeats every 1w)"
    )


def test_an_override_on_a_date_the_series_lacks_says_the_nearest() -> None:
    [line] = problem_lines(WEEKLY + "overrides:\n  2027-01-20: {content: Special}\n")
    assert line.startswith("posts/tips/weekly.yaml:7:3: error: override 2027-01-20 is not a date")
    assert "did you mean '2027-01-19'?" in line


def test_an_override_past_until_is_not_a_date_of_the_series() -> None:
    text = WEEKLY.replace("every: 1w", "every: 1w\n  until: 2027-01-12")
    [line] = problem_lines(text + "overrides:\n  2027-01-19: {content: Special}\n")
    assert "did you mean '2027-01-12'?" in line


def test_a_date_that_does_not_exist_is_an_error() -> None:
    [line] = problem_lines(WEEKLY.replace("every: 1w", "every: 1w\n  skip: [2027-02-30]"))
    assert "'2027-02-30' is not a calendar date" in line


def test_variants_without_repeat_are_refused() -> None:
    [line] = problem_lines("accounts: [x]\ncontent: hi\nvariants: [a, b]\n")
    assert line.startswith("posts/tips/weekly.yaml:3:1: error: 'variants' is for a recurring post")


def test_a_series_past_the_bound_is_refused_not_built() -> None:
    text = WEEKLY.replace('"2027-01-05T09:00"', '"1990-01-01T09:00"').replace("1w", "1d")
    [line] = problem_lines(text)
    assert f"more than {MAX_OCCURRENCES:,} occurrences" in line
    # Within the bound, a decade of daily posts is fine.
    text = WEEKLY.replace('"2027-01-05T09:00"', '"2017-01-01T09:00"').replace("1w", "1d")
    posts, problems = expand(text)
    assert problems == [] and 3650 < len(posts) < MAX_OCCURRENCES


nows = st.datetimes(
    min_value=datetime(2026, 6, 1), max_value=datetime(2029, 6, 1), timezones=st.just(timezone.utc)
)
zones = st.sampled_from(["UTC", "America/New_York", "Europe/Berlin", "Australia/Sydney"])
everies = st.sampled_from(["1d", "3d", "1w", "2w", "1mo", "3mo"])


@settings(max_examples=80, deadline=None)
@given(
    now=nows,
    later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
    zone=zones,
    every=everies,
)
def test_as_the_clock_moves_occurrences_only_appear_and_never_change(
    now: datetime, later: timedelta, zone: str, every: str
) -> None:
    text = (
        "accounts: [x]\ncontent: 'Tip {{ occurrence.number }}'\n"
        f"schedule: '2027-01-31T09:15'\ntimezone: {zone}\nrepeat: {{every: {every}, count: 40}}\n"
    )
    before, _ = expand(text, now=now)
    after, _ = expand(text, now=now + later)
    assert after[: len(before)] == before  # the same posts, the same ids, byte for byte
    for post in after:
        local = datetime.fromisoformat(post.schedule or "")
        assert post.id == f"tips/weekly@{local.date().isoformat()}"
        assert local.utcoffset() == local.astimezone(ZoneInfo(zone)).utcoffset()
        assert local <= now + later + timedelta(days=30)
        # 09:15 local on every date (no DST change falls at 09:15).
        assert (local.hour, local.minute) == (9, 15)
    dates = [date.fromisoformat(p.id.split("@")[1]) for p in after]
    assert dates == sorted(set(dates))


# --- through validate: templates, duplicate content, positions ----------------------------


def test_validate_renders_the_occurrence_variables(tmp_path: Path) -> None:
    content_repo(tmp_path, {"posts/tips.yaml": WEEKLY})
    report = validate_repo(tmp_path, NOW)
    assert report.diagnostics == ()
    captions = [(p.spec.id, p.payloads[0].content) for p in report.posts]
    assert captions[:2] == [
        ("tips@2027-01-05", "Tip #1: commit small."),
        ("tips@2027-01-12", "Tip #2: commit small."),
    ]


def test_the_same_caption_every_week_is_an_error_at_repeat(tmp_path: Path) -> None:
    text = WEEKLY.replace("Tip #{{ occurrence.number }}: commit small.", "Commit small.")
    content_repo(tmp_path, {"posts/tips.yaml": text})
    report = validate_repo(tmp_path, NOW)
    assert [d.format() for d in report.diagnostics] == [
        "posts/tips.yaml:4:1: error: occurrences 2027-01-05 and 2027-01-12 send the same caption "
        "and media to 'li': Orshot refuses duplicate content (add 'variants:' to rotate "
        "captions, or use {{ occurrence.date }} or {{ occurrence.number }} in the caption)",
        "posts/tips.yaml:4:1: error: occurrences 2027-01-05 and 2027-01-12 send the same caption "
        "and media to 'x': Orshot refuses duplicate content (add 'variants:' to rotate "
        "captions, or use {{ occurrence.date }} or {{ occurrence.number }} in the caption)",
    ]


def test_a_rotation_that_comes_round_again_is_a_warning(tmp_path: Path) -> None:
    text = WEEKLY.replace("Tip #{{ occurrence.number }}: commit small.", "Commit small.")
    content_repo(tmp_path, {"posts/tips.yaml": text + "variants: ['Say why.']\n"})
    report = validate_repo(tmp_path, NOW)
    assert report.errors == 0
    assert [(d.severity, d.code, d.line) for d in report.diagnostics] == [
        (Severity.WARNING, "repeat-duplicate", 4),
        (Severity.WARNING, "repeat-duplicate", 4),
    ]
    assert "2027-01-05 and 2027-01-19" in report.diagnostics[0].message


def test_an_override_that_makes_one_caption_unique_is_not_enough(tmp_path: Path) -> None:
    text = WEEKLY.replace("Tip #{{ occurrence.number }}: commit small.", "Commit small.")
    overrides = "overrides:\n  2027-01-05: {content: First}\n"
    content_repo(tmp_path, {"posts/tips.yaml": text + overrides})
    report = validate_repo(tmp_path, NOW)
    assert "2027-01-12 and 2027-01-19" in report.diagnostics[0].message


def test_validate_command_reports_a_bad_repeat_as_one_line_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content_repo(tmp_path, {"posts/tips.yaml": WEEKLY.replace("every: 1w", "every: 6h")})
    code = main(["validate", "--repo", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    [line] = [x for x in (out + err).splitlines() if "error" in x and "posts/tips.yaml" in x]
    assert line.startswith("posts/tips.yaml:5:10: error: repeat every '6h' is shorter than a day")


def test_a_repeat_beyond_the_horizon_is_still_a_duplicate(tmp_path: Path) -> None:
    """A monthly post inside a 30-day horizon has one occurrence at a time: the duplicate is
    found by looking at the series, not at what the horizon lets exist."""
    text = (
        "accounts: [x]\ncontent: 'Monthly report is out.'\n"
        "schedule: '2027-01-20T09:00'\nrepeat: {every: 1mo}\n"
    )
    content_repo(tmp_path, {"posts/report.yaml": text})
    report = validate_repo(tmp_path, NOW)
    assert [p.spec.id for p in report.posts] == ["report@2027-01-20"]
    assert [d.format() for d in report.diagnostics] == [
        "posts/report.yaml:4:1: error: occurrences 2027-01-20 and 2027-02-20 send the same "
        "caption and media to 'x': Orshot refuses duplicate content (add 'variants:' to rotate "
        "captions, or use {{ occurrence.date }} or {{ occurrence.number }} in the caption)"
    ]
    # A caption that names its month is a different post each time.
    fixed = text.replace("Monthly report is out.", "Report {{ occurrence.date[:7] }} is out.")
    content_repo(tmp_path, {"posts/report.yaml": fixed})
    assert validate_repo(tmp_path, NOW).diagnostics == ()


def test_a_post_file_named_like_an_occurrence_is_refused(tmp_path: Path) -> None:
    content_repo(
        tmp_path,
        {
            "posts/tips.yaml": WEEKLY,
            "posts/tips@2027-01-12.yaml": "accounts: [x]\ncontent: An impostor\n",
        },
    )
    report = validate_repo(tmp_path, NOW)
    assert [d.format() for d in report.diagnostics] == [
        "posts/tips@2027-01-12.yaml:1:1: error: post id 'tips@2027-01-12' is the id of an "
        "occurrence of a recurring post (<file id>@<date>) (rename the file: a name ending in "
        "@YYYY-MM-DD is kept for occurrences)"
    ]
    assert [p.spec.id for p in report.posts].count("tips@2027-01-12") == 1
    # Any other '@' is just a name.
    content_repo(tmp_path, {"posts/tips@2027-01-12.yaml": "accounts: [x]\ncontent: Hi\n"})
    (tmp_path / "posts/tips@2027-01-12.yaml").rename(tmp_path / "posts/@everyone.yaml")
    assert validate_repo(tmp_path, NOW).errors == 0


def test_the_first_schedule_is_checked_as_any_posts_is() -> None:
    """Its offset against `timezone:`, and the DST change: the series is built on it."""
    text = WEEKLY.replace('"2027-01-05T09:00"', '"2027-01-05T09:00:00+05:00"')
    [line] = problem_lines(text + "timezone: Europe/Berlin\n")
    assert line.startswith("posts/tips/weekly.yaml:3:11: error: ")
    assert "+05:00" in line
    skipped = WEEKLY.replace('"2027-01-05T09:00"', '"2027-03-14T02:30"')
    [line] = problem_lines(skipped + "timezone: America/New_York\n")
    assert "posts/tips/weekly.yaml:3:11: error: 2027-03-14T02:30 does not exist" in line
    repeated = WEEKLY.replace('"2027-01-05T09:00"', '"2027-11-07T01:30"')
    posts, problems = expand(repeated + "timezone: America/New_York\n", cfg=config("400d"))
    assert [(p.severity, p.code) for p in problems] == [(Severity.WARNING, "schedule-repeated")]
    assert posts[0].schedule == "2027-11-07T01:30:00-04:00"  # the first of the two, as any post
    assert posts[1].schedule == "2027-11-14T01:30:00-05:00"


def test_a_revision_bump_on_a_series_is_refused() -> None:
    [line] = problem_lines(WEEKLY + "revision: 2\n")
    assert line.startswith("posts/tips/weekly.yaml:6:1: error: a recurring post has no 'revision'")


@settings(max_examples=60, deadline=None)
@given(
    every=everies,
    skips=st.sets(st.integers(min_value=0, max_value=11), max_size=5),
    overridden=st.sets(st.integers(min_value=0, max_value=11), max_size=3),
)
def test_skips_and_overrides_touch_only_their_own_dates(
    every: str, skips: set[int], overridden: set[int]
) -> None:
    """Whatever is skipped or overridden, every other occurrence is exactly what it was."""
    base = (
        "accounts: [x]\ncontent: 'Tip {{ occurrence.number }}'\nvariants: ['B', 'C']\n"
        f"schedule: '2027-01-31T09:15'\ntimezone: Europe/Berlin\n"
        f"repeat: {{every: {every}, count: 12}}\n"
    )
    cfg = config("2000d")
    plain, _ = expand(base, cfg=cfg)
    assert len(plain) == 12
    dates = [p.id.split("@")[1] for p in plain]
    text = base.replace(
        "count: 12}", f"count: 12, skip: [{', '.join(dates[i] for i in sorted(skips))}]}}"
    )
    overridden -= skips  # an override of a skipped date is refused (below)
    if overridden:
        text += "overrides:\n" + "".join(
            f"  {dates[i]}: {{content: Special}}\n" for i in overridden
        )
    changed, problems = expand(text, cfg=cfg)
    assert problems == []
    by_id = {p.id: p for p in changed}
    for index, post in enumerate(plain):
        if index in skips:
            assert post.id not in by_id
        elif index in overridden:
            assert by_id[post.id].content == "Special"
            assert replace(by_id[post.id], content=post.content) == post
        else:
            assert by_id[post.id] == post


def test_an_override_of_a_skipped_date_is_refused() -> None:
    text = WEEKLY.replace("every: 1w", "every: 1w\n  skip: [2027-01-12]")
    [line] = problem_lines(text + "overrides:\n  2027-01-12: {content: Special}\n")
    assert line == (
        "posts/tips/weekly.yaml:8:3: error: override 2027-01-12 is a date this series skips: "
        "it would change nothing (remove 2027-01-12 from 'skip' to publish it, or drop the "
        "override)"
    )
