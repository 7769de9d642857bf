"""What was sent to Orshot for one (post, account): the copy the review compares an edit with.

The fingerprint says *whether* a post changed; only the sent copy can say *how*. A pull
request that edits a scheduled post shows what Orshot holds now (this copy) against what it
will hold (the file), so the reviewer approves the change and not just its result.

It belongs to the record it describes (`AccountState.sent`) and is written whenever the
record's fingerprint is, so the two always describe the same version: a merge that picks a
record picks its copy with it. Compact in the file: the caption, then only what is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Sent:
    """The caption, media URLs (in order; a render's outputs), schedule time (ISO 8601 with an
    offset, None when published at once or kept as a draft) and platform options, as sent."""

    caption: str | None
    media: tuple[str, ...] = ()
    at: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "media", tuple(self.media))
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"caption": self.caption}
        if self.media:
            data["media"] = list(self.media)
        if self.at is not None:
            data["at"] = self.at
        if self.options:
            data["options"] = _plain(self.options)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sent:
        return cls(
            caption=data.get("caption"),
            media=tuple(data.get("media", ())),
            at=data.get("at"),
            options=data.get("options") or {},
        )


def _plain(value: Any) -> Any:
    """A JSON-ready copy (read-only mappings made dicts, keys sorted: the file diffs cleanly)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
