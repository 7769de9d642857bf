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
    from orshot_gitops.orshot.client import OrshotClient
    from orshot_gitops.orshot.models import Account

NAME = "accounts"
SUMMARY = "List the Orshot social accounts the API key can post to (ids for orshot.yaml)."
EXAMPLES = [
    "orshot-gitops accounts                        # a table: id, platform, username, name",
    "orshot-gitops accounts --health               # and whether each needs reconnecting",
    "orshot-gitops accounts --format yaml          # an accounts: block to paste into orshot.yaml",
    "orshot-gitops accounts --format json | jq '.[].id'",
    "orshot-gitops accounts --reconnect acme-ig     # a link that reconnects acme-ig in Orshot",
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
    parser.add_argument(
        "--reconnect",
        metavar="ALIAS",
        help="print a link that reconnects this account (an alias of orshot.yaml, or an id)",
    )


def run(args: argparse.Namespace, console: Console) -> int:
    import os
    from pathlib import Path

    from orshot_gitops.commands import root_key
    from orshot_gitops.orshot.client import OrshotClient

    key = root_key(Path(args.repo))

    def show_wait(seconds: float, reason: str) -> None:
        console.error(console.style(f"waiting {seconds:.1f} s: {reason}", "dim"))

    if args.reconnect is not None:
        return _reconnect(args, console, OrshotClient.from_env(os.environ, key, on_wait=show_wait))
    with OrshotClient.from_env(os.environ, key, on_wait=show_wait) as client:
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


def _reconnect(args: argparse.Namespace, console: Console, client: OrshotClient) -> int:
    """`--reconnect ALIAS`: the account's id from orshot.yaml (or the id itself), its platform
    from Orshot, and a connect session's link, printed (never opened: CI has no browser)."""
    from pathlib import Path

    from orshot_gitops.content.load import load_config
    from orshot_gitops.errors import UserError
    from orshot_gitops.orshot.connect import create_reconnect_link

    reference: str = args.reconnect.strip()
    config, _ = load_config(Path(args.repo))
    named = config.account(reference) if config is not None else None
    if named is None and not reference.isdigit():
        raise UserError(
            f"no account named {reference!r} in orshot.yaml",
            path="orshot.yaml",
            hint="pass an alias of orshot.yaml's accounts, or an Orshot account id "
            "('orshot-gitops accounts' lists them)",
            code="unknown-account",
        )
    account_id = named.id if named is not None else int(reference)
    with client:
        found = {a.id: a for a in client.list_accounts(include_health=True)}.get(account_id)
        if found is None:
            raise UserError(
                f"Orshot has no account {account_id} in this workspace",
                hint="'orshot-gitops accounts' lists the accounts the API key can post to",
                code="unknown-account",
            )
        link = create_reconnect_link(client, found.platform, found.id)
    alias = named.alias if named is not None else str(account_id)
    if args.format == "json":
        item = {
            "account": alias,
            "id": found.id,
            "platform": found.platform,
            "requires_reconnect": found.requires_reconnect,
            "url": link.url,
            "expires_at": link.expires_at,
        }
        console.print(json.dumps(item, indent=2, ensure_ascii=False))
    else:
        state = "" if found.requires_reconnect else " (Orshot does not report it as needing one)"
        console.print(f"Reconnect {alias} ({found.platform}, id {found.id}){state}: open")
        console.print(f"  {link.url}")
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
