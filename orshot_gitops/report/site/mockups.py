"""A post's mock-up in its platform's shape: what the templates need, decided here.

The page is as inert as the pull-request comment (report/markdown.py): a caption is text,
never HTML (Jinja's autoescape), never a link (no auto-linking: a URL in a caption stays
text), and only a media URL or a Pinterest link with an http(s) scheme becomes an `src` or an
`href` (a `javascript:` link is shown as text). The page's Content-Security-Policy allows no
script at all, so even an escaping bug could not run one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orshot_gitops.content import platforms
from orshot_gitops.reconcile.outgoing import Outgoing

# Which mock-up each platform gets: the platforms that look alike share one.
SHAPES: dict[str, str] = {
    "twitter": "card",
    "bluesky": "card",
    "threads": "card",
    "linkedin": "linkedin",
    "instagram": "instagram",
    "facebook": "facebook",
    "pinterest": "pin",
    "googlebusiness": "business",
}


@dataclass(frozen=True)
class Media:
    url: str
    kind: str  # "image", "video" or "file" (shown as its URL)
    loadable: bool  # an http(s) URL: the page may fetch it


@dataclass(frozen=True)
class Mockup:
    item: Outgoing
    shape: str
    label: str  # the platform's name
    above_fold: str  # the caption up to its fold: above + below is the caption, exactly
    below_fold: str
    fold: int | None
    media: tuple[Media, ...]
    first_comment: str
    pin_title: str
    pin_link: str
    pin_link_safe: bool
    options: tuple[tuple[str, str], ...]  # every other option, as text


def safe_url(url: str) -> bool:
    """Only http(s) URLs become a page's `src` or `href`: no javascript:, data: or file:."""
    return url.strip().lower().startswith(("https://", "http://")) and url == url.strip()


def media_of(url: str) -> Media:
    found = platforms.media_format(url) or ""
    kind = (
        "image"
        if found in platforms.IMAGE_FORMATS
        else "video"
        if found in platforms.VIDEO_FORMATS
        else "file"
    )
    return Media(url, kind, safe_url(url))


def mockup(item: Outgoing) -> Mockup:
    fold = platforms.caption_fold(item.platform)
    caption = item.caption
    cut = len(caption) if fold is None else min(fold, len(caption))
    options = item.platform_options
    shown = {"firstComment", "title", "link"}
    link = _text(options.get("link"))
    rules = platforms.RULES.get(item.platform)
    return Mockup(
        item=item,
        shape=SHAPES.get(item.platform, "card"),
        label=rules.label if rules else item.platform,
        above_fold=caption[:cut],
        below_fold=caption[cut:],
        fold=fold,
        media=tuple(media_of(url) for url in item.media_urls),
        first_comment=_text(options.get("firstComment")),
        pin_title=_text(options.get("title")),
        pin_link=link,
        pin_link_safe=bool(link) and safe_url(link),
        options=tuple(
            (name, _text(value)) for name, value in sorted(options.items()) if name not in shown
        ),
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_text(v)}" for k, v in sorted(value.items()))
    return str(value)
