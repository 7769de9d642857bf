"""Run the benchmarks of issue 7 and write docs/benchmarks.md.

    python bench/run.py              # about 3 minutes on 2 cores
    python bench/run.py --runs 3     # fewer repetitions
    python bench/run.py --no-write   # print the table only

Every comparison is a ratio of two sides measured in the same run, alternating the sides
(A B B A ...), each the median of several runs: absolute times on a shared machine drift, the
ratio much less. Each side is a fresh process, as a user or CI would run it. Peak memory is the
child's maximum resident set size (`wait4`).

`validate` and `plan` keep a cache between runs (compiled templates, the state file's checked
bytes: orshot_gitops/content/cache.py), so both are measured twice: warm (ORSHOT_CACHE_DIR filled by
the warm-up run, as on a developer's machine or a CI runner that keeps the directory) and cold
(a new, empty ORSHOT_CACHE_DIR for every run, as on a fresh CI runner). No run uses the
caller's own cache.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import make_corpus  # noqa: E402

BIN = Path(sys.executable).parent
ORSHOT = [str(BIN / "orshot-gitops")]
PEER = [str(BIN / "check-jsonschema"), "--schemafile", str(ROOT / "schemas" / "post.schema.json")]


@dataclass(frozen=True)
class Timing:
    seconds: float
    max_rss_mb: float
    returncode: int


def run_once(argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Timing:
    """Wall time and peak RSS of one child process (output discarded)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return Timing(elapsed, usage.ru_maxrss / 1024, process.returncode)


def alternate(
    a: Callable[[], Timing], b: Callable[[], Timing], runs: int
) -> tuple[list[Timing], list[Timing]]:
    """Run a and b `runs` times each, in the order A B B A A B ..., after one warm-up each."""
    a(), b()  # warm the page cache and .pyc files
    first: list[Timing] = []
    second: list[Timing] = []
    for i in range(runs):
        order = (a, b) if i % 2 == 0 else (b, a)
        for side in order:
            (first if side is a else second).append(side())
    return first, second


def median(timings: list[Timing]) -> float:
    return statistics.median(t.seconds for t in timings)


def _check(timings: list[Timing], what: str, ok: Sequence[int] = (0,)) -> None:
    codes = {t.returncode for t in timings}
    if not codes <= set(ok):
        raise SystemExit(f"{what} exited with {sorted(codes)}")


# --- scenarios ----------------------------------------------------------------------------


def _command(
    argv: Sequence[str], cwd: Path, env: Callable[[], dict[str, str]] | None = None
) -> Callable[[], Timing]:
    """One side of a comparison: run argv, with the environment env() gives for each run."""
    return lambda: run_once(argv, cwd, env() if env is not None else None)


class CacheDirs:
    """ORSHOT_CACHE_DIR for each run: one shared directory (warm), or a new one (cold)."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self._fresh = itertools.count()

    def warm(self) -> dict[str, str]:
        return {**os.environ, "ORSHOT_CACHE_DIR": str(self.work / "cache-warm")}

    def cold(self) -> dict[str, str]:
        return {**os.environ, "ORSHOT_CACHE_DIR": str(self.work / f"cache-{next(self._fresh)}")}


def bench_validate(corpus: Path, runs: int, caches: CacheDirs) -> dict[str, object]:
    files = sorted(str(p.relative_to(corpus)) for p in (corpus / "posts").rglob("*.yaml"))
    results: dict[str, object] = {"files": len(files)}
    for temperature in ("warm", "cold"):
        env = caches.warm if temperature == "warm" else caches.cold
        ours, peer = alternate(
            _command([*ORSHOT, "validate", "--repo", str(corpus)], corpus, env),
            _command([*PEER, *files], corpus),
            runs,
        )
        _check(ours, f"orshot-gitops validate ({temperature})")
        _check(peer, "check-jsonschema")
        results[temperature] = {
            "ours": median(ours),
            "peer": median(peer),
            "ratio": median(ours) / median(peer),
            "rss": max(t.max_rss_mb for t in ours),
            "peer_rss": max(t.max_rss_mb for t in peer),
        }
    return results


def bench_plan(small: Path, large: Path, runs: int, caches: CacheDirs) -> dict[str, object]:
    results: dict[str, object] = {}
    for temperature in ("warm", "cold"):
        env = caches.warm if temperature == "warm" else caches.cold
        one, ten = alternate(
            _command([*ORSHOT, "plan", "--repo", str(small)], small, env),
            _command([*ORSHOT, "plan", "--repo", str(large)], large, env),
            runs,
        )
        _check(one, f"plan (1,000, {temperature})")
        _check(ten, f"plan (10,000, {temperature})")
        results[temperature] = {
            "small": median(one),
            "large": median(ten),
            "ratio": median(ten) / median(one),
            "rss": max(t.max_rss_mb for t in ten),
        }
    return results


def bench_startup(runs: int) -> dict[str, object]:
    ours, python = alternate(
        lambda: run_once([*ORSHOT, "--version"], ROOT),
        lambda: run_once([sys.executable, "-c", "pass"], ROOT),
        runs,
    )
    helps = [run_once([*ORSHOT, "--help"], ROOT) for _ in range(runs)]
    return {
        "ours": median(ours),
        "python": median(python),
        "ratio": median(ours) / median(python),
        "help": median(helps),
    }


def bench_apply(
    work: Path, posts: int = 120, limit: tuple[int, float] = (20, 2.0)
) -> dict[str, object]:
    """Apply `posts` new immediate posts against a sandbox limited to `limit`."""
    from orshot_gitops.sandbox import SandboxConfig, SandboxServer

    repo = work / "apply-repo"
    repo.mkdir()
    make_corpus._git(repo, "init", "-q", "-b", "main")
    accounts = "\n".join(
        f"  {alias}: {{id: {id_}, platform: {platform_}}}"
        for alias, (id_, platform_) in make_corpus.ACCOUNTS.items()
    )
    make_corpus._write(repo, "orshot.yaml", make_corpus.CONFIG.format(accounts=accounts))
    targets = ["acme-x", "acme-linkedin", "acme-facebook"]
    for n in range(posts):
        make_corpus._write(
            repo,
            f"posts/now/post-{n:03d}.yaml",
            f"accounts: [{targets[n % len(targets)]}]\n"
            f"content: |\n  Benchmark post {n}: {{{{ product }}}} is on its way.\n",
        )
    make_corpus._commit(repo, f"{posts} posts to publish now")
    config_file = work / "sandbox.yaml"
    config_file.write_text(
        json.dumps({"rate_limit": {"requests": limit[0], "per_seconds": limit[1]}}),
        encoding="utf-8",
    )
    server = SandboxServer(data_dir=work / "sandbox-data", config=SandboxConfig.load(config_file))
    server.start()
    # When each API request reached the server: the sending phase, without start-up, plan
    # and the final git commit.
    stamps: list[float] = []
    app = server.app
    handle = app.handle

    def timed(method: str, target: str, authorization: str | None, body: bytes) -> object:
        if not target.startswith("/_sandbox"):
            stamps.append(time.perf_counter())
        return handle(method, target, authorization, body)

    app.handle = timed  # type: ignore[assignment,method-assign]
    try:
        env = {
            **os.environ,
            "ORSHOT_CACHE_DIR": str(work / "cache-apply"),
            "ORSHOT_BASE_URL": server.base_url,
            "ORSHOT_API_KEY": server.api_key,
            "ORSHOT_RATE_LIMIT": f"{limit[0]}/{limit[1]:g}",
        }
        timing = run_once([*ORSHOT, "apply", "--repo", str(repo)], repo, env)
        request = urllib.request.Request(
            server.base_url + "/_sandbox/stats",
            headers={"Authorization": f"Bearer {server.api_key}"},
        )
        with urllib.request.urlopen(request) as answer:
            stats = json.loads(answer.read())
    finally:
        server.stop()
    _check([timing], "apply")
    requests = int(stats["requests"])
    count, per = limit
    # The fastest any client could go: `count` at once, then `count` more each `per` seconds.
    ideal = max(0, -(-requests // count) - 1) * per
    sending = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    return {
        "sending": sending,
        "sending_efficiency": ideal / sending if sending else 0.0,
        "posts": posts,
        "requests": requests,
        "per_post": requests / posts,
        "rate_limited": stats["rate_limited"],
        "seconds": timing.seconds,
        "ideal": ideal,
        "efficiency": ideal / timing.seconds if timing.seconds else 0.0,
        "by_endpoint": stats["by_endpoint"],
    }


# --- report -------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    versions = {
        name: metadata.version(name)
        for name in ("orshot-gitops", "check-jsonschema", "jsonschema", "PyYAML", "Jinja2")
    }
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "machine": f"{cpu}, {cores} cores available{memory}, {platform.system()} {platform.release()}",
        "python": f"Python {platform.python_version()} ({platform.python_implementation()})",
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
    }


def table(results: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, str, str]]:
    v, p, a, s = results["validate"], results["plan"], results["apply"], results["startup"]
    vw, vc, pw, pc = v["warm"], v["cold"], p["warm"], p["cold"]
    rss_validate = max(vw["rss"], vc["rss"])
    rss_plan = max(pw["rss"], pc["rss"])
    rows = [
        (
            f"1. `validate`, {v['files']:,} posts, vs `check-jsonschema` on the same files; "
            "**warm** cache (repeated runs: what the target compares)",
            f"{vw['ours']:.2f} s vs {vw['peer']:.2f} s",
            f"{vw['ratio']:.2f}x",
            "<= 0.5x",
            _ok(vw["ratio"] <= 0.5),
        ),
        (
            "1b. the same, **cold** cache (a first run: empty cache, which it fills)",
            f"{vc['ours']:.2f} s vs {vc['peer']:.2f} s",
            f"{vc['ratio']:.2f}x",
            "<= 0.5x",
            _ok(vc["ratio"] <= 0.5),
        ),
        (
            "2. `plan`, 10 changed posts: 10,000-post repo vs 1,000-post repo; **warm** cache",
            f"{pw['large']:.2f} s vs {pw['small']:.2f} s",
            f"{pw['ratio']:.2f}x",
            "<= 1.5x",
            _ok(pw["ratio"] <= 1.5),
        ),
        (
            "2b. the same, **cold** cache (a new, empty cache for every run)",
            f"{pc['large']:.2f} s vs {pc['small']:.2f} s",
            f"{pc['ratio']:.2f}x",
            "<= 1.5x",
            _ok(pc["ratio"] <= 1.5),
        ),
        (
            f"3. `apply`, {a['posts']} immediate posts, sandbox at 20 requests / 2 s",
            f"{a['requests']} requests ({a['per_post']:.2f}/post), {a['rate_limited']} x 429; "
            f"first to last request {a['sending']:.1f} s, whole command {a['seconds']:.1f} s, "
            f"ideal {a['ideal']:.1f} s",
            f"{float(a['sending_efficiency']):.0%} of ideal sending "
            f"({float(a['efficiency']):.0%} whole command)",
            "<= 2/post, >= 90%, 0 x 429",
            _ok(
                float(a["per_post"]) <= 2
                and float(a["sending_efficiency"]) >= 0.9
                and a["rate_limited"] == 0
            ),
        ),
        (
            "4. `orshot-gitops --version` vs `python -c pass`",
            f"{float(s['ours']) * 1000:.0f} ms vs {float(s['python']) * 1000:.0f} ms "
            f"(--help {float(s['help']) * 1000:.0f} ms)",
            f"{s['ratio']:.2f}x",
            "<= 4x",
            _ok(float(s["ratio"]) <= 4),
        ),
        (
            "5. peak memory (max RSS), 10,000 posts, warm or cold",
            f"validate {rss_validate:.0f} MB, plan {rss_plan:.0f} MB "
            f"(check-jsonschema {vw['peer_rss']:.0f} MB)",
            f"{max(rss_validate, rss_plan):.0f} MB",
            "< 200 MB",
            _ok(max(rss_validate, rss_plan) < 200),
        ),
    ]
    return rows


def _ok(flag: bool) -> str:
    return "met" if flag else "NOT met"


def render_markdown(
    info: dict[str, str], rows: list[tuple[str, str, str, str, str]], runs: int, total: float
) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `python bench/run.py` (do not edit the numbers by hand; the findings below",
        "the table are prose kept in `bench/findings.md`).",
        "",
        f"- Date: {info['date']}, commit {info['commit']}",
        f"- Machine: {info['machine']}",
        f"- {info['python']}; {info['versions']}",
        f"- Method: each side a fresh process, sides alternated (A B B A ...), median of {runs} "
        "runs after one warm-up each; ratios from medians of the same run. Corpus from "
        "`bench/make_corpus.py` (see its docstring). `validate` and `plan` cache compiled "
        "templates and the state file's checked bytes between runs (`orshot_gitops/content/cache.py`): "
        "**warm** is ORSHOT_CACHE_DIR filled by the warm-up run (a developer's machine, a CI "
        "runner that keeps the directory); **cold** is a new, empty ORSHOT_CACHE_DIR for every "
        "run (a fresh CI runner). The whole run took "
        f"{total / 60:.1f} minutes.",
        "",
        "| scenario | measured | ratio | target | |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    # Prose kept by hand, then the last runs of `bench/state_scale.py` and
    # `bench/validate_memory.py` (their own, slower benches).
    for kept in (HERE / "findings.md", HERE / "state_scale.md", HERE / "validate_memory.md"):
        if kept.is_file():
            lines += ["", kept.read_text(encoding="utf-8").rstrip()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per side (median)")
    parser.add_argument("--posts", type=int, default=10_000, help="posts in the large corpus")
    parser.add_argument("--no-write", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument("--keep", action="store_true", help="keep the corpora (printed)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="orshot-bench-"))
    try:
        print(f"corpora in {work}", file=sys.stderr)
        # In a child process: this one must stay small, or every child it forks starts with
        # its memory and the peak RSS we read (wait4) is ours, not the child's.
        large, small = work / "large", work / "small"
        for posts, out in ((args.posts, large), (args.posts // 10, small)):
            subprocess.run(
                [
                    sys.executable,
                    str(HERE / "make_corpus.py"),
                    "--posts",
                    str(posts),
                    "--out",
                    str(out),
                    "--state",
                    "--changed",
                    "10",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        results: dict[str, dict[str, Any]] = {}
        caches = CacheDirs(work)
        print("startup ...", file=sys.stderr)
        results["startup"] = bench_startup(max(args.runs, 10))
        print("validate ...", file=sys.stderr)
        results["validate"] = bench_validate(large, args.runs, caches)
        print("plan ...", file=sys.stderr)
        results["plan"] = bench_plan(small, large, args.runs, caches)
        print("apply ...", file=sys.stderr)
        results["apply"] = bench_apply(work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    total = time.perf_counter() - started
    rows = table(results)
    info = machine()
    for row in rows:
        print(" | ".join(row))
    print(json.dumps(results, indent=2, default=str), file=sys.stderr)
    if not args.no_write:
        out = ROOT / "docs" / "benchmarks.md"
        out.write_text(render_markdown(info, rows, args.runs, total), encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
