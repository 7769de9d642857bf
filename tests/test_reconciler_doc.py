"""docs/reconciler.md shows the exact `plan` output for each rule: this test replays every case
against a real git repository and the sandbox and checks the document still says the truth.

UPDATE_DOCS=1 python -m pytest tests/test_reconciler_doc.py rewrites the blocks.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import SandboxFactory
from repo_fixtures import content_repo

from orshot_gitops.cli import main

DOC = Path(__file__).resolve().parent.parent / "docs" / "reconciler.md"
CONFIG = """\
accounts:
  acme-x: {id: 1, platform: twitter}
  acme-linkedin: {id: 2, platform: linkedin}
  acme-insta: {id: 3, platform: instagram}
timezone: Europe/Berlin
"""
LAUNCH = "accounts: [acme-x, acme-linkedin]\ncontent: Acme 2.0 is live!\n"
SCHEDULED = "accounts: [acme-x]\ncontent: Holiday hours\nschedule: 2030-12-23T09:00\n"
DRAFT = "accounts: [acme-linkedin]\ncontent: Year in review\ndraft: true\n"


class Repo:
    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self.capsys = capsys

    def git(self, *args: str) -> None:
        subprocess.run(["git", *args], cwd=self.root, check=True, capture_output=True)

    def write(self, path: str, text: str, message: str = "edit") -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        self.git("add", "-A")
        self.git("commit", "-qm", message)

    def apply(self) -> None:
        assert main(["apply", "--repo", str(self.root)]) in (0, 1)
        self.capsys.readouterr()

    def plan(self) -> str:
        main(["plan", "--repo", str(self.root)])
        return self.capsys.readouterr().out.rstrip("\n")


Scenario = Callable[[Repo], None]


def _accounts(**instagram: object) -> list[dict[str, object]]:
    """The sandbox's accounts, the Instagram one with `instagram`'s flags."""
    return [
        {"id": 1, "platform": "twitter", "username": "acmehq", "name": "Acme HQ"},
        {"id": 3, "platform": "instagram", "username": "acmeinsta", "name": "Acme", **instagram},
    ]


def new_posts(repo: Repo) -> None:
    repo.write("posts/launch.yaml", LAUNCH)
    repo.write("posts/holiday.yaml", SCHEDULED)
    repo.write("posts/review.yaml", DRAFT)


def published_then_unchanged(repo: Repo) -> None:
    new_posts(repo)
    repo.apply()


def changed_after_publish(repo: Repo) -> None:
    published_then_unchanged(repo)
    repo.write("posts/launch.yaml", LAUNCH.replace("live!", "live! 🚀"))


def revision_bump(repo: Repo) -> None:
    changed_after_publish(repo)
    repo.write("posts/launch.yaml", LAUNCH.replace("live!", "live! 🚀") + "revision: 2\n")


def held_posts_edited(repo: Repo) -> None:
    published_then_unchanged(repo)
    repo.write("posts/holiday.yaml", SCHEDULED.replace("09:00", "10:30"))
    repo.write("posts/review.yaml", DRAFT.replace("draft: true", "draft: false"))


WEBINAR = "accounts: [acme-x, acme-linkedin]\ncontent: {}\nschedule: 2030-12-22T09:00\n"
BRIEFING = (
    "accounts: [acme-linkedin]\ncontent: Press briefing\nschedule: 2030-12-22T11:00\n"
    "platform_options:\n  acme-linkedin: {{firstComment: {}}}\n"
)


def held_posts_diverge(repo: Repo) -> None:
    repo.write("posts/webinar.yaml", WEBINAR.format("Webinar on Tuesday"))
    repo.write("posts/briefing.yaml", BRIEFING.format("Questions welcome"))
    repo.apply()
    caption = "'Webinar on Tuesday{% if platform == \"linkedin\" %}: agenda inside{% endif %}'"
    repo.write("posts/webinar.yaml", WEBINAR.format(caption))
    repo.write("posts/briefing.yaml", BRIEFING.format("Slides at acme.com/slides"))


def moved_and_removed(repo: Repo) -> None:
    published_then_unchanged(repo)
    (repo.root / "posts/2030").mkdir()
    repo.git("mv", "posts/launch.yaml", "posts/2030/launch.yaml")
    repo.git("rm", "-q", "posts/holiday.yaml")
    repo.git("commit", "-qm", "tidy up")


def moved_without_history(repo: Repo) -> None:
    published_then_unchanged(repo)
    # History squashed into a new root commit: no diff can show the move.
    repo.git("checkout", "-q", "--orphan", "squashed")
    (repo.root / "posts/2030").mkdir()
    repo.git("mv", "posts/launch.yaml", "posts/2030/launch.yaml")
    repo.write(
        "posts/2030/launch.yaml", LAUNCH.replace("is live!", "is out now, read all about it")
    )


def record_lost_in_a_merge(repo: Repo) -> None:
    published_then_unchanged(repo)
    # A state conflict "resolved" with the other side's file, which never had this record.

    from statefiles import read_state_json, write_state_json

    data = read_state_json(repo.root)
    del data["posts"]["launch"]
    write_state_json(repo.root, data)
    repo.git("add", "-A", ".orshot")
    repo.git("commit", "-qm", "theirs")


def pruned(repo: Repo) -> None:
    published_then_unchanged(repo)
    repo.write("orshot.yaml", CONFIG + "prune: true\n")
    repo.git("rm", "-q", "posts/holiday.yaml")
    repo.git("commit", "-qm", "cancel the holiday post")


# Instagram has no text-only post: the photo post carries its photo.
PHOTO = "accounts: [acme-x, acme-insta]\ncontent: New office\nmedia_url: https://cdn.example/office.png\n"


def failed_then_retry(repo: Repo) -> None:
    repo.write("posts/photo.yaml", PHOTO)
    repo.apply()
    # Time passes: the transient failure's next try is due.
    from statefiles import read_state_json, write_state_json

    state = read_state_json(repo.root)
    state["posts"]["photo"]["accounts"]["acme-insta"]["next_try_at"] = "2000-01-01T00:00:00+00:00"
    write_state_json(repo.root, state)
    repo.git("add", "-A", ".orshot")
    repo.git("commit", "-qm", "time passes")


def needs_reconnect(repo: Repo) -> None:
    repo.write("posts/photo.yaml", PHOTO)
    repo.write(
        "posts/teaser.yaml",
        "accounts: [acme-insta]\ncontent: Teaser\nmedia_url: https://cdn.example/teaser.png\n",
    )


def refused_as_duplicate(repo: Repo) -> None:
    repo.write("posts/photo.yaml", "accounts: [acme-x]\ncontent: New office\n")
    repo.apply()
    # A second post with the same text: the platform refuses it as a duplicate. (A revision
    # bump of the same text is refused by validate and the plan before it is sent.)
    repo.write("posts/photo-again.yaml", "accounts: [acme-x]\ncontent: New office\n")
    repo.apply()


def past_schedule(repo: Repo) -> None:
    repo.write(
        "posts/late.yaml", "accounts: [acme-x]\ncontent: Too late\nschedule: 2020-01-01T09:00\n"
    )


def paused(repo: Repo) -> None:
    repo.write("posts/holiday.yaml", SCHEDULED)
    repo.apply()
    repo.write("orshot.yaml", CONFIG + "paused: true\n", "the emergency stop")
    repo.write("posts/launch.yaml", LAUNCH)


def queued(repo: Repo) -> None:
    """docs/queues.md: slots in post-id order, a recorded one never moves, tentative till merged."""
    repo.write(
        "orshot.yaml", CONFIG + 'queues:\n  - accounts: ["*"]\n    slots: ["Mon-Fri 09:30"]\n'
    )
    tip = "accounts: [acme-x]\ncontent: {}\nschedule: {{after: 2030-12-23}}\n"
    repo.write("posts/tips/fuel.yaml", tip.format("Pre-chill the fuel"))
    repo.apply()
    repo.write("posts/tips/checklist.yaml", tip.format("Print the checklist"))


SCENARIOS: dict[str, tuple[Scenario, dict[str, object]]] = {
    "new": (new_posts, {}),
    "unchanged": (published_then_unchanged, {}),
    "changed-after-publish": (changed_after_publish, {}),
    "revision": (revision_bump, {}),
    "held-edits": (held_posts_edited, {}),
    "held-diverge": (held_posts_diverge, {}),
    "moved-and-removed": (moved_and_removed, {}),
    "held-back": (moved_without_history, {}),
    "pruned": (pruned, {}),
    "record-missing": (record_lost_in_a_merge, {}),
    # The Instagram platform is rate limited: that account fails, the other succeeds.
    "retry": (failed_then_retry, {"accounts": _accounts(platform_rate_limited=True)}),
    # Orshot reports the Instagram account as needing a reconnect: its posts are held.
    "needs-reconnect": (needs_reconnect, {"accounts": _accounts(token_expired=True)}),
    "past-schedule": (past_schedule, {}),
    "waiting": (refused_as_duplicate, {}),
    "paused": (paused, {}),
    "queued": (queued, {}),
}
_BLOCK = re.compile(r"<!-- plan: (?P<name>[\w-]+) -->\n```text\n(?P<body>.*?)```", re.S)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_document_shows_the_real_plan(
    name: str,
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scenario, sandbox_config = SCENARIOS[name]
    server = sandbox_factory(
        {"rate_limit": {"requests": 1000, "per_seconds": 60}, **sandbox_config}
    )
    monkeypatch.setenv("ORSHOT_BASE_URL", server.base_url)
    monkeypatch.setenv("ORSHOT_API_KEY", server.api_key)
    repo = Repo(content_repo(tmp_path / "repo", {}, CONFIG), capsys)
    repo.git("init", "-q")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "config")
    scenario(repo)
    actual = repo.plan()

    text = DOC.read_text(encoding="utf-8")
    blocks = {m["name"]: m for m in _BLOCK.finditer(text)}
    assert name in blocks, f"docs/reconciler.md has no '<!-- plan: {name} -->' block"
    if os.environ.get("UPDATE_DOCS"):
        match = blocks[name]
        DOC.write_text(
            text[: match.start("body")] + actual + "\n" + text[match.end("body") :],
            encoding="utf-8",
        )
        return
    assert blocks[name]["body"] == actual + "\n"
