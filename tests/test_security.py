"""The security review's tests (docs/security.md names each one): what a hostile pull request,
a careless URL or a leaky error could do, and why it cannot."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import SandboxFactory
from repo_fixtures import content_repo

from orshot_gitops.cli import main
from orshot_gitops.content.templating import TemplateEngine, TemplateProblem
from orshot_gitops.content.yamlload import load_document
from orshot_gitops.errors import UserError
from orshot_gitops.orshot.client import OrshotClient, normalize_base_url

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "examples" / "workflows" / "orshot.yml"
KEY = "sk_live_SECURITY_review_9f8e7d6c5b4a"
CONFIG = "accounts:\n  x: {id: 1, platform: twitter}\n  ig: {id: 3, platform: instagram}\n"


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(argv))
    return code, out.getvalue()


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


# --- 1. Templates are sandboxed: no Python internals, no files, no environment -------------

SSTI_PAYLOADS = [
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__init__.__globals__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__ }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__ }}",
    "{{ lipsum.__globals__['os'].environ }}",
    "{{ range.__globals__ }}",
    "{{ range.__self__ }}",
    "{{ '{0.__class__.__init__.__globals__}'.format(product) }}",
    "{{ '{0.__class__}'.format(product) }}",
    "{{ '{0.__class__}'|format(product) }}",
    "{{ '%s'|format(product.__class__) }}",
    "{{ product|attr('__class__') }}",
    "{{ '{x.__class__}'.format_map({'x': product}) }}",
    "{{ product.__dict__ }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{% set x = product.__class__ %}{{ x }}",
    "{{ environ }}{{ os }}{{ open }}{{ __builtins__ }}",
]


@pytest.mark.parametrize("payload", SSTI_PAYLOADS)
def test_ssti_payloads_never_reach_python_internals(payload: str) -> None:
    os.environ["ORSHOT_SSTI_CANARY"] = "canary-value-7b1e"
    try:
        with pytest.raises(TemplateProblem) as caught:
            TemplateEngine().render(payload, {"product": "Acme"})
    finally:
        del os.environ["ORSHOT_SSTI_CANARY"]
    assert caught.value.kind in ("sandbox", "undefined", "error")
    assert "canary-value" not in caught.value.message


def test_includes_stay_inside_templates_dir_even_through_symlinks(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (tmp_path / "secret.txt").write_text("TOP SECRET", encoding="utf-8")
    (templates / "escape.j2").symlink_to(tmp_path / "secret.txt")
    engine = TemplateEngine(templates)
    for source in (
        "{% include '../secret.txt' %}",
        "{% include '/etc/passwd' %}",
        "{% include 'escape.j2' %}",
        "{% import '../secret.txt' as s %}",
        "{% extends '../secret.txt' %}",
    ):
        with pytest.raises(TemplateProblem) as caught:
            engine.render(source, {})
        assert "TOP SECRET" not in caught.value.message
        assert caught.value.kind in ("include", "sandbox")


@pytest.mark.parametrize(
    "source",
    [
        "{% for a in 'x' * 99999 %}{% for b in 'x' * 99999 %}{% endfor %}{% endfor %}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
        "{{ ('x' * 99999)|list|join('y' * 9999) }}",
        "{{ ('x' * 99999).replace('x', 'y' * 9999) }}",
        "{{ '{:>99999999}'.format(1) }}",
        "{{ '%99999999d' % 1 }}",
        "{{ ('\\n' * 99999)|indent(9999) }}",
        "{% set ns = namespace(s='x' * 99999) %}"
        "{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    ],
)
def test_hostile_templates_fail_fast_within_bounds(source: str) -> None:
    # CPU time, not the wall clock: the bound is on the work done, and a busy machine (other
    # test processes on the same cores) stretches the wall clock, not the work.
    started = time.process_time()
    with pytest.raises(TemplateProblem) as caught:
        TemplateEngine().render(source, {"product": "Acme"})
    assert caught.value.kind == "limit"
    assert time.process_time() - started < 2.0


# --- 2. pull_request, never pull_request_target; the plan job holds no secret ----------------


def _workflow() -> dict[Any, Any]:
    if not WORKFLOW.exists():
        pytest.skip("examples/workflows/orshot.yml is not written yet")
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return data


def test_example_workflow_plans_forks_without_secrets() -> None:
    workflow = _workflow()
    triggers = workflow.get("on", workflow.get(True))  # PyYAML reads a bare `on:` as True
    assert isinstance(triggers, dict)
    assert "pull_request_target" not in triggers and "workflow_run" not in triggers
    assert "pull_request" in triggers
    assert workflow.get("permissions") == {}, "jobs must opt in to each permission"
    jobs = workflow["jobs"]
    for name, job in jobs.items():
        text = yaml.safe_dump(job)
        runs_on_prs = "pull_request" not in str(job.get("if", "")) or "==" in str(job["if"])
        if "secrets." in text:
            # A job that sees a secret never runs for a pull request, or only for a branch of
            # this repository (render previews): a fork's pull request never meets the key.
            condition = " ".join(str(job.get("if")).split())
            if "github.event_name != 'pull_request'" not in condition:
                same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
                assert same_repo in condition and "||" not in condition, name
        elif runs_on_prs:
            for step in job["steps"]:
                if str(step.get("uses", "")).startswith("actions/checkout"):
                    assert step.get("with", {}).get("persist-credentials") is False, name
            assert job["permissions"].get("contents") == "read", name


def test_plan_needs_no_key_and_no_network(tmp_path: Path) -> None:
    repo = content_repo(tmp_path / "repo", {"posts/p.yaml": "accounts: [x]\ncontent: hi\n"}, CONFIG)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "p")
    os.environ["ORSHOT_BASE_URL"] = "http://127.0.0.1:9"  # nothing listens: any request fails
    code, out = run_cli("plan", "--repo", str(repo), "--detailed-exitcode")
    assert code == 2, out
    assert "publish x" in out


# --- 3. The API key never in output, state, commits or exceptions ----------------------------


def test_the_key_appears_nowhere_after_an_apply_under_faults(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    server = sandbox_factory(
        {
            "api_keys": [KEY],
            "rate_limit": {"requests": 1000, "per_seconds": 60},
            "faults": {"server_error_rate": 0.3, "drop_response_rate": 0.3, "seed": 7},
            "accounts": [
                {"id": 1, "platform": "twitter", "username": "acme"},
                {"id": 3, "platform": "instagram", "username": "acme", "token_expired": True},
            ],
        }
    )
    posts = {
        f"posts/p{i}.yaml": f"accounts: [x, ig]\ncontent: Post {i}\nmedia_url: https://cdn.example/{i}.png\n"
        for i in range(4)
    }
    repo = content_repo(tmp_path / "repo", posts, CONFIG)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "posts")
    os.environ.update({"ORSHOT_BASE_URL": server.base_url, "ORSHOT_API_KEY": KEY})
    outputs = []
    for argv in (
        ["apply", "--repo", str(repo), "--settle-after", "0"],
        ["apply", "--repo", str(repo), "--settle-after", "0", "--format", "json"],
        ["status", "--repo", str(repo)],
        ["refresh", "--repo", str(repo)],
    ):
        outputs.append(run_cli(*argv)[1])
    # A wrong key and an unreachable API: the errors name neither the key nor a fragment.
    os.environ["ORSHOT_API_KEY"] = KEY + "x"
    outputs.append(run_cli("apply", "--repo", str(repo), "--settle-after", "0")[1])
    os.environ["ORSHOT_BASE_URL"] = "https://user:" + KEY + "@example.com"
    outputs.append(run_cli("accounts", "--repo", str(repo))[1])

    state = (repo / ".orshot" / "state.json").read_text(encoding="utf-8")
    history = git(repo, "log", "-p", "--all")
    for where, text in [("output", "\n".join(outputs)), ("state", state), ("git", history)]:
        assert KEY not in text, f"the API key leaked into the {where}"
        assert KEY[8:24] not in text, f"part of the API key leaked into the {where}"


def test_client_errors_and_repr_never_carry_the_key(sandbox_factory: SandboxFactory) -> None:
    server = sandbox_factory({"api_keys": ["another-key"]})
    client = OrshotClient(server.base_url, KEY, sleep=lambda s: None)
    assert KEY not in repr(client)
    with client, pytest.raises(UserError) as caught:
        client.list_accounts()
    text = f"{caught.value} {caught.value!r} {caught.value.__cause__!r}"
    assert KEY not in text
    with pytest.raises(UserError) as bad:
        OrshotClient(server.base_url, KEY[:12] + " " + KEY[12:])
    assert KEY[:12] not in str(bad.value) and KEY[12:] not in str(bad.value)


# --- 4. Plain HTTP only to loopback ---------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8787",
        "http://localhost:8787/v1",
        "http://[::1]:8787/",
        "http://127.3.2.1",
        "https://api.orshot.com",
    ],
)
def test_https_or_loopback_is_accepted(url: str) -> None:
    assert normalize_base_url(url).startswith(("http://", "https://"))


@pytest.mark.parametrize(
    "url",
    [
        "http://api.orshot.com",
        "http://10.0.0.5:8787",
        "http://localhost.evil.com",
        "http://127.0.0.1.nip.io",
        "http://[::ffff:8.8.8.8]",
        "ftp://127.0.0.1",
        "file:///etc/passwd",
        "https://user:pass@api.orshot.com",
        "https://api.orshot.com/?key=1",
        "javascript:alert(1)",
    ],
)
def test_plain_http_elsewhere_and_odd_urls_are_refused(url: str) -> None:
    with pytest.raises(UserError) as caught:
        normalize_base_url(url)
    assert "user:pass" not in str(caught.value)


# --- 5. The PR comment cannot be hijacked by a caption --------------------------------------

HOSTILE = (
    "Hi @everyone and @org/team, see #1\n"
    "</details></summary><img src=x onerror=alert(1)><!--\n"
    "```\n"
    "~~~~\n"
    "```````````` [click](javascript:alert(1)) <script>alert(1)</script>"
)


def test_hostile_caption_in_the_pr_comment_is_inert(tmp_path: Path) -> None:
    import json

    post = f"accounts: [x]\ncontent: {json.dumps(HOSTILE)}\nschedule: 2031-01-01T09:00\n"
    repo = content_repo(tmp_path / "repo", {"posts/@everyone <b>.yaml": post}, CONFIG)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "hostile")
    code, markdown = run_cli("plan", "--repo", str(repo), "--format", "markdown")
    assert code == 0, markdown
    # Outside code, no live mention and no raw HTML from the caption or the file name.
    fences = _fenced_blocks(markdown)
    outside = _outside_fences(markdown)
    assert "@everyone" not in outside and "@org/team" not in outside
    assert (
        "<img" not in outside and "<script" not in outside and "</details></summary>" not in outside
    )
    # The caption is shown exactly, inside one fence that its backticks cannot close.
    assert HOSTILE in fences


def _fence_runs(markdown: str) -> list[tuple[int, int]]:
    """(start, end) character spans of fenced code blocks, by CommonMark's rule: a fence closes
    only with a run of the same character at least as long as the one that opened it."""
    spans, lines, offset, opened = [], markdown.splitlines(keepends=True), 0, None
    for line in lines:
        stripped = line.strip()
        run = len(stripped) - len(stripped.lstrip(stripped[:1])) if stripped[:1] in "`~" else 0
        if opened is None and run >= 3:
            opened = (stripped[0], run, offset)
        elif (
            opened is not None
            and run >= opened[1]
            and stripped == stripped[0] * run
            and stripped[0] == opened[0]
        ):
            spans.append((opened[2], offset + len(line)))
            opened = None
        offset += len(line)
    if opened is not None:
        spans.append((opened[2], len(markdown)))
    return spans


def _fenced_blocks(markdown: str) -> str:
    return "\n".join(markdown[a:b] for a, b in _fence_runs(markdown))


def _outside_fences(markdown: str) -> str:
    out, last = [], 0
    for a, b in _fence_runs(markdown):
        out.append(markdown[last:a])
        last = b
    out.append(markdown[last:])
    import re

    # Inline code spans are inert too.
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", "".join(out), flags=re.S)


# --- 6. YAML bombs and unsafe tags ----------------------------------------------------------


def test_a_billion_laughs_file_is_refused_fast() -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    started = time.process_time()  # the work done, whatever else runs on the machine
    with pytest.raises(UserError, match="expands to more than"):
        load_document("\n".join(lines) + "\n", "posts/bomb.yaml")
    assert time.process_time() - started < 2.0


@pytest.mark.parametrize(
    "text",
    [
        "x: !!python/object/apply:os.system ['touch /tmp/pwned']\n",
        "x: !!python/name:os.system\n",
        "x: !custom 1\n",
        "x: &l [*l]\n",
    ],
)
def test_unsafe_tags_and_self_references_are_refused(text: str) -> None:
    with pytest.raises(UserError):
        load_document(text, "posts/tag.yaml")


# --- 7. Symlinks and path traversal in post files --------------------------------------------


def test_a_post_symlinked_outside_the_repository_is_refused_unread(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("accounts: [x]\ncontent: SECRET FROM OUTSIDE\n", encoding="utf-8")
    repo = content_repo(
        tmp_path / "repo", {"posts/ok.yaml": "accounts: [x]\ncontent: hi\n"}, CONFIG
    )
    (repo / "posts" / "evil.yaml").symlink_to(outside)
    (repo / "posts" / "dir").symlink_to(tmp_path)
    code, out = run_cli("validate", "--repo", str(repo))
    assert code == 1
    assert "outside the repository" in out
    assert "SECRET FROM OUTSIDE" not in out
    code, out = run_cli("validate", "--repo", str(repo), "../outside.yaml")
    assert code in (1, 2) and "SECRET FROM OUTSIDE" not in out


def test_an_include_cannot_leave_templates_in_validate(tmp_path: Path) -> None:
    post = "accounts: [x]\ncontent: \"{% include '../orshot.yaml' %}\"\n"
    repo = content_repo(tmp_path / "repo", {"posts/p.yaml": post}, CONFIG)
    code, out = run_cli("validate", "--repo", str(repo))
    assert code == 1
    assert "platform: twitter" not in out


# --- 8. The GitHub token: only a header, only to the API, only for the comment --------------


def test_github_token_is_used_by_the_comment_alone() -> None:
    """Read in one place, used in one function (upsert_comment), as one header; the comment
    requests themselves (the header goes to GITHUB_API_URL only, never shown) are checked by
    test_github_ci.py::test_the_token_is_sent_only_as_a_header_and_never_shown. The approvals'
    reads and status (github/reviews.py) take it the same way: in the constructor, as one
    header (tests/test_approvals.py checks it never reaches output, state or history)."""
    import ast

    from orshot_gitops.github import api as github
    from orshot_gitops.github import reviews

    reviews_source = Path(reviews.__file__).read_text(encoding="utf-8")
    token_users = {
        node.name
        for node in ast.walk(ast.parse(reviews_source))
        if isinstance(node, ast.FunctionDef)
        and any(isinstance(i, ast.Attribute) and i.attr == "token" for i in ast.walk(node))
    }
    assert token_users == {"__init__"}, token_users
    assert reviews_source.count('"Authorization":') == 1

    source = Path(github.__file__).read_text(encoding="utf-8")
    users = {
        node.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef)
        and any(
            isinstance(inner, ast.Attribute) and inner.attr == "token" for inner in ast.walk(node)
        )
    }
    assert users == {"upsert_comment"}, users
    assert source.count('"Authorization":') == 1
    for module in ROOT.joinpath("orshot_gitops").rglob("*.py"):
        if module.resolve() != Path(github.__file__).resolve():
            assert "GITHUB_TOKEN" not in module.read_text(encoding="utf-8"), module
