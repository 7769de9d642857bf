"""Apply of edits to held posts, a small repository against a large one (issue 19).

    python bench/make_corpus.py --posts 1000 --out /tmp/e1k --state --changed 10
    python bench/make_corpus.py --posts 50000 --out /tmp/e50k --state --changed 10
    python bench/apply_edits.py --small /tmp/e1k --large /tmp/e50k --runs 5

`--changed 10` edits ten posts the state records as sent; the scheduled and drafted ones are
held by Orshot, so apply edits them there (PATCH, or a post of their own for the accounts a
PATCH cannot change, then the old post retired). Each run copies the corpus (apply commits
into it), starts a new sandbox (so nothing is refused as a duplicate of an earlier run) and
times `orshot-gitops apply --repo .` in a fresh process, from inside the copy, as the Action
runs it; the sides alternate (A B B A ...) and the median of `--runs` is reported.

What it found: every edit asked every record of the state which accounts share the held
post, reading and schema-checking all 50,000 post files twice per edit (10 edits: minutes).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_apply(corpus: Path, work: Path) -> float:
    from orshot_gitops.sandbox import SandboxConfig, SandboxServer

    copy = work / "repo"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(corpus, copy, symlinks=True)
    config = SandboxConfig.from_mapping({"rate_limit": {"requests": 10000, "per_seconds": 60}})
    server = SandboxServer(data_dir=Path(tempfile.mkdtemp(dir=work)), config=config)
    server.start()
    try:
        env = {
            **os.environ,
            "ORSHOT_CACHE_DIR": str(work / "cache"),
            "ORSHOT_BASE_URL": server.base_url,
            "ORSHOT_API_KEY": server.api_key,
        }
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "orshot_gitops", "apply", "--repo", "."],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
    finally:
        server.stop()
    if done.returncode != 0:
        raise SystemExit(f"apply failed on {corpus}:\n{done.stdout[-2000:]}\n{done.stderr}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=Path, required=True)
    parser.add_argument("--large", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    times: dict[str, list[float]] = {"small": [], "large": []}
    with tempfile.TemporaryDirectory(prefix="orshot-apply-edits-") as work:
        # One warm-up each fills the template cache, as the Action's cache step would.
        for side in ("small", "large"):
            one_apply(getattr(args, side), Path(work) / side)
        order = itertools.cycle([("small", "large"), ("large", "small")])
        for _, pair in zip(range(args.runs), order, strict=False):
            for side in pair:
                times[side].append(one_apply(getattr(args, side), Path(work) / side))
    small, large = statistics.median(times["small"]), statistics.median(times["large"])
    print(
        f"apply of the corpus's edits, median of {args.runs}: {args.small.name} {small:.2f} s "
        f"({min(times['small']):.2f}-{max(times['small']):.2f}), {args.large.name} {large:.2f} s "
        f"({min(times['large']):.2f}-{max(times['large']):.2f}); ratio {large / small:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
