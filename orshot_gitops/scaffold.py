"""A new content repository: orshot.yaml, one example post, templates/, the GitHub workflow.

`scaffold_files` is a pure function from the accounts to {path: text}; `write_scaffold` writes
them, refusing to overwrite anything. The workflow is the one in examples/workflows/ (shipped
inside the wheel), so what `init` writes is what the tests check against GitHub's schema.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from orshot_gitops.errors import UserError
from orshot_gitops.orshot.models import Account

SCHEMA_BASE = "https://orshot-gitops.dev/schemas"
WORKFLOW_PATH = ".github/workflows/orshot.yml"
EXAMPLE_POST = "posts/hello-world.yaml"
# Platforms that take a text-only post (content/platforms.py, `text_only`): the example post
# needs no media to pass validate (Reddit, which takes text too, is not chosen for it).
_TEXT_PLATFORMS = (
    "twitter",
    "linkedin",
    "facebook",
    "bluesky",
    "threads",
    "telegram",
    "googlebusiness",
)
_PACKAGE_DIR = Path(__file__).resolve().parent


def workflow_text() -> str:
    """The example workflow: the wheel's copy, else the checkout's examples/workflows/."""
    for candidate in (
        _PACKAGE_DIR / "examples" / "workflows" / "orshot.yml",
        _PACKAGE_DIR.parent / "examples" / "workflows" / "orshot.yml",
    ):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise FileNotFoundError("the example workflow is missing from the installation")


def scaffold_files(
    accounts: Sequence[Account], names: Mapping[int, str], *, from_api: bool
) -> dict[str, str]:
    """Every file `init` writes, by repository-relative path."""
    if from_api:
        origin = (
            "# Accounts from your Orshot workspace (`orshot-gitops accounts --format yaml`).\n"
            "# Rename the aliases as you like: posts refer to them.\n"
        )
    else:
        origin = (
            "# These are the built-in sandbox's accounts (`orshot-gitops sandbox`), so you can try\n"
            "# everything locally. For your own workspace, set ORSHOT_API_KEY and replace them with\n"
            "# the output of `orshot-gitops accounts --format yaml`.\n"
        )
    lines = [
        f"# yaml-language-server: $schema={SCHEMA_BASE}/config.schema.json",
        origin.rstrip("\n"),
        "accounts:",
    ]
    for account in sorted(accounts, key=lambda a: a.id):
        lines.append(f"  {names[account.id]}: {{id: {account.id}, platform: {account.platform}}}")
    lines += [
        "# Variables every caption can use, like {{ product }}.",
        "vars:",
        "  product: Acme",
        "  site: https://example.com",
        "# A schedule without an offset is read in this timezone.",
        "timezone: UTC",
        "# paused: true   # the emergency stop: apply sends nothing while this is set",
        "",
    ]
    targets = [a for a in sorted(accounts, key=lambda a: a.id) if a.platform in _TEXT_PLATFORMS]
    chosen = [names[a.id] for a in (targets or list(accounts))[:2]]
    post = (
        f"# yaml-language-server: $schema={SCHEMA_BASE}/post.schema.json\n"
        "# One post per file. Its id is the path under posts/ without the extension.\n"
        "# `orshot-gitops plan` shows exactly what would be sent; merging publishes it.\n"
        f"accounts: [{', '.join(chosen)}]\n"
        "content: |\n"
        "  Hello from {{ product }}: our posts now live in git.\n"
        '  {% include "signature.j2" %}\n'
        "# Until you set `draft: false`, apply only keeps this as a draft in Orshot.\n"
        "draft: true\n"
        "# schedule: 2030-01-15T09:00   # publish later (in `timezone` of orshot.yaml)\n"
    )
    return {
        "orshot.yaml": "\n".join(lines),
        EXAMPLE_POST: post,
        "templates/signature.j2": "— The {{ product }} team · {{ site }}\n",
        WORKFLOW_PATH: workflow_text(),
    }


def write_scaffold(root: Path, files: Mapping[str, str]) -> list[str]:
    """Write every file under root; refuse (and write nothing) if any already exists."""
    existing = sorted(path for path in files if (root / path).exists())
    if existing:
        raise UserError(
            f"{existing[0]} already exists"
            + (f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""),
            hint="init never overwrites: run it in an empty directory, or move those files away",
        )
    for path, text in sorted(files.items()):
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return sorted(files)
