"""What the sandbox knows about each platform: permalinks, async publishing, media formats.

The sandbox is a stand-in for Orshot *and* the platforms behind it, so the platform rules that
the contract documents (Format Compatibility, asynchronous Instagram/TikTok publishing) live here.
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

# Every platform Orshot names (its guidelines, and `GET /v1/social/accounts` for Snapchat), by
# Orshot's spelling; the default workspace connects the first eight.
PLATFORM_NAMES: dict[str, str] = {
    "twitter": "X",
    "linkedin": "LinkedIn",
    "instagram": "Instagram",
    "facebook": "Facebook",
    "pinterest": "Pinterest",
    "tiktok": "TikTok",
    "youtube": "YouTube",
    "googlebusiness": "Google Business",
    "snapchat": "Snapchat",
    "reddit": "Reddit",
    "bluesky": "Bluesky",
    "threads": "Threads",
    "telegram": "Telegram",
}

# Instagram and TikTok accept a post, then publish it in the background: a post to them stays
# `processing` until a sync (or the configured delay) settles it, as post-management.md says.
ASYNC_PLATFORMS = frozenset({"instagram", "tiktok"})

# Media format by file extension; an unknown extension carries no documented restriction.
_FORMAT_BY_EXTENSION = {
    "png": "PNG",
    "jpg": "JPG",
    "jpeg": "JPG",
    "webp": "WEBP",
    "gif": "GIF",
    "mp4": "MP4",
    "webm": "WEBM",
    "pdf": "PDF",
}

# The Format Compatibility table of social-publish.md, as format -> platforms that refuse it.
_ALL = frozenset(PLATFORM_NAMES)
_UNSUPPORTED: dict[str, frozenset[str]] = {
    "PDF": _ALL,
    "MP4": frozenset({"googlebusiness"}),
    "WEBM": frozenset({"googlebusiness"}),
    "GIF": frozenset({"googlebusiness"}),
    "PNG": frozenset({"tiktok", "youtube"}),
    "JPG": frozenset({"tiktok", "youtube"}),
    "WEBP": frozenset({"tiktok", "youtube"}),
}


# social-posting-guidelines.md: TikTok photo carousels take JPEG, PNG and WebP, up to 35.
_TIKTOK_PHOTOS = frozenset({"JPG", "PNG", "WEBP"})


def media_format(url: str) -> str | None:
    """The format a media URL's extension names (PNG, MP4, ...), or None when it names none."""
    extension = posixpath.splitext(urlsplit(url).path)[1].lstrip(".").lower()
    return _FORMAT_BY_EXTENSION.get(extension)


def incompatibility(platform: str, media_urls: Sequence[str]) -> str | None:
    """Why `platform` cannot take this media (the per-account error), or None when it can."""
    for url in media_urls:
        fmt = media_format(url)
        if platform == "tiktok" and len(media_urls) > 1 and fmt in _TIKTOK_PHOTOS:
            continue  # a photo carousel (the guidelines' image table); single images are refused
        if fmt is not None and platform in _UNSUPPORTED[fmt]:
            label = PLATFORM_NAMES.get(platform, platform)
            return f"Media processing failed: {fmt} is not supported on {label}"
    return None


def _digits(seed: str, count: int) -> str:
    """A stable decimal id of `count` digits, so permalinks survive restarts and reruns."""
    number = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    return str(10 ** (count - 1) + number % (9 * 10 ** (count - 1)))


def _slug(seed: str, count: int) -> str:
    """A stable URL-safe id (Instagram shortcodes, YouTube video ids)."""
    raw = base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest()).decode()
    return raw[:count]


_PERMALINKS: dict[str, Callable[[str, str], str]] = {
    "twitter": lambda user, seed: f"https://twitter.com/{user}/status/{_digits(seed, 19)}",
    "linkedin": lambda user, seed: (
        f"https://linkedin.com/feed/update/urn:li:share:{_digits(seed, 19)}"
    ),
    "instagram": lambda user, seed: f"https://instagram.com/p/{_slug(seed, 11)}/",
    "facebook": lambda user, seed: f"https://facebook.com/{user}/posts/{_digits(seed, 16)}",
    "pinterest": lambda user, seed: f"https://pinterest.com/pin/{_digits(seed, 18)}/",
    "tiktok": lambda user, seed: f"https://tiktok.com/@{user}/video/{_digits(seed, 19)}",
    "youtube": lambda user, seed: f"https://youtube.com/watch?v={_slug(seed, 11)}",
    "googlebusiness": lambda user, seed: (
        f"https://business.google.com/posts/{user}/{_digits(seed, 19)}"
    ),
    "reddit": lambda user, seed: f"https://reddit.com/user/{user}/comments/{_slug(seed, 7)}/",
    "bluesky": lambda user, seed: f"https://bsky.app/profile/{user}/post/{_slug(seed, 13)}",
    "threads": lambda user, seed: f"https://threads.net/@{user}/post/{_slug(seed, 11)}",
    "telegram": lambda user, seed: f"https://t.me/{user}/{_digits(seed, 5)}",
    "snapchat": lambda user, seed: f"https://snapchat.com/spotlight/{_slug(seed, 22)}?user={user}",
}


def permalink(platform: str, username: str, post_id: int, account_id: int) -> str:
    """A plausible, deterministic link to the live post on the platform."""
    return _PERMALINKS[platform](username, f"{post_id}:{account_id}")
