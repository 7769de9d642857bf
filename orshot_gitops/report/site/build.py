"""The preview site: plain HTML and one CSS file, no script, written to a folder.

- `index.html`: every post of the repository, this change's own highlighted, with its
  accounts, when it goes out and a link to its mock-ups;
- `post-<id>.html`: one mock-up per account, in the platform's shape (mockups.py);
- `calendar.html` and `calendar-<alias>.html`: months and weeks (calendar.py);
- `calendar.ics` and `calendar-<alias>.ics`: the same posts as feeds (ics.py).

The one style sheet (templates/site.css) is inlined in every page and allowed by its hash in
the page's Content-Security-Policy: the policy can then forbid everything else, scripts
first, and a page opened from disk (file://) is styled as one served over http.

Jinja with autoescape on, in an Environment of its own (the posts' templates run in a
sandboxed one, content/templating.py): everything from a post reaches the page as text.
Deterministic: the same inputs give the same bytes (no build time on the page).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup

from orshot_gitops.errors import UserError
from orshot_gitops.reconcile.outgoing import Outgoing, Standing
from orshot_gitops.report.site import ics
from orshot_gitops.report.site.calendar import Calendar, build_calendar, entries_of
from orshot_gitops.report.site.mockups import Mockup, mockup

TEMPLATES = Path(__file__).resolve().parent / "templates"
CSS_NAME = "site.css"  # inlined in every page


@dataclass(frozen=True)
class PostPage:
    post_id: str
    path: str
    file: str  # post-….html
    mockups: tuple[Mockup, ...]

    @property
    def in_change(self) -> bool:
        return any(m.item.in_change for m in self.mockups)


@dataclass(frozen=True)
class Written:
    folder: Path
    files: tuple[str, ...]  # relative to the folder, sorted
    posts: int
    accounts: tuple[str, ...]


def page_name(post_id: str) -> str:
    """A file name for a post id (which may hold '/' and any letter): readable, and unique
    by its hash even when two ids read alike once cleaned."""
    readable = re.sub(r"[^a-z0-9]+", "-", post_id.lower()).strip("-")[:60] or "post"
    return f"post-{readable}-{hashlib.sha256(post_id.encode()).hexdigest()[:8]}.html"


def _environment(zone: str | None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    css = (TEMPLATES / CSS_NAME).read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    env.globals.update(
        Standing=Standing,
        css=Markup(css),  # ours, not a post's: inlined as written
        css_hash=f"sha256-{digest}",
        zone_of=lambda item: ZoneInfo(zone or item.zone),
    )
    return env


def build_site(
    items: Sequence[Outgoing], out: Path, *, zone: str | None = None, title: str = ""
) -> Written:
    """Write the site for `items` into `out` (created; files of ours are replaced, others
    left alone). `zone`: read every day there rather than in each post's own zone."""
    env = _environment(zone)
    pages: dict[str, list[Mockup]] = {}
    for item in items:
        pages.setdefault(item.post_id, []).append(mockup(item))
    posts = tuple(
        PostPage(post_id, found[0].item.path, page_name(post_id), tuple(found))
        for post_id, found in sorted(pages.items())
    )
    accounts = tuple(sorted({item.account for item in items}))
    entries = entries_of(items, zone)
    calendars: dict[str, Calendar] = {"": build_calendar(entries)}
    for alias in accounts:
        calendars[alias] = build_calendar([e for e in entries if e.item.account == alias])

    files: dict[str, bytes] = {}
    common = {"title": title or "What goes out", "accounts": accounts, "zone": zone}
    post_file = {p.post_id: p.file for p in posts}
    files["index.html"] = _render(
        env, "index.html.j2", posts=posts, calendar=calendars[""], **common
    )
    for page in posts:
        files[page.file] = _render(env, "post.html.j2", page=page, **common)
    for alias, cal in calendars.items():
        name = f"calendar-{alias}" if alias else "calendar"
        files[f"{name}.html"] = _render(
            env, "calendar.html.j2", account=alias, calendar=cal, post_file=post_file, **common
        )
        label = f"orshot-gitops: {alias}" if alias else "orshot-gitops: every account"
        files[f"{name}.ics"] = ics.feed(cal.entries, label)
    _refuse_foreign(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            _write(out / name, data)
        for stale in _ours(out) - set(files):
            (out / stale).unlink()
    except OSError as exc:
        raise UserError(
            f"cannot write the preview site to {out}: {exc.strerror or exc}",
            hint="pass --out a folder you may write to (created when missing)",
        ) from None
    return Written(out, tuple(sorted(files)), len(posts), accounts)


# The names a build writes: a rebuild into the same folder removes those of posts and accounts
# gone since (a page left behind would show a post that no longer goes out), nothing else.
_OUR_NAMES = re.compile(
    r"(index\.html|calendar(-[A-Za-z0-9_.-]+)?\.(html|ics)|post-[a-z0-9-]+\.html)"
)


GENERATOR = '<meta name="generator" content="orshot-gitops preview">'


def _refuse_foreign(out: Path) -> None:
    """A folder whose index.html another tool wrote is not ours to overwrite or tidy."""
    index = out / "index.html"
    try:
        foreign = index.is_file() and GENERATOR.encode() not in index.read_bytes()[:4096]
    except OSError:
        foreign = False  # unreadable: the write below says so
    if foreign:
        raise UserError(
            f"{index} was not written by orshot-gitops preview",
            hint="pass --out a new or empty folder, or one an earlier preview wrote",
        )


def _ours(out: Path) -> set[str]:
    return {p.name for p in out.iterdir() if p.is_file() and _OUR_NAMES.fullmatch(p.name)}


def _render(env: jinja2.Environment, template: str, **values: object) -> bytes:
    return env.get_template(template).render(**values).encode("utf-8")


def _write(path: Path, data: bytes) -> None:
    """Only when the bytes differ: a rebuild leaves unchanged files (and their times) alone."""
    if path.is_file() and path.read_bytes() == data:
        return
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
