"""Render previews: `plan --render-previews` renders a `render:` post on the pull request's
branch and records which inputs made which URLs (.orshot/state/renders/<digest>.json); the
merge brings the record to main and apply publishes exactly those URLs, rendering nothing
again. What the review shows (the recorded URL) is what goes out, even when the pull request
wrote the record by hand. The sandbox's counters prove how many renders were requested.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from reconcile_helpers import Workspace, git, post_yaml

from orshot_gitops.state.previews import RENDERS_DIR, Preview, dump_preview, preview_digest

RENDER = "POST /v1/studio/render"
RELEASE: dict[str, Any] = {
    "template": 123,
    "modifications": {"title": "{{ product }} 3.2"},
    "format": "png",
}


def _branch(ws: Workspace, name: str) -> None:
    git(ws.root, "checkout", "--quiet", "-b", name)


def _merge(ws: Workspace, branch: str) -> None:
    """The pull request merged on GitHub: a merge commit on main, pushed."""
    git(ws.root, "checkout", "--quiet", "main")
    git(ws.root, "merge", "--quiet", "--no-ff", "-m", f"Merge {branch}", branch)
    git(ws.root, "push", "--quiet", "origin", "main")


def _previews(ws: Workspace) -> dict[str, dict[str, Any]]:
    folder = ws.root / RENDERS_DIR
    if not folder.exists():
        return {}
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.iterdir())}


def _media(post: dict[str, Any]) -> list[str]:
    request = post["request"]
    return list(request.get("media_urls") or [request["media_url"]])


def _previewed_pr(ws: Workspace, render: dict[str, Any] = RELEASE) -> list[str]:
    """A pull request with a render post, previewed and its preview committed: the URLs."""
    _branch(ws, "release")
    ws.post("2026/release", post_yaml("Release 3.2 is out.", render=render))
    run = ws.plan("--render-previews")
    assert run.code == 0, run.output
    assert f"wrote 1 render preview(s) under {RENDERS_DIR}/" in run.err
    [(name, preview)] = _previews(ws).items()
    compiled = render | {"modifications": {"title": "Acme Rockets 3.2"}}
    assert name == f"{preview_digest(compiled)}.json"
    ws.commit("render previews")
    return list(preview["urls"])


def test_a_preview_reviewed_in_the_pull_request_is_published_with_no_second_render(
    ws: Workspace,
) -> None:
    urls = _previewed_pr(ws)
    assert ws.calls(RENDER) == 1  # the preview's, without publish: nothing was posted
    assert ws.sent() == []
    review = ws.plan("--format", "markdown").out
    assert f"![2026/release, page 1 of 1](<{urls[0]}>)" in review
    assert "apply will spend 0 render credits" in review
    assert "not hosted by Orshot" not in review  # the sandbox's renders are Orshot's URLs
    renders = ws.plan_json()["renders"]
    assert (renders["credits"], [p["source"] for p in renders["posts"]]) == (0, ["previewed"])

    _merge(ws, "release")
    assert ws.apply().code == 0
    assert ws.calls(RENDER) == 1  # still the preview's alone: apply rendered nothing
    [post] = ws.sent()
    assert _media(post) == urls
    assert ws.state()["posts"]["2026/release"]["render"]["media_urls"] == urls


def test_a_modification_changed_after_the_preview_is_rendered_anew_at_apply(
    ws: Workspace,
) -> None:
    urls = _previewed_pr(ws)
    changed = {**RELEASE, "modifications": {"title": "{{ product }} 3.2.1"}}
    ws.post("2026/release", post_yaml("Release 3.2 is out.", render=changed))
    renders = ws.plan_json()["renders"]
    assert (renders["credits"], renders["posts"][0]["source"]) == (1, "to render")
    assert "not previewed" in ws.plan("--format", "markdown").out

    _merge(ws, "release")
    assert ws.apply().code == 0
    assert ws.calls(RENDER) == 2  # the preview, then one render of the new inputs
    [post] = ws.sent()
    assert _media(post) != urls


@pytest.mark.parametrize(
    ("change", "render", "config_vars"),
    [
        ("template", {**RELEASE, "template": 456}, None),
        ("format", {**RELEASE, "format": "jpg"}, None),
        ("a modification", {**RELEASE, "modifications": {"title": "Rockets"}}, None),
        (
            "a new modification",
            {**RELEASE, "modifications": {**RELEASE["modifications"], "subtitle": "x"}},
            None,
        ),
        # The modifications after Jinja: a shared variable changes the image too.
        ("a variable", RELEASE, "Acme Missiles"),
    ],
)
def test_changing_any_input_of_the_image_means_a_new_preview(
    ws: Workspace, change: str, render: dict[str, Any], config_vars: str | None
) -> None:
    _previewed_pr(ws)
    if render != RELEASE:
        ws.post("2026/release", post_yaml("Release 3.2 is out.", render=render))
    if config_vars:
        text = (ws.root / "orshot.yaml").read_text().replace("Acme Rockets", config_vars)
        ws.set_config(text)
    renders = ws.plan_json()["renders"]
    assert (renders["credits"], renders["posts"][0]["source"]) == (1, "to render"), change
    assert ws.plan("--render-previews").code == 0
    assert len(_previews(ws)) == 2  # the old inputs' preview stays; the new ones get theirs
    assert ws.plan_json()["renders"]["credits"] == 0


def test_the_plan_counts_the_render_credits_apply_will_spend(ws: Workspace) -> None:
    ws.post("2026/a", post_yaml("A.", render=RELEASE))
    ws.post("2026/b", post_yaml("B.", render={**RELEASE, "format": "jpg"}))
    ws.post("2026/c", post_yaml("C, no render."))
    data = ws.plan_json()
    assert data["renders"]["credits"] == 2
    assert [p["post_id"] for p in data["renders"]["posts"]] == ["2026/a", "2026/b"]
    assert "renders: apply will spend 2 render credits" in ws.plan().out
    assert "apply will spend 2 render credits" in ws.plan("--format", "markdown").out

    assert ws.apply().code == 0
    assert ws.calls(RENDER) == 2
    # Rendered and recorded: nothing left to render, nothing to send.
    assert ws.plan_json().get("renders", {}).get("credits", 0) == 0


def test_render_previews_without_a_key_is_refused_and_writes_nothing(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.post("2026/release", post_yaml("Release.", render=RELEASE))
    monkeypatch.delenv("ORSHOT_API_KEY")
    run = ws.plan("--render-previews")
    assert run.code == 1
    assert "--render-previews renders through Orshot and needs ORSHOT_API_KEY" in run.err
    assert "Traceback" not in run.output
    assert _previews(ws) == {}
    ws.use(ws.sandbox)
    assert ws.calls(RENDER) == 0


def test_an_uncommitted_preview_is_not_applied(ws: Workspace) -> None:
    ws.post("2026/release", post_yaml("Release.", render=RELEASE))
    assert ws.plan("--render-previews").code == 0
    run = ws.apply()
    assert run.code == 1
    assert f"{RENDERS_DIR}/" in run.err and "uncommitted" in run.err
    assert ws.sent() == []


# --- a pull request that writes the record by hand ---------------------------------------------


def _planted(
    render: dict[str, Any], urls: tuple[str, ...], changes: dict[str, Any] | None = None
) -> tuple[str, str]:
    compiled = {**render, "modifications": {"title": "Acme Rockets 3.2"}}
    preview = Preview(
        compiled["template"], compiled["modifications"], compiled["format"], urls, "2026-01-01"
    )
    data = json.loads(dump_preview(preview)) | (changes or {})
    return f"{RENDERS_DIR}/{preview.digest}.json", json.dumps(data)


def test_a_planted_preview_is_what_the_review_shows_and_what_goes_out(ws: Workspace) -> None:
    """A preview written by hand names an image no render made: the review embeds that very
    image, so the reviewer approves what apply will publish, and nothing else."""
    _branch(ws, "sneaky")
    ws.post("2026/release", post_yaml("Release 3.2 is out.", render=RELEASE))
    planted = "https://cdn.example.net/not-the-template.png"
    path, text = _planted(RELEASE, (planted,))
    ws.write(path, text)
    ws.commit("a preview by hand")
    review = ws.plan("--format", "markdown").out
    assert f"(<{planted}>)" in review
    assert "reviewed preview: merging publishes exactly this image" in review
    assert "this image is not hosted by Orshot" in review

    _merge(ws, "sneaky")
    assert ws.apply().code == 0
    assert ws.calls(RENDER) == 0
    [post] = ws.sent()
    assert _media(post) == [planted]


@pytest.mark.parametrize(
    ("why", "changes", "message"),
    [
        ("not http", {"urls": ["file:///etc/passwd"]}, "URL that is not http(s)"),
        ("javascript", {"urls": ["javascript:alert(1)"]}, "URL that is not http(s)"),
        ("a URL with a space", {"urls": ["https://a.example/x y.png"]}, "not http(s)"),
        ("other inputs", {"template": 456}, "named for other render inputs"),
        ("an extra key", {"publish": True}, "does not hold exactly"),
        ("no URLs", {"urls": [], "pages": 0}, "lists no URLs"),
    ],
)
def test_a_bad_preview_stops_plan_and_apply_at_its_file(
    ws: Workspace, why: str, changes: dict[str, Any], message: str
) -> None:
    ws.post("2026/release", post_yaml("Release.", render=RELEASE))
    path, text = _planted(RELEASE, ("https://cdn.example.net/a.png",), changes)
    ws.write(path, text)
    ws.commit(f"a preview: {why}")
    for run in (ws.plan(), ws.apply()):
        assert run.code == 1, why
        assert f"{path}: error: render preview" in run.err and message in run.err, run.err
        assert "Traceback" not in run.output
    assert ws.sent() == []
    assert ws.calls(RENDER) == 0


def test_a_preview_that_is_a_link_is_refused(ws: Workspace, tmp_path: Path) -> None:
    ws.post("2026/release", post_yaml("Release.", render=RELEASE))
    path, text = _planted(RELEASE, ("https://cdn.example.net/a.png",))
    outside = tmp_path / "outside.json"
    outside.write_text(text)
    (ws.root / path).parent.mkdir(parents=True)
    os.symlink(outside, ws.root / path)
    ws.commit("a preview that points outside")
    run = ws.apply()
    assert run.code == 1
    assert "is not a plain file" in run.err
    assert ws.sent() == []


def test_a_renders_folder_that_is_a_link_is_refused(ws: Workspace, tmp_path: Path) -> None:
    ws.post("2026/release", post_yaml("Release.", render=RELEASE))
    path, text = _planted(RELEASE, ("https://cdn.example.net/a.png",))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / Path(path).name).write_text(text)
    (ws.root / RENDERS_DIR).parent.mkdir(parents=True)
    os.symlink(elsewhere, ws.root / RENDERS_DIR)
    ws.commit("the renders folder points outside")
    run = ws.plan()
    assert run.code == 1
    assert "the render previews folder is not a plain folder" in run.err


def test_two_branches_previewing_the_same_inputs_merge_keeping_the_earlier_render(
    ws: Workspace,
) -> None:
    """Both branches added the same digest's file with other URLs (a real Orshot renders new
    URLs each time): git runs the state's merge driver, which keeps the earlier render, the
    same whichever side merges, and the result is a preview that loads."""
    from orshot_gitops.state.previews import load_previews
    from orshot_gitops.vcs.mergedriver import register

    register(ws.root)
    ws.post("2026/release", post_yaml("Release.", render=RELEASE))
    path, first = _planted(RELEASE, ("https://cdn.example.net/first.png",))
    _, second = _planted(RELEASE, ("https://cdn.example.net/second.png",))
    second = second.replace("2026-01-01", "2026-02-01")
    _branch(ws, "one")
    ws.write(path, first)
    ws.commit("one's preview")
    git(ws.root, "checkout", "--quiet", "main")
    _branch(ws, "two")
    ws.write(path, second)
    ws.commit("two's preview")
    git(ws.root, "merge", "--quiet", "--no-edit", "one")  # no conflict left for a human
    [preview] = load_previews(ws.root).values()
    assert preview.urls == ("https://cdn.example.net/first.png",)
    assert git(ws.root, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("https://storage.orshot.com/renders/a.png", False),
        ("https://orshot.com/a.png", False),
        ("http://storage.orshot.com/a.png", True),  # not https: anyone on the way can swap it
        ("https://storage.orshot.com.evil.example/a.png", True),
        ("https://orshot.com@evil.example/a.png", True),
        ("https://evilorshot.com/a.png", True),
    ],
)
def test_the_review_warns_when_a_previewed_image_is_not_orshots(url: str, warned: bool) -> None:
    from orshot_gitops.reconcile.previews import PREVIEWED, RenderOutlook, Renders
    from orshot_gitops.report.renders import render_section

    item = RenderOutlook("p", "posts/p.yaml", ("x",), "d" * 64, 123, "png", PREVIEWED, (url,))
    section = render_section(Renders((item,)))
    assert ("not hosted by Orshot" in section) is warned


def test_a_video_preview_is_a_render_job_and_apply_publishes_its_output(
    tmp_path: Path,
    sandbox_factory: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from reconcile_helpers import sandbox_config

    sandbox = sandbox_factory(sandbox_config(render_job_seconds=0.2))
    ws = Workspace(tmp_path, sandbox, monkeypatch, capsys)
    clip = {"template": 123, "modifications": {"title": "{{ product }} 3.2"}, "format": "mp4"}
    [url] = _previewed_pr(ws, clip)
    assert url.endswith(".mp4")
    assert ws.calls("GET /v1/studio/render-jobs/{id}") >= 1  # waited for, as apply would
    _merge(ws, "release")
    renders = ws.calls(RENDER)
    assert ws.apply().code == 0
    assert ws.calls(RENDER) == renders
    [post] = ws.sent()
    assert _media(post) == [url]


def test_a_carousel_preview_is_published_page_by_page_in_order(ws: Workspace) -> None:
    carousel = {
        "template": 456,
        "modifications": {"page1@slideTitle": "{{ product }} 3.2"},
        "format": "png",
    }
    _branch(ws, "release")
    ws.post("2026/release", post_yaml("Release 3.2 is out.", render=carousel))
    assert ws.plan("--render-previews").code == 0
    [preview] = _previews(ws).values()
    assert preview["pages"] == 3 and len(preview["urls"]) == 3
    review = ws.plan("--format", "markdown").out
    assert [f"page {n} of 3" in review for n in (1, 2, 3)] == [True] * 3
    ws.commit("render previews")
    _merge(ws, "release")
    assert ws.apply().code == 0
    assert ws.calls(RENDER) == 1
    [post] = ws.sent()
    assert _media(post) == preview["urls"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a" * 64 + ".json", "{" + " " * 70_000 + "}", "is larger than 64 KiB"),
        ("preview.json", "{}", "is not named <sha256 of its render inputs>.json"),
        ("a" * 64 + ".json/inner.json", "{}", "is not a plain file"),
        ("a" * 64 + ".json", "\xff not json", "is not JSON"),
    ],
)
def test_what_is_not_a_preview_in_the_renders_folder_is_refused(
    ws: Workspace, name: str, content: str, message: str
) -> None:
    ws.post("2026/release", post_yaml("Release.", render=RELEASE))
    ws.write(f"{RENDERS_DIR}/{name}", content)
    ws.commit("something in the renders folder")
    run = ws.apply()
    assert run.code == 1
    assert message in run.err and "Traceback" not in run.output
    assert ws.sent() == [] and ws.calls(RENDER) == 0


def test_a_preview_orshot_refuses_fails_the_plan_and_writes_nothing(ws: Workspace) -> None:
    missing = {**RELEASE, "template": 999}  # no such template in the sandbox: a 403
    ws.post("2026/release", post_yaml("Release.", render=missing))
    run = ws.plan("--render-previews", "--format", "markdown")
    assert run.code == 1
    assert "no preview for 2026/release" in run.err and "Template not found" in run.err
    assert "❌ no preview for 2026/release" in run.out
    assert "not previewed" in run.out  # so apply would render it (and fail the same way)
    assert _previews(ws) == {}
    assert "Traceback" not in run.output and ws.sent() == []


def test_a_preview_planted_for_a_held_post_shows_in_the_review_that_plants_it(
    tmp_path: Path,
    sandbox_factory: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A post held for a reconnect is sent, later, by an apply no pull request shows: a
    preview planted for it must show in the review of the pull request that plants it."""
    from reconcile_helpers import sandbox_config

    ws = Workspace(tmp_path, sandbox_factory(sandbox_config(expired=(2,))), monkeypatch, capsys)
    ws.post("2026/release", post_yaml("Release 3.2 is out.", ("li",), render=RELEASE))
    assert ws.apply().code == 0  # held: nothing sent, nothing rendered
    assert (ws.sent(), ws.calls(RENDER)) == ([], 0)

    _branch(ws, "sneaky")
    planted = "https://cdn.example.net/not-the-template.png"
    path, text = _planted(RELEASE, (planted,))
    ws.write(path, text)
    ws.commit("a preview by hand, the post untouched")
    review = ws.plan("--format", "markdown").out
    assert f"(<{planted}>)" in review
    assert "a later apply publishes this image" in review
    renders = ws.plan_json()["renders"]
    assert (renders["credits"], renders["posts"][0]["later"]) == (0, True)

    _merge(ws, "sneaky")
    ws.use(sandbox_factory(sandbox_config()))  # li reconnected
    assert ws.apply().code == 0
    [post] = ws.sent()
    assert _media(post) == [planted]
    assert ws.calls(RENDER) == 0


def _site_media(ws: Workspace, post_id: str) -> str:
    out = ws.root.parent / "site"
    assert ws.cli("preview", "--out", str(out)).code == 0
    return next(out.glob(f"post-{post_id.replace('/', '-')}-*.html")).read_text(encoding="utf-8")


def test_the_preview_site_shows_the_reviewed_image_and_never_a_stale_one(ws: Workspace) -> None:
    """The page, as the comment, shows the image apply publishes: the reviewed preview; once
    the inputs change, not the image of the old ones (their modifications instead)."""
    urls = _previewed_pr(ws)
    assert f'src="{urls[0]}"' in _site_media(ws, "2026/release")
    _merge(ws, "release")
    assert ws.apply().code == 0
    assert f'src="{urls[0]}"' in _site_media(ws, "2026/release")  # now the state's render
    changed = {**RELEASE, "modifications": {"title": "{{ product }} 3.3"}}
    ws.post("2026/release", post_yaml("Release 3.2 is out.", render=changed))
    page = _site_media(ws, "2026/release")
    assert urls[0] not in page
    assert "Acme Rockets 3.3" in page
