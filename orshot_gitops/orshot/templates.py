"""A Studio template's parameters: `GET /studio/template/modifications?templateId=N`, which
answers a list of `{id, example, ...}`, one per parameter the template's modifications may
name (Orshot's Pipedream component "Get Studio Template Modifications"). The list is read
bare or under `data` (the pages we hold do not show the envelope; docs/orshot-api-notes.md).

A read: paced, retried and scrubbed like every other call, through the client's `_call`
(kept out of client.py, which is at its size limit).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from orshot_gitops.orshot.models import Malformed

if TYPE_CHECKING:
    from orshot_gitops.orshot.client import OrshotClient


def parse_template_parameters(body: Any) -> tuple[str, ...]:
    """The parameter ids, in Orshot's order, each once."""
    items = body.get("data") if isinstance(body, Mapping) else body
    if isinstance(items, Mapping):
        items = items.get("modifications", items.get("items"))
    if not isinstance(items, list):
        raise Malformed("the template's modifications are not a list")
    ids: list[str] = []
    for index, item in enumerate(items):
        raw = item.get("id") if isinstance(item, Mapping) else None
        if not isinstance(raw, str) or not raw:
            raise Malformed(f"data[{index}].id is {raw!r}")
        if raw not in ids:
            ids.append(raw)
    return tuple(ids)


def template_parameters(client: OrshotClient, template_id: int) -> tuple[str, ...]:
    """The ids the template's modifications may name. Raises the client's errors (an unknown
    template is Orshot's 403 "Template not found")."""
    return client._call(
        parse_template_parameters,
        "GET",
        "/studio/template/modifications",
        params={"templateId": str(int(template_id))},
    )
