"""`validate`: every problem in a content repository, each at its file, line and column.

Syntax and schema come from the loader, templates and accounts from the compiler; this
module adds the rules of the platforms (caption limits, media, options) and of time.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from orshot_gitops.content import platforms
from orshot_gitops.content.batches import (
    RowSkip,
    expand_posts,
    for_row,
    repeated_rows,
    without_clashing_ids,
)
from orshot_gitops.content.compile import CompiledPost, Compiler
from orshot_gitops.content.duplicates import Resend, duplicate_problem, recorded_copies, resends
from orshot_gitops.content.load import discover_posts, load_config, load_posts, post_id_for
from orshot_gitops.content.model import STATE_FILE, STATE_POSTS, Account, Config, PostSpec
from orshot_gitops.content.recurrence_checks import repeated_captions
from orshot_gitops.content.rulecheck import TimedPost, rule_problems, spacing_problems, timed_posts
from orshot_gitops.content.schedule_checks import too_soon
from orshot_gitops.content.templating import TemplateEngine
from orshot_gitops.content.yamlload import JsonPath
from orshot_gitops.errors import Diagnostic, Severity, UsageError


@dataclass(frozen=True)
class ValidationReport:
    diagnostics: tuple[Diagnostic, ...]
    files_checked: int
    posts: tuple[CompiledPost, ...]
    render_posts: int = 0
    """How many checked posts render a Studio template (counted even when `posts` is not
    kept): the template check, and its "not checked" note, concern only them."""

    @property
    def errors(self) -> int:
        return sum(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.severity is Severity.WARNING for d in self.diagnostics)


def validate_repo(
    root: Path, now: datetime, paths: Sequence[str] = (), *, keep_posts: bool = True
) -> ValidationReport:
    """Check the repository at root (or only the post files named by `paths`, repo-relative).

    With keep_posts=False (the commands), `posts` stays empty and no post outlives its batch:
    the files stream through the workers, which send back only their problems, so memory no
    longer grows with the repository (550 MB at 50,000 posts before; docs/benchmarks.md)."""
    config, problems = load_config(root)
    if config is None:
        return ValidationReport(tuple(sorted(problems)), 1, ())
    if paths:
        relatives = [_post_path(root, config, p) for p in paths]
    else:
        relatives, found_problems = discover_posts(root, config)
        problems.extend(found_problems)
    chunks = _split(relatives, config.posts_dir, _jobs(len(relatives)))
    if len(chunks) > 1:
        # Each file is checked on its own, and a large repository's time is all CPU (Jinja
        # compiles most of it): one process per core, this one doing the first share.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _prepare_before_fork(config)
        with ProcessPoolExecutor(
            len(chunks) - 1, mp_context=multiprocessing.get_context("fork")
        ) as pool:
            futures = [
                pool.submit(_check_chunk, root, config, chunk, now, keep_posts)
                for chunk in chunks[1:]
            ]
            results = [_check_chunk(root, config, chunks[0], now, keep_posts)]
            results += [future.result() for future in futures]
    else:
        results = [_check_chunk(root, config, relatives, now, keep_posts)]
    compiled: list[CompiledPost] = []
    past: list[tuple[str, Diagnostic]] = []
    render_posts = 0
    bumped: list[Resend] = []
    problems.extend(spacing_problems(config, [t for chunk in results for t in chunk.timed]))
    for chunk in results:
        problems.extend(chunk.problems)
        past.extend(chunk.past)
        bumped.extend(chunk.resends)
        compiled.extend(chunk.posts)
        render_posts += chunk.render_posts
    if past:
        # Read only now, and only when a schedule has passed: the state of a large
        # repository is tens of MB, and the workers are gone by now.
        already_sent = recorded_post_ids(root)
        problems.extend(problem for post_id, problem in past if post_id not in already_sent)
    if bumped:
        copies = recorded_copies(root, {resend.post_id for resend in bumped})
        for resend in bumped:
            duplicate = duplicate_problem(resend, copies.get((resend.post_id, resend.account)), now)
            if duplicate is not None:
                problems.append(duplicate)
    return ValidationReport(
        tuple(sorted(set(problems))), len(relatives) + 1, tuple(compiled), render_posts
    )


def _prepare_before_fork(config: Config) -> None:
    """What every process would build for itself on its first post, built once: the workers
    forked next inherit it (twitter-text's regexes, the compiled post schema, Jinja)."""
    from orshot_gitops.content.cache import DiskCache
    from orshot_gitops.content.schemas import fast_check

    platforms.prepare({account.platform for account in config.accounts.values()})
    fast_check("post.schema.json")
    # Jinja's lexer (shared by environments of the same settings) and code generator; no
    # disk cache: nothing of this template is worth keeping.
    TemplateEngine(None, code_cache=DiskCache(None)).compile("{{ warm }}")


# Below this many files a second process costs more than it saves.
PARALLEL_MIN_FILES = 1000
# Files loaded and compiled together: what a worker holds at once when posts are not kept.
BATCH_FILES = 200


def _jobs(files: int) -> int:
    if sys.platform != "linux" or files < PARALLEL_MIN_FILES:
        return 1  # fork is only safe and cheap on Linux
    cores = len(os.sched_getaffinity(0))
    return max(1, min(cores, files // (PARALLEL_MIN_FILES // 2), 8))


def _split(relatives: list[str], posts_dir: str, parts: int) -> list[list[str]]:
    """`parts` consecutive runs of files; files that share a post id stay together, so the
    duplicate-post check sees them (and reports them) as it does in one process."""
    if parts <= 1:
        return [relatives]
    everything = len(relatives)
    # The last run takes the rest: past parts - 1 cuts, the target is never reached.
    return _cut(
        relatives,
        posts_dir,
        lambda cuts: everything * (cuts + 1) // parts if cuts < parts - 1 else everything + 1,
    )


def _batches(relatives: list[str], posts_dir: str, size: int) -> list[list[str]]:
    """Runs of about `size` files, cut only where no post id spans the cut (as _split)."""
    return _cut(relatives, posts_dir, lambda cuts: (cuts + 1) * size)


def _cut(relatives: list[str], posts_dir: str, target: Callable[[int], int]) -> list[list[str]]:
    """Consecutive runs of relatives; a run ends once the files so far reach target(runs so
    far), at the first index no later file shares a post id with."""
    last = {post_id_for(r, posts_dir): i for i, r in enumerate(relatives)}
    chunks: list[list[str]] = []
    start = 0
    reach = -1  # the last index a file so far shares its post id with
    for index, relative in enumerate(relatives):
        reach = max(reach, last[post_id_for(relative, posts_dir)])
        # A batch's rows (`products/A1`) may clash with the files under its id
        # (`products/A1.yaml`): those files stay in its run too (sorted: they follow it).
        under = relative.rsplit(".", 1)[0] + "/"
        reach = max(reach, bisect.bisect_left(relatives, under + "\U0010ffff") - 1)
        if index + 1 >= target(len(chunks)) and reach == index:
            chunks.append(relatives[start : index + 1])
            start = index + 1
    chunks.append(relatives[start:])
    return [chunk for chunk in chunks if chunk]


@dataclass(frozen=True)
class _Checked:
    """What a worker sends back: small, whatever the number of files."""

    problems: list[Diagnostic]
    # Posts whose schedule has passed or is too close to send, with the problem to report
    # unless the state records them: the state is read once, by the parent, and only if this is not empty.
    past: list[tuple[str, Diagnostic]]
    posts: list[CompiledPost]  # empty unless the caller keeps them
    render_posts: int = 0
    # What bumped posts would send (revision above 1): checked by the parent against the
    # state's sent copies, read only if this is not empty (duplicates.py).
    resends: tuple[Resend, ...] = ()
    # Scheduled times on accounts a `min_spacing` rule covers: compared across all files.
    timed: tuple[TimedPost, ...] = ()


def _check_chunk(
    root: Path, config: Config, relatives: list[str], now: datetime, keep_posts: bool
) -> _Checked:
    """Load, compile and check these post files, a batch at a time (one template engine for
    all, so each shape and snippet is compiled once per process)."""
    checked = _Checked([], [], [])
    render_posts = 0
    bumped: list[Resend] = []
    timed: list[TimedPost] = []
    engine = TemplateEngine(root / config.templates_dir)
    compiler = Compiler(config, engine)
    batches = _batches(relatives, config.posts_dir, BATCH_FILES) if not keep_posts else [relatives]
    for batch in batches:
        checked_files = _check_with(root, config, batch, compiler, now=now)
        problems, compiled = checked_files.problems, checked_files.compiled
        checked.problems.extend(problems)
        for post in compiled:
            render_posts += post.spec.render is not None
            bumped.extend(resends(post))
            timed.extend(timed_posts(post, config))
            due = post.scheduled_for
            if due is not None and due <= now:
                checked.past.append((post.spec.id, _past_schedule(post, now)))
            elif due is not None:
                soon = too_soon(due, now, post.timezone)
                if soon is not None:
                    problem = _at(post.spec, ("schedule",), soon.code, soon.message, soon.hint)
                    checked.past.append((post.spec.id, problem))
        if keep_posts:
            checked.posts.extend(compiled)
    # Now, not at exit: validate's forked workers end without running exit handlers.
    engine.flush()
    return replace(checked, render_posts=render_posts, resends=tuple(bumped), timed=tuple(timed))


def check_posts(
    root: Path,
    config: Config,
    relatives: list[str],
    tracked_templates: frozenset[str] | None = None,
    is_tracked: Callable[[str], bool] | None = None,
    now: datetime | None = None,
) -> tuple[list[Diagnostic], list[CompiledPost]]:
    """Every check of these post files that does not depend on time or on the state: syntax,
    schema, templates, accounts, options and platform limits. `plan` shares it, so a post
    it plans was checked exactly as `validate` checks it, except that `plan` passes the
    snippets git tracks (`tracked_templates`) and templates may include only those, and
    asks git whether a batch's data file is tracked (`is_tracked`)."""
    checked = check_post_files(root, config, relatives, tracked_templates, is_tracked, now)
    return checked.problems, checked.compiled


@dataclass(frozen=True)
class CheckedFiles:
    problems: list[Diagnostic]
    compiled: list[CompiledPost]
    # The post ids each file stands for (a batch: its rows); None: a batch whose data could
    # not be read, so which posts it holds is unknown (content/batches.py).
    ids_by_file: Mapping[str, tuple[str, ...] | None]


def check_post_files(
    root: Path,
    config: Config,
    relatives: list[str],
    tracked_templates: frozenset[str] | None = None,
    is_tracked: Callable[[str], bool] | None = None,
    now: datetime | None = None,
    skip_rows: Mapping[str, RowSkip] | None = None,
) -> CheckedFiles:
    """check_posts, and the post ids each file stands for: what the planner needs of a batch
    (`skip_rows`: batch rows it knows unchanged, present but not compiled)."""
    engine = TemplateEngine(root / config.templates_dir, tracked=tracked_templates)
    compiler = Compiler(config, engine)
    found = _check_with(root, config, relatives, compiler, is_tracked, now, skip_rows)
    engine.flush()
    return found


def _check_with(
    root: Path,
    config: Config,
    relatives: list[str],
    compiler: Compiler,
    is_tracked: Callable[[str], bool] | None = None,
    now: datetime | None = None,
    skip_rows: Mapping[str, RowSkip] | None = None,
) -> CheckedFiles:
    problems: list[Diagnostic] = []
    files, load_problems = load_posts(root, config, relatives)
    problems.extend(load_problems)
    # A batch file stands for one post per row, and any post may repeat (content/batches.py).
    expanded = expand_posts(
        root, config, files, compiler.engine, is_tracked=is_tracked, now=now, skip_rows=skip_rows
    )
    problems.extend(expanded.problems)
    specs, clashes = without_clashing_ids(expanded.posts)
    problems.extend(clashes)
    compiled: list[CompiledPost] = []
    for spec in specs:
        post, compile_problems = compiler.compile(spec)
        found = [*compile_problems, *option_problems(spec, config)]
        if post is not None:
            found.extend(platform_problems(post))
            found.extend(rule_problems(post, config))
            compiled.append(post)
        problems.extend(for_row(spec, found))
    # A series' rotation, compiled only to find a caption it repeats beyond the horizon.
    sampled = [post for spec in expanded.samples if (post := compiler.compile(spec)[0]) is not None]
    problems.extend(repeated_captions([*sampled, *compiled]))
    problems.extend(repeated_rows(compiled))
    return CheckedFiles(problems, compiled, expanded.ids_by_file)


def _post_path(root: Path, config: Config, given: str) -> str:
    path = Path(given)
    absolute = path if path.is_absolute() else Path.cwd() / path
    try:
        relative = absolute.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        relative = path.as_posix()
    if not (root / relative).is_file():
        raise UsageError(
            f"{given}: no such post file", hint=f"post files live under {config.posts_dir}/"
        )
    if not relative.startswith(config.posts_dir + "/"):
        raise UsageError(
            f"{given} is not under {config.posts_dir}/", hint="name post files, or none for all"
        )
    return relative


def recorded_post_ids(root: Path) -> frozenset[str]:
    """Posts the state records: their schedule may lie in the past, they went out already.
    A v2 state has a file per post (`.orshot/state/posts/<id>.json`): their names say it,
    unread. A v1 file is one document: only its post ids are kept while it is parsed."""
    folder = root / STATE_POSTS
    if folder.is_dir() and not folder.is_symlink():
        found = set()
        for parent, folders, files in os.walk(folder):  # links are not followed
            relative = Path(parent).relative_to(folder).as_posix()
            prefix = "" if relative == "." else relative + "/"
            folders[:] = [name for name in folders if not (Path(parent) / name).is_symlink()]
            found |= {prefix + n[: -len(".json")] for n in files if n.endswith(".json")}
        return frozenset(found)
    try:
        with (root / STATE_FILE).open("rb") as handle:
            # Only the post ids are wanted: every object keeps its keys and drops its values
            # but "posts", so a 72 MB state (50,000 posts) is not all built at once.
            state = json.load(handle, object_pairs_hook=_keys_and_posts)
        return frozenset(state.get("posts", {}))
    except (OSError, ValueError, AttributeError, RecursionError, TypeError):
        return frozenset()  # plan and apply report a broken state file; validate checks posts


def _keys_and_posts(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {key: value if key == "posts" else None for key, value in pairs}


def _past_schedule(post: CompiledPost, now: datetime) -> Diagnostic:
    assert post.scheduled_for is not None
    return _at(
        post.spec,
        ("schedule",),
        "schedule-past",
        f"post {post.spec.id!r} is scheduled for {post.scheduled_for:%Y-%m-%d %H:%M} UTC, "
        f"which has passed (now {now:%Y-%m-%d %H:%M} UTC)",
        "move the schedule into the future, or remove it to publish on merge",
    )


def option_problems(spec: PostSpec, config: Config) -> list[Diagnostic]:
    """platform_options must name a targeted account, and only options its platform has."""
    problems = []
    targeted = {str(ref) for ref in spec.accounts}
    for ref in spec.accounts:
        account = config.account(ref)
        if account is not None:
            targeted.update({account.alias, str(account.id)})
    for key, options in spec.platform_options.items():
        if key not in targeted:
            problems.append(
                _at(
                    spec,
                    ("platform_options", key),
                    "option-untargeted",
                    f"platform_options for {key!r}, which this post does not target",
                    "add the account to 'accounts' or remove its options",
                    key=True,
                )
            )
            continue
        account = config.account(key)
        if account is None:
            continue
        allowed = platforms.RULES[account.platform].options
        for name in sorted(options):
            if name not in allowed:
                label = platforms.RULES[account.platform].label
                problems.append(
                    _at(
                        spec,
                        ("platform_options", key, name),
                        "option-unsupported",
                        f"{label} account {key!r} has no option {name!r}",
                        f"{label} options: {', '.join(sorted(allowed))}"
                        if allowed
                        else f"{label} takes no options",
                        key=True,
                    )
                )
    return problems


def platform_problems(post: CompiledPost) -> list[Diagnostic]:
    """Caption, title and media limits for each account, on its own rendering of the post."""
    problems: list[Diagnostic] = []
    spec = post.spec
    if post.render is not None:
        formats = [platforms.media_format(post.render.format)]
        count = 1
        media_path: JsonPath = ("render", "format")
    else:
        formats = [platforms.media_format(url) for url in spec.media_urls]
        count = len(spec.media_urls)
        media_path = ("media_urls",) if spec.carousel else ("media_url",)
    has_media = bool(formats)
    problems.extend(_unknown_media_types(spec))
    for payload in post.payloads:
        account = payload.account
        rules = platforms.RULES[account.platform]
        if len(payload.content) > platforms.API_CONTENT_LIMIT:
            problems.append(
                _at(
                    spec,
                    ("content",),
                    "content-too-long",
                    f"caption for {account.alias!r} is {len(payload.content):,} characters; "
                    f"Orshot accepts at most {platforms.API_CONTENT_LIMIT:,}",
                    "shorten the caption",
                )
            )
        limit = platforms.caption_limit(
            account.platform, premium=account.premium, with_media=has_media
        )
        length = payload.caption_length
        if length > limit:
            counted = " (weighted: URLs count 23, emoji 2)" if account.platform == "twitter" else ""
            problems.append(
                _at(
                    spec,
                    ("content",),
                    "caption-too-long",
                    f"caption for {rules.label} account {account.alias!r} is {length:,} characters{counted}; "
                    f"the limit is {limit:,}",
                    "shorten it, or give this platform its own text with {% if platform == '"
                    + account.template_platform
                    + "' %}",
                )
            )
        title = payload.platform_options.get("title")
        if (
            account.platform == "pinterest"
            and isinstance(title, str)
            and len(title) > platforms.PINTEREST_TITLE_LIMIT
        ):
            key = _option_key(spec, account)
            problems.append(
                _at(
                    spec,
                    ("platform_options", key, "title"),
                    "title-too-long",
                    f"Pinterest title for {account.alias!r} is {len(title)} characters; the limit is "
                    f"{platforms.PINTEREST_TITLE_LIMIT}",
                    "shorten the title",
                )
            )
        problems.extend(rendered_option_problems(spec, account, payload.platform_options))
        # Without media there is no media key to point at: the account that needs some.
        where = media_path if has_media else _account_path(spec, account)
        for message, hint in platforms.media_problems(account.platform, formats, count=count):
            problems.append(
                _at(spec, where, "media", f"{message} (account {account.alias!r})", hint)
            )
    # Orshot takes TikTok's settings once per request (`tiktokSettings`), not per account: the
    # TikTok accounts of one post would share one set, whatever each was given.
    tiktok = {
        json.dumps(dict(p.platform_options), sort_keys=True)
        for p in post.payloads
        if p.account.platform == "tiktok"
    }
    if len(tiktok) > 1:
        problems.append(
            _at(
                spec,
                ("platform_options",),
                "tiktok-settings",
                "the TikTok accounts of one post are sent one set of settings (tiktokSettings), "
                "but this post gives them different ones",
                "give them the same platform_options, or one post file per TikTok account",
                key=True,
            )
        )
    return problems


# The formats the schema checks on option values as written, checked again once rendered: the
# schema lets a template through (`link: "{{ shop }}/x"`), what it renders to must still hold.
_RENDERED_FORMATS = {
    "link": (re.compile(r"https?://\S+"), "one URL starting with https:// (no spaces, one line)")
}


def rendered_option_problems(
    spec: PostSpec, account: Account, options: Mapping[str, Any]
) -> list[Diagnostic]:
    problems = []
    key = _option_key(spec, account)
    for name, value in sorted(options.items()):
        if not isinstance(value, str):
            continue
        shape = _RENDERED_FORMATS.get(name)
        if value.strip() and (shape is None or shape[0].fullmatch(value)):
            continue
        what = "nothing" if not value.strip() else repr(value)
        wanted = shape[1] if shape is not None else "text"
        problems.append(
            _at(
                spec,
                ("platform_options", key, name),
                "option-rendered",
                f"platform_options.{key}.{name} renders to {what} for {account.alias!r}, "
                f"not {wanted}",
                "check the template and the vars it uses",
            )
        )
    return problems


def _unknown_media_types(spec: PostSpec) -> list[Diagnostic]:
    """A media URL whose extension names no format a platform could take (`.txt`, `.html`):
    every platform would refuse it, so it is one error, not one per account. A URL with no
    extension (a CDN's `?id=`) says nothing, and is left to Orshot."""
    problems = []
    for index, url in enumerate(spec.media_urls):
        extension = platforms.media_extension(url)
        if extension is None or platforms.media_format(url) is not None:
            continue
        where: JsonPath = ("media_urls", index) if spec.carousel else ("media_url",)
        problems.append(
            _at(
                spec,
                where,
                "media-type",
                f"'.{extension}' is not a media type any platform takes ({url})",
                "link an image (jpg, png, webp, gif) or a video (mp4, webm, mov, mkv) file",
            )
        )
    return problems


def _account_path(spec: PostSpec, account: Account) -> JsonPath:
    for index, reference in enumerate(spec.accounts):
        if str(reference) in (account.alias, str(account.id)):
            return ("accounts", index)
    return ("accounts",)


def _option_key(spec: PostSpec, account: Account) -> str:
    for key in (account.alias, str(account.id)):
        if key in spec.platform_options:
            return key
    return account.alias


def _at(
    spec: PostSpec, json_path: JsonPath, code: str, message: str, hint: str, *, key: bool = False
) -> Diagnostic:
    line, column = spec.document.position(json_path, key=key) if spec.document else (1, 1)
    return Diagnostic(spec.path, line, column, Severity.ERROR, code, message, hint)
