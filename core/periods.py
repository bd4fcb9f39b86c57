"""Trend periods (day, ISO week, month) and how much of each a date range covers.

Problem: a trend over 2026-11-27 ~ 2026-12-30 by month puts a 4-day "2026-11" beside a
30-day "2026-12"; read as equals, the short bar looks like a sudden improvement. Which
periods a range covers only in part is a computed fact (a rule), so it lives here, once,
and the pages only draw it (hatched bar, a note, "partial (4 of 31 days)").

Design: a period is named by its first day (Monday for a week, the 1st for a month);
``coverage`` says how many of a period's days a whole-day range [start, end] covers.
A range given in whole days never cuts a day, so a day period is never partial; a week or
month is partial when the range starts after its first day or ends before its last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from core.i18n import _

GRAINS = ("day", "week", "month")


def period_start(grain: str, day: date) -> date:
    """The first day of the period of ``grain`` holding ``day``."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "day":
        return day
    raise ValueError(f"grain must be one of {GRAINS}, not {grain!r}")


def period_end(grain: str, start: date) -> date:
    """The last day of the period that starts on ``start``."""
    if grain == "week":
        return start + timedelta(days=6)
    if grain == "month":
        nxt = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        return nxt - timedelta(days=1)
    return start


def period_label(grain: str, start: date) -> str:
    if grain == "week":
        iso = start.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if grain == "month":
        return f"{start:%Y-%m}"
    return f"{start:%Y-%m-%d}"


@dataclass(frozen=True)
class Coverage:
    """How many of a period's days a range covers."""

    start: date
    days: int
    period_days: int

    @property
    def partial(self) -> bool:
        return self.days < self.period_days

    def note(self) -> str:
        """'partial (4 of 31 days)' for a partial period, else ''."""
        if not self.partial:
            return ""
        return _("partial ({days} of {period_days} days)").format(
            days=self.days, period_days=self.period_days)


def coverage(grain: str, start: date, span: tuple[date, date] | None) -> Coverage:
    """Coverage of the period of ``grain`` starting on ``start`` by the whole-day range
    ``span`` (first, last day); None = no range (e.g. a container list): every period
    counts as whole."""
    first, last = start, period_end(grain, start)
    whole = (last - first).days + 1
    if span is None:
        return Coverage(start, whole, whole)
    lo, hi = max(first, span[0]), min(last, span[1])
    return Coverage(start, max(0, (hi - lo).days + 1), whole)


def periods(grain: str, span: tuple[date, date]) -> list[Coverage]:
    """Every period the range touches, in order, with its coverage."""
    out: list[Coverage] = []
    p = period_start(grain, span[0])
    while p <= span[1]:
        out.append(coverage(grain, p, span))
        p = period_end(grain, p) + timedelta(days=1)
    return out
