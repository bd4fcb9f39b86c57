"""What people type into reject history, checked before anything reaches the database.

Problem: a page or a CLI must answer bad input (malformed dates, end before start, a range
over the limit, too many container values, unknown filter values) with a sentence that
says what to fix, never a traceback.

Design: pure functions raising ``RejectInputError`` (an InputError) with that sentence;
limits come from settings (reject_default_days, reject_max_days; a container list
follows core.values: seed_max_values, seed_max_patterns).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from core import dates, values
from core.config import Settings
from core.errors import InputError
from core.i18n import _


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
        raise RejectInputError(_("Give both a start and an end date (YYYY-MM-DD), or "
                                 "neither for the default range."))
    dates.check_range(s, e, settings.reject_max_days, "reject_max_days", RejectInputError,
                      _("Shorten it, or use a container list."), settings)
    return s, e


def parse_values(text: str | Iterable[str], settings: Settings) -> list[str]:
    """Container values (lots, work orders, wafer lots; wildcards allowed) by the one
    name-list rule and limits of core.values, as typed, deduplicated in order."""
    return values.texts(text, settings, label="container", error=RejectInputError,
                        hint="split the list, or use a date range")


def known_values(
    chosen: Sequence[str], available: Sequence[str], what: str
) -> tuple[list[str], str | None]:
    """(the chosen values that exist, a message naming those that do not)."""
    have = set(available)
    good = [v for v in chosen if v in have]
    bad = [v for v in chosen if v not in have]
    if not bad:
        return good, None
    shown = ", ".join(bad[:10]) + (_(" and {n} more").format(n=len(bad) - 10)
                                   if len(bad) > 10 else "")
    return good, _("Unknown {what} ignored (not in the loaded data): {values}.").format(
        what=what, values=shown)
