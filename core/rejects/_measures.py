"""Reject measures over the loaded rows, sliced locally with an in-memory DuckDB.

Where: this module holds the vocabulary (dimensions, measures, filters, detail columns)
and the report helpers (chart bars, CSV names); the per-record rules and ``prepare`` are
in core.rejects._records (the load side), the ``Slicer`` in core.rejects._slicer.

Problem: toggles, filters, period and bar clicks change every second on a page; none may
query the warehouse again, and a 365-day load (~400K records) must slice in well under
300 ms per change.

Design: ``prepare`` derives, once per load, the columns every slice needs (day, charged
total, reason code, station group, first listed machine, exclusion and
NNN_/XXX_/ZZZ_/PB_/material flags), each rule applied once per distinct value (reasons,
steps, machine lists) rather than per row. A record booked on several machines ("A,B")
counts for its first in a machine pareto and a clicked machine bar (``PARETO_SOURCE``);
the machine filter matches any listed machine and the detail keeps the list. The
workflow dimension is attached by the load (``core.rejects._workflow``).
``Slicer`` (build it once per load and keep it: building copies the rows) holds the rows
in its own DuckDB (``duckdb.connect()``, separate from the warehouse) with every key as
a dense integer (event, lot, work order, each dimension), so a slice groups and counts
integers. Move-in needs each event once per item; the general form groups by (item,
event). Short forms give the same answers with less work and are taken only when the
loaded data allow it (checked once per load): when every filter but the reason is a
property of the event (as in MES data: one transaction, one step, machine, time), a
per-event table holds each event's move-in and the bitmask of its reasons, and an event is
in a slice exactly when it passes the event filters and holds an allowed reason, so no
question groups by event; a dimension that never varies within an event groups by event
(perfect hash), then item; a reason pareto sums rows directly, the move-in of one marked
row per (event, reason), when the rows of an (event, reason) are never split by a filter
(one row each, or the per-event condition above). Each question is one local SQL
statement whose values are parameters. Measures follow domain.md: charged = the five
buckets; defect reported apart; move-in = the sum over the distinct reject events in the
slice of the event's move-in (each event once); rates in % (0 when move-in is 0); lots
and work orders distinct over the whole slice; pareto sorted descending with a
cumulative % and one top-80 % rule (``core.pareto``). The trend says which periods the
loaded range covers only in part (``core.periods``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from core.i18n import N_
from core.pareto import fold_others
from core.periods import GRAINS  # noqa: F401 - the trend's grains, named here for the page
from core.rejects._queries import BUCKETS
from core.rejects._records import (  # noqa: F401 - their names stay importable here
    first_machine,
    machines,
    prepare,
    reason_code,
    reason_flags,
)

DIMENSIONS: dict[str, str] = {  # shown with _()
    "reason": N_("Loss reason"),
    "package": N_("Package"),
    "type": N_("TYPE"),
    "function": N_("FUNCTION"),
    "station_group": N_("Station group"),
    "machine": N_("Machine"),
    "workflow": N_("Workflow"),
}
FILTER_DIMENSIONS = tuple(DIMENSIONS)
PARETO_SOURCE: dict[str, str] = {"machine": "machine_first"}
"""The loaded column a dimension's pareto (and a clicked bar) reads, where it is not the
dimension itself: a record booked on several machines counts for its first (domain.md);
the machine filter and the detail keep the whole list."""
MEASURES = ("charged", "defect")
NONE_LABEL = "(none)"

DETAIL_COLUMNS: tuple[str, ...] = (
    "txndate", "lot", "workorder", "workcenter", "station_group", "package", "function",
    "type", "product", "reason", "machine", "comment", *BUCKETS, "charged", "defectqty",
    "moveinqty", "workflow",
)
"""Detail and CSV columns, by their loaded names; their headers are core/labels.py's (a
measure's from core/glossary.py), in the reader's language. ``workflow`` goes last, after
the columns earlier exports had."""
SORTABLE = DETAIL_COLUMNS



@dataclass(frozen=True)
class Filters:
    """Multi-select filters (empty = all), and a trend period (grain, first day)."""

    station_group: tuple[str, ...] = ()
    package: tuple[str, ...] = ()
    type: tuple[str, ...] = ()
    function: tuple[str, ...] = ()
    reason: tuple[str, ...] = ()
    machine: tuple[str, ...] = ()
    workflow: tuple[str, ...] = ()
    period: tuple[str, date] | None = None

    def values(self, dim: str) -> tuple[str, ...]:
        return tuple(getattr(self, dim))


@dataclass(frozen=True)
class Selection:
    """A clicked pareto bar (dimension, value): narrows the detail list only."""

    dim: str
    value: str


def chart_items(frame: pd.DataFrame, dim: str, max_bars: int) -> pd.DataFrame:
    """A pareto frame cut to ``max_bars`` bars for a chart: the rest summed into one
    ``others (N)`` bar, so its cumulative % reaches 100 (the table keeps every item).
    Distinct counts (lots) cannot be summed: 'others' leaves them empty; its reject rate
    is that of its summed charged and move-in (``core.pareto.fold_others``)."""

    def rate(others: dict[str, Any]) -> None:
        if "reject_rate_pct" in frame:
            others["reject_rate_pct"] = float(_rate(pd.Series([others["charged"]]),
                                                    pd.Series([others["movein"]])).iloc[0])

    return fold_others(frame, dim, max_bars, sums=("charged", "defect", "movein"),
                       finish=rate)


def _rate(num: pd.Series, den: pd.Series) -> pd.Series:
    den_f = den.astype("float64")
    out = (num.astype("float64") / den_f.where(den_f != 0) * 100).fillna(0.0)
    return out.round(4)


def csv_name(start: date | None, end: date | None, label: str = "rejects") -> str:
    if start and end:
        return f"{label}_{start:%Y%m%d}-{end:%Y%m%d}.csv"
    return f"{label}.csv"
