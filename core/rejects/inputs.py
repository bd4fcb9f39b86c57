"""What people type into reject history, checked before anything reaches the database.

Problem: a page or a CLI must answer bad input (malformed dates, end before start, a range
over the limit, too many container values, unknown filter values) with a sentence that
says what to fix, never a traceback.

Design: pure functions raising ``RejectInputError`` (an InputError) with that sentence;
limits come from settings (reject_default_days, reject_max_days, seed_max_values).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from core import dates
from core.config import Settings
from core.errors import InputError
from core.trace.seeds import value_problem


class RejectInputError(InputError):
    """Bad reject-history input; the message says what and how to fix it."""


def default_range(settings: Settings, today: date | None = None) -> tuple[date, date]:
    """The reject_default_days days ending yesterday."""
    end = (today or date.today()) - timedelta(days=1)
    return end - timedelta(days=settings.reject_default_days - 1), end


def parse_day(text: str | date | None, what: str, settings: Settings | None = None
              ) -> date | None:
    return dates.parse_day(text, what, RejectInputError, settings)


def check_range(
    start: str | date | None, end: str | date | None, settings: Settings,
    today: date | None = None,
) -> tuple[date, date]:
    """A valid (start, end), the default range when both are missing."""
    s, e = parse_day(start, "start", settings), parse_day(end, "end", settings)
    if s is None and e is None:
        return default_range(settings, today)
    if s is None or e is None:
        raise RejectInputError("Give both a start and an end date (YYYY-MM-DD), or neither "
                               "for the default range.")
    dates.check_range(s, e, settings.reject_max_days, "reject_max_days", RejectInputError,
                      "Shorten it, or use a container list.", settings)
    return s, e


_SPLIT = re.compile(r"[\s,;]+")


def parse_values(text: str | Iterable[str], settings: Settings) -> list[str]:
    """Container values (lots, work orders, wafer lots; wildcards allowed), deduplicated
    in order; refuses more than seed_max_values."""
    raw = _SPLIT.split(text) if isinstance(text, str) else [str(v) for v in text]
    values = list(dict.fromkeys(v.strip() for v in raw if v and v.strip()))
    if len(values) > settings.seed_max_values:
        raise RejectInputError(
            f"{len(values):,} container values given; at most {settings.seed_max_values:,} "
            "are allowed in one list (setting seed_max_values). Split the list, or use a "
            "date range."
        )
    problem = value_problem(values, "container name")
    if problem:
        raise RejectInputError(problem)
    return values


def known_values(
    chosen: Sequence[str], available: Sequence[str], what: str
) -> tuple[list[str], str | None]:
    """(the chosen values that exist, a message naming those that do not)."""
    have = set(available)
    good = [v for v in chosen if v in have]
    bad = [v for v in chosen if v not in have]
    if not bad:
        return good, None
    shown = ", ".join(bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
    return good, f"Unknown {what} ignored (not in the loaded data): {shown}."
