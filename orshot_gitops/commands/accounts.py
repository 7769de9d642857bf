"""orshot-gitops accounts: list the workspace's social accounts, or print them for orshot.yaml."""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from orshot_gitops.console import Console

if TYPE_CHECKING:
    from orshot_gitops.orshot.models import Account

NAME = "accounts"
SUMMARY = "List the Orshot social accounts the API key can post to (ids for orshot.yaml)."
EXAMPLES = [
    "orshot-gitops accounts                        # a table: id, platform, username, name",
    "orshot-gitops accounts --health               # and whether each needs reconnecting",
    "orshot-gitops accounts --format yaml          # an accounts: block to paste into orshot.yaml",
    "orshot-gitops accounts --format json | jq '.[].id'",
]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=("table", "json", "yaml"),
        default="table",
        help="table (default), json for scripts, yaml for an orshot.yaml accounts: block",
    )
    parser.add_argument(
        "--health",
        action="store_true",
        help="ask Orshot whether each account needs reconnecting (an extra column/field)",
    )


def run(args: argparse.Namespace, console: Console) -> int:
    import os

    from orshot_gitops.orshot.client import OrshotClient

    def show_wait(seconds: float, reason: str) -> None:
        console.error(console.style(f"waiting {seconds:.1f} s: {reason}", "dim"))

    with OrshotClient.from_env(os.environ, on_wait=show_wait) as client:
        accounts = sorted(client.list_accounts(include_health=args.health), key=lambda a: a.id)
    if args.format == "json":
        console.print(as_json(accounts, health=args.health))
    elif args.format == "yaml":
        console.print(as_yaml(accounts))
    elif not accounts:
        console.error("no social accounts are connected to this workspace")
    else:
        console.print(as_table(accounts, health=args.health, style=console.style))
    return 0


def _health(account: Account) -> str:
    if account.requires_reconnect is None:
        return "unknown"
    return "reconnect required" if account.requires_reconnect else "ok"


def as_table(
    accounts: Sequence[Account],
    *,
    health: bool = False,
    style: Callable[..., str] = lambda text, *styles: text,
) -> str:
    """An aligned table; the last column is not padded, so lines carry no trailing spaces."""
    header = ["ID", "PLATFORM", "USERNAME", "NAME"] + (["HEALTH"] if health else [])
    rows = [
        [str(a.id), a.platform, a.username, a.name] + ([_health(a)] if health else [])
        for a in accounts
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [cell.ljust(width) for cell, width in zip(cells[:-1], widths[:-1], strict=True)]
        return "  ".join([*padded, cells[-1]])

    return "\n".join([style(line(header), "bold"), *(line(row) for row in rows)])


def as_json(accounts: Sequence[Account], *, health: bool = False) -> str:
    """A list of objects with a fixed key order, for scripts."""
    items: list[dict[str, object]] = []
    for a in accounts:
        item: dict[str, object] = {
            "id": a.id,
            "platform": a.platform,
            "username": a.username,
            "name": a.name,
        }
        if health:
            item["requires_reconnect"] = a.requires_reconnect
        items.append(item)
    return json.dumps(items, indent=2, ensure_ascii=False)


def as_yaml(accounts: Sequence[Account]) -> str:
    """A ready-to-paste `accounts:` block for orshot.yaml, one flow mapping per alias."""
    import yaml

    names = aliases(accounts)
    block = {"accounts": {names[a.id]: {"id": a.id, "platform": a.platform} for a in accounts}}
    text = yaml.safe_dump(
        block, default_flow_style=None, sort_keys=False, allow_unicode=True, width=1000
    )
    comment = (
        "# Paste into orshot.yaml; rename aliases as you like (posts refer to them).\n"
        "# Add premium: true to an X/Twitter Premium account for its longer caption limit.\n"
    )
    return comment + text.rstrip("\n")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def aliases(accounts: Sequence[Account]) -> dict[int, str]:
    """An alias per account id, from its username: lower-case, [a-z0-9-], unique.

    Deterministic whatever the order: every account whose alias is shared takes its platform
    as a suffix (`acme-twitter`, `acme-linkedin`), then, if still shared, its id. An alias is
    never all digits (orshot.yaml refuses those): such a one is prefixed with the platform.
    """
    names: dict[int, str] = {}
    for a in accounts:
        base = _slug(a.username) or _slug(a.name) or _slug(a.platform)
        names[a.id] = f"{_slug(a.platform)}-{base}" if base.isdigit() else base
    by_id = {a.id: a for a in accounts}
    suffixes: list[Callable[[Account], str]] = [lambda a: _slug(a.platform), lambda a: str(a.id)]
    while True:
        shared = {name for name, count in Counter(names.values()).items() if count > 1}
        if not shared:
            return names
        # The platform first, then the id for as long as needed (ids are unique).
        suffix = suffixes.pop(0) if len(suffixes) > 1 else suffixes[0]
        for account_id, name in names.items():
            if name in shared:
                names[account_id] = f"{name}-{suffix(by_id[account_id])}"
