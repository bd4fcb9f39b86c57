"""Arrow-native shaping of the big trace domains (history, materials), batch by batch.

Why: shaping runs once per IN-list batch in the slow lane's workers, ~115 times for the
incident's 114K containers. A DuckDB statement over each batch costs ~8 ms in Arrow
import/export alone before any work (~30 ms in all for the history dedup), which made
shaping cost more than fetching. Arrow compute kernels work on the batch in place, mostly
without the GIL, in about a fifth of that time.

Design: two pure functions over a ``pa.Table`` (thread-safe, no state):
- ``history_shape``: one row per lot / machine / step / track-in, keeping the latest
  track-out (then the larger track-out qty; nulls last), ordered by lot, track-in, step;
  with the station group and its order looked up from core.stations' map. Its
  ``trackinqty`` is the quantity that entered the step (core.stepqty: the largest of the
  track-in's rows; a partial track-out's later rows carry only what was left).
- ``sorted_by``: a stable sort (materials: by lot, time, part).
The result schema does not depend on the data, so an empty batch shapes to the same
columns as a full one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.stepqty import QTY_COLUMN, entered_qty

HISTORY_KEY = ("containerid", "equipmentid", "specname", "trackintimestamp")
"""One pass of a lot on a machine at a step (shared/domain.md: wip history dedup)."""

HISTORY_COLUMNS = (
    "containerid", "workcentername", "station_group", "station_seq", "specname",
    "equipmentid", "equipmentname", "trackintimestamp", "trackouttimestamp", "trackinqty",
    "trackoutqty", "finishedruncard", "pj_workorder",
)


def _group_starts(table: pa.Table, keys: Sequence[str]) -> np.ndarray:
    """True where a row's ``keys`` differ from the row before (nulls equal to nulls):
    on a table sorted by ``keys``, the first row of each group."""
    n = table.num_rows
    starts = np.zeros(n, dtype=bool)
    if n == 0:
        return starts
    starts[0] = True
    for key in keys:
        col = table[key]
        a, b = col.slice(1), col.slice(0, n - 1)
        differ = pc.fill_null(pc.not_equal(a, b), True)
        both_null = pc.and_(pc.is_null(a), pc.is_null(b))
        starts[1:] |= pc.and_not(differ, both_null).to_numpy(zero_copy_only=False)
    return starts


def history_shape(batch: pa.Table, station_map: pa.Table) -> pa.Table:
    """Dedup one history batch and add ``station_group`` / ``station_seq``.

    ``station_map`` has columns work_center, station_group, group_seq (core.stations).
    """
    order = pc.sort_indices(
        batch,
        sort_keys=[
            ("containerid", "ascending", "at_end"),
            ("trackintimestamp", "ascending", "at_end"),
            ("specname", "ascending", "at_end"),
            ("equipmentid", "ascending", "at_end"),
            ("trackouttimestamp", "descending", "at_end"),
            ("trackoutqty", "descending", "at_end"),
        ],
    )
    # the dedup decision needs only the key columns in order; the whole batch is then
    # taken once, kept rows only (one materialization of the wide table instead of two)
    keys = batch.select([*HISTORY_KEY, QTY_COLUMN]).take(order)
    starts = pa.array(_group_starts(keys, HISTORY_KEY))
    kept = batch.take(order.filter(starts))
    # sorted by lot, track-in, step first: each track-in's rows are adjacent
    entered = pc.filter(entered_qty(keys, grouped_in_order=True), starts)
    where = pc.index_in(kept["workcentername"], value_set=station_map["work_center"])
    group = pc.take(station_map["station_group"], where)
    seq = pc.take(station_map["group_seq"], where)
    columns = {
        QTY_COLUMN: entered.cast(kept.schema.field(QTY_COLUMN).type),
        "station_group": group.cast(pa.string()),
        "station_seq": seq.cast(pa.int64()) if seq.type != pa.null() else seq,
    }
    return pa.table({c: columns[c] if c in columns else kept[c] for c in HISTORY_COLUMNS})


def sorted_by(batch: pa.Table, keys: Sequence[str]) -> pa.Table:
    """``batch`` sorted by ``keys`` ascending, nulls last (stable)."""
    return batch.take(
        pc.sort_indices(batch, sort_keys=[(k, "ascending", "at_end") for k in keys])
    )
