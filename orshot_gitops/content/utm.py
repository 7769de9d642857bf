"""The `| utm` template filter: campaign parameters added to a link, so writers never type them.

`{{ "https://acme.com/v2" | utm }}` in a caption rendered for a Twitter account of post
`2026/launch` becomes
`https://acme.com/v2?utm_source=twitter&utm_medium=social&utm_campaign=2026%2Flaunch&utm_content=2026%2Flaunch`.

- `utm_source`: the platform the caption is rendered for (so each platform's caption differs,
  and its accounts get their own Orshot post: content/compile.py groups equal payloads only);
- `utm_medium`: `social`;
- `utm_campaign`: the template variable `campaign` when orshot.yaml or the post defines one
  (a launch spread over several posts is one campaign), else the post id;
- `utm_content`: the post id (which post of the campaign brought the visit).

The link's own query parameters stay first, in their order, and a `utm_*` the writer typed
wins over ours (a deliberate value is kept); the fragment stays last. Same inputs, same link.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jinja2

MEDIUM = "social"


class UtmError(ValueError):
    """The filter cannot work here: said as a template problem, at the caption's line."""


def add_utm(url: str, *, source: str, campaign: str, content: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UtmError(f"| utm needs an http(s) link, not {url!r}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _ in query}
    ours = (
        ("utm_source", source),
        ("utm_medium", MEDIUM),
        ("utm_campaign", campaign),
        ("utm_content", content),
    )
    query += [(key, value) for key, value in ours if key not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))


@jinja2.pass_context
def utm_filter(context: jinja2.runtime.Context, url: Any) -> str:
    """The filter as templates call it: platform, post and campaign from the render's variables."""
    platform = context.get("platform")
    post = context.get("post")
    if not isinstance(platform, str) or not isinstance(post, Mapping) or "id" not in post:
        raise UtmError(
            "| utm needs the platform, known only in the caption and platform_options "
            "(not in render modifications)"
        )
    post_id = str(post["id"])
    campaign = context.get("campaign")
    if campaign is None or isinstance(campaign, jinja2.Undefined):
        campaign = post_id
    return add_utm(str(url), source=platform, campaign=str(campaign), content=post_id)
