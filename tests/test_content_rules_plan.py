"""Content rules in the plan and in apply, with real git, real pushes and the sandbox: its
Posts Log is what went out.

- a rule's violation is in the plan (text, JSON, the pull-request comment) and stops apply;
- `min_spacing` is checked against what the state records, not only the files that changed;
- a post with no schedule merged inside a deny window is held, not sent and not lost: the
  reconciled commit stays behind it, and the first run after the window sends it, once.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from reconcile_helpers import CONFIG, Workspace, actions, post_yaml
from test_reconcile_claims import Clock, client_for

from orshot_gitops.reconcile.planner import make_plan
from orshot_gitops.reconcile.runner import ApplyOptions, run_apply
from orshot_gitops.vcs.gitrepo import open_repo

RULES = """\
rules:
  - name: no-hype
    accounts: [linkedin]
    banned: [guaranteed]
    override: ["@acme/legal"]
  - name: spacing
    accounts: [x]
    min_spacing: 2h
  - name: quiet-hours
    accounts: [x]
    deny_windows: ["daily 22:00-07:00"]
"""


def _later(days: int, hour: int) -> str:
    """A schedule `days` from now at `hour`:00 UTC, as a post file writes it."""
    day = datetime.now(timezone.utc) + timedelta(days=days)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_overridable_violation_is_in_every_plan_format_and_held_by_apply(
    ws: Workspace,
) -> None:
    """A `deny` with `override:` is no error that stops every post: the plan says whose
    approval lifts it, carries it for apply, and apply holds that one send until then (no
    GitHub here: nothing can lift it, so it stays held; test_approvals.py has the review)."""
    ws.set_config(CONFIG + RULES)
    # Facebook, not X: X has quiet hours in these rules, and this test runs at any hour.
    ws.post("launch", post_yaml("Success guaranteed!", accounts=("fb", "li")))
    expected = (
        "posts/launch.yaml:3:11: warning: 'guaranteed' is banned (on li): denied by rule "
        "'no-hype' (held until approved by @acme/legal) (reword the caption)"
    )
    text = ws.plan()
    assert text.code == 0 and expected in text.output
    data = ws.plan_json()
    assert [d["message"] for d in data["diagnostics"]] == [
        "'guaranteed' is banned (on li): denied by rule 'no-hype' (held until approved by @acme/legal)"
    ]
    assert (data["diagnostics"][0]["line"], data["diagnostics"][0]["column"]) == (3, 11)
    assert data["overrides"] == [["launch", "li", "no-hype", ["@acme/legal"]]]
    markdown = ws.plan("--format", "markdown").output
    # The comment names the line, and does not ping the team it names (a zero-width space).
    assert (
        "- `posts/launch.yaml:3` 'guaranteed' is banned (on li): denied by rule 'no-hype' (held until approved by @\u200bacme/legal)"
        in markdown
    )
    run = ws.apply()
    assert run.code == 0, run.output
    assert [a for s in ws.sent() for a in s["request"]["accounts"]] == [4]
    assert ws.state()["awaiting_approval"] == {
        "launch": {
            "li": [
                "the override of rule 'no-hype' for launch (@acme/legal): cannot be checked "
                "without GitHub"
            ]
        }
    }
    # Held, not lost: the next run plans it again, and still holds it.
    assert ws.apply().code == 0
    assert len(ws.sent()) == 1


def test_a_violation_no_one_may_approve_stops_apply(ws: Workspace) -> None:
    ws.set_config(
        CONFIG + "rules:\n  - name: strict\n    accounts: [linkedin]\n    banned: [guaranteed]\n"
    )
    ws.post("launch", post_yaml("Success guaranteed!", accounts=("x", "li")))
    expected = (
        "posts/launch.yaml:3:11: error: 'guaranteed' is banned (on li): denied by rule "
        "'strict' (reword the caption)"
    )
    text = ws.plan()
    assert text.code == 1 and expected in text.output
    assert ws.apply().code == 1
    assert ws.sent() == []


def test_spacing_is_checked_against_what_the_state_records(ws: Workspace) -> None:
    ws.set_config(CONFIG + RULES)
    ws.post("first", post_yaml("First", accounts=("x",), schedule=_later(2, 12)))
    assert ws.apply().code == 0
    assert len(ws.sent()) == 1
    # The next pull request changes only its own file: the plan compiles only that one, and
    # the state is what knows the first post's time.
    ws.post("second", post_yaml("Second", accounts=("x",), schedule=_later(2, 13)))
    run = ws.plan()
    assert run.code == 1
    assert "posts/second.yaml:4:11: error: on x, 1h from post 'first', as recorded" in run.output, (
        run.output
    )
    assert ws.apply().code == 1
    assert len(ws.sent()) == 1
    ws.post("second", post_yaml("Second", accounts=("x",), schedule=_later(2, 14)))
    assert ws.plan().code == 0
    assert ws.apply().code == 0
    assert len(ws.sent()) == 2


def test_a_post_merged_in_quiet_hours_is_held_and_sent_after_them_once(ws: Workspace) -> None:
    ws.set_config(CONFIG + RULES)
    head = ws.post("late", post_yaml("Late news", accounts=("x", "li")))
    night = datetime.now(timezone.utc).replace(hour=23, minute=0, second=0, microsecond=0)
    clock = Clock(night)

    def apply_now() -> None:
        with open_repo(ws.root) as repo:
            run_apply(ws.root, repo, client_for(ws.sandbox), clock, ApplyOptions(push=True))

    # The plan at night says so (planned at the test's night, not the wall clock's hour).
    with open_repo(ws.root) as repo:
        planned, _, _ = make_plan(ws.root, repo, clock())
    assert ("late", "x", "deny-window") in [
        (a.post_id, a.account, a.kind.value) for a in planned.actions
    ]
    apply_now()
    # LinkedIn has no quiet hours: it went out. X did not, and nothing recorded it as sent.
    assert [[t["account_id"] for t in p["platforms"]] for p in ws.sent()] == [[2]]
    assert "x" not in ws.state()["posts"]["late"]["accounts"]
    assert ws.state().get("commit") != head  # the reconciled commit waits for the held post
    clock.advance(timedelta(hours=3))  # 02:00: still quiet
    apply_now()
    assert len(ws.sent()) == 1
    clock.advance(timedelta(hours=6))  # 08:00: the cron run after the window
    apply_now()
    sent = ws.sent()
    assert [[t["account_id"] for t in p["platforms"]] for p in sent] == [[2], [1]]
    assert ws.record("late", "x")["status"] == "published"
    apply_now()
    assert len(ws.sent()) == 2  # and never again


def test_a_shared_draft_published_in_quiet_hours_waits_for_all_its_accounts(ws: Workspace) -> None:
    """x and li share one Orshot draft: publishing it for li would publish it for x too."""
    ws.set_config(CONFIG + RULES)
    ws.post("shared", post_yaml("Together", accounts=("x", "li"), draft=True))
    noon = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)
    clock = Clock(noon)

    def apply_now() -> None:
        with open_repo(ws.root) as repo:
            run_apply(ws.root, repo, client_for(ws.sandbox), clock, ApplyOptions(push=True))

    apply_now()
    assert ws.public() == []
    ws.post("shared", post_yaml("Together", accounts=("x", "li"), draft=False))
    clock.advance(timedelta(hours=11))  # 23:00
    apply_now()
    assert ws.public() == []
    assert {ws.record("shared", a)["status"] for a in ("x", "li")} == {"drafted"}
    clock.advance(timedelta(hours=9))  # 08:00
    apply_now()
    assert sorted(ws.public()) == [(1, "Together"), (2, "Together")]
    assert len(ws.sent()) == 1


def test_alt_text_is_on_the_thumbnail_says_it_is_not_sent_and_changes_nothing_sent(
    ws: Workspace,
) -> None:
    media = ["https://cdn.acme.com/1.png", "https://cdn.acme.com/2.png"]
    ws.post("pics", post_yaml("Pictures", accounts=("x",), media_urls=media))
    assert ws.apply().code == 0
    # Alt text added later: the review shows it, the plan sends nothing (it is not sent, so
    # the published post is unchanged and must not look changed).
    hostile = 'A rocket" onerror="alert(1)'
    ws.post(
        "pics",
        post_yaml(
            "Pictures", accounts=("x",), media_urls=[{"url": media[0], "alt": hostile}, media[1]]
        ),
    )
    assert actions(ws.plan_json()) == []
    ws.post(
        "pics",
        post_yaml(
            "Pictures!",
            accounts=("x",),
            media_urls=[{"url": media[0], "alt": hostile}, media[1]],
            revision=2,
        ),
    )
    markdown = ws.plan("--format", "markdown").output
    assert (
        '<img src="https://cdn.acme.com/1.png" alt="A rocket&quot; onerror=&quot;alert(1)" '
        'width="160">' in markdown
    )
    assert '<img src="https://cdn.acme.com/2.png" alt="2 of 2" width="160">' in markdown
    assert (
        'alt: A rocket" onerror="alert(1) (not sent: Orshot\'s API takes no alt text)' in markdown
    )
    assert ws.apply().code == 0
    assert len(ws.sent()) == 2
    assert "A rocket" not in str(ws.sent())  # not sent


def test_utm_links_split_a_post_into_one_orshot_post_per_platform(ws: Workspace) -> None:
    ws.post("promo", post_yaml("Shop: {{ 'https://acme.com/shop' | utm }}", accounts=("x", "li")))
    plan = ws.plan_json()
    groups = {a["account"]: a["group"] for a in plan["actions"]}
    assert groups["x"] != groups["li"]
    assert ws.apply().code == 0
    assert ws.public() == [
        (
            1,
            "Shop: https://acme.com/shop?utm_source=twitter&utm_medium=social"
            "&utm_campaign=promo&utm_content=promo",
        ),
        (
            2,
            "Shop: https://acme.com/shop?utm_source=linkedin&utm_medium=social"
            "&utm_campaign=promo&utm_content=promo",
        ),
    ]
    assert ws.apply().code == 0 and len(ws.sent()) == 2  # the same bytes next run: nothing new


def test_a_window_limited_to_sponsored_posts_holds_only_those(ws: Workspace) -> None:
    from orshot_gitops.reconcile.planner import make_plan

    ws.set_config(
        CONFIG + "rules:\n  - name: no-ads-at-night\n    when: {sponsored: true}\n"
        "    deny_windows: ['daily 22:00-07:00']\n"
    )
    ws.post("ad", post_yaml("Buy now #ad", accounts=("x",), sponsored=True))
    ws.post("news", post_yaml("News", accounts=("x",)))
    night = datetime.now(timezone.utc).replace(hour=23, minute=0, second=0, microsecond=0)
    with open_repo(ws.root) as repo:
        plan, _, _ = make_plan(ws.root, repo, night)
    assert [(a.post_id, a.kind.value) for a in plan.actions] == [
        ("ad", "deny-window"),
        ("news", "create"),
    ]


def test_a_saved_plan_edited_to_drop_its_overrides_is_still_held(ws: Workspace) -> None:
    """A saved plan is sent as saved, but what waits for a review is the committed files'
    say, not the JSON's: deleting `overrides` from plan.json must not lift the deny."""
    import json

    ws.set_config(CONFIG + RULES)
    ws.post("launch", post_yaml("Success guaranteed!", accounts=("li",)))
    plan_file = ws.root.parent / "plan.json"
    assert ws.plan("--out", str(plan_file)).code == 0
    saved = json.loads(plan_file.read_text(encoding="utf-8"))
    assert saved["overrides"] == [["launch", "li", "no-hype", ["@acme/legal"]]]
    saved["overrides"] = []
    plan_file.write_text(json.dumps(saved), encoding="utf-8")
    run = ws.apply(str(plan_file))
    assert run.code == 0, run.output
    assert ws.sent() == []
    assert list(ws.state()["awaiting_approval"]) == ["launch"]
