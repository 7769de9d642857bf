"""Recurring posts: what a series costs as its history grows (docs/recurring.md).

    python bench/recurring.py                      # prints the table
    python bench/recurring.py --out bench/recurring.md

One repository per size, each with one daily series (`every: 1d`) whose first date lies 0,
1, 3 or 10 years before now, so its expansion holds that many past occurrences plus the 30
days of the default horizon; the state's per-post files name every past occurrence (validate
reads only their names, to skip "schedule has passed" for posts that went out). Measured:

- **expand**: `expand_repeat` alone, in-process: the median of 5 calls;
- **validate**: `orshot-gitops validate` as a fresh process (load, expand, compile every
  occurrence's caption, platform limits, the duplicate check over the series): the median
  of 3 runs after one warm-up (warm template cache), and the process's peak RSS.

The work is linear in the occurrences up to the horizon, and `MAX_OCCURRENCES` (5,000)
bounds it: a series past it is refused, not built.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orshot_gitops.content.model import config_from_data, post_from_data  # noqa: E402
from orshot_gitops.content.recurrence import expand_repeat  # noqa: E402
from orshot_gitops.content.yamlload import load_document  # noqa: E402

CONFIG = "accounts:\n  x: {id: 1, platform: twitter}\n  li: {id: 2, platform: linkedin}\n"
YEARS = (0, 1, 3, 10)


def series_text(first: datetime) -> str:
    return (
        "accounts: [x, li]\n"
        "content: 'Daily note for {{ occurrence.date }}: #{{ occurrence.number }}'\n"
        f"schedule: '{first:%Y-%m-%dT09:00}'\n"
        "repeat: {every: 1d}\n"
    )


def build(root: Path, years: int, now: datetime) -> int:
    first = (now - timedelta(days=365 * years)).replace(hour=9, minute=0) + timedelta(days=1)
    (root / "posts").mkdir(parents=True)
    (root / "orshot.yaml").write_text(CONFIG, encoding="utf-8")
    (root / "posts/daily.yaml").write_text(series_text(first), encoding="utf-8")
    records = root / ".orshot/state/posts"
    records.mkdir(parents=True)
    day, past = first, 0
    while day <= now:
        (records / f"daily@{day:%Y-%m-%d}.json").write_text("{}", encoding="utf-8")
        day += timedelta(days=1)
        past += 1
    return past


def time_expand(root: Path, now: datetime) -> tuple[float, int]:
    document = load_document((root / "posts/daily.yaml").read_text(), "posts/daily.yaml")
    post = post_from_data("daily", "posts/daily.yaml", document.data, document)
    config = config_from_data({"accounts": {"x": {"id": 1, "platform": "twitter"}}})
    times, count = [], 0
    for _ in range(5):
        started = time.perf_counter()
        posts, problems = expand_repeat(post, config, now)
        times.append(time.perf_counter() - started)
        assert not problems, problems
        count = len(posts)
    return statistics.median(times), count


def time_validate(root: Path, cache: Path) -> tuple[float, float]:
    env = {**os.environ, "ORSHOT_CACHE_DIR": str(cache)}
    command = [sys.executable, "-m", "orshot_gitops", "validate", "--repo", str(root)]
    times = []
    for run in range(4):
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = process.communicate()
        elapsed = time.perf_counter() - started
        if process.returncode != 0:
            raise SystemExit(f"validate failed: {out.decode()}{err.decode()}")
        if run:
            times.append(elapsed)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return statistics.median(times), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    rows = []
    with tempfile.TemporaryDirectory(prefix="orshot-bench-recurring-") as tmp:
        for years in YEARS:
            root = Path(tmp) / f"y{years}"
            past = build(root, years, now)
            expand_s, count = time_expand(root, now)
            validate_s, peak = time_validate(root, Path(tmp) / f"cache{years}")
            rows.append((years, past, count, expand_s, validate_s, peak))
            print(
                f"{years} y: {count} occurrences, expand {expand_s * 1000:.1f} ms, "
                f"validate {validate_s:.2f} s, peak RSS so far {peak:.0f} MB",
                flush=True,
            )
    lines = [
        "## Recurring posts: one daily series as its history grows (`bench/recurring.py`)",
        "",
        f"- Date: {now:%Y-%m-%d %H:%M} UTC; Python {sys.version.split()[0]}; "
        f"{len(os.sched_getaffinity(0))} cores available",
        "- Method: see the docstring of `bench/recurring.py` (expand: median of 5 in-process "
        "calls; validate: fresh process, median of 3 after a warm-up; peak RSS is the largest "
        "validate process so far, so it only grows down the table)",
        "",
        "| history | occurrences (2 accounts each) | expand_repeat | validate | peak RSS |",
        "| --- | --- | --- | --- | --- |",
    ]
    for years, _past, count, expand_s, validate_s, peak in rows:
        lines.append(
            f"| {years} years | {count:,} | {expand_s * 1000:.1f} ms | {validate_s:.2f} s "
            f"| {peak:.0f} MB |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
