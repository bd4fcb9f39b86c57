"""The one base class of every bad-input error, for the page guard and the CLI's main.

Why: seeds, a defect request, reject and hold inputs, dates and CLI usage each raise their
own error type (their modules and tests name them), and the dashboard and the command line
each caught a list of them, or matched class names as strings on a failed job. Every such
type derives from ``InputError``: the dashboard's guard (dashboard/state.py ``guarded``,
around every page in dashboard/app.py) and ``core.cli.main`` catch it once, a failed job
tells by ``isinstance`` whether its error was the user's input, and a new input error
needs no list updated anywhere. Its message is for people: what is wrong and how to fix it.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from a person (a form, a link's parameters, a command line): the message
    says what is wrong and how to fix it. CLI exit code 1; a warning on a page."""
