"""Measure what the state costs as it grows (issue 18), before choosing its next layout.

    python bench/state_scale.py --records 1000 10000            # ~10 minutes on 2 loaded cores
    python bench/state_scale.py --records 1000 10000 50000 --applies 100
    python bench/state_scale.py --records 1000 --applies 5 --out /tmp/s.md

For each size, a repository from `bench/make_corpus.py` with a state recording about that
many (post, account) records as sent (the corpus averages 2.45 accounts per post), then:

1. **apply of one change**, N times (`--applies`): each round commits one new immediate post
   for one account and runs `orshot-gitops apply` (a fresh process, as CI runs it) against
   the sandbox. Per apply: wall time (median, min, max) and the bytes written to the state
   file (every atomic write of it, counted by `state_probe.py` around the real writer).
2. **`.git` growth** over those N applies: the repository is packed first (`git gc`), the
   size of `.git` is taken before and after the applies, then again after `git gc`.
3. **the candidate layouts**, simulated on the same records (nothing of orshot-gitops runs):
   the same N one-record changes committed as (a) today's single pretty-printed file, (b) one
   compact JSON line per record, sorted, (c) one small file per post mirroring `posts/` plus
   an index of run metadata. Bytes written per change and `.git` growth before and after
   `git gc`: what each layout would cost git, measured, not estimated.
4. **size per record** of today's file, with the bytes each field takes and how many of
   them say nothing (null, or a default the reader assumes when absent).

The figures are printed and, with `--out`, written as a Markdown section: the last run's is
kept in `bench/state_scale.md`, which `bench/run.py` appends to docs/benchmarks.md. Times on
a shared machine drift: each is the median of N applies, and the load average is printed.

Not measured here: `apply --push` (CI's mode) commits twice per apply, the intent commit and
the results commit, where this local apply commits once; its `.git` figures double.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import make_corpus  # noqa: E402

ACCOUNTS_PER_POST = 2.45  # what make_corpus averages (24,500 records for 10,000 posts)
PROBE = HERE / "state_probe.py"


def dir_bytes(path: Path) -> int:
    """Bytes of every file under `path` (apparent sizes, as `du -sb`)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # git removed it meanwhile
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def gc(repo: Path) -> None:
    make_corpus._git(repo, "gc", "--quiet", "--prune=now")


def no_background_gc() -> None:
    """git's automatic gc still runs (a real clone has it), but inside the command that
    triggers it, for every git this process and its children run: detached, it would hold
    gc's lock when we pack, and run on into the next timing."""
    os.environ["GIT_CONFIG_COUNT"] = "1"
    os.environ["GIT_CONFIG_KEY_0"] = "gc.autoDetach"
    os.environ["GIT_CONFIG_VALUE_0"] = "false"


def build(records: int, work: Path) -> Path:
    repo = work / f"repo-{records}"
    posts = max(1, round(records / ACCOUNTS_PER_POST))
    make_corpus.make_corpus(posts, repo)
    make_corpus.record_state(repo)
    return repo


def count_records(state: dict[str, Any]) -> int:
    return sum(len(post["accounts"]) for post in state["posts"].values())


# --- 1 and 2: apply of one change --------------------------------------------------------


def bench_apply(repo: Path, applies: int, work: Path, per_apply: int = 1) -> dict[str, Any]:
    from orshot_gitops.sandbox import SandboxConfig, SandboxServer

    gc(repo)
    git_before = dir_bytes(repo / ".git")
    commits_before = int(make_corpus._git(repo, "rev-list", "--count", "HEAD"))
    # A rate limit no apply here reaches: the figures are of the state, not of pacing.
    config = SandboxConfig.from_mapping({"rate_limit": {"requests": 10000, "per_seconds": 60}})
    server = SandboxServer(data_dir=work / f"sandbox-{repo.name}", config=config)
    server.start()
    seconds: list[float] = []
    written: list[int] = []
    writes: list[int] = []
    try:
        for i in range(applies):
            for k in range(per_apply):
                make_corpus._write(
                    repo,
                    f"posts/bench/new-{i:04d}-{k:02d}.yaml",
                    f"accounts: [acme-x]\ncontent: |\n  Bench change {i}.{k}: "
                    "{{ product }} news.\n",
                )
            make_corpus._commit(repo, f"{per_apply} new post(s) ({i})")
            tally = work / "tally.json"
            env = {
                **os.environ,
                "ORSHOT_CACHE_DIR": str(work / "cache"),
                "ORSHOT_BASE_URL": server.base_url,
                "ORSHOT_API_KEY": server.api_key,
                "ORSHOT_BENCH_TALLY": str(tally),
            }
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, str(PROBE), "apply", "--repo", str(repo)],
                cwd=repo,
                env=env,
                capture_output=True,
                text=True,
            )
            seconds.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"apply failed:\n{done.stdout}\n{done.stderr}")
            counted = json.loads(tally.read_text(encoding="utf-8"))
            written.append(counted["bytes"])
            writes.append(counted["writes"])
        with urllib.request.urlopen(
            urllib.request.Request(
                server.base_url + "/_sandbox/stats",
                headers={"Authorization": f"Bearer {server.api_key}"},
            )
        ) as answer:
            requests = int(json.loads(answer.read())["requests"])
    finally:
        server.stop()
    git_after = dir_bytes(repo / ".git")
    gc(repo)
    git_packed = dir_bytes(repo / ".git")
    # Each round's own content commit is not apply's: counted out.
    commits = int(make_corpus._git(repo, "rev-list", "--count", "HEAD")) - commits_before - applies
    # The v2 layout: the index and a file per post (the state's whole size on disk).
    state_files = [repo / ".orshot/state.json", *(repo / ".orshot/state").rglob("*.json")]
    return {
        "applies": applies,
        "requests": requests,
        "commits_per_apply": commits / applies,
        "seconds_median": statistics.median(seconds),
        "seconds_min": min(seconds),
        "seconds_max": max(seconds),
        "state_bytes": sum(path.stat().st_size for path in state_files),
        "written_median": statistics.median(written),
        "writes_median": statistics.median(writes),
        "git_growth_loose": (git_after - git_before) / applies,
        "git_growth_packed": (git_packed - git_before) / applies,
        "git_before": git_before,
    }


# --- 3: the candidate layouts, simulated -------------------------------------------------


def _pretty(state: dict[str, Any]) -> dict[str, bytes]:
    text = json.dumps(state, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return {".orshot/state.json": text.encode("utf-8")}


def _lines(state: dict[str, Any]) -> dict[str, bytes]:
    """One compact line per (post, account) record, sorted; the run metadata on line one."""
    head = {k: v for k, v in state.items() if k != "posts"}
    rows = [json.dumps(head, sort_keys=True, separators=(",", ":"))]
    for post_id in sorted(state["posts"]):
        post = state["posts"][post_id]
        for key in sorted(post["accounts"]):
            record = {k: v for k, v in post["accounts"][key].items() if v is not None}
            rows.append(
                json.dumps(
                    {"post": post_id, "account": key, "path": post["path"], **record},
                    sort_keys=True,
                    separators=(",", ":"),
                )
            )
    return {".orshot/state.jsonl": ("\n".join(rows) + "\n").encode("utf-8")}


def _per_post(state: dict[str, Any]) -> dict[str, bytes]:
    """A file per post mirroring posts/, pretty-printed without nulls, plus a small index
    (serial, lineage, commit, claims, the posts needing work)."""
    files = {}
    for post_id, post in state["posts"].items():
        slim = {
            **{k: v for k, v in post.items() if k != "accounts" and v is not None},
            "accounts": {
                key: {k: v for k, v in record.items() if v is not None}
                for key, record in post["accounts"].items()
            },
        }
        text = json.dumps(slim, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        files[f".orshot/state/{post_id}.json"] = text.encode("utf-8")
    index = {k: v for k, v in state.items() if k != "posts"}
    index["needs_work"] = []
    files[".orshot/state/index.json"] = (
        json.dumps(index, indent=2, sort_keys=True) + "\n"
    ).encode()
    return files


LAYOUTS = {
    "one pretty-printed file (today)": _pretty,
    "a compact line per record": _lines,
    "a file per post + an index": _per_post,
}


def _one_change(state: dict[str, Any], i: int) -> tuple[dict[str, Any], str]:
    """What one apply of one new post changes: a new post with one record, serial and commit."""
    post_id = f"bench/new-{i:04d}"
    record = {
        "account_id": 1,
        "fingerprint": f"{i:064x}",
        "revision": 1,
        "status": "published",
        "step": None,
        "post_id": 900000 + i,
        "url": f"https://x.example/status/{900000 + i}",
        "error": None,
        "action": "create",
        "attempts": 1,
        "first_attempt_at": "2026-12-04T12:00:00+00:00",
        "last_attempt_at": "2026-12-04T12:00:01+00:00",
        "scheduled_for": None,
        "group": None,
    }
    posts = {
        **state["posts"],
        post_id: {
            "path": f"posts/{post_id}.yaml",
            "revision": 1,
            "render": None,
            "accounts": {"acme-x": record},
        },
    }
    changed = {**state, "posts": posts, "serial": state["serial"] + 1, "commit": f"{i:040x}"}
    return changed, post_id


def bench_layouts(state: dict[str, Any], applies: int, work: Path) -> dict[str, dict[str, Any]]:
    results = {}
    for name, render in LAYOUTS.items():
        repo = Path(tempfile.mkdtemp(prefix="layout-", dir=work))
        make_corpus._git(repo, "init", "-q", "-b", "main")
        current = render(state)
        for rel, data in current.items():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            (repo / rel).write_bytes(data)
        make_corpus._commit(repo, "state")
        gc(repo)
        before = dir_bytes(repo / ".git")
        step = state
        written: list[int] = []
        seconds: list[float] = []
        for i in range(applies):
            step, _ = _one_change(step, i)
            start = time.perf_counter()
            rendered = render(step)
            changed = {rel: data for rel, data in rendered.items() if current.get(rel) != data}
            for rel, data in changed.items():
                (repo / rel).parent.mkdir(parents=True, exist_ok=True)
                (repo / rel).write_bytes(data)
            seconds.append(time.perf_counter() - start)
            written.append(sum(len(data) for data in changed.values()))
            current = rendered
            make_corpus._git(repo, "add", "-A", ".")
            make_corpus._git(repo, "commit", "-q", "-m", f"apply {i}")
        loose = dir_bytes(repo / ".git")
        gc(repo)
        packed = dir_bytes(repo / ".git")
        results[name] = {
            "files": len(current),
            "total_bytes": sum(len(d) for d in current.values()),
            "written_median": statistics.median(written),
            "render_and_write_median": statistics.median(seconds),
            "git_growth_loose": (loose - before) / applies,
            "git_growth_packed": (packed - before) / applies,
        }
        shutil.rmtree(repo, ignore_errors=True)
    return results


# --- 4: size per record --------------------------------------------------------------------

ACCOUNT_INDENT = 10  # posts → post → accounts → key → field, two spaces each
DEFAULTS: dict[str, Any] = {"attempts": 0}


def record_sizes(state: dict[str, Any]) -> dict[str, Any]:
    """Bytes per record in today's file and, per field, the bytes of its lines and how many
    of its values say nothing (null, or a default)."""
    field_bytes: Counter[str] = Counter()
    empty: Counter[str] = Counter()
    empty_bytes: Counter[str] = Counter()
    records = 0
    for post in state["posts"].values():
        for record in post["accounts"].values():
            records += 1
            for name, value in record.items():
                line = (
                    ACCOUNT_INDENT
                    + len(json.dumps(name))
                    + 2
                    + len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
                    + 2
                )  # ",\n"
                field_bytes[name] += line
                if value is None or DEFAULTS.get(name, object()) == value:
                    empty[name] += 1
                    empty_bytes[name] += line
    text = json.dumps(state, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    compact = json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    indent = sum(len(line) - len(line.lstrip(" ")) for line in text.splitlines())
    return {
        "records": records,
        "posts": len(state["posts"]),
        "file_bytes": len(text.encode("utf-8")),
        "per_record": len(text.encode("utf-8")) / records,
        "compact_per_record": len(compact.encode("utf-8")) / records,
        "indent_per_record": indent / records,
        "fields": {
            name: {
                "bytes_per_record": field_bytes[name] / records,
                "empty_share": empty[name] / records,
                "empty_bytes_per_record": empty_bytes[name] / records,
            }
            for name in sorted(field_bytes)
        },
        "empty_per_record": sum(empty_bytes.values()) / records,
    }


# --- report ---------------------------------------------------------------------------------


def _mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB" if abs(n) >= 1e5 else f"{n / 1e3:.1f} kB"


def markdown(
    results: dict[int, dict[str, Any]], applies: int, command: str, per_apply: int = 1
) -> str:
    load = os.getloadavg()
    lines = [
        "## The state as it grows (issue 18)",
        "",
        f"Written by `{command}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} on {os.cpu_count()} cores shared "
        "with other work, so read times as medians on a loaded machine. Method: "
        "`bench/state_scale.py`'s docstring.",
        "",
        f"### Apply of one change ({applies} applies each; {per_apply} new post(s) for one "
        "account each)",
        "",
        "| records | state file | apply, median (min-max) | bytes written to the state per apply "
        "| commits per apply | `.git` growth per apply, loose | after `git gc` |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results.values():
        a = r["apply"]
        lines.append(
            f"| {r['sizes']['records']:,} | {_mb(a['state_bytes'])} | {a['seconds_median']:.2f} s "
            f"({a['seconds_min']:.2f}-{a['seconds_max']:.2f}) | {_mb(a['written_median'])} "
            f"({a['writes_median']:.0f} writes) | {a['commits_per_apply']:.1f} "
            f"| {_mb(a['git_growth_loose'])} | {_mb(a['git_growth_packed'])} |"
        )
    sizes = list(results)
    if len(sizes) > 1:
        small, large = results[sizes[0]]["apply"], results[sizes[-1]]["apply"]
        lines += [
            "",
            f"Apply at {results[sizes[-1]]['sizes']['records']:,} records vs "
            f"{results[sizes[0]]['sizes']['records']:,}: "
            f"{large['seconds_median'] / small['seconds_median']:.2f}x "
            "(the issue's goal: <= 1.2x).",
        ]
    lines += [
        "",
        f"### The candidate layouts, simulated on the same records ({applies} one-record changes)",
        "",
        "| records | layout | files | total | written per change | `.git` growth per change, "
        "loose | after `git gc` |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results.values():
        for name, lay in r["layouts"].items():
            lines.append(
                f"| {r['sizes']['records']:,} | {name} | {lay['files']:,} | "
                f"{_mb(lay['total_bytes'])} | {_mb(lay['written_median'])} | "
                f"{_mb(lay['git_growth_loose'])} | {_mb(lay['git_growth_packed'])} |"
            )
    biggest = results[sizes[-1]]["sizes"]
    lines += [
        "",
        f"### Size per record today ({biggest['records']:,} records, {biggest['posts']:,} posts)",
        "",
        f"{biggest['per_record']:.0f} bytes per (post, account) record in the file as written "
        f"(indentation alone: {biggest['indent_per_record']:.0f}); the same JSON without "
        f"indentation: {biggest['compact_per_record']:.0f}. Lines whose value says nothing "
        f"(null, or `attempts: 0`): {biggest['empty_per_record']:.0f} bytes per record. The "
        "optional fields (`run`, `failure`, `drift`, ...) are already left out when unset, so "
        "they do not appear below.",
        "",
        "| field | bytes per record | records where it says nothing | bytes of those |",
        "| --- | --- | --- | --- |",
    ]
    for name, f in sorted(biggest["fields"].items(), key=lambda kv: -kv[1]["bytes_per_record"]):
        lines.append(
            f"| `{name}` | {f['bytes_per_record']:.1f} | {f['empty_share']:.0%} "
            f"| {f['empty_bytes_per_record']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument(
        "--applies", type=int, default=100, help="applies per size (the issue: 100)"
    )
    parser.add_argument(
        "--posts-per-apply", type=int, default=1, help="new posts each apply sends (issue 19: 10)"
    )
    parser.add_argument("--out", type=Path, help="write the Markdown section here")
    parser.add_argument("--keep", type=Path, help="build the repositories here and keep them")
    args = parser.parse_args(argv)
    no_background_gc()
    work = args.keep or Path(tempfile.mkdtemp(prefix="orshot-state-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[int, dict[str, Any]] = {}
    try:
        for size in args.records:
            started = time.perf_counter()
            repo = build(size, work)
            from orshot_gitops.state.store import load_state

            state = load_state(repo).to_json()  # the records, in the v1 shape the sizes use
            results[size] = {"sizes": record_sizes(state)}
            results[size]["layouts"] = bench_layouts(state, args.applies, work)
            results[size]["apply"] = bench_apply(repo, args.applies, work, args.posts_per_apply)
            print(
                f"{size} records done in {time.perf_counter() - started:.0f} s: "
                + json.dumps(results[size]["apply"]),
                flush=True,
            )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    command = "python bench/state_scale.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = markdown(results, args.applies, command, args.posts_per_apply)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
