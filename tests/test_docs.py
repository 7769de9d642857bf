"""Generated documentation stays true to the schemas it is made from."""

from __future__ import annotations

from pathlib import Path

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


def test_every_mistake_of_the_corpus_is_documented(tmp_path: Path) -> None:
    """Each diagnostic code the bad-input corpus produces has its line in docs/posts.md."""
    from repo_fixtures import CONFIG, content_repo
    from test_validate_corpus import CASES, CONFIG_CASES, NOW

    from orshot_gitops.content.refusals import REFUSALS
    from orshot_gitops.content.validate import validate_repo

    repos = [(text, CONFIG) for _, text, _ in CASES]
    repos += [("accounts: [x]\ncontent: hi\n", CONFIG.replace(*c)) for _, c, _ in CONFIG_CASES]
    codes = set()
    for index, (text, config) in enumerate(repos):
        root = content_repo(tmp_path / str(index), {"posts/p.yaml": text}, config)
        codes |= {d.code for d in validate_repo(root, NOW).diagnostics}
    documented = {code for code, _ in REFUSALS}
    assert sorted(codes - documented) == []
    assert "duplicate-content" in documented  # from tests/test_duplicate_content.py
