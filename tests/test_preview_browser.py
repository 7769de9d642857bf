"""The preview site in a real browser: headless Chromium (Debian's `chromium` package) driven
by Playwright's Python package. Playwright's own browser download is never used.

The site and the posts' images are served by a local http.server on a free loopback port; the
expected captions come from `plan --format json` (what apply would send), not from the site's
code. One browser for the session: these tests take seconds.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reconcile_helpers import CONFIG, Workspace, post_yaml

# The screenshots' own browser flags, loopback server and images.
from tools.screenshots import CHROMIUM_ARGS, png, serve

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: pip install -e '.[dev]'"
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium; .ci/run does)"
)

PHONE, DESKTOP = 375, 1280

CONFIG_ALL = CONFIG.replace("timezone: UTC\n", "timezone: America/New_York\n").replace(
    "  fb: {id: 4, platform: facebook}\n",
    "  fb: {id: 4, platform: facebook}\n"
    "  pins: {id: 5, platform: pinterest}\n"
    "  store: {id: 8, platform: googlebusiness}\n"
    "  sky: {id: 9, platform: bluesky}\n",
)

HOSTILE = (
    '<script>window.pwned = 1; alert("script")</script>'
    '<img src=x onerror="window.pwned = 2; alert(2)"> @everyone @here\n'
    '<a href="javascript:window.pwned=3">click me</a> javascript:alert(1) '
    "</div></article></main><div id=injected>!</div>\n"
    "{{ '<b>' }} and a very-long-word-" + "x" * 120
)

HOSTILE_COMMENT = '<img src=x onerror="window.pwned = 5"><script>alert(5)</script> @channel </div>'


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Site:
    def __init__(self, base: str, folder: Path, expected: dict[tuple[str, str], str]) -> None:
        self.base = base
        self.folder = folder
        self.expected = expected  # (post id, account) -> the caption apply would send

    def pages(self) -> list[str]:
        return sorted(p.name for p in self.folder.glob("*.html"))


@pytest.fixture
def site(ws: Workspace, tmp_path: Path) -> Iterator[Site]:
    """A pull request's posts for every mock-up shape, a live post, a hostile caption."""
    www = tmp_path / "www"
    (www / "img").mkdir(parents=True)
    for name, size in {"square.png": (40, 40), "wide.png": (80, 45), "tall.png": (40, 60)}.items():
        (www / "img" / name).write_bytes(png(*size))
    with serve(www) as base:
        img = f"{base}/img"
        ws.set_config(CONFIG_ALL)
        ws.post("2026/live", post_yaml("Already live: {{ product }}.", accounts=("x",)))
        assert ws.apply().code == 0
        ws.post(
            "2030/berlin-night",
            post_yaml(
                "Midnight sale in Berlin.",
                accounts=("x", "fb", "sky"),
                schedule="2030-03-10T00:30",
                timezone="Europe/Berlin",
                media_url=f"{img}/wide.png",
            ),
        )
        ws.post(
            "2030/carousel",
            post_yaml(
                "Four pictures. " + "A caption long enough to pass Instagram's fold. " * 4,
                accounts=("ig", "li"),
                schedule="2030-03-11T09:00",
                media_urls=[f"{img}/square.png", f"{img}/wide.png", f"{img}/tall.png"],
            ),
        )
        ws.post(
            "2030/hiring",
            post_yaml(
                "We are hiring.\n{% include 'signature.j2' %}",
                accounts=("li", "pins", "store"),
                schedule="2030-03-12T10:00",
                media_url=f"{img}/tall.png",
                platform_options={
                    "li": {"firstComment": "Apply: https://acme.example.com/careers"},
                    "pins": {"title": "Engineers wanted", "link": "https://acme.example.com/jobs"},
                },
            ),
        )
        ws.post(
            "2030/hostile",
            post_yaml(
                HOSTILE,
                # Instagram has no text-only post (validate refuses it): Google Business does.
                accounts=("li", "store", "fb"),
                schedule="2030-03-13T12:00",
                platform_options={"li": {"firstComment": HOSTILE_COMMENT}},
            ),
        )
        plan = ws.plan_json()
        expected = {(a["post_id"], a["account"]): a["content"] for a in plan["actions"]}
        expected[("2026/live", "x")] = "Already live: Acme Rockets."
        run = ws.cli("preview", "--out", str(www / "site"))
        assert run.code == 0, run.output
        yield Site(f"{base}/site", www / "site", expected)


def open_page(browser: Any, url: str, width: int) -> tuple[Any, list[str]]:
    """A fresh page at `url`, with a trap for anything a post might try to run."""
    page = browser.new_page(viewport={"width": width, "height": 800})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url, wait_until="load")
    return page, dialogs


def test_every_mockup_shows_its_caption_exactly(browser: Any, site: Site) -> None:
    seen: dict[tuple[str, str], str] = {}
    for name in site.pages():
        if not name.startswith("post-"):
            continue
        page, _ = open_page(browser, f"{site.base}/{name}", DESKTOP)
        for mock in page.query_selector_all("article.mockup"):
            key = (mock.get_attribute("data-post"), mock.get_attribute("data-account"))
            seen[key] = mock.eval_on_selector("[data-role=caption]", "e => e.textContent")
        page.close()
    assert seen == site.expected


def test_each_shape_shows_its_parts(browser: Any, site: Site) -> None:
    hiring = next(n for n in site.pages() if "hiring" in n)
    page, _ = open_page(browser, f"{site.base}/{hiring}", DESKTOP)
    shapes = page.eval_on_selector_all(
        "article.mockup", "els => els.map(e => [e.dataset.account, e.className])"
    )
    assert [(a, c.split()[1]) for a, c in shapes] == [
        ("li", "shape-linkedin"),
        ("pins", "shape-pin"),
        ("store", "shape-business"),
    ]
    assert page.inner_text("[data-account=li] .first-comment .text") == (
        "Apply: https://acme.example.com/careers"
    )
    assert page.inner_text("[data-account=pins] .pin-title") == "Engineers wanted"
    # The pin's link is a link (validate refuses any but http(s); the page checks again).
    assert page.get_attribute("[data-account=pins] .pin-link a", "href") == (
        "https://acme.example.com/jobs"
    )
    page.close()
    carousel = next(n for n in site.pages() if "carousel" in n)
    page, _ = open_page(browser, f"{site.base}/{carousel}", DESKTOP)
    assert len(page.query_selector_all("[data-account=ig] .dots .dot")) == 3
    # Instagram folds at 125 characters: the rest is below the fold mark.
    above = page.eval_on_selector("[data-account=ig] .caption .above", "e => e.textContent")
    assert len(above) == 125
    assert page.query_selector("[data-account=ig] .caption .below.folded") is not None
    page.close()


def test_images_load_from_the_local_server(browser: Any, site: Site) -> None:
    loaded = 0
    for name in site.pages():
        if not name.startswith("post-"):
            continue
        page, _ = open_page(browser, f"{site.base}/{name}", DESKTOP)
        widths = page.eval_on_selector_all(
            ".media img", "imgs => imgs.map(i => [i.getAttribute('src'), i.naturalWidth])"
        )
        assert all(width > 0 for _, width in widths), widths
        loaded += len(widths)
        page.close()
    # berlin-night 3 accounts, carousel 2 x 3, hiring 3, none for live or hostile.
    assert loaded == 3 + 6 + 3


def test_each_entry_is_on_its_day_in_its_zone(browser: Any, site: Site) -> None:
    """00:30 in Berlin on March 10th is March 9th in UTC and in New York (orshot.yaml)."""
    page, _ = open_page(browser, f"{site.base}/calendar.html", DESKTOP)
    days = page.eval_on_selector_all(
        "[data-view=month] a.entry",
        "els => els.map(e => [e.dataset.post, e.dataset.account, e.closest('.day').dataset.date])",
    )
    where = {(post, account): day for post, account, day in days}
    assert where[("2030/berlin-night", "x")] == "2030-03-10"
    assert where[("2030/berlin-night", "fb")] == "2030-03-10"
    assert where[("2030/carousel", "ig")] == "2030-03-11"
    assert where[("2030/hostile", "li")] == "2030-03-13"
    assert len(days) == len(where) == len(site.expected)
    # The pull request's own posts are highlighted; the live one is not.
    change = page.eval_on_selector_all(
        "[data-view=month] a.entry",
        "els => els.map(e => [e.dataset.post, e.classList.contains('in-change')])",
    )
    assert {post: flag for post, flag in change} == {
        "2026/live": False,
        "2030/berlin-night": True,
        "2030/carousel": True,
        "2030/hiring": True,
        "2030/hostile": True,
    }
    page.close()


def test_the_style_sheet_applies_under_the_pages_policy(browser: Any, site: Site) -> None:
    """The inline sheet is allowed by its hash: a sheet changed without its hash would leave
    the page unstyled, with a CSP error in the console."""
    for name in ("index.html", "calendar.html"):
        page = browser.new_page(viewport={"width": DESKTOP, "height": 800})
        errors: list[str] = []
        # Only the policy's complaints: the browser's own /favicon.ico 404 comes and goes.
        page.on(
            "console",
            lambda m, found=errors: (
                found.append(m.text) if "Content Security Policy" in m.text else None
            ),
        )
        page.goto(f"{site.base}/{name}", wait_until="load")
        background = page.evaluate(
            "getComputedStyle(document.querySelector('header.site')).backgroundColor"
        )
        assert background == "rgb(27, 31, 36)"
        assert errors == []
        page.close()


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_nothing_overflows_the_width(browser: Any, site: Site, width: int) -> None:
    wide = []
    for name in site.pages():
        page, _ = open_page(browser, f"{site.base}/{name}", width)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        inner = page.evaluate("window.innerWidth")
        if scroll > inner:
            wide.append((name, scroll, inner))
        page.close()
    assert wide == []


def test_a_hostile_caption_is_text_and_runs_nothing(browser: Any, site: Site) -> None:
    hostile = next(n for n in site.pages() if "hostile" in n)
    for name in (hostile, "calendar.html", "index.html"):
        page, dialogs = open_page(browser, f"{site.base}/{name}", DESKTOP)
        assert page.evaluate("typeof window.pwned") == "undefined"
        assert dialogs == []
        assert page.query_selector_all("script") == []
        assert page.query_selector("#injected") is None
        assert page.query_selector_all("a[href^='javascript']") == []
        if name == hostile:
            # No element a caption brought: three mock-ups, no image among them, and each
            # caption exactly the text (its tags as characters).
            assert len(page.query_selector_all("article.mockup")) == 3
            assert page.query_selector_all("article img") == []
            captions = page.eval_on_selector_all(
                "[data-role=caption]", "els => els.map(e => e.textContent)"
            )
            assert captions == [site.expected[("2030/hostile", a)] for a in ("fb", "li", "store")]
            assert all("<script>" in c and "@everyone" in c for c in captions)
            comment = page.inner_text("[data-account=li] .first-comment .text")
            assert comment == HOSTILE_COMMENT
        page.close()
