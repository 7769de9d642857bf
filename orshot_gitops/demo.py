"""`orshot-gitops demo`: the whole product in one minute, with nothing configured and no network.

It starts the sandbox in-process on a free port, copies the example content repository into
a fresh git repository and runs the real commands, exactly as a user would type them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from orshot_gitops.console import Console
from orshot_gitops.errors import UserError
from orshot_gitops.sandbox.config import DEFAULT_ACCOUNTS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# The demo shows the product, not the rate limit: a roomy limit keeps it under a minute.
DEMO_SANDBOX = {"rate_limit": {"requests": 300, "per_seconds": 60}, "processing_seconds": 1}
# The second brand (examples/brands/zen/): its own key and accounts. One sandbox plays both
# workspaces: it accepts both keys, and zen's accounts sit beside the default ones.
ZEN_KEY = "sandbox-zen"
SECOND_BRAND_SANDBOX = {
    "api_keys": ["sandbox", ZEN_KEY],
    "accounts": [
        {"id": a.id, "platform": a.platform, "username": a.username, "name": a.name}
        for a in DEFAULT_ACCOUNTS
    ]
    + [
        {"id": 11, "platform": "twitter", "username": "zenstudio", "name": "Zen Studio"},
        {"id": 12, "platform": "linkedin", "username": "zen-studio", "name": "Zen Studio"},
    ],
}


# The examples are written for the dates around their writing: a launch on 2027-01-05, a
# weekly tip from 2027-01-07. Once those pass, the demo would show "schedule has passed"
# where it means to show a post going out, so its copy moves every date of the examples by
# whole weeks (each weekday and wall-clock time kept) until the earliest is two
# weeks ahead. Nothing moves while the examples are still ahead of the clock.
_ISO_DATE = re.compile(r"(?<![\d-])(20\d\d)-(\d\d)-(\d\d)(?![\d-])")
_DATED_SUFFIXES = (".yaml", ".yml", ".csv", ".json")
LEAD = timedelta(days=14)


def weeks_to_shift(earliest: date, today: date) -> int:
    """Whole weeks that put `earliest` at least two weeks after `today` (0 if it is)."""
    short = (today + LEAD - earliest).days
    return max(0, -(-short // 7))


def shift_dates(text: str, weeks: int) -> str:
    """Every ISO date in `text` moved `weeks` weeks later."""
    if weeks == 0:
        return text

    def later(match: re.Match[str]) -> str:
        moved = date(*map(int, match.groups())) + timedelta(weeks=weeks)
        return moved.isoformat()

    return _ISO_DATE.sub(later, text)


def shift_examples(repo: Path, today: date) -> int:
    """Move the copied examples' dates so they lie ahead of `today`; the weeks moved."""
    files = sorted(p for p in repo.rglob("*") if p.is_file() and p.suffix in _DATED_SUFFIXES)
    texts = {path: path.read_text(encoding="utf-8") for path in files}
    found = [
        date(*map(int, m.groups())) for text in texts.values() for m in _ISO_DATE.finditer(text)
    ]
    weeks = weeks_to_shift(min(found), today) if found else 0
    for path, text in texts.items():
        if weeks:
            path.write_text(shift_dates(text, weeks), encoding="utf-8")
    return weeks


def examples_dir() -> Path:
    for candidate in (Path(__file__).resolve().parent / "examples", EXAMPLES):
        if (candidate / "orshot.yaml").is_file():
            return candidate
    raise UserError(
        "the example repository is missing from this installation", hint="reinstall orshot-gitops"
    )


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _git(repo: Path, *args: str, stdin: str | None = None) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": os.environ.get("GIT_AUTHOR_NAME", "orshot-gitops demo"),
        "GIT_AUTHOR_EMAIL": os.environ.get("GIT_AUTHOR_EMAIL", "demo@orshot-gitops.invalid"),
        "GIT_COMMITTER_NAME": os.environ.get("GIT_COMMITTER_NAME", "orshot-gitops demo"),
        "GIT_COMMITTER_EMAIL": os.environ.get("GIT_COMMITTER_EMAIL", "demo@orshot-gitops.invalid"),
    }
    result = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, input=stdin
    )
    if result.returncode != 0:
        raise UserError(f"git {args[0]} failed: {result.stderr.strip()}", hint="is git installed?")


def run_demo(directory: Path | None, console: Console) -> int:
    from orshot_gitops.cli import main
    from orshot_gitops.sandbox import SandboxConfig, SandboxServer

    keep = directory is not None
    workspace = directory or Path(tempfile.mkdtemp(prefix="orshot-demo-"))
    repo = workspace / "content"
    if repo.exists():
        raise UserError(f"{repo} already exists", hint="pass an empty --dir, or remove it")
    repo.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(examples_dir(), repo, ignore=shutil.ignore_patterns("workflows"))
    weeks = shift_examples(repo, date.today())
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    # Messages on stdin, as every commit of ours (gitrepo.commit_paths): no size limit.
    _git(repo, "commit", "-q", "-F", "-", stdin="Our posts for December")

    def step(title: str, *argv: str) -> int:
        console.print("")
        console.print(console.style(f"## {title}", "bold"))
        console.print(console.style(f"$ orshot-gitops {' '.join(argv)}", "cyan"))
        return main([*argv, "--repo", str(repo)])

    config = SandboxConfig.from_mapping({**DEMO_SANDBOX, **SECOND_BRAND_SANDBOX})
    with SandboxServer(data_dir=workspace / "sandbox-data", config=config, port=0) as server:
        env = {"ORSHOT_BASE_URL": server.base_url, "ORSHOT_API_KEY": server.api_key}
        console.print(
            f"Sandbox (a local stand-in for Orshot) at {server.base_url}; content repo at {repo}"
        )
        with _environment(**env):
            codes = [
                step("1. Check the posts (no key, no network)", "validate"),
                step("2. Review what would go out (what a pull request shows)", "plan"),
                step(
                    "2b. Render the Studio post's image for review (the image that will be published)",
                    "plan",
                    "--render-previews",
                ),
            ]
            # The pull request's previews job commits them to the branch.
            _git(repo, "add", "-A", ".orshot")
            _git(repo, "commit", "-q", "-F", "-", stdin="Render previews, reviewed")
            codes += [
                step(
                    "3. Publish: draft first, then publish by id; the reviewed render as is; "
                    "results committed to git",
                    "apply",
                ),
                step(
                    "3b. Held for approval: no GitHub here to read the reviews "
                    "(approvals_without_github: hold)",
                    "status",
                    "--awaiting-approval",
                ),
            ]
            # In GitHub Actions an approving review releases them; this demo has none, so the
            # repository's owner decides, in a reviewed commit, that a push here is approved.
            orshot_yaml = repo / "orshot.yaml"
            orshot_yaml.write_text(
                orshot_yaml.read_text(encoding="utf-8").replace(
                    "approvals_without_github: hold", "approvals_without_github: send"
                ),
                encoding="utf-8",
            )
            _git(repo, "commit", "-q", "-a", "-F", "-", stdin="No GitHub in the demo: send")
            codes += [
                step("3c. Apply again: the held posts go out, once", "apply"),
                step("4. What went out, with links", "status"),
                step(
                    "5. Run again: nothing is sent twice (Instagram posts still processing are checked)",
                    "apply",
                ),
            ]
            post = repo / "posts/2026/12/year-in-review.yaml"
            post.write_text(
                post.read_text(encoding="utf-8").replace("draft: true", "draft: false"),
                encoding="utf-8",
            )
            _git(repo, "commit", "-q", "-a", "-F", "-", stdin="Year in review: ready to go")
            codes.append(
                step("6. A reviewed edit: publish the draft we kept (same Orshot post)", "plan")
            )
            codes.append(step("7. Apply the edit", "apply"))
            hours = repo / "posts/2026/12/holiday-hours.yaml"
            hours.write_text(
                hours.read_text(encoding="utf-8")
                .replace("closes at 14:00", "closes at 13:00")
                .replace(
                    shift_dates("2027-12-23T09:00", weeks), shift_dates("2027-12-22T09:00", weeks)
                ),
                encoding="utf-8",
            )
            _git(repo, "commit", "-q", "-a", "-F", "-", stdin="Holiday hours: an hour earlier")
            codes.append(
                step(
                    "8. Edit a scheduled post: the review shows what changes, word by word",
                    "plan",
                    "--show-content",
                )
            )
            codes.append(step("9. Apply it: edited in place, the same Orshot post", "apply"))
            with _environment(ORSHOT_API_KEY_ZEN=ZEN_KEY):
                codes.append(
                    step(
                        "9b. A second brand in the same repository (brands/zen): its own "
                        "key, accounts and state; --all runs every brand",
                        "apply",
                        "--all",
                    )
                )
            preview = workspace / "preview"
            codes.append(
                step(
                    "10. Review by eye: each post as each platform shows it, and the calendar",
                    "preview",
                    "--out",
                    str(preview),
                )
            )
        console.print("")
        console.print(
            console.style("Done.", "green", "bold") + f" The content repository is {repo}"
        )
        console.print(f"  git -C {repo} log --stat          # every run recorded as a commit")
        console.print(f"  cat {repo}/.orshot/state.json     # what was sent, per post and account")
        console.print(f"  the sandbox's posts log: {workspace / 'sandbox-data'}")
        console.print(f"  the preview site: open {preview / 'index.html'}")
        if keep:
            console.print(
                f"  orshot-gitops sandbox --data {workspace / 'sandbox-data'} &   # the same posts log, again"
            )
            console.print(
                f"  ORSHOT_BASE_URL=http://127.0.0.1:8787 ORSHOT_API_KEY={server.api_key} orshot-gitops plan --repo {repo}"
            )
        else:
            console.print(
                "  (a temporary directory: pass --dir DIR to keep the repo and the sandbox's posts log)"
            )
    failed = [c for c in codes if c != 0]
    return 1 if failed else 0
