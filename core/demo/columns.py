"""Vectorised column builders: hex ids, coded text, timestamps, Arrow tables.

Why: the event tables reach millions of rows, so no value is formatted in a Python loop.
Generators work on integer codes and float hours; these helpers turn them into Arrow
columns (ids as 16-character upper-case hex, text by taking from a small vocabulary,
hours since the start of the data as whole-second timestamps) and assemble tables in
the exact column order of core.schema, which the DuckDB and COPY writers rely on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pyarrow as pa
from sqlalchemy import DateTime, Integer, Numeric, Table

_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)


class IdMaker:
    """Unique 16-character hex ids, drawn from one generator (deterministic)."""

    def __init__(self, rng: np.random.Generator):
        self._rng = rng
        self._used = np.zeros(0, dtype=np.uint64)

    def draw(self, n: int) -> np.ndarray:
        """``n`` new ids, unique among every id this maker has produced (numpy str)."""
        vals = self._rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)
        while True:
            allv = np.concatenate([self._used, vals])
            uniq, first = np.unique(allv, return_index=True)
            if len(uniq) == len(allv):
                break
            dup = np.ones(len(allv), dtype=bool)
            dup[first] = False
            dup = dup[len(self._used):]
            vals[dup] = self._rng.integers(
                0, 2**64 - 1, size=int(dup.sum()), dtype=np.uint64, endpoint=True
            )
        self._used = np.concatenate([self._used, vals])
        return to_hex(vals)


def to_hex(vals: np.ndarray) -> np.ndarray:
    """uint64 values → '0123ABCD...' strings of 16 characters."""
    b = vals.astype(">u8").view(np.uint8).reshape(-1, 8)
    nib = np.empty((len(vals), 16), dtype=np.uint8)
    nib[:, 0::2] = _HEX[b >> 4]
    nib[:, 1::2] = _HEX[b & 15]
    return nib.view("S16").ravel().astype("U16")


def take(vocab: Sequence[str | None] | pa.Array, codes: np.ndarray) -> pa.Array:
    """Text column: ``vocab[code]``, null where code < 0."""
    arr = vocab if isinstance(vocab, pa.Array) else pa.array(list(vocab), pa.string())
    codes = np.asarray(codes, dtype=np.int64)
    idx = pa.array(codes, mask=codes < 0)
    return arr.take(idx)


def strings(values: np.ndarray | Sequence[str | None]) -> pa.Array:
    return pa.array(values, pa.string())


class Clock:
    """Float hours since ``start`` (the first day of data) → whole-second timestamps."""

    def __init__(self, start: datetime):
        self.start = start
        self._base = np.datetime64(start.replace(microsecond=0), "s")

    def seconds(self, hours: np.ndarray) -> np.ndarray:
        return np.rint(np.asarray(hours, dtype=np.float64) * 3600.0).astype(np.int64)

    def ts(self, hours: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
        vals = self._base + self.seconds(hours).astype("timedelta64[s]")
        arr = pa.array(vals, type=pa.timestamp("s"), mask=null)
        return arr.cast(pa.timestamp("us"))


def ints(values: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), type=pa.int64(), mask=null)


def nums(values: np.ndarray, decimals: int = 3, null: np.ndarray | None = None) -> pa.Array:
    """Numeric(18, 6) columns travel as doubles rounded well inside 6 decimals, so every
    backend stores the same decimal value."""
    return pa.array(np.round(np.asarray(values, dtype=np.float64), decimals), mask=null)


def arrow_table(table: Table, columns: dict[str, pa.Array | np.ndarray | list]) -> pa.Table:
    """The columns in the schema's order, typed by the schema; missing columns are null."""
    n = None
    for v in columns.values():
        n = len(v)
        break
    arrays: list[pa.Array] = []
    for col in table.columns:
        kind = col.type
        if isinstance(kind, DateTime):
            typ = pa.timestamp("us")
        elif isinstance(kind, Integer):
            typ = pa.int64()
        elif isinstance(kind, Numeric):
            typ = pa.float64()
        else:
            typ = pa.string()
        v = columns.get(col.name)
        if v is None:
            arrays.append(pa.nulls(n or 0, typ))
            continue
        arr = v if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(v, typ)
        if arr.type != typ:
            arr = arr.cast(typ)
        arrays.append(arr)
    unknown = set(columns) - {c.name for c in table.columns}
    if unknown:
        raise KeyError(f"{table.name}: no such columns {sorted(unknown)}")
    return pa.Table.from_arrays(arrays, names=[c.name for c in table.columns])
