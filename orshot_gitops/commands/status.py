"""orshot-gitops status: what the state file says went out, where, and what failed."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from orshot_gitops.console import Console

NAME = "status"
SUMMARY = (
    "List every post and account the state records: status, when, URL, or error and what to do."
)
EXAMPLES = [
    "orshot-gitops status",
    "orshot-gitops status --failed            # what needs attention",
    "orshot-gitops status --awaiting-approval # held sends, and whose approval each needs",
    "orshot-gitops status --format json | jq '.[] | select(.status == \"scheduled\")'",
]
_FILTERS = (
    "published",
    "scheduled",
    "drafted",
    "processing",
    "failed",
    "pending",
    "unknown",
    "awaiting-approval",
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    for name in ("failed", "scheduled", "unknown", "pending", "drafted"):
        parser.add_argument(f"--{name}", action="store_true", help=f"only {name} entries")
    parser.add_argument(
        "--awaiting-approval",
        action="store_true",
        help="only sends held until an approvals: rule of orshot.yaml is met",
    )


def run(args: argparse.Namespace, console: Console) -> int:
    from orshot_gitops.reconcile.manage import status_rows
    from orshot_gitops.state.store import load_state

    wanted = [name for name in _FILTERS if getattr(args, name.replace("-", "_"), False)]
    if args.unknown:
        wanted.append("pending")  # an interrupted step is an unknown outcome until settled
    rows = status_rows(load_state(Path(args.repo)), wanted)
    if args.format == "json":
        console.print(json.dumps([asdict(r) for r in rows], indent=2, ensure_ascii=False))
        return 0
    if not rows:
        console.print(
            "No posts recorded"
            + (" with that status." if wanted else " yet: run 'orshot-gitops apply'.")
        )
        return 0
    colors = {
        "published": "green",
        "scheduled": "cyan",
        "failed": "red",
        "unknown": "red",
        "pending": "yellow",
        "awaiting-approval": "yellow",
    }
    width = max(len(f"{r.post} → {r.account}") for r in rows)
    status_width = max(10, *(len(r.status) for r in rows))
    for r in rows:
        where = f"{r.post} → {r.account}".ljust(width)
        detail = r.url or ""
        if r.error and r.status != "published":
            detail = r.error + (f" (action: {r.action})" if r.action else "")
        if r.failure == "permanent":
            detail += "; not sent again until the post changes" + (
                " or the account is reconnected" if r.action == "reconnect" else ""
            )
        elif r.failure == "transient" and r.next_try_at:
            detail += f"; next try due after {r.next_try_at[:16].replace('T', ' ')}"
        if r.drift:
            detail = f"DRIFT: {r.drift} changed in Orshot ('apply --overwrite-drift' or edit the file) {detail}"
        if r.paused_schedule:
            detail = (
                f"paused (was scheduled for {r.paused_schedule[:16].replace('T', ' ')}) {detail}"
            )
        if r.awaiting_approval:
            held = "; ".join(r.awaiting_approval)
            if r.status == "awaiting-approval":
                detail = f"held until approved: {held}"
            else:
                detail = (
                    f"an edit is held until approved ({held}); Orshot still holds the "
                    f"version before it {detail}"
                )
        when = (r.when or "")[:16].replace("T", " ")
        status = console.style(r.status.ljust(status_width), colors.get(r.status, "dim"))
        console.print(f"{where}  {status} {when:<16}  {detail}".rstrip())
    return 0
