"""Date input from people: one parser, one window and one range check for every page and
command.

Why: reject history, hold history and the defect trace all take a date range with a
limit (a setting); the messages for a malformed date, a date outside the sane window, a
reversed range or a range over the limit must read the same everywhere. The window
(settings date_years_back / date_years_ahead) is checked here and only here, before any
date arithmetic: 0001-01-01 minus a day or 9999-12-31 plus one overflowed Python's date
deep in a load and surfaced as "database unavailable". Each area passes its own error
type (an ``InputError`` subclass its page and command already know; ``DateInputError``
when none) and the name of its limit setting.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from core.errors import InputError
from core.i18n import N_, _


class DateInputError(InputError):
    """A malformed date, a date outside the accepted window, or a bad range."""


_WHAT = (N_("start"), N_("end"))  # the ``what`` of the messages below, shown with _()


def window(settings: Any, today: date | None = None) -> tuple[date, date]:
    """The first and last day accepted (settings date_years_back / date_years_ahead)."""
    year = (today or date.today()).year
    return (date(max(1, year - settings.date_years_back), 1, 1),
            date(min(9998, year + settings.date_years_ahead), 12, 31))


def check_day(day: date, what: str, settings: Any,
              error: type[ValueError] = DateInputError) -> date:
    """``day`` when inside the window, else ``error`` naming the window and its settings."""
    first, last = window(settings)
    if not first <= day <= last:
        raise error(
            _("The {what} date {day} is outside the accepted dates, {first} to {last} "
              "(settings date_years_back, date_years_ahead): check the year.").format(
                what=_(what), day=day, first=first, last=last)
        )
    return day


def parse_day(value: str | date | None, what: str, error: type[ValueError] = DateInputError,
              settings: Any = None) -> date | None:
    """A YYYY-MM-DD date, None when empty; ``error`` with the expected format otherwise.
    With ``settings``, a date outside the window (``check_day``) is an ``error`` too."""
    if value is None:
        return None
    if isinstance(value, date):
        day = value
    else:
        text = str(value).strip()
        if not text:
            return None
        try:
            day = date.fromisoformat(text)
        except ValueError:
            shown = text if len(text) <= 40 else text[:40] + "…"
            raise error(
                _("The {what} date {shown} is not a date: write it as YYYY-MM-DD, "
                  "e.g. 2026-11-20.").format(what=_(what), shown=repr(shown))
            ) from None
    return day if settings is None else check_day(day, what, settings, error)


def check_range(start: date, end: date, max_days: int, setting: str,
                error: type[ValueError] = DateInputError, hint: str = N_("Choose a shorter range."),
                settings: Any = None) -> None:
    """``error`` when the range is reversed or longer than ``max_days`` (named setting);
    with ``settings``, when either end lies outside the window."""
    if settings is not None:
        check_day(start, "start", settings, error)
        check_day(end, "end", settings, error)
    if end < start:
        raise error(_("The end date {end} is before the start date {start}: swap them.")
                    .format(end=end, start=start))
    days = (end - start).days + 1
    if days > max_days:
        raise error(
            _("The range {start} to {end} is {days} days; the longest allowed is {max_days} "
              "days (setting {setting}).").format(start=start, end=end, days=days,
                                                  max_days=max_days, setting=setting)
            + " " + _(hint)
        )
