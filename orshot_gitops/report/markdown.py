"""Markdown that is safe to put in front of reviewers: nothing in a post can ping, link, inject
HTML or escape its block.

Text from post files (captions, ids, media URLs, template variables) and from the Orshot API
(error messages) is untrusted here: a caption that says `@everyone`, `</details>` or three
backticks must be shown as it is, and do nothing. Each helper has one rule:

- `text`: escaped prose: HTML entities, Markdown punctuation backslash-escaped, and a zero-width
  space after `@` and `#` so GitHub neither pings a user nor links an issue.
- `code`: an inline code span whose backtick fence is longer than any run in the text.
- `fence`: a fenced block likewise longer than any backtick run, so no line can close it.
  GitHub renders neither mentions nor HTML inside code, so a caption in a fence is shown
  byte for byte (the reviewer approves the exact text).
- `link`: an autolink only for a plain http(s) URL; anything else becomes a code span.
- `words`: prose like `text` that keeps its spaces and cannot start a block or an autolink
  (the word diff of a caption, shown rendered so struck and bold words read as such).
- `image`: a thumbnail only for a plain http(s) URL with none of `"'<>()` or spaces: the one
  piece of HTML we write (Markdown images cannot be sized), its attributes all ours.
"""

from __future__ import annotations

import re
import unicodedata

ZWSP = "\u200b"
# GitHub refuses an issue or pull-request comment longer than this (in characters).
GITHUB_COMMENT_LIMIT = 65536

# Only what can start markup mid-line: `-`, `+` and `1.` matter only at a line's start, which
# escaped prose never is; `(` after an escaped `[` cannot make a link.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]#|~])")
_SAFE_URL = re.compile(r"^https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")
# Characters that change how text reads without being seen (Trojan Source): worth a warning.
_INVISIBLE = {
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
}


def text(value: str) -> str:
    """Prose on one line: shown as written, inert as Markdown and HTML."""
    value = " ".join(value.split())
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _MARKDOWN_PUNCTUATION.sub(r"\\\1", value)
    # `@` and `#` stay visible; the zero-width space only stops the mention/reference filters.
    return value.replace("@", "@" + ZWSP).replace("\\#", "\\#" + ZWSP)


def cell(value: str) -> str:
    """Escaped prose that is also safe inside a table cell (`|` is escaped by `text`)."""
    return text(value)


def code(value: str, *, in_table: bool = False) -> str:
    """An inline code span that the value cannot close; newlines become spaces.

    In a table cell a `|` would still end the cell, so there it is escaped (GFM shows `\\|`
    as `|` inside code in tables, and only there).
    """
    value = " ".join(value.splitlines())
    fence = "`" * (_longest_run(value, "`") + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value.strip() else ""
    if in_table:
        value = value.replace("|", "\\|")
    return f"{fence}{pad}{value}{pad}{fence}"


def fence(value: str, info: str = "text") -> str:
    """A fenced code block longer than any backtick run in the value: nothing can close it."""
    marker = "`" * max(3, _longest_run(value, "`") + 1)
    return f"{marker}{info}\n{value.rstrip(chr(10))}\n{marker}"


def link(url: str, *, in_table: bool = False) -> str:
    """A clickable link for a plain http(s) URL, else the URL as code (never raw Markdown)."""
    if _SAFE_URL.match(url) and not (in_table and "|" in url):
        return f"<{url}>"
    return code(url, in_table=in_table)


_AUTOLINK = re.compile(r"(://|www\.)", re.IGNORECASE)
_BLOCK_START = re.compile(r"([-+=])")
_ORDINAL = re.compile(r"(?<=\d)([.)])")
_IMAGE_URL = re.compile(r"^https?://[A-Za-z0-9\-._~:/?#\[\]@!$&+,;=%]+$")


def words(value: str) -> str:
    """Prose on one line that keeps its spaces: each run of non-space characters through
    `text`, then GitHub's autolinks (`https://`, `www.`) broken by a zero-width space, and the
    characters that could start a list, a heading or a setext underline backslash-escaped
    (shown as they are), so the text can stand anywhere on a line, even first."""
    value = " ".join(value.splitlines())

    def one(match: re.Match[str]) -> str:
        token = text(match.group(0))
        token = _AUTOLINK.sub(lambda m: m.group(0)[:-1] + ZWSP + m.group(0)[-1], token)
        return _ORDINAL.sub(r"\\\1", _BLOCK_START.sub(r"\\\1", token))

    return re.sub(r"\S+", one, value)


def image(url: str, alt: str, width: int) -> str | None:
    """A sized thumbnail of an http(s) image URL, or None when the URL is not plain enough
    to stand inside an attribute (the caller shows it as `link` does). `alt` is escaped."""
    if not _IMAGE_URL.match(url):
        return None
    src = url.replace("&", "&amp;")
    # The alt may be the repository's (a media item's `alt:`): a quote must not end it.
    return f'<img src="{src}" alt="{text(alt).replace(chr(34), "&quot;")}" width="{int(width)}">'


def invisible_characters(value: str) -> list[str]:
    """Names of invisible or direction-changing characters in the value (sorted, unique)."""
    found = {ch for ch in value if ch in _INVISIBLE or unicodedata.category(ch) == "Cc"}
    found -= {"\n", "\t", "\r"}
    return sorted(f"U+{ord(ch):04X}" for ch in found)


def cut(sections: list[str], limit: int, note: str) -> tuple[str, int]:
    """Join whole sections while they fit in `limit` characters, then `note` (with `{n}` for
    the number of sections left out). Returns the text and how many sections were dropped.

    Cutting only between sections keeps every fence closed.
    """
    body = "".join(sections)
    if len(body) <= limit:
        return body, 0
    kept: list[str] = []
    used = 0
    for index, section in enumerate(sections):
        left = len(sections) - index
        reserve = len(note.format(n=left)) + 2
        if used + len(section) + reserve > limit:
            return "".join(kept) + "\n" + note.format(n=left) + "\n", left
        kept.append(section)
        used += len(section)
    return "".join(kept), 0  # pragma: no cover - the early return above always fires


def _longest_run(value: str, char: str) -> int:
    longest = run = 0
    for ch in value:
        run = run + 1 if ch == char else 0
        longest = max(longest, run)
    return longest
