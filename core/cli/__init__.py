"""`mesdash`: the command line next to the dashboard, on the same core and lanes.

Why: engineers script traces and reports, CI checks connectivity, and a new machine
builds its demo database; all without Streamlit. Each command group lives in a module of
this package exposing ``register(subparsers)``; ``main`` turns our typed errors into one
clear line on stderr and an exit code, never a traceback:

    0 ok · 1 bad input · 2 bad settings · 3 database or job queue unavailable ·
    4 lane busy/timeout or no job worker

Global flags, accepted before or after the command: ``-v/--verbose`` (core/cli/logs.py),
``--lang en|zh-TW`` (messages in that language, else the ``language`` setting, else
English; JSON keys never change) and ``--raw-headers`` (CSV files keep the raw column
names, as the ``csv_headers = names`` setting does; labels otherwise).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from core import export, i18n
from core.cli import logs
from core.cli.args import translate_argparse
from core.config import Settings, SettingsError, load_settings
from core.errors import InputError
from core.i18n import N_, _

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
        parser.epilog = _("example:") + f"\n  {EXAMPLES[path]}"
        parser.formatter_class = argparse.RawDescriptionHelpFormatter


def build_parser() -> argparse.ArgumentParser:
    translate_argparse()  # argparse's own words in the current language
    parser = Parser(
        prog="mesdash", description=_("MES analytics dashboard: command line tools.")
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
    add_global_flags(parser)
    _add_examples(parser)
    return parser


LANG_HELP = N_("language of messages: en or zh-TW (default: the language setting, else en); "
             "JSON keys stay the same")
RAW_HEADERS_HELP = N_("CSV files keep the raw column names as headers (for scripts) instead "
                    "of readable labels")


def add_global_flags(parser: argparse.ArgumentParser) -> None:
    """``--lang`` and ``--raw-headers`` on ``parser`` and on every command under it (given
    before or after the command; a command's absent flag leaves the top-level value)."""

    def add(p: argparse.ArgumentParser, top: bool) -> None:
        extra = {} if top else {"default": argparse.SUPPRESS}
        if "--lang" not in p._option_string_actions:
            p.add_argument("--lang", choices=tuple(i18n.LANGUAGES), help=_(LANG_HELP),
                           **({"default": None} if top else extra))
        if "--raw-headers" not in p._option_string_actions:
            p.add_argument("--raw-headers", action="store_true", help=_(RAW_HEADERS_HELP),
                           **extra)
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    add(sub, False)

    add(parser, True)


def _settings_or_none() -> Settings | None:
    try:
        return load_settings()
    except SettingsError:
        return None  # the command itself reports bad settings (exit 2)


def apply_global_flags(args: argparse.Namespace, settings: Settings | None) -> str:
    """This command's language and CSV headers from its flags, else the settings; returns
    the language."""
    setting = settings.language if settings is not None else None
    lang = i18n.set_language(i18n.choose(getattr(args, "lang", None),
                                         None if setting == "auto" else setting))
    export.use_raw_headers(bool(getattr(args, "raw_headers", False))
                           or (settings is not None and settings.csv_headers == "names"))
    return lang


def _lang_in_argv(argv: Sequence[str]) -> str | None:
    """``--lang X`` / ``--lang=X`` from the raw arguments: a usage error is reported in
    that language too (before argparse has a namespace)."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    from core.db import DatabaseUnavailable, LaneBusy, LaneError, QueryTimeout
    from core.jobs import NoWorker

    settings = _settings_or_none()
    raw_argv = list(sys.argv[1:] if argv is None else argv)
    setting = settings.language if settings is not None else None
    # before the parser is built: argparse composes its headings then (core/cli/args.py)
    i18n.set_language(i18n.choose(_lang_in_argv(raw_argv), None if setting == "auto" else setting))
    parser = build_parser()
    try:
        args = parser.parse_args(argv)  # a usage error is a UsageError: exit 1
        apply_global_flags(args, settings)
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
        print("mesdash: " + _("interrupted"), file=sys.stderr)
        return 130
    except OSError as exc:  # an --out folder or --csv file that cannot be written
        where = f" {exc.filename}" if exc.filename else ""
        print("mesdash: " + _("cannot write{where}: {error}").format(
            where=where, error=exc.strerror or exc), file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
