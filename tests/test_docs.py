"""Generated documentation stays true to the schemas it is made from."""

from __future__ import annotations

from orshot_gitops import docs


def test_posts_reference_is_current() -> None:
    assert docs.TARGET.read_text(encoding="utf-8") == docs.render(), (
        "docs/posts.md is stale: run 'python -m orshot_gitops.docs'"
    )


def test_every_schema_key_is_in_the_reference() -> None:
    text = docs.render()
    for key in (
        "`accounts`",
        "`render.modifications`",
        "`platform_options.<key>.firstComment`",
        "`prune`",
        "`paused`",
    ):
        assert key in text
