"""Arrow shaping of trace batches (core.trace._shaping): known answers on hand-built rows."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from core.trace._shaping import HISTORY_COLUMNS, history_shape, sorted_by

T = datetime(2026, 11, 1, 8, 0)
LATER = datetime(2026, 11, 1, 9, 0)
LATEST = datetime(2026, 11, 1, 10, 0)

STATIONS = pa.table({
    "work_center": pa.array(["DB", "WB"]),
    "station_group": pa.array(["DIE BOND", "WIRE BOND"]),
    "group_seq": pa.array([10, 20], pa.int64()),
})


def _history(rows: list[tuple]) -> pa.Table:  # type: ignore[type-arg]
    cols = ("containerid", "workcentername", "specname", "equipmentid", "equipmentname",
            "trackintimestamp", "trackouttimestamp", "trackinqty", "trackoutqty",
            "finishedruncard", "pj_workorder")
    types = (pa.string(), pa.string(), pa.string(), pa.string(), pa.string(),
             pa.timestamp("us"), pa.timestamp("us"), pa.int64(), pa.int64(), pa.string(),
             pa.string())
    return pa.table({c: pa.array([r[i] for r in rows], t)
                     for i, (c, t) in enumerate(zip(cols, types, strict=True))})


def test_history_keeps_the_latest_track_out_of_each_pass() -> None:
    batch = _history([
        # lot B first in the batch: output is ordered by lot, track-in, step
        ("B", "WB", "S2", "M2", "WB-01", T, LATER, 100, 100, None, "GA1"),
        # lot A, one pass on M1 at S1 reported three times: partial, running, latest
        ("A", "DB", "S1", "M1", "DB-01", T, LATER, 100, 40, None, "GA1"),
        ("A", "DB", "S1", "M1", "DB-01", T, None, 100, None, None, "GA1"),
        ("A", "DB", "S1", "M1", "DB-01", T, LATEST, 100, 95, None, "GA1"),
        # same track-out twice: the larger quantity wins
        ("A", "WB", "S2", "M2", "WB-01", LATER, LATEST, 95, 90, None, "GA1"),
        ("A", "WB", "S2", "M2", "WB-01", LATER, LATEST, 95, 93, None, "GA1"),
        # still running: kept when no row of the pass was tracked out
        ("A", "XX", "S3", None, None, LATEST, None, 93, None, None, "GA1"),
    ])
    out = history_shape(batch, STATIONS)
    assert out.column_names == list(HISTORY_COLUMNS)
    got = [(r["containerid"], r["specname"], r["trackoutqty"], r["station_group"],
            r["station_seq"]) for r in out.to_pylist()]
    assert got == [
        ("A", "S1", 95, "DIE BOND", 10),
        ("A", "S2", 93, "WIRE BOND", 20),
        ("A", "S3", None, None, None),  # unmapped workcenter: no group, not dropped
        ("B", "S2", 100, "WIRE BOND", 20),
    ]


def test_null_keys_are_one_pass_and_distinct_machines_are_two() -> None:
    batch = _history([
        ("A", "DB", None, None, None, T, LATER, 10, 9, None, None),
        ("A", "DB", None, None, None, T, LATEST, 10, 8, None, None),
        ("A", "DB", "S1", "M1", None, T, LATER, 10, 9, None, None),
        ("A", "DB", "S1", "M9", None, T, LATER, 10, 9, None, None),
    ])
    out = history_shape(batch, STATIONS)
    assert out.num_rows == 3
    null_pass = [r for r in out.to_pylist() if r["equipmentid"] is None]
    assert [r["trackouttimestamp"] for r in null_pass] == [LATEST]


def test_empty_batch_keeps_the_schema() -> None:
    out = history_shape(_history([]), STATIONS)
    assert out.num_rows == 0
    assert out.schema.field("station_seq").type == pa.int64()
    assert out.schema.field("station_group").type == pa.string()


def test_sorted_by_orders_with_nulls_last() -> None:
    t = pa.table({"a": ["b", None, "a", "a"], "n": [1, 2, 3, 0]})
    assert sorted_by(t, ("a", "n")).to_pydict() == {"a": ["a", "a", "b", None],
                                                    "n": [0, 3, 1, 2]}
