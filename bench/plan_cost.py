"""A plan's fixed costs (issue 19), one source tree against another on the same corpus.

    git -C . archive main | tar -x -C /tmp/base          # the tree to compare against
    python bench/make_corpus.py --posts 10000 --out /tmp/c10k --state --changed 10
    python bench/plan_cost.py --before /tmp/base --after . --repo /tmp/c10k --runs 7

Each side runs, on its own copy of the repository (one side may write git's commit-graph
into it, which the other must not find), `python -m orshot_gitops plan` in a fresh process with its tree first on
PYTHONPATH, the sides alternated (A B B A ...), median of `--runs` after one warm-up each.
Warm: one ORSHOT_CACHE_DIR per side, filled by the warm-up; cold: a new, empty one every run.
Then, once per side and warm: the `git` processes the plan starts (counted by a `git` earlier
on PATH that logs and runs the real one) and, from `-X importtime`, the import time of the
dependencies a plan may not need.

Bytecode: an installed package has its `.pyc` files, and so has every run here (written
under a temporary PYTHONPYCACHEPREFIX by the warm-up, PYTHONDONTWRITEBYTECODE dropped); with
`--no-bytecode` every run compiles the package's source again (0.25 s of a plan), as any run
does where PYTHONDONTWRITEBYTECODE is set and the package is a source checkout.
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

WATCHED = ("twitter_text", "git", "httpx", "jsonschema", "jinja2", "yaml")


ENV: dict[str, str] = dict(os.environ)


def side_env(tree: Path, cache: Path) -> dict[str, str]:
    return {**ENV, "PYTHONPATH": str(tree), "ORSHOT_CACHE_DIR": str(cache)}


def run(tree: Path, repo: Path, cache: Path, extra_env: dict[str, str] | None = None) -> float:
    env = {**side_env(tree, cache), **(extra_env or {})}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "orshot_gitops", "plan", "--repo", str(repo)],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 2):
        raise SystemExit(f"plan failed ({tree}): {done.stderr.decode()[-500:]}")
    return elapsed


def timings(
    trees: dict[str, Path], repos: dict[str, Path], work: Path, runs: int
) -> dict[str, dict[str, float]]:
    fresh = itertools.count()
    result: dict[str, dict[str, float]] = {name: {} for name in trees}
    for temperature in ("warm", "cold"):

        def cache(name: str, temperature: str = temperature) -> Path:
            if temperature == "warm":
                return work / f"warm-{name}"
            return work / f"cold-{next(fresh)}"

        samples: dict[str, list[float]] = {name: [] for name in trees}
        for name, tree in trees.items():
            run(tree, repos[name], cache(name))  # warm-up: page cache, .pyc, the warm cache
        order = list(trees)
        for index in range(runs):
            for name in order if index % 2 == 0 else reversed(order):
                samples[name].append(run(trees[name], repos[name], cache(name)))
        for name in trees:
            result[name][temperature] = statistics.median(samples[name])
            result[name][f"{temperature}_min"] = min(samples[name])
            result[name][f"{temperature}_max"] = max(samples[name])
    return result


def git_calls(tree: Path, repo: Path, work: Path, name: str) -> list[str]:
    shim, log = work / f"shim-{name}", work / f"git-{name}.log"
    shim.mkdir(exist_ok=True)
    real = shutil.which("git")
    script = shim / "git"
    script.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
    script.chmod(0o755)
    log.unlink(missing_ok=True)
    run(tree, repo, work / f"warm-{name}", {"PATH": f"{shim}{os.pathsep}{os.environ['PATH']}"})
    return log.read_text().splitlines()


def imports(tree: Path, repo: Path, work: Path, name: str) -> dict[str, float]:
    env = side_env(tree, work / f"warm-{name}")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "orshot_gitops", "plan", "--repo", str(repo)],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    found: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, module = line.split("|")
        module_name = module.strip()
        if module_name in WATCHED and cumulative.strip().isdigit():
            found[module_name] = found.get(module_name, 0) + int(cumulative) / 1000
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="a source tree")
    parser.add_argument("--after", type=Path, required=True, help="another source tree")
    parser.add_argument("--repo", type=Path, required=True, help="a corpus from make_corpus.py")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-bytecode", action="store_true", help="compile the source every run")
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    with tempfile.TemporaryDirectory(prefix="plan-cost-") as tmp:
        work = Path(tmp)
        if args.no_bytecode:
            ENV["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            ENV.pop("PYTHONDONTWRITEBYTECODE", None)
            ENV["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        repos = {name: work / f"repo-{name}" for name in trees}
        for copy in repos.values():
            shutil.copytree(args.repo, copy, symlinks=True)
        times = timings(trees, repos, work, args.runs)
        mode = "no bytecode" if args.no_bytecode else "bytecode kept"
        print(f"load average {os.getloadavg()[0]:.2f}; {args.runs} runs per side; {mode}")
        for name, tree in trees.items():
            t = times[name]
            calls = git_calls(tree, repos[name], work, name)
            versions = sum(1 for c in calls if c == "version")
            imported = imports(tree, repos[name], work, name)
            print(
                f"{name}: warm {t['warm']:.3f} s ({t['warm_min']:.3f}-{t['warm_max']:.3f}), "
                f"cold {t['cold']:.3f} s ({t['cold_min']:.3f}-{t['cold_max']:.3f}); "
                f"git processes (warm) {len(calls)} ({versions} 'git version'); imports (warm): "
                + ", ".join(f"{m} {imported[m]:.0f} ms" for m in WATCHED if m in imported)
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
