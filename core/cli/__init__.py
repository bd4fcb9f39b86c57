"""`mesdash`: the command line next to the dashboard, on the same core and lanes.

Why: engineers script traces and reports, CI checks connectivity, and a new machine
builds its demo database; all without Streamlit. Each command group lives in a module of
this package exposing ``register(subparsers)``; ``main`` turns our typed errors into one
clear line on stderr and an exit code, never a traceback:

    0 ok · 1 bad input · 2 bad settings · 3 database or job queue unavailable ·
    4 lane busy/timeout or no job worker
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from core.cli import logs
from core.config import SettingsError
from core.errors import InputError

COMMAND_MODULES = ("core.cli.demo", "core.cli.db", "core.cli.glossary")
OPTIONAL_MODULES = ("core.cli.trace", "core.cli.defects", "core.cli.rejects", "core.cli.holds",
                    "core.cli.contain", "core.cli.worker")


class UsageError(InputError):
    """Bad input from the user; the message says what and how to fix it."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error (unknown option, missing or malformed value) is a
    ``UsageError`` for ``main`` (exit 1, as every other bad input), not argparse's own
    exit 2, which README gives to bad settings. Subcommand parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\n{self.format_usage().rstrip()}")


# One example per command, shown at the end of its --help (commands that carry their own
# epilog, contain and glossary, keep it).
EXAMPLES: dict[tuple[str, ...], str] = {
    ("demo", "build"): "mesdash demo build --scale small --db duckdb:///data/demo.duckdb",
    ("db", "check"): "mesdash db check --json",
    ("config",): "mesdash config --markdown",
    ("trace",): "mesdash trace --lot GA26111456-A00-004 --direction forward --json",
    ("defects",): "mesdash defects --station TMTT --start 2026-11-01 --end 2026-11-30 --json",
    ("rejects",): "mesdash rejects --start 2026-11-01 --end 2026-11-30 --by machine",
    ("holds",): "mesdash holds --type quality --matrix lots",
    ("hold-history",): "mesdash hold-history --start 2026-11-01 --end 2026-11-30 --json",
    ("worker",): "mesdash worker --name worker-1",
}


def _add_examples(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                _add_examples(sub, (*path, name))
    if path in EXAMPLES and not parser.epilog:
        parser.epilog = f"example:\n  {EXAMPLES[path]}"
        parser.formatter_class = argparse.RawDescriptionHelpFormatter


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="mesdash", description="MES analytics dashboard: command line tools."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for name in OPTIONAL_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    logs.add_flag(parser)
    _add_examples(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from core.db import DatabaseUnavailable, LaneBusy, LaneError, QueryTimeout
    from core.jobs import NoWorker

    parser = build_parser()
    try:
        args = parser.parse_args(argv)  # a usage error is a UsageError: exit 1
        logs.route(args)  # library logging off stderr (details with --verbose)
        return int(args.func(args) or 0)
    except InputError as exc:  # every bad input: usage, dates, seeds, requests, ...
        print(f"mesdash: {exc}", file=sys.stderr)
        return 1
    except SettingsError as exc:
        print(f"mesdash: {exc}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as exc:
        print(f"mesdash: {exc}", file=sys.stderr)
        return 3
    except (LaneBusy, QueryTimeout, NoWorker) as exc:
        print(f"mesdash: {exc}", file=sys.stderr)
        return 4
    except LaneError as exc:
        print(f"mesdash: {exc}", file=sys.stderr)
        return 3
    except SystemExit as exc:  # --help, --version: argparse printed and exits
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print("mesdash: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # an --out folder or --csv file that cannot be written
        where = f" {exc.filename}" if exc.filename else ""
        print(f"mesdash: cannot write{where}: {exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
