"""Many brands in one repository: each content root (`brands/acme/`, `brands/zen/`) plans,
applies and records on its own, with its own state and its own key, and a change to one never
touches the other's state, its history or its key."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from brands_helpers import (
    ACME_CONFIG,
    ACME_KEY,
    ZEN_CONFIG,
    ZEN_KEY,
    Brands,
    git,
    requests,
    sandbox_config,
    sent,
)
from conftest import SandboxFactory


@pytest.fixture
def brands(tmp_path: Path) -> Brands:
    return Brands(tmp_path)


def test_a_brand_in_a_subfolder_applies_records_and_pushes_its_own_state(
    brands: Brands, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = sandbox_factory(sandbox_config(ACME_KEY))
    monkeypatch.setenv("ORSHOT_BASE_URL", server.base_url)
    monkeypatch.setenv("ORSHOT_API_KEY", ACME_KEY)
    brands.post("acme", "launch", "Acme rockets are live", ("acme-x", "acme-li"))
    brands.post("zen", "calm", "Breathe in", ("zen-x",))
    zen_history = brands.history("brands/zen")

    run = brands.cli("apply", cwd=brands.root / "brands/acme/posts")
    assert run.code == 0, run.output
    assert [p["request"]["content"] for p in sent(server.base_url, ACME_KEY)] == [
        "Acme rockets are live"
    ]
    # The record is the brand's own, committed and pushed; the other brand is untouched.
    assert (brands.root / "brands/acme/.orshot/state.json").is_file()
    assert not (brands.root / ".orshot").exists()
    assert brands.state_bytes("zen") == {}
    assert brands.history("brands/zen") == zen_history
    assert git(brands.root, "status", "--porcelain") == ""
    assert brands.remote_history("brands/acme/.orshot")
    # The merge driver covers the subfolder's state file.
    attr = git(brands.root, "check-attr", "merge", "--", "brands/acme/.orshot/state.json")
    assert attr.endswith("merge: orshot-state")

    again = brands.cli("plan", "--detailed-exitcode", cwd=brands.root / "brands/acme")
    assert again.code == 0, again.output


def test_each_brand_sends_with_its_own_key_and_never_touches_the_other(
    brands: Brands, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two Orshot workspaces: each accepts only its brand's key, so a brand that used the
    # other's key would be refused.
    acme_server = sandbox_factory(sandbox_config(ACME_KEY))
    zen_server = sandbox_factory(sandbox_config(ZEN_KEY))
    monkeypatch.setenv("ORSHOT_API_KEY", ACME_KEY)
    monkeypatch.setenv("ORSHOT_API_KEY_ZEN", ZEN_KEY)
    brands.post("acme", "launch", "Acme rockets are live", ("acme-x",))
    brands.post("zen", "calm", "Breathe in", ("zen-x", "zen-li"))

    monkeypatch.setenv("ORSHOT_BASE_URL", zen_server.base_url)
    zen = brands.cli("apply", cwd=brands.root / "brands/zen")
    assert zen.code == 0, zen.output
    zen_state = brands.state_bytes("zen")
    zen_history = brands.remote_history("brands/zen")
    assert zen_state and zen_history

    monkeypatch.setenv("ORSHOT_BASE_URL", acme_server.base_url)
    acme = brands.cli("apply", cwd=brands.root / "brands/acme")
    assert acme.code == 0, acme.output
    assert [p["request"]["content"] for p in sent(acme_server.base_url, ACME_KEY)] == [
        "Acme rockets are live"
    ]
    assert [p["request"]["content"] for p in sent(zen_server.base_url, ZEN_KEY)] == ["Breathe in"]

    # A change to acme: applied, recorded, pushed; zen's state and history are as they were.
    brands.post("acme", "follow-up", "Acme rockets, the sequel", ("acme-x",))
    again = brands.cli("apply", cwd=brands.root / "brands/acme")
    assert again.code == 0, again.output
    assert brands.state_bytes("zen") == zen_state
    assert brands.remote_history("brands/zen") == zen_history
    for run in (zen, acme, again):
        assert ACME_KEY not in run.output and ZEN_KEY not in run.output
    tracked = git(
        brands.root, "grep", "-I", "-c", "-e", ACME_KEY, "-e", ZEN_KEY, "HEAD", check=False
    )
    assert tracked == ""


def test_a_brand_whose_key_variable_is_unset_names_it(
    brands: Brands, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = sandbox_factory(sandbox_config(ACME_KEY))
    monkeypatch.setenv("ORSHOT_BASE_URL", server.base_url)
    monkeypatch.setenv("ORSHOT_API_KEY", ACME_KEY)  # acme's key: never zen's
    monkeypatch.delenv("ORSHOT_API_KEY_ZEN", raising=False)
    brands.post("zen", "calm", "Breathe in", ("zen-x",))
    state = brands.state_bytes("zen")

    run = brands.cli("apply", cwd=brands.root / "brands/zen")
    assert run.code == 1, run.output
    assert "ORSHOT_API_KEY_ZEN is not set" in run.err
    assert "brands/zen" in run.err
    assert "Traceback" not in run.output
    assert sent(server.base_url, ACME_KEY) == []
    assert brands.state_bytes("zen") == state


@pytest.mark.parametrize(
    "value", ["GITHUB_TOKEN", "orshot_api_key_zen", "ORSHOT_API_KEY ZEN", "sk_live_pasted_KEY_123"]
)
def test_api_key_env_must_name_one_of_our_variables(brands: Brands, value: str) -> None:
    brands.write("brands/zen/orshot.yaml", ZEN_CONFIG.replace("ORSHOT_API_KEY_ZEN", value))
    brands.commit("zen: key variable")
    run = brands.cli("validate", cwd=brands.root / "brands/zen")
    assert run.code == 1, run.output
    assert "orshot.yaml:1:" in run.output
    assert "api_key_env" in run.output
    assert value not in run.output  # it may be a key pasted in the wrong place
    assert "Traceback" not in run.output


def test_all_runs_every_brand_with_its_own_key_and_the_worst_exit_code(
    brands: Brands, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One Orshot that knows only acme's key: zen's apply, with zen's (unknown) key, fails,
    # and acme's still goes out.
    server = sandbox_factory(sandbox_config(ACME_KEY))
    monkeypatch.setenv("ORSHOT_BASE_URL", server.base_url)
    monkeypatch.setenv("ORSHOT_API_KEY", ACME_KEY)
    monkeypatch.setenv("ORSHOT_API_KEY_ZEN", ZEN_KEY)
    brands.post("acme", "launch", "Acme rockets are live", ("acme-x",))
    brands.post("zen", "calm", "Breathe in", ("zen-x",))

    planned = brands.cli("plan", "--all", "--format", "json", cwd=brands.root / "brands/zen/posts")
    assert planned.code == 0, planned.output
    by_root = planned.json()
    assert sorted(by_root) == ["brands/acme", "brands/zen"]
    assert [a["post_id"] for a in by_root["brands/acme"]["result"]["actions"]] == ["launch"]
    assert [a["post_id"] for a in by_root["brands/zen"]["result"]["actions"]] == ["calm"]

    applied = brands.cli("apply", "--all")
    assert applied.code == 1, applied.output
    assert applied.out.index("== brands/acme ==") < applied.out.index("== brands/zen ==")
    assert [p["request"]["content"] for p in sent(server.base_url, ACME_KEY)] == [
        "Acme rockets are live"
    ]
    assert "brands/acme ok, brands/zen exit 1" in applied.err
    # Orshot refused zen's key: the hint names zen's variable, not acme's.
    assert "check ORSHOT_API_KEY_ZEN:" in applied.err, applied.err
    assert ACME_KEY not in applied.output and ZEN_KEY not in applied.output

    validated = brands.cli("validate", "--all")
    assert validated.code == 0, validated.output
    status = brands.cli("status", "--all", "--format", "json")
    assert status.code == 0, status.output
    assert sorted(status.json()) == ["brands/acme", "brands/zen"]
    assert "launch" in json.dumps(status.json()["brands/acme"]["result"])
    assert "launch" not in json.dumps(status.json()["brands/zen"]["result"])
    with_paths = brands.cli("validate", "--all", "posts/launch.yaml")
    assert with_paths.code == 2 and "--all" in with_paths.err


def test_a_brand_without_its_key_fails_alone_and_the_other_still_plans(
    brands: Brands, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = sandbox_factory(sandbox_config(ACME_KEY))
    monkeypatch.setenv("ORSHOT_BASE_URL", server.base_url)
    monkeypatch.setenv("ORSHOT_API_KEY", ACME_KEY)
    monkeypatch.delenv("ORSHOT_API_KEY_ZEN", raising=False)
    brands.write("brands/zen/templates/.keep", "")
    brands.post("acme", "launch", "Acme rockets are live", ("acme-x",))
    brands.post("zen", "calm", "Breathe in", ("zen-x",))
    zen_state = brands.state_bytes("zen")

    run = brands.cli("apply", "--all", "--format", "json")
    assert run.code == 1, run.output
    results = run.json()
    assert results["brands/acme"]["exit_code"] == 0
    assert results["brands/zen"]["exit_code"] == 1
    assert "ORSHOT_API_KEY_ZEN is not set" in results["brands/zen"]["error"]["message"]
    assert "brands/zen" in results["brands/zen"]["error"]["message"]
    assert brands.state_bytes("zen") == zen_state
    plan = brands.cli("plan", "--all")
    assert plan.code == 0, plan.output
    assert "== brands/zen ==" in plan.out and "calm" in plan.out


def test_a_root_inside_another_roots_posts_folder_is_refused_from_both_sides(
    brands: Brands, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = sandbox_factory(sandbox_config(ACME_KEY))
    monkeypatch.setenv("ORSHOT_BASE_URL", server.base_url)
    monkeypatch.setenv("ORSHOT_API_KEY", ACME_KEY)
    # A brand dropped inside acme's posts folder, with acme's aliases: without the check its
    # post would be acme's post, sent to acme's accounts with acme's key.
    brands.write("brands/acme/posts/intruder/orshot.yaml", ACME_CONFIG)
    brands.post("acme", "intruder/posts/hello", "Not an acme post", ("acme-x",))

    outer = brands.cli("apply", cwd=brands.root / "brands/acme")
    assert outer.code == 1, outer.output
    assert "posts/intruder/orshot.yaml" in outer.output
    assert "another content root inside this root's posts folder" in outer.output
    inner = brands.cli("plan", cwd=brands.root / "brands/acme/posts/intruder")
    assert inner.code == 1, inner.output
    assert "inside brands/acme/posts/ of the content root brands/acme" in inner.output
    every = brands.cli("validate", "--all")
    assert every.code == 1, every.output
    assert "brands/acme/posts/intruder/orshot.yaml:1:1: error" in every.err
    assert "== brands/acme/posts/intruder ==" not in every.out
    assert sent(server.base_url, ACME_KEY) == []
    for run in (outer, inner, every):
        assert "Traceback" not in run.output


def test_a_brand_whose_orshot_yaml_breaks_is_never_given_the_default_key(
    brands: Brands, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # zen publishes with its key; then its orshot.yaml breaks. ORSHOT_API_KEY (acme's) is in
    # the environment: zen's refresh and apply must not fall back to it.
    acme_server = sandbox_factory(sandbox_config(ACME_KEY))
    zen_server = sandbox_factory(sandbox_config(ZEN_KEY))
    monkeypatch.setenv("ORSHOT_API_KEY", ACME_KEY)
    monkeypatch.setenv("ORSHOT_API_KEY_ZEN", ZEN_KEY)
    monkeypatch.setenv("ORSHOT_BASE_URL", zen_server.base_url)
    brands.post("zen", "calm", "Breathe in", ("zen-x",))
    assert brands.cli("apply", cwd=brands.root / "brands/zen").code == 0
    brands.write("brands/zen/orshot.yaml", ZEN_CONFIG + "timezone: [not, a, zone]\n")
    brands.commit("zen: a broken orshot.yaml")

    monkeypatch.setenv("ORSHOT_BASE_URL", acme_server.base_url)
    for argv in (("accounts",), ("refresh",), ("apply",), ("status",)):
        run = brands.cli(*argv, cwd=brands.root / "brands/zen")
        assert "Traceback" not in run.output
        assert ACME_KEY not in run.output and ZEN_KEY not in run.output
    assert requests(acme_server.base_url, ACME_KEY) == 0


def test_a_plain_git_server_publishes_each_brand_with_its_own_key(
    tmp_path: Path, sandbox_factory: SandboxFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    from orshot_gitops.cli import main

    server = sandbox_factory(sandbox_config(ACME_KEY, ZEN_KEY))
    bare = tmp_path / "social.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    assert main(["hook", "install", "--server", "--repo", str(bare)]) == 0
    capsys.readouterr()
    # Only zen's key on the server: acme's push is told why, zen's posts go out.
    (bare / "orshot.env").write_text(
        f"ORSHOT_API_KEY_ZEN={ZEN_KEY}\nORSHOT_BASE_URL={server.base_url}\n"
    )
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    for rel, text in {
        "brands/acme/orshot.yaml": ACME_CONFIG,
        "brands/acme/posts/launch.yaml": "accounts: [acme-x]\ncontent: Acme is live\n",
        "brands/zen/orshot.yaml": ZEN_CONFIG,
        "brands/zen/posts/calm.yaml": "accounts: [zen-x]\ncontent: Breathe in\n",
    }.items():
        (clone / rel).parent.mkdir(parents=True, exist_ok=True)
        (clone / rel).write_text(text)
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "two brands")

    pushed = subprocess.run(
        ["git", "push", "origin", "main"], cwd=clone, capture_output=True, text=True
    )
    said = pushed.stderr
    assert "brands/zen" in said and "published" in said
    assert "ORSHOT_API_KEY is not set" in said and "brands/acme" in said
    assert [p["request"]["content"] for p in sent(server.base_url, ZEN_KEY)] == ["Breathe in"]
    assert ZEN_KEY not in said
    git(clone, "pull", "-q", "--rebase")
    assert (clone / "brands/zen/.orshot/state.json").is_file()
    assert not (clone / "brands/acme/.orshot").exists()


def test_the_client_hook_validates_every_brand_of_the_pushed_commit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from orshot_gitops.cli import main

    bare = tmp_path / "social.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    assert main(["hook", "install", "--client", "--repo", str(clone)]) == 0
    for rel, text in {
        "brands/acme/orshot.yaml": ACME_CONFIG,
        "brands/acme/posts/launch.yaml": "accounts: [acme-x]\ncontent: Acme is live\n",
        "brands/zen/orshot.yaml": ZEN_CONFIG,
        "brands/zen/posts/bad.yaml": "accounts: [acme-x]\ncontent: Wrong brand\n",
    }.items():
        (clone / rel).parent.mkdir(parents=True, exist_ok=True)
        (clone / rel).write_text(text)
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "two brands, one bad post")
    refused = subprocess.run(
        ["git", "push", "origin", "main"], cwd=clone, capture_output=True, text=True
    )
    assert refused.returncode != 0
    assert "brands/zen/posts/bad.yaml:1" in refused.stdout + refused.stderr
    assert git(bare, "rev-parse", "--verify", "-q", "main", check=False) == ""


def test_two_brands_applied_in_parallel_jobs_race_on_the_push_and_both_land_once(
    brands: Brands, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The matrix runs acme's and zen's applies at once, in two checkouts of one branch:
    acme's results land on the remote between zen's fetch and zen's push of its intents.
    Zen's push is rejected, it takes acme's commit, plans again and pushes: each brand's
    post goes out once, and each state survives whole."""
    server = sandbox_factory(sandbox_config(ACME_KEY, ZEN_KEY))
    monkeypatch.setenv("ORSHOT_BASE_URL", server.base_url)
    monkeypatch.setenv("ORSHOT_API_KEY", ACME_KEY)
    monkeypatch.setenv("ORSHOT_API_KEY_ZEN", ZEN_KEY)
    brands.post("acme", "launch", "Acme rockets are live", ("acme-x",))
    brands.post("zen", "calm", "Breathe in", ("zen-x",))
    git(brands.root, "push", "-q", "origin", "main")
    job_b = brands.root.parent / "job-b"
    git(brands.root.parent, "clone", "-q", str(brands.remote), str(job_b))

    # Job A (acme) records locally; its push is what races zen's.
    local = brands.cli("apply", "--local", cwd=brands.root / "brands/acme")
    assert local.code == 0, local.output
    hook = job_b / ".git/hooks/pre-push"
    hook.write_text(
        "#!/bin/sh\n"
        f"if [ ! -e '{job_b}/.raced' ]; then touch '{job_b}/.raced'; "
        f"git -C '{brands.root}' push -q origin main; fi\n"
    )
    hook.chmod(0o755)
    zen = brands.cli("apply", "--push", cwd=job_b / "brands/zen")
    assert zen.code == 0, zen.output
    assert (job_b / ".raced").exists()

    contents = sorted(p["request"]["content"] for p in sent(server.base_url, ACME_KEY))
    assert contents == ["Acme rockets are live", "Breathe in"]
    # Zen's intents went on top of acme's results: its first push lost the race.
    acme_last = brands.remote_history("brands/acme/.orshot")[0]
    zen_first = brands.remote_history("brands/zen/.orshot")[-1]
    git(brands.remote, "merge-base", "--is-ancestor", acme_last, zen_first)
    tip = git(brands.remote, "rev-parse", "main")
    for brand, post in (("acme", "launch"), ("zen", "calm")):
        files = git(brands.remote, "ls-tree", "-r", "--name-only", tip, f"brands/{brand}/.orshot")
        assert f"brands/{brand}/.orshot/state/posts/{post}.json" in files.splitlines(), files


def test_a_brands_apply_takes_the_checkouts_lock(
    brands: Brands, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two applies in one checkout would both write the state file and both commit: the
    second is refused, for a brand in a subfolder as for a repository's only root."""
    import fcntl

    server = sandbox_factory(sandbox_config(ACME_KEY))
    monkeypatch.setenv("ORSHOT_BASE_URL", server.base_url)
    monkeypatch.setenv("ORSHOT_API_KEY", ACME_KEY)
    brands.post("acme", "launch", "Acme rockets are live", ("acme-x",))
    with open(brands.root / ".git" / "orshot-apply.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another apply, running
        run = brands.cli("apply", "--local", cwd=brands.root / "brands/acme")
    assert run.code == 1, run.output
    assert "another orshot-gitops apply is running" in run.err
    assert sent(server.base_url, ACME_KEY) == []
