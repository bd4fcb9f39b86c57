"""Hold history: loaded once per date range on the slow lane, spooled, sliced locally.

Why: the history table has ~311K rows in the real factory; a year of it is far more
containers than may ever be cached (settings.cache_max_ids), and re-querying the warehouse
on every filter click is what starved the live widgets in the incident. So a range is
read once, streamed in Arrow record batches from the slow lane into a Parquet spool with
the derived columns already computed (shift days, hold type, duration, bucket, open at
the as-of time), and only a small handle (``HoldHistory``) is cached. Every filter change
is a few DuckDB queries over that file in an in-memory DuckDB (a separate instance from
the warehouse), with bind parameters.

Definitions (domain.md "Holds"), for shift days ``start``..``end``:
- the window is [begin of start, end of end) in shift-day time (07:30 boundaries);
- rows loaded: holds placed before the window end and not released before its begin;
- as_of = min(window end, the caller's "now", usually the live snapshot's sys_date);
  a hold is *open* when it has no release before as_of; its duration is measured to
  as_of (age so far); a released hold's duration is release − hold;
- per shift day d: on hold at end of d = distinct lots with a hold placed before the end
  of d (or as_of, for a day in progress) and not released by then, their qty counting
  each lot once (the qty of its latest open hold); new = distinct lots held on d (the
  latest hold of a lot that day counts, with its qty); released = release events on d;
  future = holds placed on d carrying a future-hold comment, a repeat of the same lot and
  reason counted once;
- weeks and months sum the days' events and take on-hold at their last day; a period the
  range or as_of covers only in part is marked ``partial`` (``periods``).

Modules: load (the query, derived columns, the spool), view (``HistoryView``: local
slicing), report (periods and the report). This package keeps every name importable as
``core.holds.history.X``.
"""

from core.holds.history._load import (
    DEFAULT_DAYS,
    NO_REASON,
    RECORD_TYPE_LABELS,
    RECORD_TYPES,
    HoldHistory,
    as_of_for,
    history_query,
    history_window,
    load_history,
    spool_root,
)
from core.holds.history._report import GRAIN_LABELS, GRAINS, parse_grain, periods, report
from core.holds.history._view import DURATION_KINDS, HistoryFilter, HistoryView

__all__ = [
    "DEFAULT_DAYS",
    "DURATION_KINDS",
    "GRAINS",
    "GRAIN_LABELS",
    "NO_REASON",
    "RECORD_TYPES",
    "RECORD_TYPE_LABELS",
    "HistoryFilter",
    "HistoryView",
    "HoldHistory",
    "as_of_for",
    "history_query",
    "history_window",
    "load_history",
    "parse_grain",
    "periods",
    "report",
    "spool_root",
]
