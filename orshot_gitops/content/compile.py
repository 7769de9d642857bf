"""Compile a post: render its templates once per target account, resolve its schedule, fingerprint it.

What comes out (`CompiledPost`) is exactly what would be sent, so the plan, the pull-request
comment and `apply` all show and send the same thing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orshot_gitops.content import platforms
from orshot_gitops.content.cache import DiskCache, key_of
from orshot_gitops.content.model import Account, Config, PostSpec
from orshot_gitops.content.schedule_checks import wall_time_notes
from orshot_gitops.content.suggest import did_you_mean, timezone_hint
from orshot_gitops.content.template_hints import undefined_hint
from orshot_gitops.content.templating import TemplateEngine, TemplateProblem
from orshot_gitops.content.yamlload import JsonPath
from orshot_gitops.errors import Diagnostic, Severity


@dataclass(frozen=True)
class RenderRequest:
    """A Studio render with its modifications rendered (once per post: it is one image)."""

    template: int
    modifications: Mapping[str, Any]
    format: str

    def as_json(self) -> dict[str, Any]:
        """What makes the image, as the fingerprint, the plan and a preview's digest take it."""
        return {
            "template": self.template,
            "modifications": dict(self.modifications),
            "format": self.format,
        }


@dataclass(frozen=True)
class AccountPayload:
    """What one account gets: the caption as rendered for it, its media and options."""

    account: Account
    content: str
    media_urls: tuple[str, ...]
    platform_options: Mapping[str, Any]
    fingerprint: str
    # The caption's length as its platform counts it (X: weighted), for validate and the plan.
    caption_length: int
    # A queued post's time for this account (its queue slot, or the time its record fixed);
    # None for every other post, whose time is the post's own `scheduled_for`.
    scheduled_for: datetime | None = None


@dataclass(frozen=True)
class CompiledPost:
    spec: PostSpec
    timezone: str
    scheduled_for: datetime | None  # aware, UTC
    render: RenderRequest | None
    payloads: tuple[AccountPayload, ...]
    # `schedule: next`: no time until the plan gives each account one (`with_times`);
    # until then its fingerprints hold QUEUED, which matches no record and sends nothing.
    queue_after: datetime | None = None
    times_assigned: bool = False

    @property
    def queued(self) -> bool:
        return self.spec.queued

    def time_for(self, payload: AccountPayload) -> datetime | None:
        """When this account's post goes out: its own slot for a queued post."""
        return payload.scheduled_for if self.spec.queued else self.scheduled_for


QUEUED = "next"
"""What a queued post's fingerprints hold before the plan gives it a slot."""


def payload_fingerprint(
    account_id: int,
    content: str,
    media: tuple[str, ...],
    render: RenderRequest | None,
    options: Mapping[str, Any],
    at: datetime | str | None,
    revision: int,
) -> str:
    """The fingerprint of what one account is sent: the one definition, so a queue slot given
    by the plan fingerprints exactly as the same time written in the file."""
    when = at.isoformat() if isinstance(at, datetime) else at
    return fingerprint(
        {
            "account_id": account_id,
            "content": content,
            "media_urls": list(media),
            "render": None if render is None else render.as_json(),
            "platform_options": options,
            "scheduled_for": when,
            "revision": revision,
        }
    )


def with_times(post: CompiledPost, times: Mapping[str, datetime | None]) -> CompiledPost:
    """A queued post with each account's time set (alias -> time; None: no time, as for a
    draft) and its fingerprints made from it. The post's `scheduled_for` is the earliest."""
    payloads = tuple(
        replace(
            p,
            scheduled_for=times.get(p.account.alias),
            fingerprint=payload_fingerprint(
                p.account.id,
                p.content,
                p.media_urls,
                post.render,
                p.platform_options,
                times.get(p.account.alias),
                post.spec.revision,
            ),
        )
        for p in post.payloads
    )
    known = [t for t in (p.scheduled_for for p in payloads) if t is not None]
    earliest = min(known) if known else None
    return replace(post, payloads=payloads, scheduled_for=earliest, times_assigned=True)


class ScheduleError(ValueError):
    pass


def parse_schedule(text: str, zone_name: str) -> datetime:
    """ISO 8601 to an aware UTC datetime; a time without an offset is read in `zone_name`."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    if len(value) == 10:
        raise ScheduleError(f"{text!r} has a date but no time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ScheduleError(f"{text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone_name))
    return moment.astimezone(timezone.utc)


_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\r?\n)+")


def without_leading_blank_lines(caption: str) -> str:
    """A caption as sent: the blank lines a template leaves above it (a `{% if %}` on its own
    first line) dropped, as the trailing ones are. Only whole blank lines: the first line's
    own indentation is the writer's. This changes the fingerprint of a caption that began with
    a blank line: a post Orshot still holds gets that edit in place the next time the plan
    looks at it (shown, before and after, like any edit); a live one is reported changed and
    left alone."""
    return _LEADING_BLANK_LINES.sub("", caption)


def valid_timezone(name: str) -> bool:
    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def fingerprint(payload: Mapping[str, Any]) -> str:
    """sha256 of canonical JSON: equal payloads, equal fingerprints, on every machine."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class CaptionLengths:
    """Each caption's length as its platform counts it. X's weighted length needs twitter-text,
    whose regexes compile at import (0.2 s, half of a warm `plan` on 10,000 posts), so it is
    kept on disk beside the compiled templates, keyed by the caption, the platform and
    `platforms.length_fingerprint()` (twitter-text's version, the counting code): a caption
    measured once is never measured, nor twitter-text imported, again."""

    def __init__(self, cache: DiskCache | None) -> None:
        self._cache = cache

    def of(self, platform: str, text: str) -> int:
        cache = self._cache
        if platforms.counted_plainly(platform) or cache is None or not cache.enabled:
            return platforms.caption_length(platform, text)
        fingerprint = platforms.length_fingerprint()
        if fingerprint is None:
            return platforms.caption_length(platform, text)
        key = key_of(
            b"caption-length", platform.encode(), fingerprint, text.encode("utf-8", "surrogatepass")
        )
        stored = cache.get(key)
        if stored is not None and stored.isdigit():
            return int(stored)
        length = platforms.caption_length(platform, text)
        cache.put(key, str(length).encode("ascii"))
        return length


class Compiler:
    """Renders posts against one configuration; compiled templates are shared across posts."""

    def __init__(self, config: Config, engine: TemplateEngine) -> None:
        self.config = config
        self.engine = engine
        # The same cache file as the compiled code: one database to open, one flush.
        self.lengths = CaptionLengths(engine.code_cache)

    def compile(self, spec: PostSpec) -> tuple[CompiledPost | None, list[Diagnostic]]:
        problems: list[Diagnostic] = []
        zone = spec.timezone or self.config.timezone
        scheduled_for = None
        queue_after = None
        if not valid_timezone(zone):
            where = ("timezone",) if spec.timezone else None
            problems.append(
                self._at(spec, where, "timezone", f"unknown timezone {zone!r}", timezone_hint(zone))
            )
        elif spec.queued:
            queue_after = self._queue_after(spec, zone, problems)
        elif spec.schedule is not None:
            try:
                scheduled_for = parse_schedule(spec.schedule, zone)
            except ScheduleError as exc:
                problems.append(
                    self._at(spec, ("schedule",), "schedule-invalid", str(exc), _SCHEDULE_HINT)
                )
            else:
                for note in wall_time_notes(
                    spec.schedule, zone, zone_written=spec.timezone is not None
                ):
                    problem = self._at(spec, ("schedule",), note.code, note.message, note.hint)
                    severity = Severity.ERROR if note.error else Severity.WARNING
                    problems.append(replace(problem, severity=severity))

        accounts: list[tuple[str | int, Account]] = []
        for index, reference in enumerate(spec.accounts):
            account = self.config.account(reference)
            if account is None:
                problems.append(self._unknown_account(spec, index, reference))
            else:
                accounts.append((reference, account))
                if spec.queued and self.config.queue_for(account.alias) is None:
                    problems.append(self._no_queue(spec, index, account))

        base_vars = {**self.config.vars, **spec.vars}
        schedule = QUEUED if spec.queued else spec.schedule
        post_vars = {"id": spec.id, "path": spec.path, "schedule": schedule}
        render = self._render_request(spec, {**base_vars, "post": post_vars}, problems)
        media = spec.media_urls
        payloads = []
        for reference, account in accounts:
            variables = {
                **base_vars,
                "platform": account.template_platform,
                "account": account.alias,
                "post": post_vars,
            }
            content = self._render(spec, ("content",), spec.content, variables, problems)
            if content is not None:
                content = without_leading_blank_lines(content)
            options = self._options(spec, reference, account, variables, problems)
            if content is None or options is None:
                continue
            at = QUEUED if spec.queued else scheduled_for
            digest = payload_fingerprint(
                account.id, content, media, render, options, at, spec.revision
            )
            length = self.lengths.of(account.platform, content)
            payloads.append(AccountPayload(account, content, media, options, digest, length))
        if any(p.severity is Severity.ERROR for p in problems):
            return None, problems
        compiled = CompiledPost(spec, zone, scheduled_for, render, tuple(payloads), queue_after)
        return compiled, problems

    def _queue_after(
        self, spec: PostSpec, zone: str, problems: list[Diagnostic]
    ) -> datetime | None:
        """`schedule: {after: ...}`: a date counts from its midnight, a time strictly after."""
        if spec.queue_after is None:
            return None
        written = spec.queue_after.strip()
        try:
            if len(written) == 10:
                day = datetime.fromisoformat(written)
                return day.replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)
            return parse_schedule(written, zone) + timedelta(microseconds=1)
        except (ScheduleError, ValueError, OverflowError):  # 9999-12-31T23:59 runs past UTC's end
            problems.append(
                self._at(
                    spec,
                    ("schedule", "after"),
                    "schedule-invalid",
                    f"after: {written!r} is neither a date nor a date and time",
                    "write it as 2027-01-10 (that day counts) or 2027-01-10T12:00 (after it)",
                )
            )
            return None

    def _no_queue(self, spec: PostSpec, index: int, account: Account) -> Diagnostic:
        queued = [", ".join(q.accounts) for q in self.config.queues]
        listed = f"; the queues cover: {' | '.join(queued)}" if queued else ""
        return self._at(
            spec,
            ("accounts", index),
            "no-queue",
            f"schedule: next, but account {account.alias!r} has no queue",
            f'add {account.alias!r} (or {account.platform!r}, or "*") to a queue under '
            f"'queues:' in orshot.yaml, or give this post a time{listed}",
        )

    def _render_request(
        self, spec: PostSpec, variables: Mapping[str, Any], problems: list[Diagnostic]
    ) -> RenderRequest | None:
        if spec.render is None:
            return None
        modifications: dict[str, Any] = {}
        for key, value in sorted(spec.render.modifications.items()):
            if isinstance(value, str):
                rendered = self._render(
                    spec, ("render", "modifications", key), value, variables, problems
                )
                modifications[key] = rendered
            else:
                modifications[key] = value
        return RenderRequest(spec.render.template, modifications, spec.render.format)

    def _options(
        self,
        spec: PostSpec,
        reference: str | int,
        account: Account,
        variables: Mapping[str, Any],
        problems: list[Diagnostic],
    ) -> dict[str, Any] | None:
        key = next(
            (
                k
                for k in (str(reference), account.alias, str(account.id))
                if k in spec.platform_options
            ),
            None,
        )
        if key is None:
            return {}
        options: dict[str, Any] = {}
        failed = False
        for name, value in sorted(spec.platform_options[key].items()):
            if isinstance(value, str):
                rendered = self._render(
                    spec, ("platform_options", key, name), value, variables, problems
                )
                failed = failed or rendered is None
                options[name] = rendered
            else:
                options[name] = value
        return None if failed else options

    def _render(
        self,
        spec: PostSpec,
        json_path: JsonPath,
        source: str,
        variables: Mapping[str, Any],
        problems: list[Diagnostic],
    ) -> str | None:
        try:
            # Trailing blank lines from a YAML block (`|`) or a template are never wanted in a post.
            return self.engine.render(source, variables).rstrip()
        except TemplateProblem as problem:
            diagnostic = self._template_diagnostic(spec, json_path, problem, source, variables)
            if diagnostic not in problems:  # the same mistake, rendered for each account, once
                problems.append(diagnostic)
            return None

    def _template_diagnostic(
        self,
        spec: PostSpec,
        json_path: JsonPath,
        problem: TemplateProblem,
        source: str,
        variables: Mapping[str, Any],
    ) -> Diagnostic:
        line, column = (0, 0)
        if spec.document is not None:
            line, column = spec.document.template_line(json_path, max(problem.line, 1))
        message = problem.message
        if problem.template_name:
            message += f" (in {problem.template_name})"
        hints = {
            "undefined": undefined_hint(problem, source, variables)
            + (
                "; platform and account are per account, not available in render modifications"
                if json_path[0] == "render"
                else ""
            ),
            "syntax": "check the {{ }} and {% %} tags",
            "sandbox": "templates may only use variables, filters and tests, not Python internals",
            "limit": "simplify the template",
            "include": "snippets must be files inside the templates directory",
        }
        return Diagnostic(
            spec.path,
            line,
            column,
            Severity.ERROR,
            f"template-{problem.kind}",
            message,
            hints.get(problem.kind, ""),
        )

    def _unknown_account(self, spec: PostSpec, index: int, reference: str | int) -> Diagnostic:
        known = ", ".join(self.config.accounts) or "none yet"
        if isinstance(reference, int):
            message = f"account id {reference} is not listed in orshot.yaml"
            hint = "add it under 'accounts:' in orshot.yaml so its platform is known"
        else:
            message = f"unknown account {reference!r}"
            hint = did_you_mean(reference, self.config.accounts) + f"known accounts: {known}"
        return self._at(spec, ("accounts", index), "unknown-account", message, hint)

    def _at(
        self, spec: PostSpec, json_path: JsonPath | None, code: str, message: str, hint: str
    ) -> Diagnostic:
        line, column = (1, 1)
        if spec.document is not None and json_path is not None:
            line, column = spec.document.position(json_path)
        return Diagnostic(spec.path, line, column, Severity.ERROR, code, message, hint)


_SCHEDULE_HINT = (
    "write it as 2026-12-01T09:00 (read in the post's timezone) or 2026-12-01T14:00:00Z"
)
