"""Batches (`for_each`, issue 17): what a plan of a catalogue costs, and what it will spend.

    python bench/batches.py                      # 300 rows with renders, 10,000 rows
    python bench/batches.py --rows 10000 --runs 3 --out /tmp/bench-batches

Each measurement is one `orshot-gitops` command in a fresh process (as CI runs it), timed
from outside, its peak memory its own `ru_maxrss`; the median of `--runs` is reported (the
template cache is warm after the first run, as on a runner that keeps ORSHOT_CACHE_DIR).

1. A 300-row batch with a Studio render per row: `plan`, the render credits it states.
2. A 10,000-row batch (a caption and a schedule per row): `validate` and a first `plan`
   (every row new).
3. The same batch recorded (`adopt --all`, committed: the state knows every row): `plan`
   after a commit that changes another post only (the batch is not read), after one that
   changes 1 row, and after one that changes 10 rows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """\
accounts:
  x: {id: 1, platform: twitter}
  li: {id: 2, platform: linkedin}
vars:
  shop: https://shop.example.com
timezone: Europe/Berlin
"""

BATCH = """\
for_each: data/products.csv
id: "{{ row.sku }}"
accounts: [x, li]
content: |
  {{ row.name }}: {{ row.pitch }}. ${{ row.price }} {{ shop }}/p/{{ row.sku | lower }}
schedule: "{{ row.when }}"
"""

RENDER_BATCH = """\
for_each: data/products.csv
id: "{{ row.sku }}"
accounts: [x, li]
content: "{{ row.name }}: {{ row.pitch }}. ${{ row.price }}"
render:
  template: 123
  modifications: {title: "{{ row.name }}", price: "${{ row.price }}"}
"""

MEASURE = """\
import resource, sys, time
from orshot_gitops.cli import main
start = time.perf_counter()
code = main(sys.argv[1:])
elapsed = time.perf_counter() - start
sys.stdout.flush()
print(f"@@bench {code} {elapsed:.4f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def rows_csv(count: int, *, edited: int = 0) -> str:
    lines = ["sku,name,pitch,price,when"]
    for i in range(count):
        name = f"Item {i}" + (" (new)" if i < edited else "")
        day = 1 + i % 28
        lines.append(
            f"S{i:05d},{name},a useful thing number {i},{i % 500 + 1},2099-03-{day:02d}T09:00"
        )
    return "\n".join(lines) + "\n"


def make_repo(where: Path, rows: int, batch: str) -> Path:
    repo = where / f"repo-{rows}"
    (repo / "posts").mkdir(parents=True)
    (repo / "data").mkdir()
    (repo / "orshot.yaml").write_text(CONFIG)
    (repo / "posts/products.yaml").write_text(batch)
    (repo / "posts/news.yaml").write_text("accounts: [x]\ncontent: Hello\n")
    (repo / "data/products.csv").write_text(rows_csv(rows))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "user.name=bench", "-c", "user.email=b@example.com", "add", "-A")
    commit(repo, "catalogue")
    return repo


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    staged = subprocess.run(["git", "diff", "--cached", "--quiet"], cwd=repo, check=False)
    if staged.returncode == 0:
        return  # nothing to commit (adopt commits its own record)
    git(repo, "-c", "user.name=bench", "-c", "user.email=b@example.com", "commit", "-qm", message)


def run(repo: Path, env: dict[str, str], *argv: str) -> tuple[int, float, int, str]:
    """(exit code, seconds, peak KB, stdout) of one command in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *argv, "--repo", str(repo)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("@@bench "))
    _, code, seconds, peak = line.split()
    return int(code), float(seconds), int(peak), done.stdout


def measured(repo: Path, env: dict[str, str], runs: int, *argv: str) -> tuple[float, int, str]:
    times, peaks, out = [], [], ""
    for _ in range(runs):
        code, seconds, peak, out = run(repo, env, *argv)
        if code not in (0, 2):
            raise SystemExit(f"{' '.join(argv)} exited {code}:\n{out[-2000:]}")
        times.append(seconds)
        peaks.append(peak)
    return statistics.median(times), max(peaks), out


def report(label: str, seconds: float, peak_kb: int) -> None:
    print(f"| {label} | {seconds:.2f} s | {peak_kb / 1024:.0f} MB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--render-rows", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    where = args.out or Path(tempfile.mkdtemp(prefix="bench-batches-"))
    where.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "ORSHOT_CACHE_DIR": str(where / "cache"),
        "ORSHOT_API_KEY": "",
        "NO_COLOR": "1",
    }
    env.pop("ORSHOT_API_KEY")

    print("| measurement | time (median) | peak memory |")
    print("| --- | --- | --- |")
    renders = make_repo(where, args.render_rows, RENDER_BATCH)
    seconds, peak, out = measured(renders, env, args.runs, "plan", "--format", "json")
    plan = json.loads(out)
    report(f"plan, {args.render_rows}-row batch with renders (all new)", seconds, peak)
    credits = plan["batches"][0]["render_credits"]

    large = make_repo(where, args.rows, BATCH)
    seconds, peak, _ = measured(large, env, args.runs, "validate")
    report(f"validate, {args.rows:,}-row batch", seconds, peak)
    seconds, peak, out = measured(large, env, args.runs, "plan", "--format", "json")
    actions = len(json.loads(out)["actions"])
    report(f"plan, {args.rows:,}-row batch, nothing recorded ({actions:,} actions)", seconds, peak)

    code, _, _, out = run(large, env, "adopt", "--all")
    if code != 0:
        raise SystemExit(f"adopt exited {code}: {out[-2000:]}")
    commit(large, "record the catalogue")
    (large / "posts/news.yaml").write_text("accounts: [x]\ncontent: Hello again\n")
    commit(large, "another post")
    seconds, peak, _ = measured(large, env, args.runs, "plan")
    report(f"plan, {args.rows:,} rows recorded, another post changed", seconds, peak)
    for edited in (1, 10):
        (large / "data/products.csv").write_text(rows_csv(args.rows, edited=edited))
        commit(large, f"{edited} rows edited")
        seconds, peak, out = measured(large, env, args.runs, "plan", "--format", "json")
        changed = json.loads(out)["batches"][0]["changed"]
        report(
            f"plan, {args.rows:,} rows recorded, {edited} row(s) changed ({changed} in the plan)",
            seconds,
            peak,
        )
        (large / "data/products.csv").write_text(rows_csv(args.rows))
        commit(large, "back")
    print()
    print(f"render credits the {args.render_rows}-row plan states: {credits}")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"(bench ran {time.perf_counter() - start:.0f} s)")
