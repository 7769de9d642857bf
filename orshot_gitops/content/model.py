"""The values that flow from stage to stage: configuration and post specifications.

Frozen, plain, and free of I/O: the loader builds them, everything after reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orshot_gitops.content.approvals import ApprovalRule, rules_from_data
from orshot_gitops.content.ruletypes import Rule
from orshot_gitops.content.yamlload import Document

if TYPE_CHECKING:
    from orshot_gitops.content.queues import Queue

PLATFORMS = (
    "twitter",
    "linkedin",
    "instagram",
    "facebook",
    "pinterest",
    "tiktok",
    "youtube",
    "threads",
    "bluesky",
    "reddit",
    "telegram",
    "googlebusiness",
    "snapchat",
)
# Spellings this tool once used, and Orshot's name for each: still read, with a warning saying
# what to write (`GET /v1/social/accounts` answers `googlebusiness`; see docs/orshot-api-notes.md).
OLD_PLATFORM_SPELLINGS = {"google_business": "googlebusiness"}

CONFIG_FILE = "orshot.yaml"
STATE_FILE = ".orshot/state.json"
STATE_POSTS = ".orshot/state/posts"  # the v2 state's record per post (state/layout.py)


@dataclass(frozen=True)
class Account:
    """A social account as orshot.yaml names it."""

    alias: str
    id: int
    # Orshot's name for the platform, whatever spelling orshot.yaml used.
    platform: str
    premium: bool = False
    # The spelling orshot.yaml used, when it was an old one: templates still see it as
    # `platform`, so moving to Orshot's names never silently changes a rendered caption.
    platform_as_written: str | None = None

    @property
    def template_platform(self) -> str:
        """The value of `platform` in this account's templates: the spelling in orshot.yaml."""
        return self.platform_as_written or self.platform


@dataclass(frozen=True)
class Config:
    """orshot.yaml, with its defaults filled in."""

    accounts: Mapping[str, Account]
    vars: Mapping[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"
    posts_dir: str = "posts"
    templates_dir: str = "templates"
    prune: bool = False
    paused: bool = False
    # `rules:` (content/rules.py reads them, content/rulecheck.py applies them).
    rules: tuple[Rule, ...] = ()
    document: Document | None = field(default=None, compare=False, repr=False)
    # Who must approve what goes out where (content/approvals.py); none: any merge publishes.
    approvals: tuple[ApprovalRule, ...] = ()
    # Where GitHub cannot be asked whether the rules are met: hold (the default) or send.
    approvals_without_github: str = "hold"
    # `queues:` (content/queues.py): the slots `schedule: next` posts are given.
    queues: tuple[Queue, ...] = ()

    def queue_for(self, alias: str) -> Queue | None:
        """The queue an account's `schedule: next` posts take their slots from: one naming its
        alias, else its platform, else "*" (content/queues.py refuses two at one level)."""
        account = self.accounts.get(alias)
        for level in (alias, account.platform if account is not None else "", "*"):
            for queue in self.queues:
                if level and level in queue.accounts:
                    return queue
        return None

    # How far ahead a recurring post's occurrences exist (content/recurrence.py), as written.
    horizon: str = "30d"
    # The environment variable holding this root's Orshot key: one per brand when a
    # repository holds several content roots (docs/brands.md).
    api_key_env: str = "ORSHOT_API_KEY"

    def account(self, reference: str | int) -> Account | None:
        """Find an account by alias, or by its numeric Orshot id."""
        if isinstance(reference, str) and reference in self.accounts:
            return self.accounts[reference]
        for account in self.accounts.values():
            if str(account.id) == str(reference):
                return account
        return None


@dataclass(frozen=True)
class RenderSpec:
    """A Studio template to render; its output is what the post publishes."""

    template: int
    modifications: Mapping[str, Any]
    format: str = "png"


@dataclass(frozen=True)
class BatchRow:
    """Where a post made from a row of a batch (`for_each`) comes from: diagnostics about the
    row point at its line in the data file, and the plan groups the batch's posts."""

    file_id: str  # the post file's own id: posts/products.yaml -> products
    data_path: str
    line: int
    row_id: str


@dataclass(frozen=True)
class RepeatSpec:
    """A post's `repeat:` as written; content/recurrence.py reads and checks it."""

    every: str
    until: str | None = None
    count: int | None = None
    skip: tuple[str, ...] = ()


@dataclass(frozen=True)
class Occurrence:
    """Which occurrence of a recurring post a PostSpec is: its series (the file's post id),
    its date in the post's timezone, and its place in the series (skipped dates counted)."""

    series: str
    date: str
    index: int
    # How many `variants` the series rotates besides `content` (0: one caption for all).
    variants: int = 0


@dataclass(frozen=True)
class PostSpec:
    """One post file, as written (templates not yet rendered)."""

    id: str
    path: str
    accounts: tuple[str | int, ...]
    content: str
    vars: Mapping[str, Any] = field(default_factory=dict)
    media_urls: tuple[str, ...] = ()
    carousel: bool = False
    render: RenderSpec | None = None
    schedule: str | None = None
    timezone: str | None = None
    # `schedule: next` or `schedule: {after: ...}`: the plan gives it a queue slot
    # (reconcile/queueplan.py); `queue_after` is the `after:` as written.
    queued: bool = False
    queue_after: str | None = None
    draft: bool = False
    platform_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    revision: int = 1
    # A label for content rules (`when: {sponsored: true}`): never sent, so not fingerprinted.
    sponsored: bool = False
    # Alt text of each media item (media_urls order) or render page: None where none is
    # written. Orshot's API takes none (docs/orshot-api-notes.md): never sent, not fingerprinted.
    media_alt: tuple[str | None, ...] = ()
    render_alt: tuple[str, ...] = ()
    # A batch (content/batches.py): the data file and the row id template, as written; each
    # row's PostSpec has them cleared and `batch` set.
    for_each: str | None = None
    id_template: str | None = None
    batch: BatchRow | None = None
    # A recurring post as written (`repeat:`, `variants:`, `overrides:` by date); expanded by
    # content/recurrence.py into occurrences, which carry `occurrence` and none of these.
    repeat: RepeatSpec | None = None
    variants: tuple[str, ...] = ()
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    occurrence: Occurrence | None = None
    document: Document | None = field(default=None, compare=False, repr=False)


def config_from_data(data: Mapping[str, Any], document: Document | None = None) -> Config:
    """Build a Config from schema-valid data."""
    accounts = {
        alias: Account(
            alias=alias,
            id=int(entry["id"]),
            platform=OLD_PLATFORM_SPELLINGS.get(str(entry["platform"]), str(entry["platform"])),
            premium=bool(entry.get("premium", False)),
            platform_as_written=(
                str(entry["platform"]) if entry["platform"] in OLD_PLATFORM_SPELLINGS else None
            ),
        )
        for alias, entry in sorted(data.get("accounts", {}).items())
    }
    return Config(
        accounts=accounts,
        vars=dict(data.get("vars") or {}),
        timezone=str(data.get("timezone", "UTC")),
        posts_dir=str(data.get("posts_dir", "posts")).strip("/"),
        templates_dir=str(data.get("templates_dir", "templates")).strip("/"),
        prune=bool(data.get("prune", False)),
        paused=bool(data.get("paused", False)),
        document=document,
        approvals=rules_from_data(data.get("approvals")),
        approvals_without_github=str(data.get("approvals_without_github", "hold")),
        horizon=str(data.get("horizon", "30d")),
        api_key_env=str(data.get("api_key_env", "ORSHOT_API_KEY")),
    )


def post_from_data(
    post_id: str, path: str, data: Mapping[str, Any], document: Document | None = None
) -> PostSpec:
    """Build a PostSpec from schema-valid data."""
    render = None
    if "render" in data:
        render = RenderSpec(
            template=int(data["render"]["template"]),
            modifications=dict(data["render"].get("modifications") or {}),
            format=str(data["render"].get("format", "png")),
        )
    # A media item is a URL, or {url, alt}: the URL alone is what is sent.
    items: list[Any] = list(data["media_urls"]) if "media_urls" in data else []
    if "media_url" in data:
        items = [data["media_url"]]
    media = tuple(item["url"] if isinstance(item, Mapping) else item for item in items)
    alts = tuple(item.get("alt") if isinstance(item, Mapping) else None for item in items)
    render_alt: tuple[str, ...] = ()
    if "render" in data and "alt" in data["render"]:
        written = data["render"]["alt"]
        render_alt = (written,) if isinstance(written, str) else tuple(written)
    schedule = data.get("schedule")
    queued = schedule == "next" or isinstance(schedule, Mapping)
    after = str(schedule["after"]) if isinstance(schedule, Mapping) else None
    return PostSpec(
        id=post_id,
        path=path,
        accounts=tuple(data["accounts"]),
        content=data["content"],
        vars=dict(data.get("vars") or {}),
        media_urls=media,
        carousel="media_urls" in data,
        render=render,
        schedule=None if queued else schedule,
        timezone=data.get("timezone"),
        queued=queued,
        queue_after=after,
        draft=bool(data.get("draft", False)),
        platform_options={str(k): dict(v) for k, v in (data.get("platform_options") or {}).items()},
        revision=int(data.get("revision", 1)),
        sponsored=bool(data.get("sponsored", False)),
        media_alt=alts if any(alt is not None for alt in alts) else (),
        render_alt=render_alt,
        for_each=data.get("for_each"),
        id_template=data.get("id"),
        repeat=_repeat_from_data(data.get("repeat")),
        variants=tuple(data.get("variants") or ()),
        overrides={str(k): dict(v) for k, v in (data.get("overrides") or {}).items()},
        document=document,
    )


def _repeat_from_data(data: Mapping[str, Any] | None) -> RepeatSpec | None:
    if data is None:
        return None
    return RepeatSpec(
        every=str(data["every"]),
        until=data.get("until"),
        count=data.get("count"),
        skip=tuple(data.get("skip") or ()),
    )
