"""Hold rules of domain.md ("Holds"), in one place, parameterised only by settings.

- Hold type and WIP status: defined in ``core.wip`` (SQL, DuckDB, Arrow and Python
  forms from one definition); re-exported here for the hold pages and the CLI
  (``hold_type_of``, ``status_of``, ``QUALITY``, ``NON_QUALITY``).
- Shift day: an event at or after ``settings.shift_day_start`` (07:30) belongs to the
  next calendar day; with 00:00 the shift day is the calendar day.
- Buckets: half-open intervals [lo, hi) over increasing edges from settings
  (``hold_age_edges_days`` for days at station, ``hold_duration_edges_h`` for hold
  duration); labels are generated from the edges so they cannot drift from them.

Shift days exist as SQL-free Python here and as Arrow compute (core.holds.history); tests
check them against these plain-Python reference functions.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from core import dates
from core.errors import InputError
from core.i18n import N_, _
from core.wip import NON_QUALITY, QUALITY
from core.wip import hold_type_of as hold_type_of  # re-exported
from core.wip import status_of as status_of  # re-exported

ALL = "all"
HOLD_TYPES = (QUALITY, NON_QUALITY, ALL)
HOLD_TYPE_LABELS = {QUALITY: N_("Quality"), NON_QUALITY: N_("Non-quality"), ALL: N_("All")}
"""Shown with ``_()`` (品質異常 / 非品質異常 / 全部 in zh-TW)."""


class HoldInputError(InputError):
    """Bad user input (hold type, dates, range); the message says what to do."""


def parse_hold_type(value: str | None) -> str:
    """'quality' | 'non-quality' | 'all' (default 'all'); accepts non_quality too."""
    if value is None or value == "":
        return ALL
    text = value.strip().lower().replace("_", "-")
    if text not in HOLD_TYPES:
        raise HoldInputError(_("Unknown hold type {value}: choose one of {choices}.").format(
            value=repr(value), choices=", ".join(HOLD_TYPES)))
    return text


# --- shift days ------------------------------------------------------------------------------


def shift_offset(shift_day_start_minutes: int) -> timedelta:
    """What to add to a timestamp so that its calendar date is its shift day."""
    if shift_day_start_minutes == 0:
        return timedelta(0)
    return timedelta(minutes=24 * 60 - shift_day_start_minutes)


def shift_day(ts: datetime, shift_day_start_minutes: int) -> date:
    """The shift day of an event (07:30 belongs to the next day, 07:29:59 does not)."""
    return (ts + shift_offset(shift_day_start_minutes)).date()


def shift_day_bounds(day: date, shift_day_start_minutes: int) -> tuple[datetime, datetime]:
    """[begin, end) of a shift day as timestamps."""
    end = datetime.combine(day, datetime.min.time()) + timedelta(days=1)
    end -= shift_offset(shift_day_start_minutes)
    return end - timedelta(days=1), end


def parse_day(value: str | None, what: str, settings: Any = None) -> date | None:
    """A YYYY-MM-DD date from user input; HoldInputError with the expected format (and,
    with ``settings``, for a date outside the accepted window)."""
    return dates.parse_day(value, what, HoldInputError, settings)


def check_range(start: date, end: date, max_days: int, settings: Any = None) -> None:
    """Raise HoldInputError when the range is reversed or longer than max_days (or, with
    ``settings``, outside the accepted window)."""
    dates.check_range(start, end, max_days, "hold_history_max_days", HoldInputError,
                      settings=settings)


# --- buckets ---------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return f"{x:g}"


def bucket_labels(edges: Sequence[float], unit: str) -> list[str]:
    """Labels of [lo, hi) buckets: '<e0', 'e0–e1', ..., '≥en'.

    ``unit`` 'h' switches to days for bounds of 24 h and more (4;24;72 h gives
    <4 h, 4–24 h, 1–3 d, ≥3 d); ``unit`` 'd' always uses days (<1 d, 1–3 d, 3–7 d, ≥7 d).
    """

    def show(value: float, lo: float) -> str:
        if unit == "h" and lo >= 24:
            return _fmt(value / 24)
        return _fmt(value)

    def u(lo: float) -> str:
        return "d" if unit == "d" or lo >= 24 else "h"

    labels = [f"<{show(edges[0], edges[0])} {u(edges[0])}"]
    for lo, hi in itertools.pairwise(edges):
        labels.append(f"{show(lo, lo)}–{show(hi, lo)} {u(lo)}")
    labels.append(f"≥{show(edges[-1], edges[-1])} {u(edges[-1])}")
    return labels


def bucket_text(label: str) -> str:
    """A bucket label in the reader's language ('1–3 d' -> '1–3 天'): labels stay English
    as values (URLs, filters, the CLI); pages show this. The unit words are core.fmt's."""
    value, _sep, unit = label.rpartition(" ")
    if unit == "d":
        return _("{n} d").format(n=value)
    if unit == "h":
        return _("{n} h").format(n=value)
    return label


def bucket_index(value: float | None, edges: Sequence[float]) -> int | None:
    """Index of the [lo, hi) bucket holding ``value`` (None for a null value)."""
    if value is None:
        return None
    return bisect_right(list(edges), value)


def duration_labels(edges_h: Sequence[float]) -> list[str]:
    return bucket_labels(edges_h, "h")


def age_labels(edges_days: Sequence[float]) -> list[str]:
    return bucket_labels(edges_days, "d")
