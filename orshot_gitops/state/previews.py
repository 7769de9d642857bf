"""Render previews: `.orshot/state/renders/<digest>.json`, one file per set of render inputs.

`plan --render-previews` renders a `render:` post on the pull request's branch, so the
review shows the image, and writes what it rendered here; the merge brings the file to the
default branch, and apply publishes exactly those URLs instead of rendering again (no second
credit, and the image that was approved is the one that goes out).

The file is named by the digest of the inputs that make the image (`preview_digest`: the
sha256 of the canonical JSON of the post's compiled `render`: template, modifications after
Jinja, format; any option added to `render` later joins it by construction), the same value
apply records as a post's render fingerprint. One file per digest, so two pull requests
previewing different posts never touch the same file, and a changed input is a new file.

A pull request can write such a file by hand: it is repository content, checked like a post
(a plain file in the repository, a sane size, exactly these keys, http(s) URLs, its contents
hashing to its name). Whatever URL it holds is what apply will publish, so the review always
shows the recorded URL, never a fresh render of the same inputs (reconcile/previews.py).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orshot_gitops.content.compile import fingerprint
from orshot_gitops.errors import UserError
from orshot_gitops.state.model import STATE_DIR

RENDERS_DIR = f"{STATE_DIR}/renders"
_NAME = re.compile(r"^[0-9a-f]{64}\.json$")
_KEYS = frozenset({"format", "modifications", "pages", "rendered_at", "template", "urls"})
#: A preview names a few URLs; a bigger file is not one we wrote.
_MAX_BYTES = 64 * 1024
_MAX_URL = 2048
_URL = re.compile(r"^https?://[^\s\x00-\x1f\x7f]+$")
_HINT = (
    "preview files are written by 'orshot-gitops plan --render-previews'; delete this one "
    "and run it again"
)


@dataclass(frozen=True)
class Preview:
    """One render of one set of inputs, as `plan --render-previews` recorded it."""

    template: int
    modifications: Mapping[str, Any]
    format: str
    urls: tuple[str, ...]
    rendered_at: str

    @property
    def inputs(self) -> dict[str, Any]:
        """What made the image: the same mapping as a compiled post's `render`."""
        return {
            "template": self.template,
            "modifications": dict(self.modifications),
            "format": self.format,
        }

    @property
    def digest(self) -> str:
        return preview_digest(self.inputs)

    def to_json(self) -> dict[str, Any]:
        # `pages`: how many files the render made (a PDF holds its pages in one), for a reader.
        return {
            **self.inputs,
            "pages": len(self.urls),
            "rendered_at": self.rendered_at,
            "urls": list(self.urls),
        }


def preview_digest(render: Mapping[str, Any]) -> str:
    """The digest of a compiled `render` mapping: equal inputs, equal digest, on every
    machine. It is `fingerprint`, so it equals the render fingerprint apply records."""
    return fingerprint(dict(render))


def preview_file(digest: str) -> str:
    """Where the preview of `digest` lives, relative to the repository root."""
    return f"{RENDERS_DIR}/{digest}.json"


def dump_preview(preview: Preview) -> str:
    return json.dumps(preview.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def parse_preview(text: str, path: str) -> Preview:
    """A preview file's text, checked; UserError naming `path` for anything off."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise _bad(path, f"is not JSON ({error})") from None
    if not isinstance(data, dict) or set(data) != _KEYS:
        raise _bad(path, "does not hold exactly " + ", ".join(sorted(_KEYS)))
    template, modifications, fmt = data["template"], data["modifications"], data["format"]
    urls, pages, rendered_at = data["urls"], data["pages"], data["rendered_at"]
    if type(template) is not int or template < 1:
        raise _bad(path, "has a template that is not a positive integer")
    if not isinstance(modifications, dict) or not all(
        isinstance(v, (str, int, float, bool)) or v is None for v in modifications.values()
    ):
        raise _bad(path, "has modifications that are not an object of plain values")
    if not isinstance(fmt, str) or not fmt:
        raise _bad(path, "has no format")
    if not isinstance(urls, list) or not urls:
        raise _bad(path, "lists no URLs")
    for url in urls:
        # Published as a post's media: the same rule as `media_url` (schemas/post.schema.json).
        if not isinstance(url, str) or len(url) > _MAX_URL or not _URL.match(url):
            raise _bad(path, f"has a URL that is not http(s): {str(url)[:80]!r}")
    if type(pages) is not int or pages != len(urls):
        raise _bad(path, "has a page count that does not match its URLs")
    if not isinstance(rendered_at, str):
        raise _bad(path, "has no rendered_at time")
    preview = Preview(template, modifications, fmt, tuple(urls), rendered_at)
    name = path.rsplit("/", 1)[-1]
    if name != f"{preview.digest}.json":
        # Named for other inputs than it holds: it would publish its image for a post that
        # never asked for it.
        raise _bad(path, "is named for other render inputs than it holds")
    return preview


def load_previews(root: Path) -> dict[str, Preview]:
    """Every preview under root/RENDERS_DIR, by digest. Refuses a link anywhere on the way
    (a pull request must not make apply read outside the repository), a file that is not a
    preview, and a preview that does not check; a missing folder is no previews."""
    top = root / RENDERS_DIR
    expected = os.path.join(os.path.realpath(root), *RENDERS_DIR.split("/"))
    if not os.path.lexists(top):
        return {}
    if os.path.realpath(top) != expected or not top.is_dir() or top.is_symlink():
        raise UserError(
            "the render previews folder is not a plain folder",
            path=RENDERS_DIR,
            hint=f"restore it from git ('git checkout -- {RENDERS_DIR}')",
            code="render-preview",
        )
    previews: dict[str, Preview] = {}
    for entry in sorted(os.scandir(top), key=lambda e: e.name):
        relative = f"{RENDERS_DIR}/{entry.name}"
        if entry.name.startswith("."):
            continue  # a temporary file a crashed write left
        if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
            raise _bad(relative, "is not a plain file")
        if not _NAME.match(entry.name):
            raise _bad(relative, "is not named <sha256 of its render inputs>.json")
        preview = parse_preview(_read(entry.path, relative), relative)
        previews[preview.digest] = preview
    return previews


def write_preview(root: Path, preview: Preview) -> str:
    """Write the preview as the state's own files are written (store.atomic_write: temp
    file, fsync, rename, the folder fsynced); its path relative to root."""
    from orshot_gitops.state.store import atomic_write

    relative = preview_file(preview.digest)
    atomic_write(root / relative, dump_preview(preview).encode("utf-8"))
    return relative


def _read(path: str, relative: str) -> str:
    try:
        # O_NOFOLLOW: a link swapped in after the listing is refused, not followed.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            raw = handle.read(_MAX_BYTES + 1)
    except OSError as error:
        raise _bad(relative, f"cannot be read ({error.strerror})") from None
    if len(raw) > _MAX_BYTES:
        raise _bad(relative, f"is larger than {_MAX_BYTES // 1024} KiB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad(relative, "is not UTF-8") from None


def _bad(path: str, what: str) -> UserError:
    return UserError(f"render preview {what}", path=path, hint=_HINT, code="render-preview")
