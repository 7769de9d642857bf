"""The renders of a plan in the review: the credits apply will spend, and for each `render:`
post the very image apply will publish (reconcile/previews.py picks it), embedded.

The URL embedded is the one apply publishes, whether the state recorded it or a preview file
(perhaps written by hand in the pull request) holds it: the reviewer approves that image and
no other. A URL that is not a plain http(s) URL is shown as code, never as markup.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from orshot_gitops.reconcile.previews import PREVIEWED, RECORDED, RUNNING, Renders
from orshot_gitops.report import markdown as md

# As markdown.link's rule, without the characters that would end an image's <destination>.
_IMAGE_URL = re.compile(r"^https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")
_VIDEO = (".mp4", ".webm", ".mov", ".mkv", ".pdf")

_SOURCE = {
    RECORDED: "already rendered (recorded in the state): published as shown",
    PREVIEWED: "reviewed preview: merging publishes exactly this image, with no new render",
    RUNNING: "a render job is under way: apply finishes it (no new credit); not shown here",
}
#: Where Orshot's renders live (its pages show storage.orshot.com and cloud.orshot.com).
_ORSHOT_HOST = "orshot.com"
_ELSEWHERE = (
    "⚠️ **this image is not hosted by Orshot**: no render made it (the preview file was "
    "written by hand?), and whoever hosts it can change it after this review"
)
_LATER = (
    "⏳ held now (a retry waiting, an account to reconnect, a pause): a later apply publishes "
    "this image when it sends the post, without another review"
)
_NOT_PREVIEWED = (
    "⚠️ **not previewed**: apply renders it after the merge (1 credit), so this review does "
    "not show the image. `orshot-gitops plan --render-previews` (with the key) renders it now."
)


def image(url: str, alt: str) -> str:
    """An embedded image for a plain http(s) URL; anything else as code. `alt` is ours."""
    if _IMAGE_URL.match(url) and not url.lower().split("?", 1)[0].endswith(_VIDEO):
        return f"![{md.text(alt)}](<{url}>)"
    return md.link(url)


def _by_orshot(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return urlsplit(url).scheme == "https" and (
        host == _ORSHOT_HOST or host.endswith("." + _ORSHOT_HOST)
    )


def render_section(renders: Renders) -> str:
    """The section, or "" for a plan that renders nothing."""
    summary = renders.summary()
    if not summary:
        return ""
    lines = ["#### 🖼️ Renders", "", f"**{md.text(summary)}**", ""]
    lines += [f"> ❌ no preview for {md.text(failure)}" for failure in renders.previews_failed]
    if renders.previews_failed:
        lines.append("")
    for item in renders.posts:
        accounts = ", ".join(md.code(a) for a in item.accounts)
        lines.append(
            f"- {md.code(item.post_id)} → {accounts}: template {md.code(str(item.template))} "
            f"as {md.code(item.format)}"
        )
        lines.append(f"  {_SOURCE.get(item.source, _NOT_PREVIEWED)}")
        if item.later:
            lines.append(f"  {_LATER}")
        if item.source == PREVIEWED and not all(_by_orshot(url) for url in item.urls):
            lines.append(f"  {_ELSEWHERE}")
        count = len(item.urls)
        for number, url in enumerate(item.urls, 1):
            alt = f"{item.post_id}, page {number} of {count}"
            lines.append(f"  {image(url, alt)}")
        lines.append("")
    return "\n".join(lines) + "\n"
