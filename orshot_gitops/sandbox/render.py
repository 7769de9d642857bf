"""POST /v1/studio/render: deterministic output URLs, and the optional `publish` step.

The same (template, modifications, format) always yields the same URL, so a client that
renders twice can tell it got the same output, and tests can assert exact URLs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Mapping

from orshot_gitops.sandbox.config import SandboxTemplate
from orshot_gitops.sandbox.engine import Workspace
from orshot_gitops.sandbox.model import FAILED, Target, publish_entries
from orshot_gitops.sandbox.validation import (
    RENDER_FIELDS,
    ApiError,
    as_int,
    known_fields,
    publish_spec,
    require_object,
)

RENDER_BASE = "https://storage.orshot.com/sandbox/renders/"
_MIME = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "pdf": "application/pdf",
    "mp4": "video/mp4",
    "webm": "video/webm",
    # Orshot's other render formats (its integrations list avif, mov and mkv too).
    "avif": "image/avif",
    "mov": "video/quicktime",
    "mkv": "video/x-matroska",
}
_RESPONSE_TYPES = ("url", "base64")


def render(
    body: object, workspace: Workspace, now: float, request_json: str, started: float
) -> dict[str, object]:
    """The render answer; with `publish`, the output is also posted and the answer gains a
    per-account `publish` array. A publishing failure never fails the render."""
    body = require_object(body)
    known_fields(body, RENDER_FIELDS, workspace.config)
    template = studio_template(body.get("templateId"), workspace)
    modifications = body.get("modifications", {})
    if not isinstance(modifications, Mapping):
        raise ApiError(400, "modifications must be an object")
    options = body.get("response", {})
    if not isinstance(options, Mapping):
        raise ApiError(400, "response must be an object")
    kind = options.get("type", "url")
    if kind not in _RESPONSE_TYPES:
        raise ApiError(400, "response.type must be one of: " + ", ".join(_RESPONSE_TYPES))
    fmt = options.get("format", "png")
    if not isinstance(fmt, str) or fmt.lower() not in _MIME:
        raise ApiError(400, "response.format must be one of: " + ", ".join(_MIME))
    fmt = fmt.lower()
    scale = options.get("scale", 1)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
        raise ApiError(400, "response.scale must be a positive number")
    pages = _pages(options.get("includePages"), template)
    file_name = options.get("fileName")
    if file_name is not None and not isinstance(file_name, str):
        raise ApiError(400, "response.fileName must be a string")

    urls = _urls(template, modifications, fmt, pages, file_name)
    render_id = workspace.store.next_id("render")
    outputs = urls if kind == "url" else [_data_uri(url, fmt) for url in urls]
    data: dict[str, object] = {
        # One page: a string, as documented. Several pages: a list, one entry per page
        # (the docs do not show this case; see docs/orshot-api-notes.md).
        "content": outputs if _is_multi_file(template, fmt) else outputs[0],
        "format": fmt,
        "type": kind,
    }
    answer: dict[str, object] = {"data": data}
    if "publish" in body:
        answer["publish"] = _publish(
            body["publish"], workspace, now, tuple(urls), request_json, render_id
        )
    data["responseTime"] = round((time.perf_counter() - started) * 1000, 2)
    return answer


def studio_template(raw: object, workspace: Workspace) -> SandboxTemplate:
    if raw is None or raw == "":
        raise ApiError(400, "templateId missing")
    template_id = as_int(raw)
    template = workspace.config.template(template_id) if template_id is not None else None
    if template is None:
        # Orshot's error reference: an unknown template is a 403, not a 404.
        raise ApiError(403, "Template not found")
    return template


def _pages(raw: object, template: SandboxTemplate) -> list[int]:
    if raw is None:
        return list(range(1, template.pages + 1))
    if (
        not isinstance(raw, list)
        or not raw
        or not all(as_int(p) is not None and 1 <= (as_int(p) or 0) <= template.pages for p in raw)
    ):
        raise ApiError(400, f"response.includePages must list pages between 1 and {template.pages}")
    return sorted({as_int(p) or 0 for p in raw})


def _urls(
    template: SandboxTemplate,
    modifications: Mapping[str, object],
    fmt: str,
    pages: list[int],
    file_name: str | None,
) -> list[str]:
    extension = "jpg" if fmt == "jpeg" else fmt
    key = json.dumps(
        {"format": fmt, "modifications": modifications, "templateId": template.id},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    stem = digest
    if file_name:
        stem = f"{digest}/{re.sub(r'[^A-Za-z0-9._-]+', '-', file_name).strip('-') or 'render'}"
    if not _is_multi_file(template, fmt):
        return [f"{RENDER_BASE}{stem}.{extension}"]
    return [f"{RENDER_BASE}{stem}-p{page}.{extension}" for page in pages]


def _is_multi_file(template: SandboxTemplate, fmt: str) -> bool:
    # A PDF holds every page in one file, as a multi-page PDF export does.
    return template.pages > 1 and fmt != "pdf"


def _data_uri(url: str, fmt: str) -> str:
    # Not a real image: a stable stand-in, so base64 answers are deterministic too.
    payload = base64.b64encode(hashlib.sha256(url.encode()).digest()).decode()
    return f"data:{_MIME[fmt]};base64,{payload}"


def _publish(
    raw: object,
    workspace: Workspace,
    now: float,
    media_urls: tuple[str, ...],
    request_json: str,
    render_id: int,
) -> list[dict[str, object]]:
    """Post the render output (a carousel when there are several pages). A request-level
    problem (no accounts, bad schedule, nothing compatible) comes back as a failed entry per
    requested account rather than as an error status, because the render itself succeeded."""
    try:
        spec = publish_spec(require_object(raw), workspace.config, now, media_urls=media_urls)
        post = workspace.create_post(spec, request_json=request_json, now=now, render_id=render_id)
    except ApiError as exc:
        return _failed_entries(raw, workspace, exc.message)
    return publish_entries(post.targets, workspace.config.answers)


def _failed_entries(raw: object, workspace: Workspace, error: str) -> list[dict[str, object]]:
    ids = raw.get("accounts") if isinstance(raw, Mapping) else None
    entries: list[dict[str, object]] = []
    for item in ids if isinstance(ids, list) else []:
        account_id = as_int(item)
        account = workspace.config.account(account_id) if account_id is not None else None
        if account is None:
            entries.append({"account_id": item, "status": FAILED, "error": error})
        else:
            target = Target(
                account.id, account.platform, account.username, account.name, FAILED, error=error
            )
            entries.append(target.entry())
    return entries
