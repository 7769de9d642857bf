"""The package layout is the pipeline, and imports run downward only (docs/architecture.md).

An AST walk over every module: each `import` (at the top, inside a function, or under
TYPE_CHECKING) is checked against the packages its own package may use. A new upward import
fails here with the line that made it, before the layout drifts from the picture.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "orshot_gitops"

BASE = frozenset({"", "errors", "console", "crashpoints"})
"""Top-level modules any stage may use: the version, the one user-error type, output, and
the named crash points the fault tests set."""

SHELL = frozenset({"cli", "__main__", "commands", "demo", "docs", "scaffold"})
"""The CLI shell: it wires the stages together and may import any of them."""

MAY_IMPORT: dict[str, frozenset[str]] = {
    "content": BASE,
    "orshot": BASE,
    "state": BASE | {"content"},
    "vcs": BASE,
    "reconcile": BASE | {"content", "orshot", "state", "vcs"},
    "report": BASE | {"content", "reconcile"},
    "github": BASE | {"report"},
    # The sandbox is the tests' independent oracle of the API: it shares no code with the
    # client or the reconciler.
    "sandbox": BASE,
}


def unit_of(module: str) -> str:
    """'orshot_gitops.reconcile.send' -> 'reconcile'; top-level modules are their own unit."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] in ("__init__", "__version__"):
        return ""  # the package itself: its version
    return parts[1]


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported orshot_gitops module) for every import in the file."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "orshot_gitops":
                found += [(node.lineno, f"orshot_gitops.{a.name}") for a in node.names]
            elif node.module.startswith("orshot_gitops."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, a.name) for a in node.names if a.name.startswith("orshot_gitops.")
            ]
    return found


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def upward_imports(path: Path) -> list[str]:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    importer = ".".join(rel.parts)
    unit = unit_of(importer)
    if unit in SHELL or (unit in BASE and unit != ""):
        allowed = None if unit in SHELL else BASE
    else:
        allowed = MAY_IMPORT.get(unit, BASE)
    problems = []
    for line, imported in imports(path):
        target = unit_of(imported)
        if allowed is None or target == unit or target in allowed:
            continue
        problems.append(
            f"{path.relative_to(PACKAGE.parent)}:{line}: {unit or importer} imports {imported}"
        )
    return problems


def test_every_package_is_known_to_the_layering_rules() -> None:
    units = {
        unit_of(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)) for p in modules()
    }
    unknown = units - set(MAY_IMPORT) - SHELL - BASE
    assert not unknown, f"add {sorted(unknown)} to MAY_IMPORT and to docs/architecture.md"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_downward_only(path: Path) -> None:
    assert upward_imports(path) == []


def test_the_rules_catch_an_upward_import(tmp_path: Path) -> None:
    """The check itself can fail: content importing the reconciler is reported, with its line."""
    fake = PACKAGE / "content" / "_layering_probe.py"
    try:
        fake.write_text("import json\nfrom orshot_gitops.reconcile.plan import Plan\n")
        assert upward_imports(fake) == [
            "orshot_gitops/content/_layering_probe.py:2: content imports orshot_gitops.reconcile.plan"
        ]
    finally:
        fake.unlink()


def test_no_module_is_longer_than_a_sitting() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert long == {}, "split these into modules with one job each"


def test_the_architecture_page_names_every_module_of_every_stage() -> None:
    """docs/architecture.md matches the tree: a module added to a stage is named there."""
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [
        f"{path.parent.name}/{path.stem}"
        for path in modules()
        if path.parent.name in MAY_IMPORT
        and path.parent.name != "sandbox"
        and path.stem != "__init__"
        and f"`{path.stem}`" not in page
        and f"{path.parent.name}/{path.stem}.py" not in page
    ]
    assert missing == [], "say in docs/architecture.md what these own"
