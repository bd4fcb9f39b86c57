"""Argument types shared by the `mesdash` commands: bad values are usage errors (exit 1).

Why: argparse's own ``type=int`` accepts ``--top -5``, and a type function that raises
``argparse.ArgumentTypeError`` becomes a usage error with the option's name in it. And
argparse's own words (usage, help headings, its usage errors) in the reader's language
(``translate_argparse``).
"""

from __future__ import annotations

import argparse

from core import i18n
from core.i18n import N_, _


def positive_int(text: str) -> int:
    """A whole number of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{text!r} is not a whole number").format(text=text)) from None
    if value < 1:
        raise argparse.ArgumentTypeError(_("{value} must be 1 or more").format(value=value))
    return value


ARGPARSE_MESSAGES = (
    N_("usage: "), N_("options"), N_("positional arguments"),
    N_("show this help message and exit"),
    N_("the following arguments are required: %s"), N_("unrecognized arguments: %s"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"), N_("expected one argument"),
    N_("expected at least one argument"), N_("expected at most one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"), N_("one of the arguments %s is required"),
    N_("ignored explicit argument %r"),
)
"""argparse's own words a user of ``mesdash`` meets (its msgids, exactly as Python 3.11's
argparse writes them), so that ``extract`` puts them in our catalog. "error:" is not
among them: ``Parser.error`` raises a UsageError that ``main`` prints as ``mesdash: ...``."""


def translate_argparse() -> None:
    """Make argparse's own words (usage, help headings, usage errors) follow the CLI's
    language.

    argparse composes them with its module-level ``_`` and ``ngettext`` (``from gettext
    import gettext as _, ngettext``), looked up when called. We point those two names at
    core.i18n's: they follow the language of this run (a context variable) and return a
    msgid our catalog lacks unchanged, so English (and any other argparse user in the
    process) reads exactly what argparse wrote. Why not the alternatives: installing a
    catalog for gettext's global domain would fix one language for the whole process and
    add a second .po; overriding ``format_usage``/``format_help``/``error`` would have to
    find the words again inside finished text ("the following arguments are required:
    --x") instead of translating them where argparse composes them. Idempotent. The
    headings ("options", the help line of -h) are composed when a parser is built, so
    the language must be set before ``build_parser`` (``main`` does).
    """
    argparse._ = i18n._  # type: ignore[attr-defined]
    argparse.ngettext = i18n.ngettext  # type: ignore[attr-defined]
