"""Approvals per account, as code: `approvals:` in orshot.yaml, judged from a pull request's
reviews on a loopback fake of GitHub's API, with a real git repository, a bare remote and the
sandbox's Posts Log as the truth of what went out.

The stories: a pull request from "needs approval" to "approved, sent"; merged without an
approval -> held, listed by `status`, sent once by the first run after the approval (no new
commit); a direct push -> held; GitHub down -> held; no GitHub -> the rules named, held by
default or sent with `approvals_without_github: send`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SandboxFactory
from fake_github import TOKEN, FakeGitHub
from reconcile_helpers import CONFIG, Run, Workspace, git, post_yaml, sandbox_config

from orshot_gitops.cli import main
from orshot_gitops.github.api import MARKER

RULES = """\
approvals:
  - accounts: [li]
    reviewers: ["@dana", "@acme/brand"]
    min: 1
"""
LAUNCH = post_yaml("Acme Rockets 3.0 is live.", accounts=("x", "li"))


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def story(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Workspace:
    return Workspace(
        tmp_path, sandbox_factory(sandbox_config()), monkeypatch, capsys, config=CONFIG + RULES
    )


class Actions:
    """The environment GitHub Actions gives a step, pointed at the fake API."""

    def __init__(self, ws: Workspace, github: FakeGitHub, tmp: Path) -> None:
        self.ws = ws
        self.github = github
        self.event = tmp / "event.json"
        self.summary = tmp / "summary.md"

    def enter(self, event_name: str, payload: dict[str, object], ref: str) -> None:
        payload = {**payload, "repository": {"full_name": "acme/social", "default_branch": "main"}}
        self.event.write_text(json.dumps(payload), encoding="utf-8")
        env = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_API_URL": self.github.api_url,
            "GITHUB_REPOSITORY": "acme/social",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(self.event),
            "GITHUB_REF": ref,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_STEP_SUMMARY": str(self.summary),
        }
        for name, value in env.items():
            self.ws.monkeypatch.setenv(name, value)

    def pull_request(
        self, number: int, head: str, event: str = "pull_request", base: str | None = None
    ) -> Run:
        pull = {
            "number": number,
            "head": {"sha": head, "repo": {"full_name": "acme/social"}},
            "base": {"repo": {"full_name": "acme/social"}, **({"sha": base} if base else {})},
        }
        self.enter(event, {"number": number, "pull_request": pull}, f"refs/pull/{number}/merge")
        return self.ws.cli("ci", "--command", "plan")

    def push(self) -> None:
        self.enter("push", {"ref": "refs/heads/main"}, "refs/heads/main")

    def comment(self, number: int) -> str:
        ours = [c for c in self.github.comments.get(number, []) if c["body"].startswith(MARKER)]
        assert len(ours) == 1
        return str(ours[0]["body"])


@pytest.fixture
def actions(story: Workspace, github: FakeGitHub, tmp_path: Path) -> Actions:
    return Actions(story, github, tmp_path)


def branch_with(ws: Workspace, branch: str, post_id: str, text: str) -> str:
    git(ws.root, "checkout", "--quiet", "-b", branch)
    return ws.post(post_id, text)


def merge(ws: Workspace, branch: str) -> str:
    """The pull request merged on GitHub: a merge commit on main, pulled into the checkout."""
    git(ws.root, "checkout", "--quiet", "main")
    git(ws.root, "merge", "--quiet", "--no-ff", "-m", f"Merge {branch}", branch)
    git(ws.root, "push", "--quiet", "origin", "main")
    return ws.head()


def contents(ws: Workspace) -> list[tuple[int, str]]:
    return ws.public()


# --- orshot.yaml: a bad rule is one error at its line --------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            "  - accounts: [acme-lnkedin]\n",
            "orshot.yaml:5:16: error: approvals[0]: 'acme-lnkedin' is not an account alias, "
            "a platform or \"*\" (did you mean 'acme-linkedin'?",
        ),
        (
            '  - accounts: ["*"]\n    when: {scheduled_within: 2 hours}\n',
            "orshot.yaml:6:30: error: approvals[0]: scheduled_within '2 hours' is not a duration",
        ),
        (
            "  - accounts: [linkedin]\n    min: 0\n",
            "orshot.yaml:6:10: error: approvals[0]: min must be a whole number of at least 1, not 0",
        ),
        (
            '  - accounts: [acme-x]\n    reviewers: ["dana"]\n',
            "orshot.yaml:6:17: error: approvals[0]: reviewer 'dana' is not a GitHub user or team",
        ),
        (
            '  - accounts: [acme-x]\n    reviewers: ["@dana"]\n    min: 2\n',
            "orshot.yaml:7:10: error: approvals[0]: min is 2 but only 1 reviewer(s) are named",
        ),
    ],
)
def test_a_bad_rule_is_one_error_at_its_line_and_nothing_else_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rule: str, expected: str
) -> None:
    (tmp_path / "posts").mkdir()
    (tmp_path / "orshot.yaml").write_text(
        "accounts:\n  acme-x: {id: 1, platform: twitter}\n  acme-linkedin: {id: 2, platform: linkedin}\n"
        "approvals:\n" + rule
    )
    (tmp_path / "posts/a.yaml").write_text("accounts: [acme-x]\ncontent: hi\n")
    code = main(["validate", "--repo", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1
    lines = [line for line in (out + err).splitlines() if ": error: " in line]
    assert len(lines) == 1, out + err
    assert lines[0].startswith(expected), lines[0]
    assert "Traceback" not in out + err


def test_the_example_carries_approvals_that_hold_without_github() -> None:
    from orshot_gitops.content.load import load_config

    config, problems = load_config(Path(__file__).resolve().parent.parent / "examples")
    assert config is not None and not [p for p in problems if p.severity.value == "error"]
    assert [r.accounts for r in config.approvals] == [("acme-linkedin",), ("*",)]
    assert config.approvals_without_github == "hold"


# --- the pull request, from "needs approval" to "approved, sent" ---------------------------


def test_a_pull_request_goes_from_needs_approval_to_approved_and_is_sent_once(
    story: Workspace, actions: Actions, github: FakeGitHub
) -> None:
    head = branch_with(story, "launch", "launch", LAUNCH)
    github.open_pull(7, head)

    run = actions.pull_request(7, head)
    assert run.code == 0, run.output
    body = actions.comment(7)
    assert "needs @\u200bdana, @\u200bacme/brand (LinkedIn): 0/1" in body
    assert github.status_of(head) == "pending: 1 post needs approval"
    # The team cannot be read with the workflow's token: said, and counted as not approved.
    assert "not counting @\u200bacme/brand: its members cannot be read" in body

    github.review(7, "dana", "APPROVED")
    run = actions.pull_request(7, head, event="pull_request_review")
    assert run.code == 0, run.output
    assert "needs @\u200bdana, @\u200bacme/brand (LinkedIn): 1/1" in actions.comment(7)
    assert github.status_of(head) == "success: every post has the approvals it needs"

    merged = merge(story, "launch")
    github.merge(7, head, merged)
    actions.push()
    run = story.cli("ci", "--command", "apply")
    assert run.code == 0, run.output
    assert contents(story) == [
        (1, "Acme Rockets 3.0 is live."),
        (2, "Acme Rockets 3.0 is live."),
    ]
    assert len(story.sent()) == 1
    assert "awaiting_approval" not in story.state()


def test_an_approval_of_an_earlier_commit_does_not_count(
    story: Workspace, actions: Actions, github: FakeGitHub
) -> None:
    first = branch_with(story, "launch", "launch", LAUNCH)
    github.open_pull(7, first)
    github.review(7, "dana", "APPROVED")
    # A later push changes the caption after dana approved: her approval was of other text.
    later = story.post("launch", post_yaml("Acme Rockets 3.0 is live. Buy now!!!"))
    github.push_to_pull(7, later)
    run = actions.pull_request(7, later)
    assert run.code == 0, run.output
    assert "(LinkedIn): 0/1" in actions.comment(7)
    assert github.status_of(later) == "pending: 1 post needs approval"

    merged = merge(story, "launch")
    github.merge(7, first, later, merged)
    actions.push()
    run = story.apply()
    assert run.code == 0, run.output
    # X has no rule and goes out; LinkedIn waits for an approval of what it would get.
    assert contents(story) == [(1, "Acme Rockets 3.0 is live. Buy now!!!")]
    assert "awaiting approval" in run.output


def test_a_team_member_approval_counts_when_the_team_can_be_read(
    story: Workspace, actions: Actions, github: FakeGitHub
) -> None:
    github.teams_readable = True
    github.teams["acme/brand"] = ["Erin"]
    head = branch_with(story, "launch", "launch", LAUNCH)
    github.open_pull(7, head)
    github.review(7, "mallory", "APPROVED")  # not in the rule: does not count
    actions.pull_request(7, head)
    assert "(LinkedIn): 0/1" in actions.comment(7)
    github.review(7, "erin", "APPROVED")
    actions.pull_request(7, head, event="pull_request_review")
    assert "(LinkedIn): 1/1" in actions.comment(7)
    assert "not counting" not in actions.comment(7)
    # Changes requested later replaces the approval: each reviewer's latest verdict counts.
    github.review(7, "erin", "CHANGES_REQUESTED")
    actions.pull_request(7, head, event="pull_request_review")
    assert "(LinkedIn): 0/1" in actions.comment(7)


def test_a_fork_read_only_token_reports_and_does_not_fail_the_plan(
    story: Workspace, actions: Actions, github: FakeGitHub
) -> None:
    github.read_only = True
    head = branch_with(story, "launch", "launch", LAUNCH)
    github.open_pull(7, head)
    run = actions.pull_request(7, head)
    assert run.code == 0, run.output
    assert "cannot set the orshot/approvals status: GitHub answered 403" in run.output
    assert github.statuses == {}


# --- merged without approval: held, listed, sent once after the approval -------------------


def test_merged_without_approval_is_held_listed_and_sent_once_after_a_later_approval(
    story: Workspace, actions: Actions, github: FakeGitHub
) -> None:
    head = branch_with(story, "launch", "launch", LAUNCH)
    github.open_pull(7, head)
    merged = merge(story, "launch")
    github.merge(7, head, merged)
    actions.push()

    run = story.cli("ci", "--command", "apply")
    assert run.code == 0, run.output
    assert "::warning::held: launch → li awaiting approval" in run.output
    assert "Held: launch → li awaiting approval" in actions.summary.read_text()
    assert len(story.sent()) == 1
    run = story.apply()
    assert run.code == 0, run.output
    assert (
        "held: launch → li awaiting approval: needs @dana, @acme/brand (LinkedIn): 0/1 (#7)"
        in run.output
    )
    assert contents(story) == [(1, "Acme Rockets 3.0 is live.")]  # X has no rule
    assert story.state()["awaiting_approval"] == {
        "launch": {
            "li": [
                "needs @dana, @acme/brand (LinkedIn): 0/1 (#7), not counting @acme/brand: "
                "its members cannot be read (the token needs read:org)"
            ]
        }
    }
    status = story.cli("status", "--awaiting-approval")
    assert "launch → li" in status.out and "awaiting-approval" in status.out
    assert "held until approved: needs @dana, @acme/brand (LinkedIn): 0/1" in status.out
    rows = json.loads(story.cli("status", "--format", "json").out)
    held = [r for r in rows if r["status"] == "awaiting-approval"]
    assert [(r["post"], r["account"]) for r in held] == [("launch", "li")]

    # Another run with nothing new: still held, still not lost, nothing sent.
    again = story.apply()
    assert again.code == 0, again.output
    assert "awaiting approval" in again.output
    assert len(story.sent()) == 1

    github.review(7, "dana", "APPROVED")  # after the merge, on the merged head
    third = story.apply()
    assert third.code == 0, third.output
    assert contents(story) == [
        (1, "Acme Rockets 3.0 is live."),
        (2, "Acme Rockets 3.0 is live."),
    ]
    assert "awaiting_approval" not in story.state()
    # And never again: the approval is not needed twice, nothing is sent twice.
    fourth = story.apply()
    assert fourth.code == 0, fourth.output
    assert len(story.sent()) == 2
    assert story.cli("status", "--awaiting-approval").out.startswith("No posts recorded")


def test_a_direct_push_is_held_unless_the_rule_allows_it(
    story: Workspace, actions: Actions, github: FakeGitHub
) -> None:
    story.post("launch", LAUNCH)
    git(story.root, "push", "--quiet", "origin", "main")
    actions.push()
    run = story.apply()
    assert run.code == 0, run.output
    assert "pushed without a pull request" in run.output
    assert contents(story) == [(1, "Acme Rockets 3.0 is live.")]

    story.set_config(CONFIG + RULES + "    direct_push: allow\n")
    git(story.root, "push", "--quiet", "origin", "main")
    run = story.apply()
    assert run.code == 0, run.output
    # The rule as it was when last reconciled still holds this run (a push that loosens a
    # rule is governed by the rule it loosens): the push itself had no pull request.
    assert len(story.sent()) == 1


def test_github_down_during_apply_holds_and_says_so(
    story: Workspace, actions: Actions, github: FakeGitHub
) -> None:
    head = branch_with(story, "launch", "launch", LAUNCH)
    github.open_pull(7, head)
    github.review(7, "dana", "APPROVED")
    merged = merge(story, "launch")
    github.merge(7, head, merged)
    github.broken = True
    actions.push()
    run = story.apply()
    assert run.code == 0, run.output
    assert "unknown, GitHub could not say" in run.output
    assert contents(story) == [(1, "Acme Rockets 3.0 is live.")]
    github.broken = False
    run = story.apply()
    assert run.code == 0, run.output
    assert len(contents(story)) == 2


def test_a_held_edit_of_a_scheduled_post_says_the_old_version_still_fires(
    story: Workspace, actions: Actions, github: FakeGitHub
) -> None:
    scheduled = post_yaml("Launch day!", accounts=("li",), schedule="2099-03-02T09:00")
    head = branch_with(story, "launch", "launch", scheduled)
    github.open_pull(7, head)
    github.review(7, "dana", "APPROVED")
    github.merge(7, head, merge(story, "launch"))
    actions.push()
    assert story.apply().code == 0
    assert story.record("launch", "li")["status"] == "scheduled"

    edit = branch_with(
        story,
        "edit",
        "launch",
        post_yaml("Launch day, typo!", accounts=("li",), schedule="2099-03-02T09:00"),
    )
    github.open_pull(8, edit)
    github.merge(8, edit, merge(story, "edit"))
    run = story.apply()
    assert run.code == 0, run.output
    assert "the version Orshot holds now still goes out as scheduled" in run.output
    sent = story.sent()
    assert len(sent) == 1 and sent[0]["request"]["content"] == "Launch day!"
    status = story.cli("status").out
    assert "an edit is held until approved" in status and "scheduled" in status


# --- without GitHub --------------------------------------------------------------------------


def test_without_github_the_rules_are_named_and_held_by_default(story: Workspace) -> None:
    story.post("launch", LAUNCH)
    run = story.apply()
    assert run.code == 0, run.output
    assert (
        "orshot.yaml:10:5: warning: approvals[0] (@dana, @acme/brand, 1 needed) cannot be "
        "checked without GitHub: its posts are held (approvals_without_github: hold)"
    ) in run.output
    assert contents(story) == [(1, "Acme Rockets 3.0 is live.")]
    assert "launch" in story.state()["awaiting_approval"]


def test_without_github_send_sends_and_still_names_the_rules(story: Workspace) -> None:
    story.set_config(CONFIG + RULES + "approvals_without_github: send\n")
    # The reconciled commit had no state yet: only HEAD's rules are in force.
    story.post("launch", LAUNCH)
    run = story.apply()
    assert run.code == 0, run.output
    assert "its posts are sent unchecked (approvals_without_github: send)" in run.output
    assert len(contents(story)) == 2


def test_no_approvals_key_makes_no_github_call(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    github: FakeGitHub,
) -> None:
    ws = Workspace(tmp_path, sandbox_factory(sandbox_config()), monkeypatch, capsys)
    actions = Actions(ws, github, tmp_path)
    head = branch_with(ws, "launch", "launch", LAUNCH)
    github.open_pull(7, head)
    assert actions.pull_request(7, head).code == 0
    merge(ws, "launch")
    actions.push()
    assert ws.apply().code == 0
    assert len(contents(ws)) == 2
    # The comment only: no review, pull, team or status request.
    assert {r.path.split("/")[4] for r in github.requests} == {"issues"}


def test_a_pull_request_does_not_vouch_for_a_post_it_does_not_touch(
    story: Workspace, actions: Actions, github: FakeGitHub
) -> None:
    """A post held on main since pull request #7 shows in #9's plan too; #9's approval
    covers only what #9 changes, so its comment and status say #7 still needs one."""
    head = branch_with(story, "launch", "launch", LAUNCH)
    github.open_pull(7, head)
    github.merge(7, head, merge(story, "launch"))
    actions.push()
    assert story.apply().code == 0  # launch → li held
    base = story.head()

    news = branch_with(story, "news", "news", post_yaml("Office hours on Friday."))
    github.open_pull(9, news)
    github.review(9, "dana", "APPROVED")
    run = actions.pull_request(9, news, base=base)
    assert run.code == 0, run.output
    body = actions.comment(9)
    assert (
        "`launch` → `li`: needs @\u200bdana, @\u200bacme/brand (LinkedIn): 0/1 (\\#\u200b7)" in body
    )
    assert (
        "`news` → `li`: needs @\u200bdana, @\u200bacme/brand (LinkedIn): 1/1 (\\#\u200b9)" in body
    )
    assert github.status_of(news) == "pending: 1 post needs approval"


def test_a_saved_plan_is_held_the_same_way(story: Workspace) -> None:
    story.post("launch", LAUNCH)
    saved = story.root.parent / "plan.json"
    assert story.plan("--out", str(saved)).code in (0, 2)
    run = story.apply(str(saved))
    assert run.code == 0, run.output
    assert "cannot be checked without GitHub" in run.output
    assert contents(story) == [(1, "Acme Rockets 3.0 is live.")]


def test_the_github_token_is_never_shown_or_recorded(
    story: Workspace, actions: Actions, github: FakeGitHub
) -> None:
    github.broken = True
    head = branch_with(story, "launch", "launch", LAUNCH)
    github.open_pull(7, head)
    actions.pull_request(7, head)
    github.merge(7, head, merge(story, "launch"))
    actions.push()
    story.apply()
    story.cli("status", "--format", "json")
    assert all(TOKEN not in output for output in story.all_output)
    assert TOKEN not in json.dumps(story.state())
    assert TOKEN not in git(story.root, "log", "-p", "--all")
    assert all(r.authorization == f"Bearer {TOKEN}" for r in github.requests)


def test_a_pause_keeps_the_record_of_what_awaits_approval(story: Workspace) -> None:
    story.post("launch", LAUNCH)
    assert story.apply().code == 0
    story.set_config(CONFIG + RULES + "paused: true\n")
    assert story.apply().code == 0
    assert "launch" in story.state().get("awaiting_approval", {})
    assert "launch → li" in story.cli("status", "--awaiting-approval").out


def test_the_record_of_what_awaits_approval_survives_both_layouts_and_a_merge() -> None:
    from orshot_gitops.state.merge import merge_states
    from orshot_gitops.state.model import State, new_state
    from orshot_gitops.state.store import dump_index

    held = {"launch": {"li": ("needs @dana (LinkedIn): 0/1 (#7)",)}}
    base = new_state("0b7c5e4e-2d1a-4e8e-9a3f-6c1d2e3f4a5b")
    ours = base.with_awaiting(held)
    assert State.from_json(json.loads(json.dumps(ours.to_json()))).awaiting_approval == held
    assert json.loads(dump_index(ours, None))["awaiting_approval"] == {
        "launch": {"li": ["needs @dana (LinkedIn): 0/1 (#7)"]}
    }
    # An old state file (no field) loads with nothing awaiting.
    assert State.from_json(base.to_json()).awaiting_approval == {}
    # Theirs changed nothing of it: ours stands; both changed it: ours (the later run's).
    assert merge_states(base, ours, base).awaiting_approval == held
    assert merge_states(base, base, ours).awaiting_approval == held
    theirs = base.with_awaiting({"other": {"x": ("needs any reviewer (X/Twitter): 0/1",)}})
    assert merge_states(base, ours, theirs).awaiting_approval == held


def _var_change_beside_a_post(ws: Workspace, github: FakeGitHub, update_branch: bool) -> None:
    """Pull request #7 adds a post using {{ product }}; #8, branched beside it and approved
    by someone the LinkedIn rule does not name, changes `product` and is merged first."""
    uses_var = post_yaml("{{ product }} 3.0 is live.")
    a = branch_with(ws, "a", "launch", uses_var)
    git(ws.root, "checkout", "--quiet", "main")
    git(ws.root, "checkout", "--quiet", "-b", "b")
    b = ws.set_config(CONFIG.replace("Acme Rockets", "Acme Rockets Pro") + RULES)
    github.open_pull(8, b)
    github.review(8, "mallory", "APPROVED")
    github.merge(8, b, merge(ws, "b"))
    github.open_pull(7, a)
    if update_branch:  # "Update branch": #7's head now holds #8, and dana approves that
        git(ws.root, "checkout", "--quiet", "a")
        git(ws.root, "merge", "--quiet", "--no-ff", "-m", "Merge main into a", "main")
        github.push_to_pull(7, ws.head())
    github.review(7, "dana", "APPROVED")
    github.merge(7, a, merge(ws, "a"))


def test_a_shared_change_merged_beside_a_post_needs_the_rule_too(
    story: Workspace, actions: Actions, github: FakeGitHub
) -> None:
    _var_change_beside_a_post(story, github, update_branch=False)
    actions.push()
    run = story.apply()
    assert run.code == 0, run.output
    # dana approved #7's text with the old product name; #8 changed it for LinkedIn too.
    assert "needs @dana, @acme/brand (LinkedIn): 0/1 (#8)" in run.output
    assert contents(story) == [(1, "Acme Rockets Pro 3.0 is live.")]


def test_a_pull_request_updated_with_the_shared_change_covers_it(
    story: Workspace, actions: Actions, github: FakeGitHub
) -> None:
    _var_change_beside_a_post(story, github, update_branch=True)
    actions.push()
    run = story.apply()
    assert run.code == 0, run.output
    assert contents(story) == [
        (1, "Acme Rockets Pro 3.0 is live."),
        (2, "Acme Rockets Pro 3.0 is live."),
    ]


def test_a_rule_for_posts_going_out_soon_covers_only_those(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    soon = 'approvals:\n  - accounts: ["*"]\n    when: {scheduled_within: 2h}\n    min: 2\n'
    ws = Workspace(
        tmp_path, sandbox_factory(sandbox_config()), monkeypatch, capsys, config=CONFIG + soon
    )
    ws.post("later", post_yaml("Next year.", accounts=("x",), schedule="2099-03-02T09:00"))
    ws.post("now", post_yaml("Right now.", accounts=("x",)))
    report = ws.apply_json()
    assert report["exit_code"] == 0
    # Published now is going out within 2h: held (no GitHub here); 2099 is not: scheduled.
    assert report["awaiting_approval"] == {
        "now": {
            "x": [
                "approvals[0] (any reviewer, 2 needed when going out within 2h): "
                "cannot be checked without GitHub"
            ]
        }
    }
    assert [(o["post"], o["status"]) for o in report["outcomes"]] == [("later", "scheduled")]


def test_an_approval_past_the_first_page_of_reviews_counts(
    story: Workspace, actions: Actions, github: FakeGitHub
) -> None:
    head = branch_with(story, "launch", "launch", LAUNCH)
    github.open_pull(7, head)
    for n in range(120):
        github.review(7, f"fan{n}", "COMMENTED")
    github.review(7, "Dana", "APPROVED")  # logins compare case-insensitively
    assert actions.pull_request(7, head).code == 0
    assert "(LinkedIn): 1/1" in actions.comment(7)
    assert github.status_of(head) == "success: every post has the approvals it needs"


def test_an_approval_is_not_asked_again_for_what_was_sent(
    story: Workspace, actions: Actions, github: FakeGitHub
) -> None:
    head = branch_with(story, "launch", "launch", LAUNCH)
    github.open_pull(7, head)
    github.review(7, "dana", "APPROVED")
    github.merge(7, head, merge(story, "launch"))
    actions.push()
    assert story.apply().code == 0
    assert len(contents(story)) == 2
    # A push without a pull request that changes nothing this post sends: nothing to approve.
    fb = "  fb: {id: 4, platform: facebook}\n"
    story.set_config(CONFIG.replace(fb, fb + "  extra: {id: 9, platform: threads}\n") + RULES)
    git(story.root, "push", "--quiet", "origin", "main")
    run = story.apply()
    assert run.code == 0, run.output
    assert "awaiting approval" not in run.output
    assert "awaiting_approval" not in story.state()
    assert len(story.sent()) == 1


OVERRIDE_RULES = """\
rules:
  - name: no-hype
    accounts: [linkedin]
    banned: [guaranteed]
    override: ["@lee"]
"""


def test_a_content_rule_override_goes_from_needs_approval_to_approved_and_sent_once(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    github: FakeGitHub,
) -> None:
    """A `deny` rule that names who may lift it, with no `approvals:` key at all: the pull
    request says whose approval the broken rule needs, the status waits for it, and apply
    sends that account only once it is given; the other account was never held."""
    ws = Workspace(
        tmp_path / "ws",
        sandbox_factory(sandbox_config()),
        monkeypatch,
        capsys,
        config=CONFIG + OVERRIDE_RULES,
    )
    actions = Actions(ws, github, tmp_path)
    head = branch_with(ws, "hype", "hype", post_yaml("Results guaranteed.", accounts=("x", "li")))
    github.open_pull(8, head)
    run = actions.pull_request(8, head)
    assert run.code == 0, run.output
    assert "needs @\u200blee to override rule 'no-hype' (LinkedIn): 0/1" in actions.comment(8)
    assert github.status_of(head) == "pending: 1 post needs approval"

    merged = merge(ws, "hype")
    github.merge(8, head, merged)
    actions.push()
    run = ws.cli("ci", "--command", "apply")
    assert run.code == 0, run.output
    assert contents(ws) == [(1, "Results guaranteed.")]  # X: no rule covers it
    assert list(ws.state()["awaiting_approval"]) == ["hype"]

    github.review(8, "lee", "APPROVED")
    run = ws.cli("ci", "--command", "apply")
    assert run.code == 0, run.output
    assert contents(ws) == [(1, "Results guaranteed."), (2, "Results guaranteed.")]
    assert "awaiting_approval" not in ws.state()
    assert ws.cli("ci", "--command", "apply").code == 0
    assert len(ws.sent()) == 2


def test_a_direct_push_never_lifts_a_content_rule(story: Workspace, actions: Actions) -> None:
    """`direct_push: allow` belongs to `approvals:`; a broken `deny` is lifted only by a
    review of its own reviewers, so a push straight to main stays held."""
    story.set_config(CONFIG + OVERRIDE_RULES)
    story.post("hype", post_yaml("Results guaranteed.", accounts=("li",)))
    git(story.root, "push", "--quiet", "origin", "main")
    actions.push()
    run = story.cli("ci", "--command", "apply")
    assert run.code == 0, run.output
    assert story.sent() == []
    held = story.state()["awaiting_approval"]["hype"]["li"]
    assert (
        "needs @lee to override rule 'no-hype' (LinkedIn): 0/1, pushed without a pull request"
        in held
    )


def test_a_local_plan_says_which_sends_wait_for_a_review_it_does_not_read(
    story: Workspace,
) -> None:
    """`plan` on a laptop reads no reviews: it says so, on stderr, so its "publish" is not
    taken for a promise; JSON on stdout stays JSON."""
    story.post("launch", LAUNCH)
    run = story.plan()
    assert run.code == 0
    assert (
        "approvals: 1 post above needs an approving review (approvals: or a rule's override:), "
        "not read here" in run.err
    )
    json_run = story.plan("--format", "json")
    assert json.loads(json_run.out)["actions"]
    story.set_config(CONFIG)  # no rules: no note
    assert "approvals:" not in story.plan().err


BATCH = """\
for_each: data/products.csv
id: "{{ row.sku }}"
accounts: [li]
content: "{{ row.name }} is in the shop."
"""


def test_a_row_a_later_pull_request_adds_rests_on_that_pull_request(
    story: Workspace, actions: Actions, github: FakeGitHub
) -> None:
    """#7 adds a batch, approved; #8 only adds a row to its data file, unapproved. The row
    rests on #8 (the commit that changed the data), not on #7 (the post file's last)."""
    git(story.root, "checkout", "--quiet", "-b", "catalogue")
    story.write("data/products.csv", "sku,name\nA1,Rocket\n")
    story.write("posts/products.yaml", BATCH)
    head = story.commit("a catalogue")
    github.open_pull(7, head)
    github.review(7, "dana", "APPROVED")
    github.merge(7, head, merge(story, "catalogue"))
    actions.push()
    assert story.cli("ci", "--command", "apply").code == 0
    assert contents(story) == [(2, "Rocket is in the shop.")]

    base = story.head()
    git(story.root, "checkout", "--quiet", "-b", "more")
    story.write("data/products.csv", "sku,name\nA1,Rocket\nB2,Boots\n")
    head = story.commit("one more product")
    github.open_pull(8, head)
    run = actions.pull_request(8, head, base=base)
    assert "`products/B2` → `li`: needs @\u200bdana" in actions.comment(8)
    assert "0/1 (\\#\u200b8)" in actions.comment(8)
    github.merge(8, head, merge(story, "more"))
    actions.push()
    run = story.cli("ci", "--command", "apply")
    assert run.code == 0, run.output
    assert "held: products/B2 → li awaiting approval" in run.output
    assert contents(story) == [(2, "Rocket is in the shop.")]
