"""The pull-request comment: a week of posts day by day, safe whatever the captions say, cut
to GitHub's limit, and the same text for the same plan."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from orshot_gitops.github.api import MARKER, comment_body
from orshot_gitops.reconcile.plan import Action, Kind, Plan
from orshot_gitops.report import markdown as md
from orshot_gitops.report.plan import as_markdown

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def action(post_id: str, account: str = "acme-x", **fields: Any) -> Action:
    values: dict[str, Any] = {
        "post_id": post_id,
        "path": f"posts/{post_id}.yaml",
        "account": account,
        "account_id": 1,
        "platform": "twitter",
        "kind": Kind.CREATE,
        "reason": "new: publish now",
        "mode": "publish",
        "content": "Hello",
        "caption_length": 5,
        "caption_limit": 280,
    }
    values.update(fields)
    return Action(**values)


def plan_of(*actions: Action, **fields: Any) -> Plan:
    return Plan(
        head="0123456789abcdef",
        base_commit=None,
        state_lineage="l",
        state_serial=1,
        created_at=NOW.isoformat(),
        actions=tuple(actions),
        **fields,
    )


def outside_fences(markdown: str) -> str:
    """The text GitHub renders as Markdown (fenced blocks removed)."""
    kept, fence = [], ""
    for line in markdown.splitlines():
        match = re.match(r"^(`{3,})", line)
        if fence:
            if line.strip() == fence:
                fence = ""
            continue
        if match:
            fence = match.group(1)
            continue
        kept.append(line)
    assert not fence, "a fence was left open"
    # Inline code is literal too: drop each span (a run of N backticks up to the next run of N).
    text = "\n".join(kept)
    return re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "<code>", text)


HOSTILE = (
    "Thanks @octocat and @acme/team! See #12 and acme/other#3\n"
    "</details><script>alert(1)</script> <img src=x onerror=alert(1)>\n"
    "```\n# escaped heading\n````\n[click](javascript:alert(1))\n"
)


def test_hostile_captions_are_shown_exactly_inside_a_fence_that_cannot_close() -> None:
    plan = plan_of(action("launch", content=HOSTILE))
    text = as_markdown(plan, NOW)
    fenced = text.split("`````text\n", 1)[1].split("\n`````\n", 1)[0]
    assert fenced == HOSTILE.rstrip("\n")  # the exact caption, byte for byte
    rendered = outside_fences(text)
    assert "@octocat" not in rendered and "<script" not in rendered
    assert "</details>" not in rendered and "javascript:" not in rendered


def test_untrusted_text_outside_fences_cannot_ping_link_or_inject() -> None:
    hostile_id = "launch`|<b>@team</b>"
    plan = plan_of(
        action(
            hostile_id,
            kind=Kind.RETRY,
            reason="failed before: <script>x</script> @octocat #4 [x](http://e)",
            media_urls=(
                "https://cdn.example/a.png",
                "javascript:alert(1)",
                "https://x.example/<b>",
            ),
            render={"template": "1`2", "format": "png", "modifications": {"t": "@me ```"}},
        )
    )
    text = as_markdown(plan, NOW)
    rendered = outside_fences(text)
    assert "<script" not in rendered and "<b>" not in rendered
    assert not re.search(r"@(octocat|team|me)\b", rendered)
    assert not re.search(r"(?<!\\)#4\b", rendered.replace("#" + md.ZWSP, ""))
    assert "<javascript:" not in rendered and "](http://e)" not in rendered.replace("\\]", "")
    assert "<https://cdn.example/a.png>" in rendered
    assert "2. `javascript:alert(1)`" in text and "3. `https://x.example/<b>`" in text


def test_a_week_of_posts_is_grouped_by_day_with_local_and_utc_times() -> None:
    def scheduled(post_id: str, when: str, zone: str = "America/New_York") -> Action:
        return action(post_id, mode="schedule", scheduled_for=when, timezone=zone)

    plan = plan_of(
        scheduled("tue", "2026-12-01T14:00:00+00:00"),
        scheduled("mon-late", "2026-12-01T03:30:00+00:00"),  # Monday evening in New York
        scheduled("berlin", "2026-12-04T08:00:00+00:00", "Europe/Berlin"),
        action("now"),
        action("draft", mode="draft", reason="new: create as a draft"),
    )
    text = as_markdown(plan, NOW)
    headings = [line for line in text.splitlines() if line.startswith("#### ")]
    assert headings == [
        "#### 🚀 On merge",
        "#### 📅 Monday 30 November 2026 · today",
        "#### 📅 Tuesday 01 December 2026 · tomorrow",
        "#### 📅 Friday 04 December 2026",
        "#### 📝 Drafts (kept in Orshot, not published)",
    ]
    assert (
        "Mon 2026-11-30 22:30 EST (America/New\\_York) · Tue 2026-12-01 03:30 UTC · in 15 h 30 min"
        in text
    )
    assert (
        "Fri 2026-12-04 09:00 CET (Europe/Berlin) · Fri 2026-12-04 08:00 UTC · in 3 days 20 h"
        in text
    )
    assert as_markdown(plan, NOW) == text  # deterministic


def test_each_account_shows_its_length_against_its_limit_and_overflows_are_flagged() -> None:
    plan = plan_of(
        action("long", content="x" * 300, caption_length=300, caption_limit=280),
        action(
            "long",
            "acme-li",
            platform="linkedin",
            content="x" * 300,
            caption_length=300,
            caption_limit=3000,
        ),
    )
    text = as_markdown(plan, NOW)
    assert (
        "`acme-x` (X/Twitter, 300 / 280 ❌ 20 over), `acme-li` (LinkedIn, 300 / 3,000)"
        in text.replace(
            "**Caption** for `acme-li` (LinkedIn, 300 / 3,000), `acme-x` (X/Twitter, 300 / 280 ❌ 20 over)",
            "`acme-x` (X/Twitter, 300 / 280 ❌ 20 over), `acme-li` (LinkedIn, 300 / 3,000)",
        )
    )
    assert (
        "> ❌ `acme-x`: the caption is 300 characters as X/Twitter counts them; the limit is 280"
        in text
    )


def test_every_kind_of_change_has_a_label_and_warnings_are_quoted() -> None:
    plan = plan_of(
        action(
            "a",
            kind=Kind.CHANGED_AFTER_PUBLISH,
            severity="warning",
            reason="changed after it was published",
        ),
        action("b", kind=Kind.SETTLE, severity="warning", reason="confirm with Orshot first"),
        action("c", kind=Kind.REMOVED, content=None, reason="removed from the repository"),
        action("d", content="hi\u202eevil"),
    )
    text = as_markdown(plan, NOW)
    for label in ("⚠️ changed after publish", "❓ unknown: confirm first", "➖ removed"):
        assert label in text
    assert "> ⚠️ `acme-x`: changed after it was published" in text
    assert "invisible characters (U+202E)" in text


def test_a_comment_over_githubs_limit_is_cut_between_posts_with_a_note() -> None:
    actions = [action(f"post-{n:03}", content=f"{n} " + "y" * 2000) for n in range(60)]
    text = as_markdown(plan_of(*actions), NOW, max_chars=md.GITHUB_COMMENT_LIMIT - len(MARKER) - 1)
    body = comment_body(text)
    assert len(body) <= md.GITHUB_COMMENT_LIMIT
    assert "more section(s) not shown" in body and "65,536-character limit" in body
    outside_fences(body)  # no fence left open by the cut
    assert body.rstrip().endswith("by orshot-gitops</sub>")


def test_errors_and_pause_come_first() -> None:
    from orshot_gitops.errors import Diagnostic, Severity

    bad = Diagnostic("posts/bad.yaml", 3, 1, Severity.ERROR, "x", "undefined variable 'm' @you")
    text = as_markdown(plan_of(action("a"), diagnostics=(bad,), paused=True), NOW)
    assert text.index("error(s)") < text.index("Paused") < text.index("| when |")
    assert "`posts/bad.yaml:3` undefined variable 'm' @\u200byou" in text


def test_a_hostile_media_url_never_becomes_an_image_or_a_link() -> None:
    hostile = (
        "javascript:alert(1)//x.png",
        "data:image/png;base64,iVBORw0KGgo=",
        'https://x.example/a.png" onerror="alert(1)',
        "https://x.example/a b.png",
        "https://x.example/a).png",
        "https://x.example/<b>.png",
        "https://x.example/a'.png",
        "ftp://x.example/a.png",
    )
    text = as_markdown(
        plan_of(action("launch", media_urls=("https://ok.example/a.png", *hostile))), NOW
    )
    images = re.findall(r"<img [^>]*>", text)
    assert images == ['<img src="https://ok.example/a.png" alt="1 of 9" width="160">']
    rendered = outside_fences(text)
    assert "onerror" not in rendered and "javascript:" not in rendered and "data:" not in rendered
    assert "<https://x.example/a b.png>" not in text and "<ftp:" not in text


def test_a_long_carousel_wraps_its_thumbnails_in_rows_of_five_in_order() -> None:
    urls = (*(f"https://cdn.example/{n}.jpg" for n in range(1, 8)), "https://cdn.example/v.mp4")
    text = as_markdown(plan_of(action("carousel", media_urls=urls)), NOW)
    assert "| 1 | 2 | 3 | 4 | 5 |\n| :-: | :-: | :-: | :-: | :-: |\n" in text
    assert "| 6 | 7 | 8 |\n| :-: | :-: | :-: |\n" in text
    alts = re.findall(r'<img src="https://cdn.example/(\d).jpg" alt="(\d) of 8"', text)
    assert alts == [(str(n), str(n)) for n in range(1, 8)]
    assert "| video (mp4) |" in text and "8. <https://cdn.example/v.mp4> · video (mp4)" in text
