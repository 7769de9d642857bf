"""`validate` on a large corpus: peak memory of the whole process tree, and time against
check-jsonschema, cold and warm (issue 18).

    python bench/validate_memory.py --posts 50000             # builds the corpus (~3 min)
    python bench/validate_memory.py --corpus DIR --runs 3     # an existing corpus
    python bench/validate_memory.py --corpus DIR --out bench/validate_memory.md
    python bench/validate_memory.py --corpus DIR --code /tmp/old-checkout   # another version

With `--out`, the figures are also written as a Markdown section (the last run's is kept in
`bench/validate_memory.md`, which `bench/run.py` appends to docs/benchmarks.md). `--code DIR`
runs `python -m orshot_gitops` from another checkout (PYTHONPATH=DIR), to measure a version
before a change with the same method.

Memory is read two ways, because `validate` forks a worker per core:

- **tree peak**: a sampler reads /proc every 20 ms for the command and every descendant and
  keeps the largest sum over the processes alive at one moment, of RSS (shared pages of a
  fork counted once per process, so an overestimate) and of PSS (shared pages split between
  the processes that share them: the honest sum). A peak shorter than 20 ms can be missed.
- **largest process**: `wait4`'s `ru_maxrss`, the peak RSS of the largest single process of
  the tree (the kernel keeps the maximum over reaped children, not their sum).

Time: each side a fresh process, sides alternated (A B B A ...), median of `--runs` after
one warm-up each, without the sampler (it takes CPU). **cold**: a new, empty
ORSHOT_CACHE_DIR for every run (a fresh CI runner); **warm**: one directory, filled by the
warm-up run. check-jsonschema gets the same files and `schemas/post.schema.json`; it only
checks the schema, where `validate` also parses with positions, renders every template and
applies the platform rules.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
ORSHOT = [str(BIN / "orshot-gitops")]
PEER = [str(BIN / "check-jsonschema"), "--schemafile", str(ROOT / "schemas" / "post.schema.json")]
SAMPLE_SECONDS = 0.02


@dataclass(frozen=True)
class Run:
    seconds: float
    largest_process_mb: float  # wait4's ru_maxrss: the largest single process of the tree
    tree_rss_mb: float  # largest sum of RSS over the processes alive at one sample
    tree_pss_mb: float  # the same with PSS (shared pages split): 0 when not sampled
    returncode: int


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(child) for child in handle.read().split()]
    except OSError:
        pass
    return found


def _tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += _children(current)
    return tree


def _rss_pss_kb(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def run_once(
    argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None, *, sample: bool = False
) -> Run:
    """Wall time and memory of one command (output discarded)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        list(argv), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    peaks = [0, 0]
    done = threading.Event()

    def sampler() -> None:
        while not done.is_set():
            rss = pss = 0
            for pid in _tree(process.pid):
                r, p = _rss_pss_kb(pid)
                rss, pss = rss + r, pss + p
            peaks[0], peaks[1] = max(peaks[0], rss), max(peaks[1], pss)
            done.wait(SAMPLE_SECONDS)

    thread = threading.Thread(target=sampler, daemon=True) if sample else None
    if thread is not None:
        thread.start()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    done.set()
    if thread is not None:
        thread.join()
    return Run(
        elapsed,
        usage.ru_maxrss / 1024,
        peaks[0] / 1024,
        peaks[1] / 1024,
        os.waitstatus_to_exitcode(status),
    )


def alternate(a: Callable[[], Run], b: Callable[[], Run], runs: int) -> tuple[list[Run], list[Run]]:
    a(), b()  # warm the page cache, the .pyc files (and, for warm, the template cache)
    first: list[Run] = []
    second: list[Run] = []
    for i in range(runs):
        for side in (a, b) if i % 2 == 0 else (b, a):
            (first if side is a else second).append(side())
    return first, second


def _median(runs: list[Run]) -> float:
    return statistics.median(r.seconds for r in runs)


def _ok(runs: list[Run], what: str) -> None:
    codes = {r.returncode for r in runs}
    if codes != {0}:
        raise SystemExit(f"{what} exited with {sorted(codes)}")


def measure(corpus: Path, work: Path, runs: int, code: Path | None = None) -> dict[str, object]:
    files = sorted(str(p.relative_to(corpus)) for p in (corpus / "posts").rglob("*.yaml"))
    fresh = iter(range(1_000_000))

    def env(kind: str) -> dict[str, str]:
        name = "cache-warm" if kind == "warm" else f"cache-{next(fresh)}"
        extra = {"PYTHONPATH": str(code)} if code is not None else {}
        return {**os.environ, **extra, "ORSHOT_CACHE_DIR": str(work / name)}

    command = [sys.executable, "-m", "orshot_gitops"] if code is not None else ORSHOT
    ours_argv = [*command, "validate", "--repo", str(corpus)]
    results: dict[str, object] = {"files": len(files)}
    for kind in ("cold", "warm"):
        ours, peer = alternate(
            lambda kind=kind: run_once(ours_argv, corpus, env(kind)),  # type: ignore[misc]
            lambda: run_once([*PEER, *files], corpus),
            runs,
        )
        _ok(ours, f"validate ({kind})")
        _ok(peer, "check-jsonschema")
        memory = run_once(ours_argv, corpus, env(kind), sample=True)
        _ok([memory], f"validate ({kind}, sampled)")
        results[kind] = {
            "ours": _median(ours),
            "peer": _median(peer),
            "ratio": _median(ours) / _median(peer),
            "ours_all": [round(r.seconds, 2) for r in ours],
            "peer_all": [round(r.seconds, 2) for r in peer],
            "largest_process_mb": max(r.largest_process_mb for r in [*ours, memory]),
            "tree_rss_mb": memory.tree_rss_mb,
            "tree_pss_mb": memory.tree_pss_mb,
            "peer_largest_process_mb": max(r.largest_process_mb for r in peer),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=50_000, help="posts in a generated corpus")
    parser.add_argument("--corpus", type=Path, help="an existing corpus (make_corpus.py --state)")
    parser.add_argument("--runs", type=int, default=3, help="runs per side (median)")
    parser.add_argument("--code", type=Path, help="run orshot_gitops from this checkout")
    parser.add_argument("--out", type=Path, help="also write the figures as Markdown here")
    args = parser.parse_args(argv)
    started = dt.datetime.now(dt.timezone.utc)
    work = Path(tempfile.mkdtemp(prefix="orshot-validate-bench-"))
    try:
        corpus = args.corpus
        if corpus is None:
            corpus = work / "corpus"
            # In a child process, so this one stays small (see bench/run.py).
            subprocess.run(
                [
                    *(sys.executable, str(HERE / "make_corpus.py"), "--posts", str(args.posts)),
                    *("--out", str(corpus), "--state"),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        load = os.getloadavg()
        results = measure(corpus.resolve(), work, args.runs, args.code)
        results["load_before"] = [round(x, 2) for x in load]
        results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))
    if args.out is not None:
        command = " ".join(["python bench/validate_memory.py", *(argv or sys.argv[1:])])
        args.out.write_text(markdown(results, command, started), encoding="utf-8")
    return 0


def markdown(results: dict[str, Any], command: str, started: dt.datetime) -> str:
    cold, warm = results["cold"], results["warm"]
    load = " / ".join(f"{x:.2f}" for x in results["load_before"])
    rows = [
        ("`validate`, median", "{ours:.2f} s"),
        ("`check-jsonschema` on the same files, median", "{peer:.2f} s"),
        ("ratio", "**{ratio:.2f}x**"),
        ("peak memory, the largest process (`wait4`)", "{largest_process_mb:.0f} MB"),
        ("peak memory, the whole tree: RSS summed", "{tree_rss_mb:.0f} MB"),
        ("peak memory, the whole tree: PSS summed", "**{tree_pss_mb:.0f} MB**"),
        ("`check-jsonschema`, the largest process", "{peer_largest_process_mb:.0f} MB"),
    ]
    lines = [
        f"## `validate` at {results['files']:,} posts: memory and cold runs (issue 18)",
        "",
        f"Written by `{command}` on {started:%Y-%m-%d %H:%M} UTC, load average {load} before "
        "(2 cores shared with other sessions' test runs: the ratios, from sides alternated in "
        "one run, hold better than the times). Method in the script's docstring: cold is a "
        "new, empty ORSHOT_CACHE_DIR for every run, warm one filled by the warm-up run; "
        f"medians of {len(cold['ours_all'])} runs per side; memory from one more run with the "
        "/proc sampler. check-jsonschema only checks the schema; `validate` also parses with "
        "positions, renders every template for every account and applies the platform rules.",
        "",
        "| | cold | warm |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| {label} | {value.format(**cold)} | {value.format(**warm)} |" for label, value in rows
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
