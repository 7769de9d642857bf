"""A small content repository for validate tests, and a way to run the CLI and capture all output."""

from __future__ import annotations

from pathlib import Path

CONFIG = """\
accounts:
  x: {id: 1, platform: twitter}
  xpremium: {id: 9, platform: twitter, premium: true}
  li: {id: 2, platform: linkedin}
  ig: {id: 3, platform: instagram}
  fb: {id: 4, platform: facebook}
  pin: {id: 5, platform: pinterest}
  tok: {id: 6, platform: tiktok}
  gb: {id: 8, platform: googlebusiness}
  bsky: {id: 10, platform: bluesky}
  tg: {id: 11, platform: telegram}
  snap: {id: 12, platform: snapchat}
vars:
  product: Acme
timezone: Europe/Berlin
"""

TEMPLATES = {
    "templates/sig.j2": "-- {{ product }}\n",
    "templates/broken.j2": "fine\n{{ oops }\n",
    "templates/uses-missing.j2": "ok\n{{ not_defined }}\n",
    "templates/macros.j2": "{% macro sig() %}-- {{ product }}{% endmacro %}\n",
}


def content_repo(root: Path, posts: dict[str, str], config: str = CONFIG) -> Path:
    files = {"orshot.yaml": config, **TEMPLATES, **posts}
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root
