"""Queue slots, the pure part: `queues:` in orshot.yaml read (each mistake one error at its
line) and the assignment (reconcile/slots.py) given queues, taken times and asks: first free
slot, max_per_slot, stagger, jitter, deny windows, spacing, DST, and the same answer always.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from orshot_gitops.cli import main
from orshot_gitops.content.load import load_config
from orshot_gitops.content.queues import Queue, parse_slot
from orshot_gitops.content.schedule_checks import SAFE_LEAD
from orshot_gitops.reconcile.queueplan import taken_times
from orshot_gitops.reconcile.slots import Ask, assign, jitter_for
from orshot_gitops.state.layout import StoredPosts
from orshot_gitops.state.model import AccountState, AccountStatus, PostState, State
from orshot_gitops.state.posts import tally_of

UTC = timezone.utc
NY = ZoneInfo("America/New_York")

BASE = """\
accounts:
  x: {id: 1, platform: twitter}
  li: {id: 2, platform: linkedin}
  fb: {id: 4, platform: facebook}
timezone: UTC
"""


def queue(*slots: str, zone: str = "UTC", **fields: object) -> Queue:
    parsed = tuple(s for s in (parse_slot(t) for t in slots) if s is not None)
    assert len(parsed) == len(slots)
    return Queue(0, ("*",), parsed, zone, **fields)  # type: ignore[arg-type]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- orshot.yaml ---------------------------------------------------------------------------


def config_errors(tmp_path: Path, queues: str) -> list[str]:
    (tmp_path / "orshot.yaml").write_text(BASE + queues, encoding="utf-8")
    config, problems = load_config(tmp_path)
    assert config is not None
    return [p.format() for p in problems]


def test_a_valid_queue_is_read_with_its_defaults(tmp_path: Path) -> None:
    (tmp_path / "orshot.yaml").write_text(
        BASE
        + "queues:\n"
        + '  - accounts: [x, linkedin]\n    slots: ["Mon-Fri 09:30", "Sat 11:00"]\n'
        + "    timezone: America/New_York\n    jitter: 10m\n    stagger: {li: +2h}\n"
        + '  - accounts: ["*"]\n    slots: ["daily 08:00"]\n    max_per_slot: 3\n',
        encoding="utf-8",
    )
    config, problems = load_config(tmp_path)
    assert problems == [] and config is not None
    first, second = config.queues
    assert first.slots[0].days == frozenset(range(5)) and first.slots[1].days == {5}
    assert first.stagger == {"li": timedelta(hours=2)} and first.jitter == timedelta(minutes=10)
    assert second.timezone == "UTC" and second.max_per_slot == 3
    # An alias beats a platform, which beats "*".
    assert config.queue_for("x") is first and config.queue_for("li") is first
    assert config.queue_for("fb") is second


@pytest.mark.parametrize(
    ("queues", "expected"),
    [
        (
            '  - accounts: [x]\n    slot: ["09:30"]\n',
            "orshot.yaml:8:5: error: queue 1: unknown key 'slot'\n  hint: did you mean 'slots'?",
        ),
        (
            '  - accounts: [x]\n    slots: ["Mon-Fri 9h30"]\n',
            "orshot.yaml:8:13: error: queue 1: cannot read the slot 'Mon-Fri 9h30'",
        ),
        (
            '  - accounts: [lii]\n    slots: ["09:30"]\n',
            "orshot.yaml:7:16: error: queue 1: 'lii' is neither an account alias nor a platform"
            "\n  hint: did you mean 'li'?",
        ),
        (
            '  - accounts: [x]\n    slots: ["09:30"]\n  - accounts: [li, x]\n    slots: ["10:00"]\n',
            "orshot.yaml:9:20: error: 'x' is in queue 1 and queue 2: an account takes its "
            "slots from one queue",
        ),
        (
            '  - accounts: [x]\n    slots: ["09:30"]\n    stagger: {lk: +2h}\n',
            "orshot.yaml:9:15: error: queue 1: stagger names 'lk', which is not an account of "
            "this queue",
        ),
        (
            '  - accounts: [x]\n    slots: ["09:30"]\n    jitter: 2h\n',
            "orshot.yaml:9:13: error: queue 1: jitter '2h' is not a duration of at most 1h",
        ),
        (
            '  - accounts: [x]\n    slots: ["09:30"]\n    max_per_slot: 0\n',
            "orshot.yaml:9:19: error: queue 1: max_per_slot must be a whole number",
        ),
        (
            '  - accounts: [x]\n    slots: ["09:30"]\n    timezone: Europe/Berln\n',
            "orshot.yaml:9:15: error: queue 1: unknown timezone 'Europe/Berln'",
        ),
    ],
)
def test_each_queue_mistake_is_one_error_at_its_line(
    tmp_path: Path, queues: str, expected: str
) -> None:
    errors = config_errors(tmp_path, "queues:\n" + queues)
    assert len(errors) == 1, errors
    message, _, hint = expected.partition("\n  hint: ")
    assert errors[0].startswith(message), errors[0]
    assert "\n" not in errors[0] and hint in errors[0]


def test_validate_refuses_a_queued_post_whose_account_has_no_queue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "orshot.yaml").write_text(
        BASE + 'queues:\n  - accounts: [x]\n    slots: ["09:30"]\n', encoding="utf-8"
    )
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "tip.yaml").write_text(
        "accounts: [x, li]\ncontent: A tip.\nschedule: next\n", encoding="utf-8"
    )
    code = main(["validate", "--repo", str(tmp_path)])
    out = capsys.readouterr()
    text = out.out + out.err
    assert code == 1
    assert "posts/tip.yaml:1:15: error: schedule: next, but account 'li' has no queue" in text
    assert "Traceback" not in text
    # The other account, the one with a queue, is not an error.
    assert "account 'x'" not in text


def test_a_bad_after_is_an_error_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "orshot.yaml").write_text(
        BASE + 'queues:\n  - accounts: ["*"]\n    slots: ["09:30"]\n', encoding="utf-8"
    )
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "tip.yaml").write_text(
        "accounts: [x]\ncontent: A tip.\nschedule: {after: next week}\n", encoding="utf-8"
    )
    assert main(["validate", "--repo", str(tmp_path)]) == 1
    text = "".join(capsys.readouterr())
    assert "posts/tip.yaml:3:19: error: after: 'next week' is neither a date" in text


# --- assignment ----------------------------------------------------------------------------

NOW = at("2027-01-04T08:00")  # a Monday


def test_first_free_slot_after_now_then_the_next_ones_in_post_id_order() -> None:
    q = queue("Mon-Fri 09:30", "Mon-Fri 15:00")
    asks = [Ask("b", "x"), Ask("a", "x"), Ask("c", "x")]
    got = assign({"x": q}, asks, {}, NOW)
    assert got[Ask("a", "x")] == at("2027-01-04T09:30")
    assert got[Ask("b", "x")] == at("2027-01-04T15:00")
    assert got[Ask("c", "x")] == at("2027-01-05T09:30")
    # Same inputs, same answer, whatever order the asks come in.
    assert assign({"x": q}, list(reversed(asks)), {}, NOW) == got


def test_a_slot_too_close_to_now_is_skipped() -> None:
    q = queue("daily 09:30", "daily 12:00")
    now = at("2027-01-04T09:30") - SAFE_LEAD + timedelta(seconds=1)
    assert assign({"x": q}, [Ask("a", "x")], {}, now)[Ask("a", "x")] == at("2027-01-04T12:00")


def test_taken_times_and_max_per_slot() -> None:
    q = queue("daily 09:30", max_per_slot=2)
    taken = {"x": [at("2027-01-04T09:30")]}
    got = assign({"x": q}, [Ask("a", "x"), Ask("b", "x"), Ask("c", "x")], taken, NOW)
    assert [got[Ask(p, "x")] for p in "abc"] == [
        at("2027-01-04T09:30"),
        at("2027-01-05T09:30"),
        at("2027-01-05T09:30"),
    ]
    # A time beside a slot (09:45) does not occupy it.
    got = assign({"x": queue("daily 09:30")}, [Ask("a", "x")], {"x": [at("2027-01-04T09:45")]}, NOW)
    assert got[Ask("a", "x")] == at("2027-01-04T09:30")


def test_accounts_fill_independently_and_stagger_shifts_one() -> None:
    q = queue("daily 09:30", stagger={"li": timedelta(hours=2)})
    taken = {"x": [at("2027-01-04T09:30")], "li": []}
    got = assign({"x": q, "li": q}, [Ask("a", "x"), Ask("a", "li")], taken, NOW)
    assert got[Ask("a", "x")] == at("2027-01-05T09:30")
    assert got[Ask("a", "li")] == at("2027-01-04T11:30")


def test_a_negative_stagger_can_land_on_the_day_before() -> None:
    q = queue("Tue 01:00", stagger={"x": -timedelta(hours=2)})
    assert assign({"x": q}, [Ask("a", "x")], {}, NOW)[Ask("a", "x")] == at("2027-01-04T23:00")


def test_after_is_respected() -> None:
    q = queue("daily 09:30")
    ask = Ask("a", "x", at("2027-02-01T00:00"))
    assert assign({"x": q}, [ask], {}, NOW)[ask] == at("2027-02-01T09:30")


def test_jitter_is_derived_from_the_post_never_random() -> None:
    q = queue("daily 09:30", jitter=timedelta(minutes=10))
    asks = [Ask(f"tip-{n}", "x") for n in range(30)]
    first = assign({"x": q}, asks, {}, NOW)
    assert assign({"x": q}, asks, {}, NOW) == first
    offsets = {(t - t.replace(hour=9, minute=30)) for t in first.values() if t is not None}
    assert all(timedelta(0) <= o <= timedelta(minutes=10) for o in offsets)
    assert len(offsets) > 3  # spread, not one fixed offset
    assert first[Ask("tip-0", "x")] == at("2027-01-04T09:30") + jitter_for(
        "tip-0", "x", timedelta(minutes=10)
    )
    # A jittered time still occupies its slot.
    again = assign({"x": q}, [Ask("z", "x")], {"x": [first[Ask("tip-0", "x")]]}, NOW)  # type: ignore[list-item]
    assert again[Ask("z", "x")] is not None and again[Ask("z", "x")] >= at("2027-01-05T09:30")  # type: ignore[operator]


def test_a_slot_inside_a_deny_window_or_too_close_to_a_post_is_skipped() -> None:
    q = queue("daily 09:30", "daily 10:00")
    monday = at("2027-01-04T00:00")

    def holiday(ask: Ask, moment: datetime) -> bool:
        return ask.alias == "x" and moment.date() == monday.date()

    got = assign({"x": q, "li": q}, [Ask("a", "x"), Ask("a", "li")], {}, NOW, blocked=holiday)
    assert got[Ask("a", "x")] == at("2027-01-05T09:30")
    assert got[Ask("a", "li")] == at("2027-01-04T09:30")
    # min_spacing 1h: 09:30 taken, so 10:00 is too close; next day.
    got = assign(
        {"x": q},
        [Ask("a", "x"), Ask("b", "x")],
        {},
        NOW,
        spacing={"x": timedelta(hours=1)},
    )
    assert got[Ask("a", "x")] == at("2027-01-04T09:30")
    assert got[Ask("b", "x")] == at("2027-01-05T09:30")


def test_no_free_slot_is_none_not_a_loop() -> None:
    q = queue("daily 09:30")
    got = assign({"x": q}, [Ask("a", "x")], {}, NOW, blocked=lambda ask, moment: True)
    assert got[Ask("a", "x")] is None


def test_dst_week_keeps_the_wall_clock_time() -> None:
    """New York moves its clocks on Sunday 2027-03-14: 09:30 stays 09:30 in New York, so the
    UTC time moves an hour; 02:30 does not exist that Sunday and that slot is skipped."""
    q = queue("Mon-Fri 09:30", zone="America/New_York")
    now = datetime(2027, 3, 12, 8, 0, tzinfo=NY)
    got = assign({"x": q}, [Ask("a", "x"), Ask("b", "x")], {}, now)
    assert got[Ask("a", "x")] == at("2027-03-12T14:30")  # Friday, EST (UTC-5)
    assert got[Ask("b", "x")] == at("2027-03-15T13:30")  # Monday, EDT (UTC-4)
    gap = queue("daily 02:30", zone="America/New_York")
    now = datetime(2027, 3, 13, 12, 0, tzinfo=NY)
    got = assign({"x": gap}, [Ask("a", "x")], {}, now)
    assert got[Ask("a", "x")] == datetime(2027, 3, 15, 2, 30, tzinfo=NY)
    # Autumn: 01:30 happens twice on 2027-11-07; the slot is the first (EDT).
    twice = queue("daily 01:30", zone="America/New_York")
    now = datetime(2027, 11, 7, 0, 0, tzinfo=NY)
    got = assign({"x": twice}, [Ask("a", "x")], {}, now)
    assert got[Ask("a", "x")] == at("2027-11-07T05:30")


def test_many_asks_cost_in_proportion_to_the_queue() -> None:
    """500 asks on one account: the frontier keeps each ask from rescanning the full slots."""
    import time

    q = queue("Mon-Fri 09:30")
    asks = [Ask(f"p{n:04d}", "x") for n in range(500)]
    started = time.perf_counter()
    got = assign({"x": q}, asks, {}, NOW)
    elapsed = time.perf_counter() - started
    times = [got[a] for a in sorted(asks)]
    assert len(set(times)) == 500 and times == sorted(times)  # type: ignore[type-var]
    assert elapsed < 1.0, elapsed


# --- cost: the state's history is not read ------------------------------------------------


def history_state(weeks: int, ahead: int, reads: list[str]) -> State:
    """A state with `weeks` of published posts on x and li (5 a week) and `ahead` posts
    scheduled on x in the coming days, stored as a v2 state is: each post read when first
    looked up, each read noted in `reads`."""
    posts: dict[str, PostState] = {}
    start = NOW - timedelta(weeks=weeks)
    for n in range(weeks * 5):
        when = (start + timedelta(days=n * 7 // 5)).isoformat()
        records = {
            alias: AccountState(
                account_id=i + 1,
                fingerprint="f" * 64,
                revision=1,
                status=AccountStatus.PUBLISHED,
                post_id=1000 + n,
                scheduled_for=when,
            )
            for i, alias in enumerate(("x", "li"))
        }
        posts[f"old/{n:05d}"] = PostState(f"posts/old/{n:05d}.yaml", 1, accounts=records)
    for n in range(ahead):
        when = (NOW + timedelta(days=n)).replace(hour=9, minute=30).isoformat()
        record = AccountState(
            account_id=1,
            fingerprint="f" * 64,
            revision=1,
            status=AccountStatus.SCHEDULED,
            post_id=5000 + n,
            scheduled_for=when,
        )
        posts[f"ahead/{n:03d}"] = PostState(f"posts/ahead/{n:03d}.yaml", 1, accounts={"x": record})

    def read(post_id: str) -> PostState:
        reads.append(post_id)
        return posts[post_id]

    stored = StoredPosts("/nowhere", frozenset(posts), read, tally_of(posts))
    return State(lineage="l", serial=1, posts=stored)


def test_the_taken_times_are_found_without_reading_the_published_history() -> None:
    reads: list[str] = []
    state = history_state(weeks=104, ahead=3, reads=reads)
    taken = taken_times(state, {"x", "li"}, NOW, [], {}, {})
    assert taken["x"] == [(NOW + timedelta(days=n)).replace(hour=9, minute=30) for n in range(3)]
    assert taken["li"] == []
    assert sorted(reads) == [f"ahead/{n:03d}" for n in range(3)]  # 520 published: unread


# --- a pull request trying to break it ----------------------------------------------------


def test_durations_too_large_for_a_date_are_errors_not_crashes(tmp_path: Path) -> None:
    errors = config_errors(
        tmp_path,
        'queues:\n  - accounts: [x]\n    slots: ["09:30"]\n    jitter: 99999999999d\n'
        "    stagger: {x: +99999999999d}\n",
    )
    assert len(errors) == 1 and "jitter '99999999999d' is not a duration" in errors[0]
    errors = config_errors(
        tmp_path,
        'queues:\n  - accounts: [x]\n    slots: ["09:30"]\n    stagger: {x: +99999999999d}\n',
    )
    assert len(errors) == 1 and "is not a shift of less than a day" in errors[0]


@pytest.mark.parametrize("after", ["9999-12-31", "9999-12-31T23:59"])
def test_an_after_at_the_end_of_the_calendar_is_an_error_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], after: str
) -> None:
    import subprocess

    (tmp_path / "orshot.yaml").write_text(
        BASE.replace("timezone: UTC", "timezone: America/New_York")
        + 'queues:\n  - accounts: ["*"]\n    slots: ["daily 23:30"]\n',
        encoding="utf-8",
    )
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "tip.yaml").write_text(
        f"accounts: [x]\ncontent: A tip.\nschedule: {{after: '{after}'}}\n", encoding="utf-8"
    )
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "c"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True)
    code = main(["plan", "--repo", str(tmp_path)])
    text = "".join(capsys.readouterr())
    assert code == 1, text
    assert "Traceback" not in text
    assert "posts/tip.yaml:3:" in text
