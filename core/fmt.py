"""Numbers, percentages, dates and durations formatted for reading, in the user's language.

Why one module: pages showed 81808, 41.6076 and 2026-11-03 07:30:00.123456 side by side,
each page formatting (or not) its own way. The rules of shared/terms-zh-TW.md live here:
thousands separators (1,234), percentages with two decimals in tables and one on KPI
cards, dates YYYY-MM-DD, times 24-hour HH:mm:ss, ranges "start ~ end", durations
"2 d 5 h" / "2 天 5 小時". Everything takes ``None`` (and NaN) and shows "–", the
product's one mark for "no value".

Table columns get the same rules through core.labels (each column has a kind) and
dashboard.widgets.tables; this module is for text: KPI cards, captions, messages.
"""

from __future__ import annotations

import math
from datetime import date as _date
from datetime import datetime as _datetime
from typing import Any

from core.i18n import _

MISSING = "–"
"""Shown for a value that does not exist (null lift, no rows)."""

TABLE_PERCENT_PLACES = 2
KPI_PERCENT_PLACES = 1


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: Any, places: int = 0) -> str:
    """1234.5 -> '1,235' (places=0) or '1,234.50' (places=2)."""
    if _missing(value):
        return MISSING
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{float(value):,.{places}f}" if places else f"{round(float(value)):,}"


def count(value: Any) -> str:
    """A count of lots, pieces, rows: a whole number with separators."""
    return number(value, 0)


def percent(value: Any, places: int = TABLE_PERCENT_PLACES) -> str:
    """A value already in percent: 3.2512 -> '3.25%' (tables) or '3.3%' (places=1, KPIs)."""
    if _missing(value):
        return MISSING
    return f"{number(value, places)}%"


def kpi_percent(value: Any) -> str:
    return percent(value, KPI_PERCENT_PLACES)


def ratio(value: Any, places: int = 1) -> str:
    """A multiple such as lift: 4.08 -> '4.1x'."""
    if _missing(value):
        return MISSING
    return f"{number(value, places)}x"


def date(value: _date | _datetime | None) -> str:
    """YYYY-MM-DD."""
    if value is None:
        return MISSING
    return value.strftime("%Y-%m-%d")


def datetime(value: _datetime | None, seconds: bool = True) -> str:
    """YYYY-MM-DD HH:mm:ss (24-hour; without seconds when ``seconds`` is False)."""
    if value is None:
        return MISSING
    return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def date_range(start: _date | _datetime | None, end: _date | _datetime | None) -> str:
    """'2026-11-01 ~ 2026-11-30'."""
    return f"{date(start)} ~ {date(end)}"


def duration(seconds: float | None) -> str:
    """The two largest units: '2 d 5 h', '5 h 10 min', '40 min', '12 s' (English) or
    '2 天 5 小時', '5 小時 10 分', '40 分', '12 秒' (繁體中文)."""
    if _missing(seconds):
        return MISSING
    total = round(max(float(seconds), 0.0))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    units = [(days, _("{n} d")), (hours, _("{n} h")), (minutes, _("{n} min")),
             (secs, _("{n} s"))]
    first = next((i for i, (n, _unit) in enumerate(units) if n), len(units) - 1)
    shown = [u.format(n=n) for n, u in units[first:first + 2] if n]
    return " ".join(shown) or _("{n} s").format(n=0)


def age(seconds: float | None) -> str:
    """How long ago: 'just now', '5 min ago', '2 h 10 min ago', '3 d 2 h ago'."""
    if _missing(seconds):
        return MISSING
    if float(seconds) < 60:  # type: ignore[arg-type]
        return _("just now")
    whole_minutes = int(float(seconds) // 60) * 60  # type: ignore[arg-type]
    return _("{duration} ago").format(duration=duration(whole_minutes))
