"""Date input from people: one parser and one range check for every page and command.

Why: reject history, hold history and the defect trace all take a date range with a
limit (a setting); the messages for a malformed date, a reversed range or a range over
the limit must read the same everywhere. Each area passes its own error type (a
ValueError subclass its page already catches) and the name of its limit setting.
"""

from __future__ import annotations

from datetime import date


def parse_day(value: str | date | None, what: str, error: type[ValueError]) -> date | None:
    """A YYYY-MM-DD date, None when empty; ``error`` with the expected format otherwise."""
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise error(
            f"The {what} date {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-11-20."
        ) from None


def check_range(start: date, end: date, max_days: int, setting: str,
                error: type[ValueError], hint: str = "Choose a shorter range.") -> None:
    """``error`` when the range is reversed or longer than ``max_days`` (named setting)."""
    if end < start:
        raise error(f"The end date {end} is before the start date {start}: swap them.")
    days = (end - start).days + 1
    if days > max_days:
        raise error(
            f"The range {start} to {end} is {days} days; the longest allowed is {max_days} "
            f"days (setting {setting}). {hint}"
        )
