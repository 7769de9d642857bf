"""orshot-gitops init: scaffold a content repository that validates, plans and publishes."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from orshot_gitops.console import Console

NAME = "init"
SUMMARY = (
    "Create a content repository here: orshot.yaml, an example post, templates/ and the "
    "GitHub workflow. Never overwrites a file."
)
EXAMPLES = [
    "orshot-gitops init                       # the sandbox's accounts, to try things locally",
    "ORSHOT_API_KEY=... orshot-gitops init    # your workspace's accounts",
    "orshot-gitops init --repo social && cd social && git init && orshot-gitops validate",
]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sandbox-accounts",
        action="store_true",
        help="use the sandbox's accounts even when ORSHOT_API_KEY is set",
    )


def run(args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.commands.accounts import aliases
    from orshot_gitops.orshot.models import Account
    from orshot_gitops.sandbox.config import DEFAULT_ACCOUNTS
    from orshot_gitops.scaffold import scaffold_files, write_scaffold

    root = Path(args.repo)
    from orshot_gitops.orshot.settings import ApiKeyVariable

    # A new root reads ORSHOT_API_KEY: its orshot.yaml may name another (api_key_env) later.
    key = ApiKeyVariable()
    from_api = key.present(os.environ) and not args.sandbox_accounts
    if from_api:
        from orshot_gitops.orshot.client import OrshotClient

        with OrshotClient.from_env(os.environ, key) as client:
            accounts = tuple(client.list_accounts())
        if not accounts:
            from orshot_gitops.errors import UserError

            raise UserError(
                "the Orshot workspace has no connected social accounts",
                hint="connect one in Orshot first, or run with --sandbox-accounts to try things",
            )
    else:
        accounts = tuple(Account(a.id, a.platform, a.username, a.name) for a in DEFAULT_ACCOUNTS)
    files = scaffold_files(accounts, aliases(accounts), from_api=from_api)
    root.mkdir(parents=True, exist_ok=True)
    written = write_scaffold(root, files)
    for path in written:
        console.print(f"created {path}")
    said = _register_merge_driver(root)
    if said:
        console.print(said)
    from orshot_gitops.vcs.mergedriver import inside_git

    source = "your workspace" if from_api else "the sandbox (replace them for production)"
    # Already a repository (init in a fresh clone): telling the user to `git init` is wrong.
    start = "" if inside_git(root) else "git init && "
    console.print(
        f"\n{len(accounts)} account(s) from {source}. Next:\n"
        f"  {start}git add -A && git commit -m 'orshot-gitops init'\n"
        "  orshot-gitops validate && orshot-gitops plan\n"
        "  push to GitHub and add the ORSHOT_API_KEY secret: pull requests then get a plan "
        "comment, and merges publish."
    )
    return 0


def _register_merge_driver(root: Path) -> str:
    """`.gitattributes` names the state file's merge driver (committed: every clone knows
    it); in a git repository already, the driver's command goes in its config too (each
    clone's own: 'hook install --client' or any 'apply' registers it in another clone).
    An existing `.gitattributes` only gains the line. Returns what to tell the user."""
    from orshot_gitops.vcs.mergedriver import add_attribute_line, inside_git, register

    attributes = root / ".gitattributes"
    existed = attributes.exists()
    added = add_attribute_line(attributes)
    if inside_git(root):
        register(root, attributes_file=attributes)
    if not added:
        return ""
    if existed:
        return "added the state file's merge driver to .gitattributes"
    return "created .gitattributes"
