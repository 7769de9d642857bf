"""What the Orshot API says, as values: typed results, typed errors, and defensive parsing.

Every answer is parsed into frozen dataclasses here, so the rest of orshot-gitops never indexes
into raw JSON. A body that does not have the documented shape is an `ApiError` (never a
`KeyError` deep in the reconciler). Field names follow the contract in
`orshot-api/post-management.md` and `orshot-api/social-publish.md`.

The errors are in `orshot_gitops.orshot.errors`; the transport (pacing, retries, the key) in
`orshot_gitops.orshot.client`, which re-exports the public names of both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# --------------------------------------------------------------------------------------------
# Requests


@dataclass(frozen=True)
class PublishRequest:
    """The body of `POST /v1/social/publish` (and, without media, the `publish` object of a
    render). `platform_options` is keyed by account id, as the API wants it."""

    accounts: tuple[int, ...]
    content: str | None = None
    media_url: str | None = None
    media_urls: tuple[str, ...] | None = None
    is_draft: bool = False
    scheduled_for: str | None = None
    timezone: str | None = None
    platform_options: Mapping[int, Mapping[str, Any]] | None = None
    # TikTok's settings (e.g. `autoAddMusic`), once per request at the top level, as Orshot's
    # integrations send them (docs/orshot-api-notes.md, "TikTok").
    tiktok_settings: Mapping[str, Any] | None = None

    def to_json(self, *, with_media: bool = True) -> dict[str, Any]:
        """The JSON body, with only the fields that are set (the API's defaults apply)."""
        body: dict[str, Any] = {"accounts": list(self.accounts)}
        if self.content is not None:
            body["content"] = self.content
        if with_media and self.media_url is not None:
            body["media_url"] = self.media_url
        if with_media and self.media_urls is not None:
            body["media_urls"] = list(self.media_urls)
        if self.is_draft:
            body["isDraft"] = True
        if self.scheduled_for is not None:
            body["schedule"] = {"scheduledFor": self.scheduled_for}
        if self.timezone is not None:
            body["timezone"] = self.timezone
        if self.platform_options:
            # JSON object keys are strings; the API documents them as account ids.
            body["platformOptions"] = {
                str(account): dict(options) for account, options in self.platform_options.items()
            }
        # No `source` field: the publish pages list none, and a strict server refuses what it
        # does not know (docs/orshot-api-notes.md, "Request fields").
        if self.tiktok_settings:
            body["tiktokSettings"] = dict(self.tiktok_settings)
        return body

    def summary(self) -> str:
        """A safe one-line description for errors and logs: no caption text, only its size."""
        media = len(self.media_urls or ()) + (1 if self.media_url else 0)
        parts = [f"accounts={list(self.accounts)}", f"draft={self.is_draft}", f"media={media}"]
        if self.content is not None:
            parts.append(f"content={len(self.content)} chars")
        if self.scheduled_for:
            parts.append(f"scheduled_for={self.scheduled_for}")
        return " ".join(parts)


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Account:
    """A connected social account (`GET /v1/social/accounts`)."""

    id: int
    platform: str
    username: str
    name: str
    #: Only known with `include_health=True`; None when the server did not say.
    requires_reconnect: bool | None = None


@dataclass(frozen=True)
class AccountResult:
    """What happened on one account: an entry of `platforms`, `publish` or a post's `accounts`."""

    account_id: int | None
    platform: str
    username: str
    name: str
    status: str
    url: str | None = None
    error: str | None = None
    action: str | None = None


@dataclass(frozen=True)
class PublishResult:
    """The answer to a publish: the post's id, the overall status and one result per account."""

    post_id: int
    status: str
    platforms: tuple[AccountResult, ...] = ()


@dataclass(frozen=True)
class Post:
    """A post in the Posts Log, as every post endpoint returns it."""

    id: int
    status: str
    content: str | None
    media_urls: tuple[str, ...]
    platforms: tuple[str, ...]
    accounts: tuple[AccountResult, ...]
    is_editable: bool
    is_discardable: bool
    scheduled_for: str | None
    published_at: str | None
    created_at: str | None
    render_id: int | None


@dataclass(frozen=True)
class RenderResult:
    """A render's output. `media_urls` holds one URL per page (a single image: one element)."""

    media_urls: tuple[str, ...]
    format: str
    type: str
    response_time: float | None = None
    #: With a `publish` object: one result per account; None when nothing was published.
    publish: tuple[AccountResult, ...] | None = None
    post_id: int | None = None


@dataclass(frozen=True)
class SyncResult:
    """The answer to `POST /posts/{id}/sync`; `synced` is False when nothing changed."""

    post_id: int
    status: str
    synced: bool
    platforms: tuple[AccountResult, ...] = ()


# --------------------------------------------------------------------------------------------
# Parsing: each helper names where in the body it looked, so a malformed answer says so.


class Malformed(Exception):
    """Raised by the parsers; the client turns it into an ApiError naming the request."""


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Malformed(f"{where} is {type(value).__name__}, expected an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise Malformed(f"{where} is {type(value).__name__}, expected a list")
    return value


def _int(obj: Mapping[str, Any], key: str, where: str) -> int:
    value = obj.get(key)
    # bool is an int in Python; an id of `true` is still malformed.
    if isinstance(value, bool) or not isinstance(value, int):
        # Some servers send ids as digit strings; accept those, nothing else.
        if isinstance(value, str) and value.isdigit():
            return int(value)
        raise Malformed(f"{where}.{key} is {value!r}, expected an integer")
    return value


def _opt_int(obj: Mapping[str, Any], key: str, where: str) -> int | None:
    return None if obj.get(key) is None else _int(obj, key, where)


def _str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise Malformed(f"{where}.{key} is {value!r}, expected a string")
    return value


def _opt_str(obj: Mapping[str, Any], *keys: str) -> str | None:
    """The first of `keys` holding a string; tolerant because these fields are informational."""
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str):
            return value
    return None


def _opt_bool(obj: Mapping[str, Any], key: str) -> bool | None:
    value = obj.get(key)
    return value if isinstance(value, bool) else None


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = _list(value, where)
    if not all(isinstance(item, str) for item in items):
        raise Malformed(f"{where} holds a non-string")
    return tuple(items)


def data_of(body: Any) -> Any:
    """The `data` member every answer wraps its payload in."""
    body = _obj(body, "body")
    if "data" not in body:
        raise Malformed("body has no 'data'")
    return body["data"]


def parse_account(value: Any, where: str = "account") -> Account:
    obj = _obj(value, where)
    return Account(
        id=_int(obj, "id", where),
        platform=_str(obj, "platform", where),
        # The list documents account_username/account_name; posts use username/name.
        username=_opt_str(obj, "account_username", "username") or "",
        name=_opt_str(obj, "account_name", "name") or "",
        requires_reconnect=_opt_bool(obj, "requires_reconnect"),
    )


def parse_accounts(body: Any) -> tuple[Account, ...]:
    items = _list(data_of(body), "data")
    return tuple(parse_account(item, f"data[{i}]") for i, item in enumerate(items))


def parse_account_result(value: Any, where: str) -> AccountResult:
    obj = _obj(value, where)
    return AccountResult(
        account_id=_opt_int(obj, "account_id", where),
        platform=_opt_str(obj, "platform") or "",
        username=_opt_str(obj, "username") or "",
        name=_opt_str(obj, "name") or "",
        status=_str(obj, "status", where),
        url=_opt_str(obj, "url"),
        error=_opt_str(obj, "error"),
        action=_opt_str(obj, "action"),
    )


def _account_results(value: Any, where: str) -> tuple[AccountResult, ...]:
    if value is None:
        return ()
    items = _list(value, where)
    return tuple(parse_account_result(item, f"{where}[{i}]") for i, item in enumerate(items))


def parse_post(value: Any, where: str = "data") -> Post:
    obj = _obj(value, where)
    return Post(
        id=_int(obj, "id", where),
        status=_str(obj, "status", where),
        content=_opt_str(obj, "content"),
        media_urls=_strs(obj.get("media_urls"), f"{where}.media_urls"),
        platforms=_strs(obj.get("platforms"), f"{where}.platforms"),
        accounts=_account_results(obj.get("accounts"), f"{where}.accounts"),
        is_editable=bool(obj.get("is_editable", False)),
        is_discardable=bool(obj.get("is_discardable", False)),
        scheduled_for=_opt_str(obj, "scheduled_for"),
        published_at=_opt_str(obj, "published_at"),
        created_at=_opt_str(obj, "created_at"),
        render_id=_opt_int(obj, "render_id", where),
    )


def parse_post_envelope(body: Any) -> Post:
    """`{"data": post}` or, as PATCH answers, `{"data": {"post": post}}`."""
    data = _obj(data_of(body), "data")
    if "post" in data and "id" not in data:
        return parse_post(data["post"], "data.post")
    return parse_post(data)


def parse_posts_page(body: Any) -> tuple[tuple[Post, ...], str | None]:
    """One page of the Posts Log and the cursor of the next (None on the last page).

    Where `next_cursor` sits is not documented: accept it at the top level (next to `data`) or
    inside `data` when `data` is an object holding the list under `posts`/`items`.
    """
    top = _obj(body, "body")
    data = data_of(top)
    cursor: Any = top.get("next_cursor")
    if isinstance(data, Mapping):
        cursor = cursor if cursor is not None else data.get("next_cursor")
        data = data.get("posts", data.get("items", data.get("data")))
    items = _list(data, "data")
    posts = tuple(parse_post(item, f"data[{i}]") for i, item in enumerate(items))
    if cursor is not None and not isinstance(cursor, (str, int)):
        raise Malformed(f"next_cursor is {cursor!r}")
    return posts, (None if cursor in (None, "") else str(cursor))


def parse_publish(body: Any) -> PublishResult:
    """`POST /social/publish`: `{"data": {"post_id", "status", "platforms"}}`."""
    data = _obj(data_of(body), "data")
    return PublishResult(
        post_id=_int(data, "post_id", "data"),
        status=_str(data, "status", "data"),
        platforms=_account_results(data.get("platforms"), "data.platforms"),
    )


def parse_publish_by_id(body: Any, post_id: int) -> PublishResult:
    """`POST /posts/{id}/publish`: `{"data": {"post": {...}, "status", "platforms"}}`."""
    data = _obj(data_of(body), "data")
    post = data.get("post")
    if isinstance(post, Mapping) and post.get("id") is not None:
        post_id = _int(post, "id", "data.post")
    return PublishResult(
        post_id=post_id,
        status=_str(data, "status", "data"),
        platforms=_account_results(data.get("platforms"), "data.platforms"),
    )


def publish_result_from_post(post: Post) -> PublishResult:
    """A post read back after a publish whose answer was lost, as a publish's answer."""
    return PublishResult(post_id=post.id, status=post.status, platforms=post.accounts)


def parse_sync(body: Any, post_id: int) -> SyncResult:
    data = _obj(data_of(body), "data")
    post = data.get("post")
    status = _opt_str(data, "status")
    if isinstance(post, Mapping):
        if post.get("id") is not None:
            post_id = _int(post, "id", "data.post")
        status = status or _opt_str(post, "status")
    if status is None:
        raise Malformed("data has no status")
    return SyncResult(
        post_id=post_id,
        status=status,
        synced=bool(data.get("synced", False)),
        platforms=_account_results(data.get("platforms"), "data.platforms"),
    )


def parse_render(body: Any) -> RenderResult:
    """`{"data": {"content": url | [url, ...], "format", "type"}, "publish": [...]}`."""
    top = _obj(body, "body")
    data = _obj(data_of(top), "data")
    content = data.get("content")
    media_urls = (content,) if isinstance(content, str) else _strs(content, "data.content")
    if not media_urls:
        raise Malformed("data.content is empty")
    response_time = data.get("responseTime")
    publish = top.get("publish", data.get("publish"))
    post_id = top.get("post_id", data.get("post_id"))
    return RenderResult(
        media_urls=media_urls,
        format=_opt_str(data, "format") or "",
        type=_opt_str(data, "type") or "",
        response_time=float(response_time) if isinstance(response_time, (int, float)) else None,
        publish=None if publish is None else _account_results(publish, "publish"),
        post_id=_opt_int({"post_id": post_id}, "post_id", "body"),
    )
