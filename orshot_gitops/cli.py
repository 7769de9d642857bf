"""The command line: parse arguments, call the library, report. No logic lives here.

Command modules in `orshot_gitops.commands` import the library inside `run`, so `--version`
and `--help` stay fast; the library imports jsonschema, httpx and twitter-text only where they
are used, so a `plan` that needs none of them does not pay for them (tests/test_plan_cost.py).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from orshot_gitops import __version__
from orshot_gitops.commands import every_root
from orshot_gitops.console import Console
from orshot_gitops.errors import UsageError, UserError

# Each module defines NAME, SUMMARY, EXAMPLES, configure(parser) and run(args, console) -> int.
COMMAND_MODULES = [  # in the order a newcomer meets them: try, start, write, review, publish, operate
    "orshot_gitops.commands.demo",
    "orshot_gitops.commands.init",
    "orshot_gitops.commands.validate",
    "orshot_gitops.commands.plan",
    "orshot_gitops.commands.preview",
    "orshot_gitops.commands.apply",
    "orshot_gitops.commands.status",
    "orshot_gitops.commands.refresh",
    "orshot_gitops.commands.resolve",
    "orshot_gitops.commands.adopt",
    "orshot_gitops.commands.state",
    "orshot_gitops.commands.accounts",
    "orshot_gitops.commands.ci",
    "orshot_gitops.commands.hook",
    "orshot_gitops.commands.merge_state",
    "orshot_gitops.commands.sandbox",
]


class _Parser(argparse.ArgumentParser):
    """argparse exits with its own message; we turn that into our usage error (exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, hint=f"see '{self.prog} --help'")


def _common_options() -> _Parser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--repo",
        metavar="DIR",
        default=None,
        help="root of the content repository (default: the nearest folder from here upwards "
        "holding orshot.yaml, inside this git work tree; else the current directory)",
    )
    common.add_argument("--no-color", action="store_true", help="plain output (as NO_COLOR=1)")
    return common


# Commands that make or serve a repository rather than read one: `init` writes orshot.yaml
# where it is run, a server hook runs in a bare repository (no work tree to climb).
_HERE_ONLY = frozenset({"init", "demo", "sandbox", "merge-state", "hook"})


def _default_repo(command: str) -> str:
    if command in _HERE_ONLY:
        return "."
    from orshot_gitops.content.repopaths import find_content_root

    found = find_content_root(Path("."))
    return "." if found == Path(".") else str(found)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = _Parser(
        prog="orshot-gitops",
        description="Social posts as code: validate, review and publish posts kept in git.",
        epilog="Run 'orshot-gitops COMMAND --help' for a command's options and examples.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"orshot-gitops {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    common = _common_options()
    modules: dict[str, ModuleType] = {}
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(
            module.NAME,
            parents=[common],
            help=module.SUMMARY,
            description=module.SUMMARY,
            epilog="examples:\n" + "\n".join(f"  {line}" for line in module.EXAMPLES),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.configure(sub)
        if module.NAME in every_root.COMMANDS:
            every_root.add_option(sub)
        modules[module.NAME] = module
    return parser, modules


def main(argv: Sequence[str] | None = None) -> int:
    console = Console()
    if list(sys.argv[1:] if argv is None else argv) == ["--version"]:
        # As argparse would print it, without importing every command module first.
        sys.stdout.write(f"orshot-gitops {__version__}\n")
        return 0
    try:
        parser, modules = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        if args.no_color:
            console.color = False
        if args.repo is None:
            args.repo = _default_repo(args.command)
        # `adopt --all` means every post: --all is every content root only where added.
        if args.command in every_root.COMMANDS and args.all:
            return every_root.run_all(modules[args.command], args, console)
        return int(modules[args.command].run(args, console))
    except UsageError as exc:
        console.error(f"orshot-gitops: {exc}")
        return 2
    except UserError as exc:
        console.error(str(exc))
        return 1
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # a bug in us: a short report, not a wall of traceback
        import traceback

        frame = traceback.extract_tb(exc.__traceback__)[-1]
        console.error(
            f"orshot-gitops {__version__} crashed: {type(exc).__name__}: {exc}\n"
            f"  at {frame.filename}:{frame.lineno} in {frame.name}\n"
            "  This is a bug in orshot-gitops, not in your files; please report it "
            "(set ORSHOT_DEBUG=1 for the full traceback)."
        )
        import os

        if os.environ.get("ORSHOT_DEBUG"):
            traceback.print_exc()
        return 3


if __name__ == "__main__":
    sys.exit(main())
