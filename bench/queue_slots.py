"""Queue slot assignment over two years of history (issue 17, docs/queues.md).

    python bench/queue_slots.py --out /tmp/queue-bench [--runs 7] [--queued 50] [--years 2]

Builds two content repositories that differ only in their history, each with 3 accounts on
one queue (Mon-Fri 09:30, five slots a week):

- `history`: `--years` years of published posts (5 a week, on all 3 accounts, recorded in a
  v2 state as apply writes it), 20 posts scheduled ahead, and `--queued` new posts saying
  `schedule: next`;
- `fresh`: the same 20 scheduled posts and queued posts, and no history.

Then, in this process, `make_plan` on each (median of `--runs`, after one warm-up), and how
many post records the plan read (a v2 state reads a record when first looked up). Last, the
assignment alone for 10x the queue, to show it grows with the queue and not its square.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orshot_gitops.state.model import (
    AccountState,
    AccountStatus,
    PostState,
    Sent,
    new_state,
)

ACCOUNTS = {"acme-x": (1, "twitter"), "acme-linkedin": (2, "linkedin"), "acme-fb": (4, "facebook")}
CONFIG = """\
accounts:
  acme-x: {id: 1, platform: twitter}
  acme-linkedin: {id: 2, platform: linkedin}
  acme-fb: {id: 4, platform: facebook}
timezone: UTC
queues:
  - accounts: ["*"]
    slots: ["Mon-Fri 09:30"]
"""
NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def _post(text: str, extra: str = "") -> str:
    return f"accounts: [acme-x, acme-linkedin, acme-fb]\ncontent: {text}\n{extra}"


def _record(n: int, status: AccountStatus, at: datetime) -> PostState:
    accounts = {
        alias: AccountState(
            account_id=account_id,
            fingerprint=f"{n:064x}",
            revision=1,
            status=status,
            post_id=10_000 + n * 3 + i,
            attempts=1,
            last_attempt_at=at.isoformat(),
            scheduled_for=at.isoformat(),
            sent=Sent(caption=f"Post {n}.", at=at.isoformat()),
        )
        for i, (alias, (account_id, _)) in enumerate(sorted(ACCOUNTS.items()))
    }
    return PostState(path=f"posts/p{n:05d}.yaml", revision=1, accounts=accounts)


def build(out: Path, *, years: int, queued: int) -> Path:
    """A repository with `years` of published history, 20 scheduled and `queued` queued."""
    from orshot_gitops.state.store import write_state

    if out.exists():
        shutil.rmtree(out)
    (out / "posts" / "queue").mkdir(parents=True)
    _git(out, "init", "-q", "-b", "main")
    _git(out, "config", "user.email", "bench@example.invalid")
    _git(out, "config", "user.name", "bench")
    (out / "orshot.yaml").write_text(CONFIG, encoding="utf-8")
    records: dict[str, PostState] = {}
    weekdays = [
        NOW - timedelta(days=d)
        for d in range(1, 366 * years)
        if (NOW - timedelta(days=d)).weekday() < 5
    ]
    for n, day in enumerate(weekdays):
        at = day.replace(hour=9, minute=30)
        (out / "posts" / f"p{n:05d}.yaml").write_text(_post(f"Post {n}."), encoding="utf-8")
        records[f"p{n:05d}"] = _record(n, AccountStatus.PUBLISHED, at)
    ahead = [
        NOW + timedelta(days=d) for d in range(1, 60) if (NOW + timedelta(days=d)).weekday() < 5
    ]
    for k, day in enumerate(ahead[:20]):
        n = 90_000 + k
        at = day.replace(hour=9, minute=30)
        (out / "posts" / f"p{n:05d}.yaml").write_text(_post(f"Post {n}."), encoding="utf-8")
        records[f"p{n:05d}"] = _record(n, AccountStatus.SCHEDULED, at)
    _git(out, "add", "-A")
    _git(out, "commit", "-q", "-m", "history")
    state = new_state().with_commit(_git(out, "rev-parse", "HEAD"))
    for post_id, post in sorted(records.items()):
        state = state.with_post(post_id, post)
    write_state(out, state)
    _git(out, "add", "-A")
    _git(out, "commit", "-q", "-m", "orshot: state")
    for q in range(queued):
        (out / "posts" / "queue" / f"tip-{q:04d}.yaml").write_text(
            _post(f"Tip {q}.", "schedule: next\n"), encoding="utf-8"
        )
    _git(out, "add", "-A")
    _git(out, "commit", "-q", "-m", f"{queued} queued tips")
    return out


def time_plan(repo: Path, runs: int) -> tuple[float, int, int]:
    """Median seconds of make_plan, the records it read, and its sends."""
    from orshot_gitops.reconcile.planner import make_plan
    from orshot_gitops.vcs.gitrepo import open_repo

    timings = []
    read = sends = 0
    for run in range(runs + 1):
        with open_repo(repo) as git:
            started = time.perf_counter()
            plan, _, state = make_plan(repo, git, NOW)
            elapsed = time.perf_counter() - started
        built = getattr(getattr(state.posts, "base", state.posts), "_built", {})
        read, sends = len(built), len(plan.sending)
        if run:
            timings.append(elapsed)
    return statistics.median(timings), read, sends


def time_assignment(asks: int) -> float:
    from orshot_gitops.content.queues import Queue, parse_slot
    from orshot_gitops.reconcile.slots import Ask, assign

    slot = parse_slot("Mon-Fri 09:30")
    assert slot is not None
    queue = Queue(0, ("*",), (slot,), "UTC")
    wanted = [Ask(f"tip-{n:05d}", alias, None) for n in range(asks) for alias in ACCOUNTS]
    started = time.perf_counter()
    assign(dict.fromkeys(ACCOUNTS, queue), wanted, {}, NOW)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--queued", type=int, default=50)
    parser.add_argument("--years", type=int, default=2)
    args = parser.parse_args(argv)
    rows = []
    for name, years in (("history", args.years), ("fresh", 0)):
        repo = build(args.out / name, years=years, queued=args.queued)
        seconds, read, sends = time_plan(repo, args.runs)
        rows.append((name, years, seconds, read, sends))
    print("| repository | published posts | plan (median) | records read | sends |")
    print("| --- | --- | --- | --- | --- |")
    for name, years, seconds, read, sends in rows:
        published = sum(1 for d in range(1, 366 * years) if (NOW - timedelta(days=d)).weekday() < 5)
        print(f"| {name} | {published} × 3 accounts | {seconds * 1000:.0f} ms | {read} | {sends} |")
    print()
    print("| queued posts × 3 accounts | assignment alone |")
    print("| --- | --- |")
    for asks in (args.queued, args.queued * 10, args.queued * 100):
        print(f"| {asks} | {time_assignment(asks) * 1000:.1f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
