"""`orshot-gitops sandbox`: run the local Orshot-compatible API until Ctrl-C."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from orshot_gitops.console import Console

NAME = "sandbox"
SUMMARY = "Run a local Orshot-compatible API (posts log, accounts, faults) for demos and tests."
EXAMPLES = [
    "orshot-gitops sandbox",
    "orshot-gitops sandbox --port 9000 --data /tmp/orshot-sandbox",
    "orshot-gitops sandbox --config sandbox.yaml   # accounts, keys, rate limit, faults",
    "orshot-gitops sandbox --print-config          # the effective config as JSON (docs/sandbox.md)",
]
DEFAULT_PORT = 8787
DEFAULT_KEY = "sandbox"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--data",
        metavar="DIR",
        default=".orshot-sandbox",
        help="where the posts log is kept across restarts (default .orshot-sandbox)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="YAML or JSON overriding any key of the config (docs/sandbox.md names them all)",
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the effective config (defaults with --config applied) as JSON, keys sorted, "
        "configured API keys left out; then exit without serving",
    )


def run(args: argparse.Namespace, console: Console) -> int:
    """Serve until interrupted; Ctrl-C is the normal way to stop, so it exits 0."""
    from orshot_gitops.errors import UserError
    from orshot_gitops.sandbox import SandboxConfig, SandboxServer

    config = SandboxConfig.load(args.config) if args.config else SandboxConfig.default()
    if args.print_config:
        import json

        # Plain stdout, no styling: the output is meant for jq and for diffing.
        print(json.dumps(config.to_mapping(), indent=2, sort_keys=True))
        return 0
    server = SandboxServer(data_dir=Path(args.data), config=config, host=args.host, port=args.port)
    try:
        server.start()
    except OSError as exc:
        raise UserError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            hint="choose another --port",
        ) from exc
    # From the moment it listens, Ctrl-C is a normal stop: a script that reads the first line
    # and interrupts may do so while the rest of the banner is still being printed.
    try:
        # The default key is a public placeholder; a configured key is a secret, never echoed.
        key = server.api_key if server.api_key == DEFAULT_KEY else "<a key from your --config>"
        console.print(f"Orshot sandbox listening on {server.base_url} (posts log in {args.data})")
        console.print("Point orshot-gitops at it with:")
        console.print(f"  export ORSHOT_BASE_URL={server.base_url} ORSHOT_API_KEY={key}")
        console.print(console.style("Press Ctrl-C to stop.", "dim"))
        while True:
            time.sleep(3600)  # the server runs on its own thread; sleep is woken by SIGINT
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.stop()
    return 0
