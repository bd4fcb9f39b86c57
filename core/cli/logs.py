"""Where log records go while a ``mesdash`` command runs: only notices for the user, or
with ``--verbose`` everything, with tracebacks.

Why: a command reports its own outcome in one clear line (``main``). Without a handler of
ours, library records reach stderr through logging's last resort: a PostgreSQL connection
killed mid-query made SQLAlchemy's pool print "Exception during reset or similar" and
three chained tracebacks before that line. So every record is routed here. By default
only the ``mesdash.notice`` logger is printed, a line per record (news the command's
result does not carry: the shared throttle fell back to a local one); the rest is
dropped. With ``--verbose`` every record is printed with its traceback (SQL statement
logging stays off), and the command's error itself is logged with its traceback before
``main`` prints the line. Python warnings and exceptions escaping a thread go the same
way. Whatever is printed passes through ``core.redact.mask_text``: a URL's password never
reaches the terminal or a CI log.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

from core.i18n import N_, _
from core.redact import mask_text

VERBOSE_HELP = N_(
    "print the details behind a message: library log records and tracebacks "
    "(otherwise hidden; credentials stay masked)"
)
NOTICE_LOGGER = "mesdash.notice"  # records for the user, printed even without --verbose
log = logging.getLogger("mesdash.cli")


class MaskingFormatter(logging.Formatter):
    """A formatter whose output (message and traceback) has its secrets masked."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is when a record comes (a test may have swapped it
    since the command started), like logging's own last resort."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def add_flag(parser: argparse.ArgumentParser) -> None:
    """``-v/--verbose`` on ``parser`` and on every command under it, so it may be given
    before or after the command (``mesdash -v db check``, ``mesdash db check -v``)."""
    parser.add_argument("-v", "--verbose", action="store_true", help=_(VERBOSE_HELP))
    _add_to_commands(parser)


def _add_to_commands(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                if "--verbose" not in sub._option_string_actions:
                    # SUPPRESS: a command's absent flag leaves the top-level value alone;
                    # -v only where the command does not use it for something else
                    names = [n for n in ("-v", "--verbose")
                             if n not in sub._option_string_actions]
                    sub.add_argument(*names, action="store_true",
                                     default=argparse.SUPPRESS, help=_(VERBOSE_HELP))
                _add_to_commands(sub)


def route(args: argparse.Namespace) -> None:
    """Install the routing for this command; with ``--verbose``, also have the command's
    error logged with its traceback (``args.func`` wrapped) before main's one line."""
    verbose = bool(getattr(args, "verbose", False))
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_mesdash", False):
            root.removeHandler(handler)
    handler: logging.Handler
    if verbose:
        handler = _Stderr()
        handler.setFormatter(MaskingFormatter("%(levelname)s %(name)s: %(message)s"))
        root.setLevel(logging.INFO)
        # INFO on sqlalchemy.engine would print every statement and its binds
        logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
        if callable(getattr(args, "func", None)):
            args.func = _logging_errors(args.func)
    else:
        # news for the user (a degraded throttle...): a line each, without traceback
        handler = _Stderr()
        handler.addFilter(logging.Filter(NOTICE_LOGGER))
        handler.setLevel(logging.WARNING)
        handler.setFormatter(MaskingFormatter("mesdash: %(message)s"))
    handler._mesdash = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    logging.captureWarnings(True)
    threading.excepthook = _thread_failed


def _logging_errors(func: Callable[[argparse.Namespace], Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def run(args: argparse.Namespace) -> Any:
        try:
            return func(args)
        except BaseException as exc:
            if not isinstance(exc, (SystemExit, KeyboardInterrupt)):
                log.error("details of the error below", exc_info=exc)
            raise

    return run


def _thread_failed(hook: threading.ExceptHookArgs) -> None:
    if hook.exc_type is SystemExit:
        return
    name = hook.thread.name if hook.thread is not None else "?"
    log.error("thread %s failed", name,
              exc_info=(hook.exc_type, hook.exc_value, hook.exc_traceback))  # type: ignore[arg-type]
