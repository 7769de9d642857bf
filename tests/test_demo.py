"""The demo a newcomer runs first: it publishes through the sandbox, never twice, and exits 0."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path

import httpx
import pytest

from orshot_gitops import demo
from orshot_gitops.cli import main
from orshot_gitops.sandbox import SandboxConfig, SandboxServer


def test_demo_publishes_once_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 0
    captured = capsys.readouterr()
    out = captured.out
    # The examples' dates as the demo's copy has them (moved on once they have passed).
    examples = tmp_path / "examples"
    shutil.copytree(demo.examples_dir(), examples)
    weeks = demo.shift_examples(examples, date.today())

    def on(day: str) -> str:
        return demo.shift_dates(day, weeks)

    assert "published" in out
    # The example's approvals cannot be checked without GitHub: held, listed, then released
    # by the repository's own commit, and sent once.
    assert "held: 2026/12/hiring → acme-linkedin awaiting approval: approvals[0]" in out
    assert "2026/12/hiring → acme-linkedin          awaiting-approval" in out
    assert "## 3c. Apply again: the held posts go out, once" in out
    assert "Plan: 1 publish-draft; 31 unchanged." in out
    # The Studio post's image is rendered once, for review, and published as reviewed.
    assert "apply will spend 0 render credits; 4 reviewed previews published as is" in out
    assert "using the reviewed render preview of 2026/12/studio-render" in out + captured.err
    # The edit of a scheduled post is reviewed as what changes, then made in place.
    assert "closes at [-14:00-]{+13:00+} on December 24th" in out
    assert re.search(
        rf"time: Thu {on('2027-12-23')} 09:00 CES?T \(Europe/Berlin\) → "
        rf"Wed {on('2027-12-22')} 09:00 CES?T \(Europe/Berlin\)",
        out,
    )
    # The weekly tip: one post per date in the horizon, the skipped week left out.
    assert re.search(rf"evergreen/weekly-tip@{on('2027-02-04')} → acme-x +scheduled", out)
    assert f"weekly-tip@{on('2027-01-28')}" not in out
    assert f"The content repository is {tmp_path / 'demo' / 'content'}" in out
    # The queued posts (examples/posts/queue/) are shown on their slots, tentative until merged.
    assert re.search(rf"queue/tip-checklist → acme-x +scheduled  {on('2027-12-01')} 1[34]:", out)
    assert "(queue slot: tentative until merged)" in out

    # The sandbox's posts log survives the demo: read it back as ground truth.
    with SandboxServer(
        data_dir=tmp_path / "demo" / "sandbox-data", config=SandboxConfig.default()
    ) as server:
        posts = httpx.get(
            f"{server.base_url}/_sandbox/posts",
            headers={"Authorization": f"Bearer {server.api_key}"},
            timeout=30,
        ).json()["data"]
    sent = Counter(
        (post["request"].get("content"), platform["account_id"])
        for post in posts
        for platform in post["platforms"]
        if platform["status"] not in ("drafted", "draft")
    )
    assert sent, "the demo published nothing"
    assert [key for key, count in sent.items() if count > 1] == []
    # every (post, account) of examples/, once: the batch's 3 rows on 2 accounts among them,
    # and examples/brands/zen's 3 with zen's key
    assert sum(sent.values()) == 32 + 3
    assert (
        sum(1 for content, _ in sent if content.startswith(("Pocket Rocket:", "Launch Pad"))) == 4
    )
    assert "== brands/zen ==" in out


def test_demo_ends_by_writing_its_preview_site(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    index = tmp_path / "demo" / "preview" / "index.html"
    assert index.is_file()
    assert f"open {index}" in out
    # The site is the demo's repository after its runs: every post, each live one marked so.
    assert (tmp_path / "demo" / "preview" / "calendar.ics").is_file()
    assert len(list(index.parent.glob("post-*.html"))) == 17  # a page per batch row too


@pytest.mark.parametrize("today", [date(2026, 12, 5), date(2027, 3, 1), date(2027, 8, 2)])
def test_the_demos_copy_of_the_examples_is_ahead_of_the_clock_on_any_day(
    tmp_path: Path, today: date
) -> None:
    """The examples are dated around their writing; the demo's copy moves them by whole
    weeks, so on a later day it still shows posts going out, not "schedule has passed"."""
    from orshot_gitops.content.validate import validate_repo

    copy = tmp_path / "content"
    shutil.copytree(demo.examples_dir(), copy, ignore=shutil.ignore_patterns("workflows"))
    weeks = demo.shift_examples(copy, today)
    assert (weeks == 0) is (today == date(2026, 12, 5))
    noon = datetime(today.year, today.month, today.day, 12, tzinfo=timezone.utc)
    for root in (copy, copy / "brands" / "zen"):
        problems = validate_repo(root, noon).diagnostics
        assert [str(p) for p in problems if p.severity.value == "error"] == []
    hours = (copy / "posts/2026/12/holiday-hours.yaml").read_text(encoding="utf-8")
    assert demo.shift_dates("2027-12-23T09:00", weeks) in hours
