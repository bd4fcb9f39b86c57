"""The quantity that entered a step, defined once (shared/schema.md, dw_mes_lotwiphistory).

Why: a partial track-out writes several wip-history rows for one track-in, each carrying
what was still in the lot at that moment (a track-in of 1000 tracked out in three parts:
trackinqty 1000, 600, 200). The last row's trackinqty (200) is not what entered the
step; the largest one (1000) is. Reading any one row, or summing them, is wrong.

Rule: rows sharing ``TRACK_IN_KEY`` (containerid, specname, trackintimestamp) are one
track-in; the quantity that entered the step is ``max(trackinqty)`` over them (null only
when every row's trackinqty is null). Every form below is generated from these two
constants:
- ``entered_window_sql()``: DuckDB/standard SQL window expression, one value per row;
- ``entered_grouped_sql(source)``: one row per track-in (the key columns + ``entered_qty``);
- ``entered_qty(table)``: the same per row as an Arrow array (for Arrow-only shaping).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TRACK_IN_KEY = ("containerid", "specname", "trackintimestamp")
QTY_COLUMN = "trackinqty"
ENTERED = "entered_qty"


def entered_window_sql(qty: str = QTY_COLUMN) -> str:
    """``max(trackinqty) OVER (PARTITION BY <track-in key>)`` (fixed text, no input)."""
    return f"max({qty}) OVER (PARTITION BY {', '.join(TRACK_IN_KEY)})"


def entered_grouped_sql(source: str, *, extra: tuple[str, ...] = ()) -> str:
    """One row per track-in of relation ``source``: the key, ``extra`` columns (their
    min: the rows of one track-in share them) and ``entered_qty``. ``source`` and
    ``extra`` are fixed names from the caller's code, never user input."""
    keys = ", ".join(TRACK_IN_KEY)
    more = "".join(f", min({c}) AS {c}" for c in extra)
    return (f"SELECT {keys}{more}, max({QTY_COLUMN}) AS {ENTERED} "
            f"FROM {source} GROUP BY {keys}")


def entered_qty(table: pa.Table, *, grouped_in_order: bool = False) -> pa.Array:
    """Per row of ``table``, the quantity that entered its step (int64, null where every
    row of the track-in has a null trackinqty). ``grouped_in_order``: the rows of each
    track-in are already adjacent (the caller sorted by a key that starts with the
    track-in key's columns), so no sort is needed here."""
    n = table.num_rows
    if n == 0:
        return pa.array([], pa.int64())
    if grouped_in_order:
        order = np.arange(n)
        keyed = table.select(list(TRACK_IN_KEY))
    else:
        order = pc.sort_indices(
            table, sort_keys=[(k, "ascending", "at_end") for k in TRACK_IN_KEY]
        ).to_numpy()
        keyed = table.select(list(TRACK_IN_KEY)).take(pa.array(order))
    starts = np.zeros(n, dtype=bool)
    starts[0] = True
    for key in TRACK_IN_KEY:  # a new track-in where any key differs (nulls equal nulls)
        col = keyed[key]
        a, b = col.slice(1), col.slice(0, n - 1)
        differ = pc.fill_null(pc.not_equal(a, b), True)
        both_null = pc.and_(pc.is_null(a), pc.is_null(b))
        starts[1:] |= pc.and_not(differ, both_null).to_numpy(zero_copy_only=False)
    qty = table[QTY_COLUMN].cast(pa.int64())
    values = pc.fill_null(qty, -1).to_numpy()[order]  # -1: null (quantities are >= 0)
    first = np.flatnonzero(starts)
    group_max = np.maximum.reduceat(values, first)
    per_sorted = np.repeat(group_max, np.diff(np.append(first, n)))
    out = np.empty(n, dtype=np.int64)
    out[order] = per_sorted
    return pa.array(out, pa.int64(), mask=out < 0)
