"""Apply the content rules of orshot.yaml (content/rules.py) to compiled posts.

Each check reads what would be sent: the caption as rendered for each account, so a rule
about LinkedIn sees LinkedIn's text. A violation is reported once per post and rule, naming
its accounts, at the offending word's own line when the caption's source holds it (else at
the caption), the schedule, or the media item; `deny` makes it an error, `warn` a warning.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from orshot_gitops.content.compile import AccountPayload, CompiledPost
from orshot_gitops.content.model import Config, PostSpec
from orshot_gitops.content.ruletypes import DENY, Overridable, Rule, Window
from orshot_gitops.content.yamlload import JsonPath
from orshot_gitops.errors import Diagnostic, Severity

# A link as a caption holds it: up to whitespace or a closing bracket or quote.
_URL = re.compile(r"https?://[^\s<>\"'()\[\]{}]+")
# Not after a word character: 'a#b' and 'dana@acme.com' are no hashtag or mention.
_HASHTAG = re.compile(r"(?<![\w#&])#\w+")
_MENTION = re.compile(r"(?<![\w@])@\w[\w.]*")
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")


@dataclass(frozen=True)
class TimedPost:
    """A post's time on one account, for the spacing check across posts."""

    post_id: str
    path: str
    line: int
    column: int
    alias: str
    platform: str
    at: datetime  # aware, UTC


def rule_problems(post: CompiledPost, config: Config) -> list[Diagnostic]:
    """Every rule broken by this post, except spacing (which needs the other posts)."""
    if not config.rules:
        return []
    problems = [
        _problem(post.spec, rule, where, text, f"{message} ({_on(aliases)})", hint)
        for rule in config.rules
        for (message, hint, where, text), aliases in _violations(post, rule, config).items()
    ]
    return sorted(set(problems))


# What is wrong, what to do, where in the file, the offending text: the key of one violation.
_Found = tuple[str, str, JsonPath, str]


def _violations(post: CompiledPost, rule: Rule, config: Config) -> dict[_Found, list[str]]:
    """Each violation of `rule` by `post`, with the aliases of the accounts it concerns."""
    spec = post.spec
    # One violation names every account it touches.
    found: dict[_Found, list[str]] = {}
    if rule.when_sponsored is not None and spec.sponsored != rule.when_sponsored:
        return found
    payloads = [p for p in post.payloads if rule.applies_to(p.account.alias, p.account.platform)]

    def note(
        message: str, hint: str, alias: str, where: JsonPath = ("content",), text: str = ""
    ) -> None:
        found.setdefault((message, hint, where, text), []).append(alias)

    for payload in payloads:
        alias, caption = payload.account.alias, payload.content
        # What goes out in public besides the caption: a first comment, a pin's title and link.
        texts = [(("content",), caption), *_option_texts(spec, payload)]
        for where, text in texts:
            seen = _visible(text) if rule.banned else text
            for pattern in rule.banned:
                match = pattern.find(seen)
                if match:
                    hint = "reword the caption" if where == ("content",) else "reword it"
                    note(f"{match.group(0)!r} is banned", hint, alias, where, match.group(0))
            for url in links_in(text):
                host = (urlsplit(_with_scheme(url)).hostname or "").lower()
                if rule.allowed_domains and not _on_domains(host, rule.allowed_domains):
                    note(
                        f"the link to {host} is not to an allowed domain",
                        f"allowed: {', '.join(rule.allowed_domains)}",
                        alias,
                        where,
                        url,
                    )
                if _on_domains(host, rule.utm_domains):
                    present = {key for key, _ in parse_qsl(urlsplit(_with_scheme(url)).query)}
                    missing = [key for key in UTM_KEYS if key not in present]
                    if missing:
                        note(
                            f"the link {url} lacks {', '.join(missing)}",
                            "write it as {{ '"
                            + _with_scheme(url)
                            + "' | utm }} and the parameters are added",
                            alias,
                            where,
                            url,
                        )
        # Not inside a link: X shows a link as t.co/..., so 'https://acme.com/#ad' discloses nothing.
        prose = _without_links(_visible(caption)) if rule.required else ""
        for pattern in rule.required:
            if not pattern.find(prose):
                note(f"{pattern.written!r} is required", "add it to the caption", alias)
        for limit, counted, what in (
            (rule.max_hashtags, _HASHTAG, "hashtags"),
            (rule.max_mentions, _MENTION, "mentions"),
        ):
            if limit is not None:
                count = len(counted.findall(caption))
                if count > limit:
                    note(
                        f"{count} {what}, more than the {limit} allowed",
                        f"keep at most {limit}",
                        alias,
                    )
        if rule.alt_text_required:
            for where, label in _missing_alt(spec):
                note(f"{label} has no alt text", "add 'alt:' describing it", alias, where)
        if rule.deny_windows and post.scheduled_for is not None:
            zone = ZoneInfo(config.timezone)
            window = _window_at(rule, post.scheduled_for, zone)
            if window is not None:
                local = post.scheduled_for.astimezone(zone)
                note(
                    f"scheduled for {local:%a %Y-%m-%d %H:%M} {config.timezone}, inside the "
                    f"deny window {window.written!r}",
                    "move the schedule out of the window",
                    alias,
                    ("schedule",),
                )
    return found


# Invisible characters a writer (or a pull request) can slip inside a banned word.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))


def _visible(text: str) -> str:
    """The text as a reader sees it: compatibility forms folded (fullwidth letters, ligatures)
    and invisible characters dropped, so 'guar\u200banteed' is still 'guaranteed'."""
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE)


def _option_texts(spec: PostSpec, payload: AccountPayload) -> list[tuple[JsonPath, str]]:
    key = next(
        (k for k in (payload.account.alias, str(payload.account.id)) if k in spec.platform_options),
        payload.account.alias,
    )
    return [
        (("platform_options", key, name), value)
        for name, value in sorted(payload.platform_options.items())
        if isinstance(value, str)
    ]


# A bare domain has a word character on each side of a dot (Unicode ones too: IDN domains).
_MAYBE_DOMAIN = re.compile(r"\w\.\w")


@functools.lru_cache(maxsize=4096)
def links_in(text: str) -> tuple[str, ...]:
    """The links a platform would make of this text: every http(s) link, and bare domains
    ('bit.ly/x', 'www.acme.com') as X's own extraction (twitter-text, which knows the
    top-level domains) finds them. Kept per text: one caption is asked of by each of its
    accounts and each rule, and twitter-text's extraction was 70% of validate's rule time."""
    spans = [(m.start(), m.end(), m.group(0)) for m in _URL.finditer(text)]
    links = [link for _, _, link in spans]
    if not _MAYBE_DOMAIN.search(text):
        return tuple(links)  # no "word.word" anywhere: no bare domain for twitter-text to find
    try:
        from twitter_text import extract_urls_with_indices
    except ImportError:  # pragma: no cover - a dependency, but the check must not crash
        return tuple(links)
    for found in extract_urls_with_indices(text):
        start, end = found["indices"]
        # Where it stands, not what it says: 'https://evil.com.acme.com evil.com' has two.
        if not any(start < stop and first < end for first, stop, _ in spans):
            links.append(str(found["url"]))
    return tuple(links)


def _without_links(text: str) -> str:
    for link in links_in(text):
        text = text.replace(link, " ")
    return text


def _with_scheme(url: str) -> str:
    return url if "://" in url else "https://" + url


def _on(aliases: Sequence[str]) -> str:
    return "on " + ", ".join(sorted(set(aliases)))


def _on_domains(host: str, domains: Sequence[str]) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def _missing_alt(spec: PostSpec) -> list[tuple[JsonPath, str]]:
    if spec.render is not None:
        return [] if spec.render_alt else [(("render",), "the rendered image")]
    if not spec.media_urls:
        return []
    if not spec.carousel:
        return [] if spec.media_alt else [(("media_url",), "the image")]
    alts = spec.media_alt or (None,) * len(spec.media_urls)
    return [
        (("media_urls", index), f"media item {index + 1}")
        for index, alt in enumerate(alts)
        if alt is None
    ]


def _window_at(rule: Rule, moment: datetime, zone: ZoneInfo) -> Window | None:
    local = moment.astimezone(zone).replace(tzinfo=None)
    return next((w for w in rule.deny_windows if w.contains(local)), None)


def _label(rule: Rule) -> str:
    severity = "denied" if rule.severity == DENY else "warned of"
    return f"{severity} by rule {rule.name!r}"


def _problem(
    spec: PostSpec, rule: Rule, where: JsonPath, text: str, message: str, hint: str
) -> Diagnostic:
    line, column = _position(spec, where, text)
    full = f"{message}: {_label(rule)}"
    severity = Severity.ERROR if rule.severity == DENY else Severity.WARNING
    if rule.override and rule.severity == DENY:
        # Not an error that stops every post: apply holds this one until one of them
        # approves it (reconcile/approvals.py), and the review says whose approval it needs.
        full += f" (held until approved by {', '.join(rule.override)})"
        severity = Severity.WARNING
    return Diagnostic(spec.path, line, column, severity, "rule-" + _kind(rule), full, hint)


def _kind(rule: Rule) -> str:
    for attribute, kind in (
        ("banned", "banned"),
        ("required", "required"),
        ("allowed_domains", "links"),
        ("utm_domains", "links"),
        ("max_hashtags", "count"),
        ("max_mentions", "count"),
        ("deny_windows", "window"),
        ("min_spacing", "spacing"),
        ("alt_text_required", "alt-text"),
    ):
        if getattr(rule, attribute) not in ((), None, False):
            return kind
    return "violation"


def _position(spec: PostSpec, where: JsonPath, text: str) -> tuple[int, int]:
    """Where `text` stands in the file: inside the caption's source when it is written
    there as is (a block scalar's line and column), else at the value of `where`."""
    document = spec.document
    if document is None:
        return (1, 1)
    line, column = document.position(where)
    if not text or where != ("content",):
        return line, column
    # Standing on its own first: the bare 'evil.com', not the one inside 'https://evil.com.x'.
    alone = re.search(r"(?<![\w./@#-])" + re.escape(text), spec.content)
    offset = alone.start() if alone else spec.content.find(text)
    if offset < 0:
        return line, column
    before = spec.content[:offset]
    inner_line = before.count("\n") + 1
    inner_column = offset - (before.rfind("\n") + 1)
    file_line, file_column = document.template_line(where, inner_line)
    if where in document.block_scalars:
        return file_line, file_column + inner_column
    if inner_line == 1:
        source = document.text.splitlines()[line - 1] if line else ""
        quoted = column <= len(source) and source[column - 1] in "\"'"
        return line, column + inner_column + quoted
    return file_line, file_column


def timed_posts(post: CompiledPost, config: Config) -> list[TimedPost]:
    """This post's scheduled time on each account a spacing rule covers."""
    if post.scheduled_for is None or not any(r.min_spacing for r in config.rules):
        return []
    line, column = post.spec.document.position(("schedule",)) if post.spec.document else (1, 1)
    return [
        TimedPost(
            post.spec.id,
            post.spec.path,
            line,
            column,
            p.account.alias,
            p.account.platform,
            at,
        )
        for p in post.payloads
        # A queued post's accounts each have their own slot (stagger, jitter).
        if (at := post.time_for(p)) is not None
        and any(
            r.min_spacing and r.applies_to(p.account.alias, p.account.platform)
            for r in config.rules
        )
    ]


def spacing_problems(
    config: Config, timed: Iterable[TimedPost], recorded: Iterable[TimedPost] = ()
) -> list[Diagnostic]:
    """Posts on one account closer than a rule's min_spacing: reported at the later one (or
    at the repository's post when the other is one the state records as sent or scheduled,
    `recorded`, whose path is then "")."""
    by_account: dict[str, list[TimedPost]] = {}
    for entry in [*timed, *recorded]:
        by_account.setdefault(entry.alias, []).append(entry)
    problems: list[Diagnostic] = []
    for entries in by_account.values():
        entries.sort(key=lambda e: (e.at, e.post_id, e.path))
        for rule in config.rules:
            spacing = rule.min_spacing
            if spacing is None or not rule.applies_to(entries[0].alias, entries[0].platform):
                continue
            for index, later in enumerate(entries):
                # Sorted by time: look back only as far as the spacing reaches (not n²).
                for back in range(index - 1, -1, -1):
                    earlier = entries[back]
                    if later.at - earlier.at >= spacing:
                        break
                    if earlier.post_id == later.post_id:
                        continue
                    # The one to move is the repository's: a record cannot be moved by a file.
                    blamed, other = (later, earlier) if later.path else (earlier, later)
                    if not blamed.path:
                        continue
                    problems.append(_spacing_problem(rule, blamed, other, spacing))
    return sorted(set(problems))


def _spacing_problem(
    rule: Rule, blamed: TimedPost, other: TimedPost, spacing: timedelta
) -> Diagnostic:
    gap = abs(blamed.at - other.at)
    source = "" if other.path else ", as recorded"
    message = (
        f"on {blamed.alias}, {_duration(gap)} from post {other.post_id!r}{source} "
        f"({other.at:%Y-%m-%d %H:%M} UTC); at least {_duration(spacing)} apart: {_label(rule)}"
    )
    # No override here: two posts break it together, and an approval is of one post's send.
    severity = Severity.ERROR if rule.severity == DENY else Severity.WARNING
    hint = "move one of the two schedules"
    return Diagnostic(
        blamed.path, blamed.line, blamed.column, severity, "rule-spacing", message, hint
    )


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours}h{minutes:02d}m"
    return f"{hours}h" if hours else f"{minutes}m"


def deny_window_now(
    config: Config, alias: str, platform: str, now: datetime, *, sponsored: bool = False
) -> tuple[Rule, Window] | None:
    """The deny window of a rule for this account that `now` falls in, if any: a post with
    no schedule is not sent then (reconcile/windows.py), and goes out on a later run."""
    zone = ZoneInfo(config.timezone)
    for rule in config.rules:
        if rule.severity != DENY or not rule.applies_to(alias, platform):
            continue
        if rule.when_sponsored is not None and rule.when_sponsored != sponsored:
            continue
        window = _window_at(rule, now, zone)
        if window is not None:
            return rule, window
    return None


def overridable(posts: Iterable[CompiledPost], config: Config) -> tuple[Overridable, ...]:
    """Every deny violation a rule lets named reviewers approve (`override:`): (post id,
    account alias, rule name, reviewers). Reported as a warning; the plan carries these and
    apply holds each send until an approving review of those reviewers lifts it."""
    found: set[Overridable] = set()
    with_override = [r for r in config.rules if r.override and r.severity == DENY]
    for post in posts:
        for rule in with_override:
            for aliases in _violations(post, rule, config).values():
                found.update(
                    Overridable(post.spec.id, alias, rule.name, rule.override) for alias in aliases
                )
    return tuple(sorted(found))
