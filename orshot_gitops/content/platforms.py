"""What each platform accepts, from Orshot's Social Posting Guidelines and Format Compatibility table.

Pure data and pure functions: the validator and the PR comment both read these.
"""

from __future__ import annotations

import functools
import hashlib
import os
import posixpath
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

# Orshot's own limit on `content`, whatever the platform.
API_CONTENT_LIMIT = 5000

# Every still and video format Orshot renders (its render formats: png, jpg, webp, avif, gif;
# mp4, webm, mov, mkv). Which a platform takes is its rules' business, below.
IMAGE_FORMATS = frozenset({"jpeg", "png", "webp", "gif", "avif"})
VIDEO_FORMATS = frozenset({"mp4", "webm", "mov", "mkv"})


@dataclass(frozen=True)
class PlatformRules:
    label: str
    caption_limit: int
    max_images: int
    image_formats: frozenset[str]
    video: bool = True
    options: frozenset[str] = frozenset()
    # Telegram allows far less text under a photo than in a text message.
    media_caption_limit: int | None = None
    # TikTok takes still images only as a photo carousel: a single one is refused.
    min_images: int = 1
    # False where the platform has no text-only post: a caption alone is refused.
    text_only: bool = True
    # True where one post may carry images and videos together (a mixed carousel).
    mixed_media: bool = False


# The guidelines' per-platform lists name JPEG, PNG, WebP and GIF, never AVIF: an avif render
# is refused per platform, with the formats that platform does take.
_ALL_IMAGES = frozenset({"jpeg", "png", "webp", "gif"})
# Text-only posts (`text_only=False` where refused). Source: the Social Posting Guidelines'
# image table and the publish pages' Format Compatibility table: Instagram's feed posts are
# "1 (feed) / 10 (carousel)" images, Pinterest pins are "1" image, TikTok is video or a photo
# carousel, YouTube is "video only"; Snapchat's Snap is a photo or a video (its assumption,
# below). Orshot's pages never show a caption-only post on any of these.
#
# Mixed carousels (`mixed_media=True` where images and videos may share a post): Orshot's docs
# are silent on it (docs/orshot-api-notes.md, "Mixed carousels"); the values are the platforms'
# own: Instagram and Threads carousels and Telegram albums mix photos and videos; X and Bluesky
# take up to 4 images or one video; LinkedIn, Facebook and Reddit multi-image posts are images
# only; TikTok photo carousels are photos only; the one-item platforms cannot mix anything.
# Refusing a mix a platform would take costs a second post; sending one it refuses, a failure.
RULES: dict[str, PlatformRules] = {
    "twitter": PlatformRules("X/Twitter", 280, 4, _ALL_IMAGES),
    "instagram": PlatformRules(
        "Instagram", 2200, 10, frozenset({"jpeg", "png"}), text_only=False, mixed_media=True
    ),
    "facebook": PlatformRules("Facebook", 63206, 10, frozenset({"jpeg", "png", "gif"})),
    "linkedin": PlatformRules(
        "LinkedIn",
        3000,
        20,
        frozenset({"jpeg", "png", "gif"}),
        options=frozenset({"firstComment", "disableLinkPreview"}),
    ),
    # The Social Posting Guidelines' image table: TikTok photo carousels, JPEG/PNG/WebP, up to
    # 35; the Format Compatibility table refuses a single still image ("video-only there for
    # single images"), so a carousel has at least two. `autoAddMusic` goes out in the request's
    # top-level `tiktokSettings` (docs/orshot-api-notes.md, "TikTok").
    "tiktok": PlatformRules(
        "TikTok",
        2200,
        35,
        frozenset({"jpeg", "png", "webp"}),
        options=frozenset({"autoAddMusic"}),
        min_images=2,
        text_only=False,
    ),
    # The Format Compatibility table: no still images to YouTube through the API.
    "youtube": PlatformRules("YouTube", 5000, 0, frozenset(), text_only=False),
    "pinterest": PlatformRules(
        "Pinterest",
        500,
        1,
        _ALL_IMAGES,
        options=frozenset({"title", "link"}),
        text_only=False,
    ),
    "reddit": PlatformRules("Reddit", 40000, 20, frozenset({"jpeg", "png", "gif"})),
    "bluesky": PlatformRules("Bluesky", 300, 4, _ALL_IMAGES),
    "threads": PlatformRules("Threads", 500, 10, _ALL_IMAGES, mixed_media=True),
    "telegram": PlatformRules(
        "Telegram", 4096, 10, _ALL_IMAGES, media_caption_limit=1024, mixed_media=True
    ),
    "googlebusiness": PlatformRules(
        "Google Business", 1500, 1, frozenset({"jpeg", "png"}), video=False
    ),
    # Orshot lists Snapchat among its platforms but its guidelines give no figures for it, so
    # these are a conservative assumption (docs/orshot-api-notes.md, "Snapchat"): the lower of
    # the caption figures seen (160, Spotlight's description), one photo or video a Snap, JPEG or
    # PNG, and no Snap without one. Refusing a caption Snapchat would take costs an edit;
    # sending one it refuses costs a failed post.
    "snapchat": PlatformRules("Snapchat", 160, 1, frozenset({"jpeg", "png"}), text_only=False),
}
TWITTER_PREMIUM_LIMIT = 25000

# Where a platform folds a caption behind "…more" in the feed: the reader sees this many
# characters before deciding to open the post. Source: Orshot's Social Posting Guidelines,
# caption table ("about 125 characters show before the 'more' fold" and so on); the review and
# the preview page mark the fold so a brand sees what lands above it.
CAPTION_FOLD: dict[str, int] = {
    "instagram": 125,
    "linkedin": 210,
    "facebook": 480,
}


def caption_fold(platform: str) -> int | None:
    """The characters a platform shows before its "…more" fold, or None when it shows all."""
    return CAPTION_FOLD.get(platform)


PINTEREST_TITLE_LIMIT = 100

_EXTENSIONS = {
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "png": "png",
    "webp": "webp",
    "gif": "gif",
    "mp4": "mp4",
    "webm": "webm",
    "mov": "mov",
    "mkv": "mkv",
    "avif": "avif",
    "pdf": "pdf",
    # Images no platform here takes (none is in the guidelines' format lists): named, so the
    # error says which formats the platform does take instead of "unknown".
    "tif": "tiff",
    "tiff": "tiff",
    "bmp": "bmp",
    "heic": "heic",
    "heif": "heic",
    "svg": "svg",
}
# Formats that are still images, whether or not any platform takes them.
STILL_FORMATS = IMAGE_FORMATS | frozenset({"tiff", "bmp", "heic", "svg"})


def media_extension(url: str) -> str | None:
    """The extension a media URL's path ends with (lower case, without the dot), or None."""
    extension = posixpath.splitext(urlsplit(url).path)[1].lstrip(".").lower()
    return extension or None


def media_format(url_or_format: str) -> str | None:
    """The media format of a URL (by its extension) or of a render format name; None if unknown."""
    text = url_or_format.lower()
    if "/" in text or "." in text:
        text = posixpath.splitext(urlsplit(text).path)[1].lstrip(".")
    return _EXTENSIONS.get(text)


def caption_limit(platform: str, *, premium: bool = False, with_media: bool = False) -> int:
    rules = RULES[platform]
    if platform == "twitter" and premium:
        return TWITTER_PREMIUM_LIMIT
    if with_media and rules.media_caption_limit:
        return rules.media_caption_limit
    return rules.caption_limit


def caption_length(platform: str, text: str) -> int:
    """Length as the platform counts it: X weighs URLs as 23 and emoji as 2 (twitter-text rules)."""
    if platform == "twitter":
        return _twitter_length(text)
    return len(text)


def counted_plainly(platform: str) -> bool:
    """True when the platform counts a caption's characters as they are (len), so there is
    nothing to cache: only X weighs them (twitter-text, whose import alone costs 0.2 s)."""
    return platform != "twitter"


# Bump when the way a weighted length is computed changes in a way this file's bytes do not show.
LENGTH_CACHE_VERSION = 1
_TWITTER_DIST = "twitter_text_parser"


@functools.cache
def length_fingerprint() -> bytes | None:
    """Everything besides the caption that a weighted length depends on, for a cache key:
    twitter-text's version, this module (the emoji-free count below), Unicode's version (NFC)
    and the interpreter. Found without importing twitter-text, which is what the cache saves.
    None when twitter-text's version cannot be told: then nothing is cached."""
    version = _installed_version(_TWITTER_DIST, "twitter_text")
    try:
        module = Path(__file__).read_bytes()
    except OSError:
        return None
    return None if version is None else fingerprint_for(version, module)


def fingerprint_for(twitter_text_version: str, module: bytes) -> bytes:
    import unicodedata

    header = (
        f"{LENGTH_CACHE_VERSION}|{_TWITTER_DIST}={twitter_text_version}"
        f"|{unicodedata.unidata_version}|{sys.implementation.cache_tag}"
    )
    return hashlib.sha256(header.encode() + b"|" + module).digest()


def _installed_version(distribution: str, package: str) -> str | None:
    """The version of `distribution`, whose import package is `package`, without importing it."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    if len(locations) != 1:
        return None
    return version_beside(os.path.dirname(locations[0]), distribution)


def version_beside(site: str, distribution: str) -> str | None:
    """The version in the name of `distribution`'s `.dist-info` folder in `site`, as installers
    name it: importlib.metadata would read it too, but importing it costs 50 ms, a quarter of
    what the cache saves. None unless exactly one is there (an egg, a broken install)."""
    prefix = distribution.lower() + "-"
    try:
        found = [
            name[len(prefix) : -len(".dist-info")]
            for name in os.listdir(site)
            if name.lower().startswith(prefix) and name.endswith(".dist-info")
        ]
    except OSError:
        return None
    return found[0] if len(found) == 1 and found[0] else None


def prepare(platforms_used: set[str]) -> None:
    """Build now what measuring these platforms' captions needs (twitter-text compiles its
    regexes on import: 0.25 s), so processes forked after this share it."""
    if "twitter" in platforms_used:
        _twitter_length("")


@functools.lru_cache(maxsize=4096)
def _twitter_length(text: str) -> int:
    import unicodedata

    from twitter_text import parse_tweet  # 150 ms of regex compiling: only when X is targeted
    from twitter_text.parse_tweet import convert_line_ending

    normalized = convert_line_ending(unicodedata.normalize("NFC", text))
    if _may_hold_emoji(normalized):
        return int(parse_tweet(text).weightedLength)
    return _weighted_length_without_emoji(normalized)


# parse_tweet runs twitter-text's emoji regex over the whole text: 0.4 ms a caption, most of
# `validate`'s time on X posts. No ASCII character starts an emoji match on its own (keycaps
# need U+20E3), so a text none of whose other characters can start or join an emoji holds no
# emoji, and its weighted length is parse_tweet's own loop without them: the same number.
_EMOJI_JOINERS = frozenset("\u200d\u20e3\ufe0e\ufe0f")
_WEIGHTS: dict[str, int] = {}


@functools.lru_cache(maxsize=4096)
def _may_start_emoji(char: str) -> bool:
    from twitter_text.regexp.emoji import emoji

    code = ord(char)
    return (
        char in _EMOJI_JOINERS
        or 0x1F000 <= code <= 0x1FAFF  # symbols, flags, skin tones
        or 0xE0000 <= code <= 0xE007F  # tag sequences
        or emoji.match(char) is not None
        or emoji.match(char + "\ufe0f") is not None
    )


def _may_hold_emoji(text: str) -> bool:
    if text.isascii():
        return False
    return any(_may_start_emoji(char) for char in set(text) if not char.isascii())


def _weighted_length_without_emoji(normalized: str) -> int:
    """parse_tweet's weightedLength for a text (NFC, `\\n` line ends) that holds no emoji."""
    from twitter_text.config import config
    from twitter_text.extract_urls import extract_urls_with_indices
    from twitter_text.get_character_weight import get_character_weight

    options = config["defaults"]
    scale = options["scale"]
    url_weight = options["transformed_url_length"] * scale
    urls = {e["indices"][0]: len(e["url"]) for e in extract_urls_with_indices(normalized)}
    total = 0
    index = 0
    while index < len(normalized):
        url_length = urls.get(index)
        if url_length is not None:
            total += url_weight
            index += url_length
            continue
        char = normalized[index]
        weight = _WEIGHTS.get(char)
        if weight is None:
            weight = _WEIGHTS[char] = int(get_character_weight(char, options))
        total += weight
        index += 1
    return int(total / scale)


def media_problems(
    platform: str, formats: list[str | None], *, count: int
) -> list[tuple[str, str]]:
    """(message, hint) for each way the media break the platform's rules."""
    rules = RULES[platform]
    problems: list[tuple[str, str]] = []
    if count == 0 and not rules.text_only:
        problems.append(
            (
                f"{rules.label} has no text-only post: it needs "
                + ("a video" if not rules.image_formats else "an image or a video"),
                "add media_url, media_urls or render, or remove the account from this post",
            )
        )
        return problems
    known = {f for f in formats if f}
    if "pdf" in known:
        problems.append(
            ("PDF cannot be posted on any platform", "render or upload an image instead")
        )
        known.discard("pdf")
    images = sorted(known & STILL_FORMATS)
    videos = sorted(known & VIDEO_FORMATS)
    if images and not rules.image_formats:
        problems.append(
            (
                f"{rules.label} takes no still images through Orshot ({', '.join(images)})",
                "post a video there, or remove the account from this post",
            )
        )
    else:
        refused = [f for f in images if f not in rules.image_formats]
        if refused:
            problems.append(
                (
                    f"{rules.label} does not accept {', '.join(refused)} images",
                    f"use {' or '.join(sorted(rules.image_formats))}",
                )
            )
        if images and count < rules.min_images:
            problems.append(
                (
                    f"{rules.label} takes still images only as a photo carousel of "
                    f"{rules.min_images} to {rules.max_images}, this post has {count}",
                    "add images (media_urls), post a video there, or remove the account",
                )
            )
        if images and count > rules.max_images:
            problems.append(
                (
                    f"{rules.label} takes at most {rules.max_images} image{'s' if rules.max_images != 1 else ''}, "
                    f"this post has {count}",
                    "split the carousel or remove the account",
                )
            )
    if videos and not rules.video:
        problems.append(
            (f"{rules.label} does not accept video ({', '.join(videos)})", "use an image")
        )
    elif images and videos and not rules.mixed_media:
        problems.append(
            (
                f"{rules.label} does not take images and videos in one post",
                "post the images and the video separately, or remove the account",
            )
        )
    return problems
