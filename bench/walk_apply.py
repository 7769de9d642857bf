"""Follow one `apply` through the code: which parts of the package it enters, in what order.

    python bench/walk_apply.py           # one post, one account, against the sandbox
    python bench/walk_apply.py --by file # units are modules (files), to compare layouts

Issue 12 asked that a walk of one post from `apply` enter each stage's package once, in
order, and come back up only to the runner. This runs `orshot-gitops apply` in-process on a
fresh repository with one post, against the sandbox (its server thread is not traced), and
records every call that crosses from one unit of the package to another: a unit is a
package below `orshot_gitops` (`content`, `reconcile`, ...) or, for top-level modules, the
module. It prints the counts, and every (caller, callee) pair of units with how often it was taken.

- entered: distinct units the walk goes into;
- re-entries: calls into a unit entered before, from another unit (a return trip);
- climbs: calls from a lower stage into a higher one (against the pipeline's order);
- callbacks: calls back into the CLI shell (progress lines, the clock): passed in, not imports.

Module bodies run by a lazy import are not calls and are not counted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

ORDER = ["errors", "crashpoints", "content", "orshot", "state", "vcs", "reconcile", "report"]


SHELL = {"cli", "commands", "console"}


def unit_of(filename: str, package_dir: str, by_file: bool) -> str | None:
    if not filename.startswith(package_dir) or "/sandbox/" in filename:
        return None
    rel = filename[len(package_dir) + 1 :].removesuffix(".py")
    return rel if by_file else rel.split("/")[0]


def main() -> None:
    by_file = "--by" in sys.argv and sys.argv[sys.argv.index("--by") + 1] == "file"
    import orshot_gitops
    from orshot_gitops.cli import main as cli
    from orshot_gitops.sandbox import SandboxConfig, SandboxServer

    package_dir = str(Path(orshot_gitops.__file__).resolve().parent)
    work = Path(tempfile.mkdtemp(prefix="orshot-walk-"))
    repo = work / "content"
    (repo / "posts").mkdir(parents=True)
    (repo / "orshot.yaml").write_text("accounts:\n  x: {id: 1, platform: twitter}\n")
    (repo / "posts" / "launch.yaml").write_text("accounts: [x]\ncontent: Launch day!\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@example.com"}
    env |= {"GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@example.com"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "launch"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    os.environ.update({k: v for k, v in env.items() if k.startswith("GIT_")})
    server = SandboxServer(work / "sandbox", SandboxConfig.default()).start()
    os.environ["ORSHOT_BASE_URL"] = server.base_url
    os.environ["ORSHOT_API_KEY"] = server.api_key
    os.environ["ORSHOT_CACHE_DIR"] = "off"

    entered: list[str] = []
    last: str | None = None
    reentries = 0
    climbs = Counter[tuple[str, str]]()
    crossings = Counter[tuple[str, str]]()
    callbacks = 0

    importing = "import"

    def caller_unit(frame: FrameType) -> str | None:
        """The unit of the nearest first-party caller; `importing` while a module body runs
        (a lazy import's class bodies and comprehensions are not the walk)."""
        back = frame.f_back
        while back is not None:
            unit = unit_of(back.f_code.co_filename, package_dir, by_file)
            if unit is not None:
                return importing if back.f_code.co_name == "<module>" else unit
            back = back.f_back
        return None

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal reentries, callbacks, last
        if event != "call" or frame.f_code.co_name == "<module>":
            return
        unit = unit_of(frame.f_code.co_filename, package_dir, by_file)
        if unit is None:
            return
        caller = caller_unit(frame)
        if unit == caller or caller == importing:
            return
        crossings[(caller or "-", unit)] += 1
        if unit in entered and unit != last:
            reentries += 1
        if unit not in entered:
            entered.append(unit)
        last = unit
        top, from_top = unit.split("/")[0], (caller or "").split("/")[0]
        if caller is not None and top in SHELL and from_top not in SHELL:
            callbacks += 1
        if from_top in ORDER and top in ORDER and ORDER.index(top) > ORDER.index(from_top):
            climbs[(from_top, top)] += 1

    sys.setprofile(profile)
    try:
        code = cli(["apply", "--repo", str(repo)])
    finally:
        sys.setprofile(None)
        server.stop()
    print(f"apply exit {code}")
    print(f"entered {len(entered)} units, first in this order: {' > '.join(entered)}")
    print(f"re-entries into a unit left before: {reentries}")
    print(f"climbs against the pipeline's order: {sum(climbs.values())} {dict(climbs)}")
    print(f"callbacks into the CLI shell: {callbacks}")
    print("calls from one unit into another (caller -> callee: times):")
    for (caller, callee), times in sorted(crossings.items()):
        print(f"  {caller} -> {callee}: {times}")


if __name__ == "__main__":
    main()
