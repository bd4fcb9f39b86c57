"""Hold history, report: days into weeks and months, partial periods marked, the report.

Why its own module: the period arithmetic and the report's shape are read and tested
apart from the load and the slicing (core.holds.history._load, .view).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.holds._classify import (
    HoldInputError,
    shift_day_bounds,
)
from core.i18n import N_, _

if TYPE_CHECKING:  # pragma: no cover
    pass

from core.holds.history._load import HoldHistory
from core.holds.history._view import HistoryFilter, HistoryView

# ---------------------------------------------------------------------------------------------
# periods: days → weeks / months, partial periods marked
# ---------------------------------------------------------------------------------------------

GRAINS = ("day", "week", "month")
GRAIN_LABELS = {"day": N_("Day"), "week": N_("Week"), "month": N_("Month")}  # shown with _()
_SUMMED = ("new", "new_qty", "released", "released_qty", "future")
_AT_END = ("on_hold_end", "on_hold_end_qty")


def parse_grain(value: str | None) -> str:
    """'day' | 'week' | 'month' (default 'day'); HoldInputError names the choices."""
    text = (value or "day").strip().lower()
    if text not in GRAINS:
        raise HoldInputError(_("Unknown period {value}: choose one of {choices}.").format(
            value=repr(value), choices=", ".join(GRAINS)))
    return text


def period_first_day(day: date, grain: str) -> date:
    """The first shift day of the period holding ``day`` (weeks start on Monday)."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def period_last_day(first: date, grain: str) -> date:
    if grain == "week":
        return first + timedelta(days=6)
    if grain == "month":
        return date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(1)
    return first


def period_label(first: date, grain: str) -> str:
    if grain == "week":
        iso = first.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if grain == "month":
        return f"{first:%Y-%m}"
    return first.isoformat()


def periods(daily: pd.DataFrame, h: HoldHistory, grain: str = "day") -> pd.DataFrame:
    """The per-shift-day trend grouped by ``grain``, one row per period, in order.

    Counts of events (new, released, future and their qty) are summed over the period's
    days; on_hold_end(_qty) is the value at the end of its last day in the range. A
    period is ``partial`` when the range does not cover all its shift days (the first and
    last week or month of a range) or its covered end lies after the as-of time (a day in
    progress); ``covered_from``/``covered_to`` say which part the numbers describe.
    """
    grain = parse_grain(grain)
    df = daily.copy()
    df["first"] = [period_first_day(d, grain) for d in df["day"]]
    rows: list[dict[str, Any]] = []
    for first, part in df.groupby("first", sort=True):
        last = period_last_day(first, grain)
        row: dict[str, Any] = {"day": first, "period": period_label(first, grain)}
        row.update({c: int(part[c].sum()) for c in _SUMMED})
        row.update({c: int(part[c].iloc[-1]) for c in _AT_END})
        begin = shift_day_bounds(max(first, h.start), h.shift_minutes)[0]
        end = min(shift_day_bounds(min(last, h.end), h.shift_minutes)[1], h.as_of)
        row["partial"] = bool(first < h.start or last > h.end
                              or end < shift_day_bounds(last, h.shift_minutes)[1])
        row["covered_from"], row["covered_to"] = begin, end
        rows.append(row)
    cols = ["day", "period", "on_hold_end", "on_hold_end_qty", *_SUMMED, "partial",
            "covered_from", "covered_to"]
    out = pd.DataFrame(rows, columns=cols)
    for c in ("on_hold_end", "on_hold_end_qty", *_SUMMED):
        out[c] = out[c].astype("int64")
    out["partial"] = out["partial"].astype(bool)
    return out


def report(history: HoldHistory, f: HistoryFilter | None = None,
           grain: str = "day") -> dict[str, Any]:
    """Everything the CLI prints: KPIs, trend, paretos, buckets."""
    f = f or HistoryFilter()
    with HistoryView(history) as v:
        return {
            "start": history.start, "end": history.end, "as_of": history.as_of,
            "rows_loaded": history.rows, "kpis": v.kpis(f), "grain": grain,
            "trend": v.trend(f, grain), "reason_pareto": v.reason_pareto(f),
            "duration_buckets": v.duration_buckets(f),
        }
