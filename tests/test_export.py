"""CSV downloads: Excel's UTF-8 mark, a plain header, values that survive the round trip
(commas, quotes, line breaks, Chinese names, nulls), timestamps to the second with a
fraction only where there is one; the same bytes from Arrow, pandas and a batch stream."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa

from core.export import BOM, csv_bytes, write_csv_file

TABLE = pa.table({
    "time": pa.array([dt.datetime(2026, 10, 1, 0, 0, 31),
                      dt.datetime(2026, 3, 1, 11, 0, 0, 300000), None], pa.timestamp("us")),
    "lot, name": ["GA1,A", 'say "x"\nnext', None],
    "amount": pa.array([1, None, 3], pa.int64()),
    "工作站": ["焊接_DB", "切割", ""],
})


def _rows(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM) and not data.startswith(BOM * 2)
    return list(csv.reader(io.StringIO(data[len(BOM):].decode("utf-8"), newline="")))


def test_values_survive_the_round_trip() -> None:
    data = csv_bytes(TABLE)
    assert data[len(BOM):].startswith('time,"lot, name",amount,工作站\n'.encode())
    assert _rows(data) == [
        ["time", "lot, name", "amount", "工作站"],
        ["2026-10-01 00:00:31", "GA1,A", "1", "焊接_DB"],
        ["2026-03-01 11:00:00.300000", 'say "x"\nnext', "", "切割"],
        ["", "", "3", ""],
    ]
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert back["lot, name"].tolist()[:2] == ["GA1,A", 'say "x"\nnext']


def test_pandas_and_a_batch_stream_write_the_same_bytes(tmp_path: Path) -> None:
    expected = csv_bytes(TABLE)
    assert csv_bytes(TABLE.to_pandas()) == expected
    path = write_csv_file(iter(TABLE.to_batches(max_chunksize=1)), TABLE.schema,
                          tmp_path / "x.csv")
    assert path.read_bytes() == expected


def test_an_empty_table_is_a_header_row() -> None:
    assert _rows(csv_bytes(TABLE.slice(0, 0))) == [["time", "lot, name", "amount", "工作站"]]


def test_a_frame_column_of_mixed_types_is_written_as_text() -> None:
    df = pd.DataFrame({"v": [1, "two", None, 3.5], "n": [1, 2, 3, 4]})
    assert _rows(csv_bytes(df)) == [["v", "n"], ["1", "1"], ["two", "2"], ["", "3"],
                                    ["3.5", "4"]]


def test_list_and_dictionary_columns_are_written_as_text() -> None:
    t = pa.table({"machines": pa.array([["DB-01", "DB-02"], None], pa.list_(pa.string())),
                  "pkg": pa.array(["SOT-23", None]).dictionary_encode()})
    assert _rows(csv_bytes(t)) == [["machines", "pkg"], ["['DB-01', 'DB-02']", "SOT-23"],
                                   ["", ""]]


def test_headers_are_labels_unless_raw_headers() -> None:
    """Registered columns are written with their labels (core.labels) in the current
    language; raw_headers keeps the machine names for scripts."""
    from core import i18n

    table = pa.table({"lotid": ["A"], "qty": [3], "unregistered_x": [1]})
    assert _rows(csv_bytes(table))[0] == ["LOT ID", "Qty", "unregistered_x"]
    assert _rows(csv_bytes(table, raw_headers=True))[0] == ["lotid", "qty", "unregistered_x"]
    token = i18n._current.set("zh-TW")
    try:
        zh = _rows(csv_bytes(table))[0]
    finally:
        i18n._current.reset(token)
    assert zh[0] == "LOT ID" and zh[2] == "unregistered_x"
