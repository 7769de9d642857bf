"""Many brands in one repository: does the cost follow the brands a change touches?

    python bench/brands.py --brands 40 --posts 500 --out /tmp/brands-corpus

Builds one git repository with BRANDS content roots (`brands/b00/` ...), each a corpus of
POSTS posts from make_corpus.py's generator (its accounts, templates and captions) whose
state records every post as sent, then commits an edit of one post of one brand. Then, each
in a fresh process (the CLI as a user runs it, the template cache warm: one untimed run
first), the median wall time and the peak memory of:

- `plan --all`: every brand planned, one after the other;
- `plan` of one brand (`--repo brands/b07`): what its own job costs;
- `ci --command matrix --base HEAD~1`: which brands the change touched (git only);
- the matrix plus the plan of the one touched brand: what the CI path costs in all.

Results go to docs/benchmarks.md ("Many brands").
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import make_corpus  # noqa: E402  (bench/ is not a package)

# The peak is VmHWM, this process's own high-water mark: getrusage's ru_maxrss would carry
# the parent's (this script's, after building 20,000 posts) across fork and exec.
MEASURE = """\
import sys, time
from orshot_gitops.cli import main
started = time.perf_counter()
code = main(sys.argv[1:])
elapsed = time.perf_counter() - started
with open("/proc/self/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(f"BENCH {elapsed:.4f} {peak} {code}", file=sys.stderr)
"""


def build(out: Path, brands: int, posts: int) -> None:
    """The repository: every brand imported in one commit, each brand's state committed on
    top (as its first apply would have), then one post of one brand edited."""
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} exists and is not empty")
    out.mkdir(parents=True, exist_ok=True)
    make_corpus._git(out, "init", "-q", "-b", "main")
    accounts = "\n".join(
        f"  {alias}: {{id: {id_}, platform: {platform}}}"
        for alias, (id_, platform) in make_corpus.ACCOUNTS.items()
    )
    for b in range(brands):
        root = f"brands/b{b:02d}"
        config = make_corpus.CONFIG.format(accounts=accounts)
        if b:  # every brand but the first has its own key variable
            config = f"api_key_env: ORSHOT_API_KEY_B{b:02d}\n" + config
        make_corpus._write(out, f"{root}/orshot.yaml", config)
        make_corpus._write(out, f"{root}/templates/signature.j2", make_corpus.SIGNATURE)
        make_corpus._write(out, f"{root}/templates/hashtags.j2", make_corpus.HASHTAGS)
        for n in range(posts):
            make_corpus._write(out, f"{root}/{make_corpus.post_path(n)}", make_corpus.post_text(n))
    make_corpus._commit(out, f"{brands} brands of {posts} posts")
    for b in range(brands):
        make_corpus.record_state(out / f"brands/b{b:02d}")
    touched = out / f"brands/b{min(7, brands - 1):02d}"
    make_corpus.change_posts(touched, 1, posts)


def measure(repo: Path, argv: list[str], runs: int, env: dict[str, str]) -> tuple[float, int]:
    """Median seconds and peak RSS (KiB, the largest run) of `orshot-gitops ARGV`."""
    times, peaks = [], []
    for i in range(runs + 1):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, *argv],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        line = next((x for x in done.stderr.splitlines() if x.startswith("BENCH ")), None)
        if line is None:
            raise SystemExit(f"{argv} failed: {done.stderr[-2000:]}")
        _, _, peak, code = line.split()
        if code not in ("0", "2"):
            raise SystemExit(f"{argv} exited {code}: {done.stdout[-1000:]}{done.stderr[-1000:]}")
        if i:  # the first run warms the template cache
            times.append(wall)
            peaks.append(int(peak))
    return statistics.median(times), max(peaks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brands", type=int, default=40)
    parser.add_argument("--posts", type=int, default=500, help="posts per brand")
    parser.add_argument("--out", type=Path, required=True, help="a new or empty directory")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if not (args.out / ".git").exists():
        build(args.out, args.brands, args.posts)
    built = time.perf_counter() - started
    one = f"brands/b{min(7, args.brands - 1):02d}"
    cache = Path(tempfile.mkdtemp(prefix="orshot-bench-cache-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ORSHOT_", "GITHUB_"))},
        "ORSHOT_CACHE_DIR": str(cache),
        "NO_COLOR": "1",
    }
    rows = {
        "plan --all": ["plan", "--all"],
        f"plan --repo {one}": ["plan", "--repo", one],
        "ci --command matrix --base HEAD~1": ["ci", "--command", "matrix", "--base", "HEAD~1"],
    }
    results = {name: measure(args.out, cmd, args.runs, env) for name, cmd in rows.items()}
    matrix = subprocess.run(
        [sys.executable, "-m", "orshot_gitops", "ci", "--command", "matrix", "--base", "HEAD~1"],
        cwd=args.out,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    touched = json.loads(matrix.stdout)["roots"]
    ci_time = results["ci --command matrix --base HEAD~1"][0] + sum(
        results[f"plan --repo {one}"][0] for _ in touched
    )
    print(f"{args.brands} brands x {args.posts} posts (built in {built:.0f} s); touched: {touched}")
    print("| run | median wall time | peak memory |\n|---|---|---|")
    for name, (seconds, peak) in results.items():
        print(f"| `{name}` | {seconds:.2f} s | {peak / 1024:.0f} MB |")
    print(f"| matrix + plan of the touched brand | {ci_time:.2f} s | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
