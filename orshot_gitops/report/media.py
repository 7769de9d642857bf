"""A post's media as a reviewer sees them: images as thumbnails (GitHub shows them through its
image proxy), a carousel in order with each file's place, a video as a link naming its format.

Only a plain http(s) URL of an image format becomes a thumbnail (`markdown.image`); every URL
is also listed as `markdown.link` shows it, so a URL that is not plain stays inert code.
"""

from __future__ import annotations

from collections.abc import Sequence

from orshot_gitops.content import platforms
from orshot_gitops.report import markdown as md

THUMBNAIL_WIDTH = 160
"""Pixels: five thumbnails fit one row of a pull-request comment."""
PER_ROW = 5
"""A longer carousel (up to 20 files on some platforms) wraps into rows of five, so the
comment never scrolls sideways."""


def kind_of(url: str) -> str:
    """`image (png)`, `video (mp4)`, `document (pdf)` or `unknown format`."""
    found = platforms.media_format(url)
    if found in platforms.IMAGE_FORMATS:
        return f"image ({found})"
    if found in platforms.VIDEO_FORMATS:
        return f"video ({found})"
    return f"document ({found})" if found else "unknown format"


def is_image(url: str) -> bool:
    return platforms.media_format(url) in platforms.IMAGE_FORMATS


ALT_NOT_SENT = "not sent: Orshot's API takes no alt text"


def media_markdown(urls: Sequence[str], alts: Sequence[str | None] = ()) -> list[str]:
    """The media section's lines: a row of thumbnails (images only), then every file in order.
    A file's alt text (`alt:` in the post) is its thumbnail's alt and is listed with it, saying
    that it is not sent: the review must not pretend the platform gets it."""
    count = len(urls)
    if not count:
        return []
    label = "1 file" if count == 1 else f"{count} files (carousel, in this order)"
    lines = [f"**Media**: {label}", ""]
    cells = []
    given = [*alts, *([None] * count)][:count]
    for n, url in enumerate(urls, 1):
        alt = given[n - 1] or f"{n} of {count}"
        thumb = md.image(url, alt, THUMBNAIL_WIDTH) if is_image(url) else None
        cells.append(thumb or md.text(kind_of(url)))
    if any(cell.startswith("<img") for cell in cells):
        for first in range(0, count, PER_ROW):
            row = cells[first : first + PER_ROW]
            places = range(first + 1, first + len(row) + 1)
            lines += [
                "| " + " | ".join(str(n) for n in places) + " |",
                "|" + " :-: |" * len(row),
                "| " + " | ".join(row) + " |",
                "",
            ]
    lines += [
        f"{n}. {md.link(url)} · {md.text(kind_of(url))}"
        + (f" · alt: {md.text(alt)} ({ALT_NOT_SENT})" if alt else "")
        for n, (url, alt) in enumerate(zip(urls, given, strict=True), 1)
    ]
    lines.append("")
    return lines


def media_text(urls: Sequence[str]) -> list[str]:
    """The same for a terminal: one line per file, in order, with its kind."""
    return [f"{n}. {url} · {kind_of(url)}" for n, url in enumerate(urls, 1)]
