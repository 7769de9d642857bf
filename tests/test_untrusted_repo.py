"""A pull request may change anything in the repository, symlinks included; its plan runs
without the Orshot key and the apply after the merge runs with it (DESIGN.md, "The repository
is untrusted input"). Each story here is one way a hostile pull request tried to make `apply`
publish a secret that `validate` and the PR plan never showed: every one must be refused by
`validate` and `plan` with a positioned error, and `apply` (run as CI runs it, a process whose
environment holds the key) must send nothing. The sandbox's Posts Log is the ground truth.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from reconcile_helpers import API_KEY, CONFIG, Run, Workspace, git

# What actions/checkout leaves in .git/config for the apply job (persist-credentials).
CHECKOUT_TOKEN = "ghs_CheckoutToken_3b9d1f77aa"
# Prints the key only where one is set: in the PR plan (no key) the caption looks innocent.
ENVIRON_CAPTION = (
    "{% set e %}{% include 'proc/self/environ' ignore missing %}{% endset %}"
    "Launch day!{% if 'ORSHOT_API_KEY=' in e %} {{ e.split('ORSHOT_API_KEY=')[1][:40] }}"
    "{% endif %}"
)


def apply_as_ci(ws: Workspace) -> Run:
    """`apply` in its own process, as the CI job runs it: the key is in that process's
    environment (and so in its /proc/self/environ), not only in os.environ."""
    done = subprocess.run(
        [sys.executable, "-m", "orshot_gitops", "apply", "--repo", str(ws.root)],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def assert_refused_everywhere(ws: Workspace, where: str, secrets: tuple[str, ...]) -> None:
    """Nothing went out, nothing was recorded, and validate and plan name `where`
    (a regular expression for 'file:line:column: error: ...') on one line."""
    head = ws.head()
    applied = apply_as_ci(ws)
    log = json.dumps(ws.sent())
    for secret in secrets:
        assert secret not in log, "the secret reached the sandbox's Posts Log"
        assert secret not in applied.output
    assert ws.sent() == [], log
    assert applied.code == 1, applied.output
    assert "Traceback" not in applied.output
    assert ws.head() == head and not (ws.root / ".orshot").exists()
    for run in (ws.cli("validate"), ws.plan()):
        assert run.code == 1, run.output
        assert re.search(r"^" + where, run.output, re.M), run.output
        for secret in secrets:
            assert secret not in run.output


def test_a_templates_dir_symlinked_to_the_root_cannot_publish_the_key(ws: Workspace) -> None:
    os.symlink("/", ws.root / "tpl")
    ws.set_config(CONFIG + "templates_dir: tpl\n")
    ws.post("launch", f"accounts: [x]\ncontent: {json.dumps(ENVIRON_CAPTION)}\n")
    assert_refused_everywhere(
        ws, r"orshot\.yaml:9:16: error: templates_dir 'tpl' .*symbolic link", (API_KEY,)
    )


def test_the_templates_folder_replaced_by_a_symlink_cannot_publish_the_key(
    ws: Workspace,
) -> None:
    git(ws.root, "rm", "-rq", "templates")
    os.symlink("/", ws.root / "templates")
    ws.post("launch", f"accounts: [x]\ncontent: {json.dumps(ENVIRON_CAPTION)}\n")
    assert_refused_everywhere(
        ws, r"orshot\.yaml:1:1: error: templates_dir 'templates' .*symbolic link", (API_KEY,)
    )


def test_an_include_of_git_config_cannot_publish_the_checkout_token(ws: Workspace) -> None:
    ws.set_config(CONFIG + "templates_dir: .\n")
    caption = "Hello{% set c %}{% include '.git/config' %}{% endset %}{{ c[-40:] }}"
    ws.post("launch", f"accounts: [x]\ncontent: {json.dumps(caption)}\n")
    git(ws.root, "config", "http.https://github.com/.extraheader", "basic " + CHECKOUT_TOKEN)
    assert_refused_everywhere(
        ws, r"posts/launch\.yaml:2:\d+: error: .*'\.git/config'", (CHECKOUT_TOKEN,)
    )


def test_an_include_through_a_link_into_git_is_refused(ws: Workspace) -> None:
    os.symlink("../.git", ws.root / "templates" / "g")
    caption = "Hello {% include 'g/config' %}"
    ws.post("launch", f"accounts: [x]\ncontent: {json.dumps(caption)}\n")
    git(ws.root, "config", "http.https://github.com/.extraheader", "basic " + CHECKOUT_TOKEN)
    assert_refused_everywhere(
        ws, r"posts/launch\.yaml:2:\d+: error: .*'g/config'", (CHECKOUT_TOKEN,)
    )


def test_an_untracked_file_cannot_be_included_by_plan_or_apply(ws: Workspace) -> None:
    """A credentials file another CI step wrote into the workspace (as google-github-actions/
    auth does), hidden from git status by a committed .gitignore, never reached the PR plan:
    plan and apply include only what git tracks."""
    ws.write(".gitignore", "gha-creds-*.json\n")
    ws.set_config(CONFIG + "templates_dir: .\n")
    caption = "Hi {% include 'gha-creds-1.json' ignore missing %}"
    ws.post("launch", f"accounts: [x]\ncontent: {json.dumps(caption)}\n")
    ws.write("gha-creds-1.json", '{"private_key": "CREDS-PRIVATE-KEY-771"}\n')
    head = ws.head()
    applied = apply_as_ci(ws)
    assert applied.code == 1, applied.output
    assert ws.sent() == [] and ws.head() == head
    assert "CREDS-PRIVATE-KEY" not in applied.output
    planned = ws.plan()
    assert planned.code == 1
    assert re.search(
        r"^posts/launch\.yaml:2:\d+: error: .*'gha-creds-1\.json' is not tracked by git",
        planned.output,
        re.M,
    ), planned.output
    # A local validate reads the working tree, so a snippet can be tried before committing.
    assert ws.cli("validate").code == 0


def test_a_posts_folder_symlinked_outside_is_refused_unread(ws: Workspace, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "leak.yaml").write_text(
        "accounts: [x]\ncontent: SECRET FROM OUTSIDE\n", encoding="utf-8"
    )
    os.symlink(outside, ws.root / "posts")
    ws.commit("posts live elsewhere")
    assert_refused_everywhere(
        ws,
        r"orshot\.yaml:1:1: error: posts_dir 'posts' .*symbolic link",
        ("SECRET FROM OUTSIDE",),
    )


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("posts_dir: ../elsewhere", r"posts_dir '\.\./elsewhere' .*outside the repository"),
        ("templates_dir: ../elsewhere", r"templates_dir '\.\./elsewhere' .*outside"),
        ("posts_dir: .git", r"posts_dir '\.git' .*\.git"),
        ("templates_dir: .git/hooks", r"templates_dir '\.git/hooks' .*\.git"),
        ("templates_dir: posts/../../elsewhere", r"templates_dir .*outside the repository"),
        ("posts_dir: " + "a" * 300, r"posts_dir 'a{60}…' is too long for a path"),
        ("templates_dir: " + "a/" * 3000 + "b", r"templates_dir 'a/a/.*…' is too long for a path"),
    ],
)
def test_dirs_outside_the_repository_are_refused_at_their_line(
    ws: Workspace, tmp_path: Path, setting: str, message: str
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "leak.yaml").write_text(
        "accounts: [x]\ncontent: SECRET FROM OUTSIDE\n", encoding="utf-8"
    )
    ws.set_config(CONFIG + setting + "\n")
    ws.post("launch", "accounts: [x]\ncontent: hi\n")
    assert_refused_everywhere(
        ws, r"orshot\.yaml:9:\d+: error: " + message, ("SECRET FROM OUTSIDE",)
    )


def test_a_post_file_linked_into_git_is_refused_unread(ws: Workspace) -> None:
    (ws.root / "posts").mkdir()
    os.symlink("../.git/config", ws.root / "posts" / "config.yaml")
    ws.commit("a post that is git's config")
    git(ws.root, "config", "http.https://github.com/.extraheader", "basic " + CHECKOUT_TOKEN)
    assert_refused_everywhere(ws, r"posts/config\.yaml: error: .*symbolic link", (CHECKOUT_TOKEN,))


def test_a_linked_orshot_yaml_is_refused_unread(ws: Workspace, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(CONFIG.replace("Acme Rockets", "SECRET FROM OUTSIDE"), encoding="utf-8")
    (ws.root / "orshot.yaml").unlink()
    os.symlink(outside, ws.root / "orshot.yaml")
    ws.post("launch", "accounts: [x]\ncontent: hi {{ product }}\n")
    assert_refused_everywhere(
        ws, r"orshot\.yaml: error: symbolic link points outside", ("SECRET FROM OUTSIDE",)
    )


@pytest.mark.parametrize("link", [".orshot", ".orshot/state.json"])
def test_a_state_file_behind_a_link_is_refused_before_anything_is_sent(
    ws: Workspace, tmp_path: Path, link: str
) -> None:
    """A state written through a link never reaches git (git refuses paths beyond a link):
    the next run, on a fresh checkout, would find no record and post everything again."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if link == ".orshot":
        os.symlink(elsewhere, ws.root / ".orshot")
    else:
        (ws.root / ".orshot").mkdir()
        os.symlink(elsewhere / "state.json", ws.root / ".orshot" / "state.json")
    ws.post("launch", "accounts: [x]\ncontent: hi\n")
    head = ws.head()
    applied = apply_as_ci(ws)
    assert applied.code == 1, applied.output
    assert ws.sent() == [] and ws.head() == head
    assert list(elsewhere.iterdir()) == []
    for run in (ws.cli("validate"), ws.plan()):
        assert run.code == 1, run.output
        assert re.search(r"^\.orshot/state\.json: error: .*symbolic link", run.output, re.M), (
            run.output
        )


LOOP_POST = "accounts: [x]\ncontent: \"hi {% include 'x' %}\"\n"


@pytest.mark.parametrize(
    ("links", "config", "where"),
    [
        (
            {"posts": "posts"},
            "",
            r"orshot\.yaml:1:1: error: posts_dir 'posts' .*cannot be followed",
        ),
        ({"tpl": "tpl"}, "templates_dir: tpl\n", r"orshot\.yaml:9:16: error: templates_dir"),
        ({"posts/a.yaml": "a.yaml"}, "", r"posts/a\.yaml: error: symbolic link cannot be followed"),
        ({"templates/x": "x"}, "", r"posts/p\.yaml:2:\d+: error: .*'x' cannot be read"),
        ({"templates/x": "y", "templates/y": "x"}, "", r"posts/p\.yaml:2:\d+: error: .*'x'"),
    ],
)
def test_link_loops_are_positioned_errors_not_crashes(
    ws: Workspace, links: dict[str, str], config: str, where: str
) -> None:
    if "posts" not in links:
        ws.write("posts/p.yaml", LOOP_POST)
    for link, target in links.items():
        (ws.root / link).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, ws.root / link)
    ws.set_config(CONFIG + config)
    assert_refused_everywhere(ws, where, ())


@pytest.mark.parametrize(
    "include",
    ["'x' * 300", "('x' * 200 + '/') * 30", "'a\\x00b'", "'latin1.j2'", "'/proc/self/environ'"],
)
def test_odd_include_names_are_template_problems(tmp_path: Path, include: str) -> None:
    from orshot_gitops.content.templating import TemplateEngine, TemplateProblem

    (tmp_path / "latin1.j2").write_bytes(b"caf\xe9")
    with pytest.raises(TemplateProblem) as caught:
        TemplateEngine(tmp_path).render("{% include " + include + " %}", {})
    assert caught.value.kind == "include" and caught.value.line == 1


@pytest.mark.parametrize("tracked", [None, frozenset({"sig.j2"})])
def test_a_missing_snippet_is_still_missing(tmp_path: Path, tracked: frozenset[str] | None) -> None:
    """Refusals are errors, but a snippet that is not there stays "not found": `ignore
    missing` works in validate (working tree) and in plan (what git tracks) alike."""
    from orshot_gitops.content.templating import TemplateEngine, TemplateProblem

    (tmp_path / "sig.j2").write_text("-- Acme", encoding="utf-8")
    engine = TemplateEngine(tmp_path, tracked=tracked)
    assert engine.render("a{% include 'nope.j2' ignore missing %}b", {}) == "ab"
    assert engine.render("a {% include 'sig.j2' %}", {}) == "a -- Acme"
    with pytest.raises(TemplateProblem, match=r"'nope\.j2' not found"):
        engine.render("{% include 'nope.j2' %}", {})


def test_tracked_snippets_are_regular_files_in_the_index_under_the_content_root(
    tmp_path: Path,
) -> None:
    from orshot_gitops.vcs.gitrepo import open_repo

    top = tmp_path / "top"
    (top / "site" / "templates").mkdir(parents=True)
    (top / "other").mkdir()
    (top / "site" / "templates" / "sig.j2").write_text("sig", encoding="utf-8")
    (top / "site" / "orshot.yaml").write_text("x", encoding="utf-8")
    (top / "other" / "x.j2").write_text("x", encoding="utf-8")
    os.symlink("/etc", top / "site" / "templates" / "link")
    git(top, "init", "-q")
    git(top, "add", "-A")
    git(top, "commit", "-qm", "content in a subfolder")
    (top / "site" / "templates" / "untracked.j2").write_text("u", encoding="utf-8")
    with open_repo(top / "site") as repo:
        assert repo.tracked_regular_files("templates") == {"sig.j2"}
        assert repo.tracked_regular_files(".") == {"orshot.yaml", "templates/sig.j2"}
