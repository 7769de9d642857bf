"""Which folders of a work tree are content roots, and which roots a change touches
(content/roots.py): pure, on files written in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from orshot_gitops.content.roots import find_roots, touched_roots

CONFIG = "accounts:\n  x: {id: 1, platform: twitter}\n"


def tree(tmp_path: Path, configs: dict[str, str]) -> list[str]:
    for rel, text in configs.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return list(configs)


def test_side_by_side_and_nested_outside_the_content_folders_are_roots(tmp_path: Path) -> None:
    files = tree(
        tmp_path,
        {
            "orshot.yaml": CONFIG,
            "brands/zen/orshot.yaml": CONFIG,
            "brands/acme/orshot.yaml": CONFIG,
            ".git/orshot.yaml": CONFIG,
        },
    )
    found = find_roots(tmp_path, files)
    assert found.roots == (".", "brands/acme", "brands/zen")
    assert found.refused == ()


@pytest.mark.parametrize(
    ("outer_config", "inner"),
    [
        (CONFIG, "brands/acme/posts/zen"),
        (CONFIG, "brands/acme/templates/zen"),
        (CONFIG, "brands/acme/.orshot/zen"),
        (CONFIG + "posts_dir: content\n", "brands/acme/content/2027/zen"),
        (CONFIG + "posts_dir: .\n", "brands/acme/zen"),
    ],
)
def test_a_root_inside_another_roots_content_folder_is_refused(
    tmp_path: Path, outer_config: str, inner: str
) -> None:
    files = tree(
        tmp_path, {"brands/acme/orshot.yaml": outer_config, f"{inner}/orshot.yaml": CONFIG}
    )
    found = find_roots(tmp_path, files)
    assert found.roots == ("brands/acme",)
    [problem] = found.refused
    assert problem.path == f"{inner}/orshot.yaml"
    assert f"the content root {inner} is inside" in problem.message


def test_a_posts_dir_elsewhere_frees_the_default_posts_folder(tmp_path: Path) -> None:
    files = tree(
        tmp_path,
        {
            "brands/acme/orshot.yaml": CONFIG + "posts_dir: content\n",
            "brands/acme/posts/zen/orshot.yaml": CONFIG,
        },
    )
    assert find_roots(tmp_path, files).roots == ("brands/acme", "brands/acme/posts/zen")


def test_a_change_belongs_to_the_deepest_root_holding_it() -> None:
    roots = [".", "brands/acme", "brands/acme-old", "examples/brands/zen"]
    assert touched_roots(roots, ["brands/acme/posts/a.yaml"]) == ("brands/acme",)
    assert touched_roots(roots, ["brands/acme-old/orshot.yaml"]) == ("brands/acme-old",)
    assert touched_roots(roots, ["examples/brands/zen/posts/b.yaml"]) == ("examples/brands/zen",)
    assert touched_roots(roots, ["README.md"]) == (".",)
    assert touched_roots(roots[1:], ["README.md", ".github/workflows/orshot.yml"]) == ()


def test_an_orshot_yaml_above_the_work_tree_is_someone_elses(tmp_path: Path) -> None:
    """A stray orshot.yaml in the folder holding the clone (a home folder, /tmp), even one
    whose posts folder would hold everything, never makes the clone's root nested."""
    import subprocess

    from orshot_gitops.content.roots import enclosing_root_problem

    (tmp_path / "orshot.yaml").write_text(CONFIG + "posts_dir: .\n")
    clone = tmp_path / "clone"
    clone.mkdir()
    subprocess.run(["git", "init", "-q", str(clone)], check=True)
    (clone / "orshot.yaml").write_text(CONFIG)
    assert enclosing_root_problem(clone) is None
    loose = tmp_path / "not-a-clone"
    loose.mkdir()
    (loose / "orshot.yaml").write_text(CONFIG)
    assert enclosing_root_problem(loose) is None
    (clone / "brands/zen").mkdir(parents=True)
    (clone / "brands/zen/orshot.yaml").write_text(CONFIG)
    assert enclosing_root_problem(clone / "brands/zen") is None
    (clone / "posts/zen").mkdir(parents=True)
    (clone / "posts/zen/orshot.yaml").write_text(CONFIG)
    problem = enclosing_root_problem(clone / "posts/zen")
    assert problem is not None and "inside posts/ of the content root" in problem.message
