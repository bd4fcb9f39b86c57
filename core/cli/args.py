"""Argument types shared by the `mesdash` commands: bad values are usage errors (exit 1).

Why: argparse's own ``type=int`` accepts ``--top -5``, and a type function that raises
``argparse.ArgumentTypeError`` becomes a usage error with the option's name in it.
"""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """A whole number of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value
