"""`orshot-gitops` with every write of the state file counted (bench/state_scale.py).

Wraps the store's one writer (`atomic_write`: every write_state goes through it) and, at
exit, writes {"bytes": ..., "writes": ...} to $ORSHOT_BENCH_TALLY. Everything else is the
real command, run as a fresh process.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from pathlib import Path

from orshot_gitops.cli import main
from orshot_gitops.state import store

_tally = {"bytes": 0, "writes": 0}
_write = store.atomic_write


def _counted(path: Path, data: bytes) -> None:
    _tally["bytes"] += len(data)
    _tally["writes"] += 1
    _write(path, data)


def _report() -> None:
    Path(os.environ["ORSHOT_BENCH_TALLY"]).write_text(json.dumps(_tally), encoding="utf-8")


store.atomic_write = _counted
atexit.register(_report)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
