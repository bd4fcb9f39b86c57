"""The reject Slicer: local questions over one prepared load, in its own DuckDB.

Why its own module: the slicing machinery (dense integer codes, the per-event table, the
short forms taken only when the loaded data allow them) is most of the reject measures'
code; core.rejects._measures keeps the vocabulary it answers in (dimensions, measures,
filters, detail columns) and the report helpers, core.rejects._records the per-record
rules. The design is in core.rejects._measures' docstring.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import InitVar, dataclass, field, replace
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.export import csv_bytes
from core.pareto import add_cumulative, rank, top80
from core.periods import GRAINS, coverage, period_end, period_label
from core.rejects._measures import (
    DETAIL_COLUMNS,
    DIMENSIONS,
    FILTER_DIMENSIONS,
    MEASURES,
    NONE_LABEL,
    PARETO_SOURCE,
    SORTABLE,
    Filters,
    Selection,
    _rate,
)
from core.rejects._policy import Policy
from core.rejects._records import machines

_PERIOD_SQL = {
    "day": "day",
    "week": "CAST(date_trunc('week', day) AS DATE)",
    "month": "CAST(date_trunc('month', day) AS DATE)",
}

_MAX_EVENT_BITS = 22
"""Largest event-id range (2^22 events) grouped with DuckDB's perfect hash aggregate."""
SLICER_THREADS = 1
"""DuckDB threads of a slicer. One: the server's few cores are shared with the live
widgets and other sessions, and on the 2-core machine under load one thread sliced
faster (365 days: ~190-230 ms per page rerun against ~330-360 ms with two)."""

_CODED = ("ev", "cid", "wo")
_KEEP = (
    *DETAIL_COLUMNS, "day", "excluded", "is_nnn", "is_xxx_zzz", "is_pb",
    "is_material",
)
_FILTER_COLUMN = {"machine": "machine_list_c"}
"""The coded column a filter reads, where it is not the dimension's own code: the machine
filter matches any machine a record lists (the pareto counts the first only)."""
_EVENT_PROPERTIES = (*DIMENSIONS, "machine_list", "day", "moveinqty", "is_material")
_BY_EVENT = frozenset(
    {*FILTER_DIMENSIONS, "machine_list", "day", "moveinqty", "is_material"} - {"reason"})
"""Properties that must never vary within an event for the per-event table (``e``)."""


@dataclass
class Slicer:
    """Local questions over one loaded (prepared) table; never touches the warehouse.
    Building one copies and codes the rows (once per load: keep it, do not rebuild it
    per page rerun); it keeps no reference to the Arrow table it was built from."""

    table: InitVar[pa.Table]
    threads: InitVar[int] = SLICER_THREADS
    """DuckDB threads while building (copying the rows, the per-event table); slices
    then run on SLICER_THREADS."""
    rows: int = field(default=0, init=False)
    memory_bytes: int = field(default=0, init=False)
    """What the slicer's DuckDB holds once built (its rows, the per-event table)."""
    _con: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _values: dict[str, list[str | None]] = field(default_factory=dict, init=False, repr=False)
    _codes: dict[str, dict[str, int]] = field(default_factory=dict, init=False, repr=False)
    _event_level: frozenset[str] = field(default=frozenset(), init=False, repr=False)
    _options: dict[str, list[str]] | None = field(default=None, init=False, repr=False)
    _by_event: bool = field(default=False, init=False, repr=False)
    _words: int = field(default=1, init=False, repr=False)
    _allowed: dict[tuple[Any, ...], list[int]] = field(
        default_factory=dict, init=False, repr=False)

    def __post_init__(self, table: pa.Table, threads: int) -> None:
        # Every key becomes a dense integer (one hash pass each): slices then group and
        # count integers, and the event id range lets DuckDB use a perfect hash table.
        t = table
        self.rows = t.num_rows
        cols: dict[str, Any] = {c: t[c] for c in dict.fromkeys(_KEEP)}
        for dim in DIMENSIONS:
            values, cols[f"{dim}_c"] = _encode(t[PARETO_SOURCE.get(dim, dim)],
                                               null_is_value=True)
            self._values[dim] = values.to_pylist()
            codes: dict[str, int] = {}
            for i, v in enumerate(self._values[dim]):
                codes.setdefault(NONE_LABEL if v is None else str(v), i)
            self._codes[dim] = codes
        values, cols["machine_list_c"] = _encode(t["machine"], null_is_value=True)
        self._values["machine_list"] = values.to_pylist()
        n_events = 0
        for key, col in zip(_CODED, ("event_key", "containerid", "workorder"), strict=True):
            values, cols[key] = _encode(t[col], null_is_value=False)
            if key == "ev":
                n_events = len(values)
        self._event_level, cols["er_first"] = self._properties_of_events(cols)
        self._con = duckdb.connect(config={"threads": max(1, int(threads))})
        # row order is never relied on (every listing sorts): a faster copy
        self._con.execute("SET preserve_insertion_order = false")
        bits = max(12, n_events.bit_length() + 1)
        if bits <= _MAX_EVENT_BITS:
            self._con.execute(f"SET perfect_ht_threshold = {int(bits)}")
        self._con.register("loaded", pa.table(cols))
        self._con.execute("CREATE TABLE r AS SELECT * FROM loaded")
        self._con.unregister("loaded")
        self._words = max(1, -(-len(self._values["reason"]) // 64))
        self._by_event = self._event_level >= _BY_EVENT
        if self._by_event:
            self._build_events()
        self._con.execute(f"SET threads = {int(SLICER_THREADS)}")
        self.memory_bytes = int(self._con.sql(
            "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()"
        ).fetchall()[0][0])

    def _build_events(self) -> None:
        """One row per event (its move-in, properties and the set of its reasons as a
        bitmask), and one row per reason (its policy flags): when every filter but the
        reason is a property of the event, an event is in a slice exactly when it passes
        the event filters and holds an allowed reason, so move-in needs no grouping by
        event per question."""
        dims = [d for d in FILTER_DIMENSIONS if d != "reason"]
        columns = dict.fromkeys([*(f"{d}_c" for d in dims), *_FILTER_COLUMN.values()])
        masks = ", ".join(
            f"coalesce(bit_or(CASE WHEN reason_c // 64 = {i}"
            f" THEN CAST(1 AS UBIGINT) << (reason_c % 64) END), 0) AS rmask{i}"
            for i in range(self._words)
        )
        self._con.execute(
            f"""
            CREATE TABLE e AS
            SELECT ev, max(moveinqty) AS m, any_value(day) AS day,
                   any_value(is_material) AS is_material, any_value(is_pb) AS is_pb,
                   any_value(package) AS package,
                   {", ".join(f"any_value({c}) AS {c}" for c in columns)}, {masks}
            FROM r GROUP BY ev
            """
        )
        self._con.execute(
            "CREATE TABLE rs AS SELECT reason_c, any_value(excluded) AS excluded,"
            " any_value(is_nnn) AS is_nnn, any_value(is_xxx_zzz) AS is_xxx_zzz"
            " FROM r GROUP BY reason_c"
        )

    @staticmethod
    def _properties_of_events(cols: dict[str, Any]) -> tuple[frozenset[str], np.ndarray]:
        """Which properties (dimensions, day) never vary within an event, and whether an
        event has at most one row per reason ('reason_rows'): checked once per load (rows
        sorted by event, neighbours compared), so a slice takes a short form exactly when
        the data allow it. Also a mark on one row of each (event, reason): the row that
        carries the event's move-in for a reason pareto (a reason booked on two records
        of one event counts its move-in once)."""

        def arr(name: str) -> np.ndarray:
            col = cols[name]
            return (col if isinstance(col, pa.ChunkedArray) else pa.chunked_array([col])).to_numpy()

        ev = arr("ev")
        order = np.argsort(ev, kind="stable")
        same = ev[order][1:] == ev[order][:-1]
        found = set()
        for name in _EVENT_PROPERTIES:
            v = arr(_col(name))[order]
            if not np.any(same & (v[1:] != v[:-1])):
                found.add(name)
        by_reason = np.lexsort((arr("reason_c"), ev))
        e, reason = ev[by_reason], arr("reason_c")[by_reason]
        repeat = (e[1:] == e[:-1]) & (reason[1:] == reason[:-1])
        if not np.any(repeat):
            found.add("reason_rows")
        first = np.ones(len(ev), dtype=bool)
        first[by_reason[1:]] = ~repeat
        return frozenset(found), first

    def close(self) -> None:
        self._con.close()

    def _q(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        with self._lock:
            return self._con.execute(sql, list(params)).df()

    def _label(self, dim: str, codes: pd.Series) -> pd.Series:
        labels = [NONE_LABEL if v is None else str(v) for v in self._values[dim]]
        return codes.map(lambda c: labels[int(c)])

    def _codes_of(self, dim: str, wanted: Sequence[str]) -> list[int]:
        if dim == "machine":  # a row may list several machines: any of them matches
            chosen = set(wanted)
            return [i for i, v in enumerate(self._values["machine_list"])
                    if chosen.intersection(machines(v))]
        codes = self._codes[dim]
        return [codes[v] for v in wanted if v in codes]

    # ---------------------------------------------------------------------------------------
    def where(
        self, policy: Policy, filters: Filters, selection: Selection | None = None
    ) -> tuple[str, list[object]]:
        preds, params = policy.sql_where(filters.package)
        self._filter_preds(filters, preds, params)
        if selection is not None and selection.dim in DIMENSIONS:
            preds.append(f"{selection.dim}_c = ?")
            params.append(self._codes[selection.dim].get(selection.value, -1))
        return (" AND ".join(preds) or "TRUE"), params

    def _event_where(self, policy: Policy, filters: Filters) -> tuple[str, list[object]]:
        """The predicate on ``e`` that keeps exactly the events with a row in the slice
        ``where(policy, filters)`` (per-event table only)."""
        reason_preds = policy.reason_where()
        key = (tuple(reason_preds), filters.reason)
        words = self._allowed.get(key)
        if words is None:  # the reasons the slice keeps, as bitmask words (a few kept)
            rparams: list[object] = []
            if filters.reason:
                reason_preds.append("list_contains(CAST(? AS INTEGER[]), reason_c)")
                rparams.append(self._codes_of("reason", filters.reason))
            allowed = self._q(
                f"SELECT reason_c FROM rs WHERE {' AND '.join(reason_preds) or 'TRUE'}", rparams
            )["reason_c"].tolist()
            words = [0] * self._words
            for code in allowed:
                words[int(code) // 64] |= 1 << (int(code) % 64)
            if len(self._allowed) >= 64:
                self._allowed.clear()
            self._allowed[key] = words
        preds, params = policy.container_where(filters.package)
        preds.append("(" + " OR ".join(
            f"(rmask{i} & CAST(? AS UBIGINT)) <> 0" for i in range(self._words)) + ")")
        params += list(words)
        self._filter_preds(filters, preds, params, skip=("reason",))
        return " AND ".join(preds), params

    def _filter_preds(self, filters: Filters, preds: list[str], params: list[object],
                      skip: tuple[str, ...] = ()) -> None:
        """Append the multi-select filters (as integer codes) and the period to a slice's
        predicates; ``skip`` names dimensions handled otherwise (the event's reason mask)."""
        for dim in FILTER_DIMENSIONS:
            vals = list(filters.values(dim))
            if vals and dim not in skip:
                column = _FILTER_COLUMN.get(dim, f"{dim}_c")
                preds.append(f"list_contains(CAST(? AS INTEGER[]), {column})")
                params.append(self._codes_of(dim, vals))
        if filters.period is not None:
            grain, start = filters.period
            preds.append("day BETWEEN ? AND ?")
            params += [start, period_end(grain, start)]

    def options(self) -> dict[str, list[str]]:
        """Every value each filter can take, from all loaded rows."""
        if self._options is None:
            out: dict[str, list[str]] = {}
            for dim in FILTER_DIMENSIONS:
                if dim == "machine":
                    out[dim] = sorted({m for v in self._values["machine_list"]
                                       for m in machines(v)})
                else:
                    out[dim] = sorted(self._codes[dim])
            self._options = out
        return {k: list(v) for k, v in self._options.items()}

    def kpis(self, policy: Policy, filters: Filters) -> dict[str, Any]:
        w, p = self.where(policy, filters)
        if self._by_event:
            we, pe = self._event_where(policy, filters)
            events = f"SELECT coalesce(sum(m), 0) AS m, count(*) AS n FROM e WHERE {we}"
            params = [*pe, *p]
        else:
            events = f"""SELECT coalesce(sum(m), 0) AS m, count(*) AS n
                FROM (SELECT max(moveinqty) AS m FROM r WHERE {w} GROUP BY ev)"""
            params = [*p, *p]
        df = self._q(
            f"""
            WITH x AS ({events})
            SELECT coalesce(sum(charged), 0) AS charged,
                   coalesce(sum(defectqty), 0) AS defect,
                   (SELECT m FROM x) AS movein,
                   count(DISTINCT cid) AS lots,
                   count(DISTINCT wo) AS workorders,
                   (SELECT n FROM x) AS events,
                   count(*) AS rows
            FROM r WHERE {w}
            """,
            params,
        )
        row = df.iloc[0]
        charged, defect, movein = int(row.charged), int(row.defect), int(row.movein)
        total = charged + defect
        return {
            "charged": charged,
            "defect": defect,
            "total": total,
            "charged_share_pct": round(charged / total * 100, 4) if total else 0.0,
            "movein": movein,
            "reject_rate_pct": round(charged / movein * 100, 4) if movein else 0.0,
            "defect_rate_pct": round(defect / movein * 100, 4) if movein else 0.0,
            "lots": int(row.lots),
            "workorders": int(row.workorders),
            "events": int(row.events),
            "rows": int(row.rows),
        }

    def _by_item(self, prop: str, item: str, policy: Policy, filters: Filters, *,
                 lots: bool = True) -> pd.DataFrame:
        """charged, defect, move-in (each event once per item) and distinct lots per value
        of ``item`` (an expression over the property ``prop``) in the slice."""
        w, p = self.where(policy, filters)
        if self._by_event and prop != "reason":
            # move-in from the per-event table, the rest from the rows
            we, pe = self._event_where(policy, filters)
            lots_sql = ", count(DISTINCT cid) AS lots" if lots else ""
            return self._q(f"""
                WITH m AS (SELECT {item} AS item, sum(m) AS movein FROM e WHERE {we}
                           GROUP BY item)
                SELECT g.item, g.charged, g.defect, coalesce(m.movein, 0) AS movein
                       {", g.lots" if lots else ""}
                FROM (SELECT {item} AS item, sum(charged) AS charged,
                             sum(defectqty) AS defect{lots_sql}
                      FROM r WHERE {w} GROUP BY item) g
                LEFT JOIN m USING (item)""", [*pe, *p])
        if prop == "reason" and (self._by_event or "reason_rows" in self._event_level):
            # No event step: each (event, reason) counts the move-in of its marked row.
            # Exact when the rows of one (event, reason) are all in a slice or none: each
            # is one row ('reason_rows'), or every filter but the reason is a property of
            # the event, move-in included (the per-event table's condition).
            lots_sql = ", count(DISTINCT cid) AS lots" if lots else ""
            return self._q(f"""
                SELECT {item} AS item, sum(charged) AS charged, sum(defectqty) AS defect,
                       coalesce(sum(moveinqty) FILTER (WHERE er_first), 0) AS movein{lots_sql}
                FROM r WHERE {w} GROUP BY item""", p)
        if prop in self._event_level:
            # the item is a property of the event: group by event (perfect hash), then item
            events = f"""
                SELECT ev, any_value({item}) AS item, sum(charged) AS charged,
                       sum(defectqty) AS defect, max(moveinqty) AS m
                FROM r WHERE {w} GROUP BY ev"""
        else:  # the general form
            events = f"""
                SELECT {item} AS item, ev, sum(charged) AS charged, sum(defectqty) AS defect,
                       max(moveinqty) AS m
                FROM r WHERE {w} GROUP BY item, ev"""
        totals = f"""
            SELECT item, sum(charged) AS charged, sum(defect) AS defect,
                   coalesce(sum(m), 0) AS movein
            FROM ({events}) GROUP BY item"""
        if not lots:
            return self._q(totals, p)
        return self._q(f"""
            SELECT t.*, l.lots FROM ({totals}) t
            JOIN (SELECT {item} AS item, count(DISTINCT cid) AS lots
                  FROM r WHERE {w} GROUP BY item) l USING (item)""", [*p, *p])

    def trend(self, policy: Policy, filters: Filters, grain: str = "day",
              span: tuple[date, date] | None = None) -> pd.DataFrame:
        """Charged and uncharged per period (the period filter itself is not applied,
        so the chart keeps showing every period and the chosen one can be changed), with
        how many of each period's days the loaded range ``span`` covers (``days``,
        ``period_days``, ``partial``, ``coverage`` = 'partial (4 of 31 days)' or '';
        ``core.periods``). ``span`` None (a container list: no range) cuts no period."""
        if grain not in GRAINS:
            raise ValueError(f"grain must be one of {GRAINS}")
        df = self._by_item("day", _PERIOD_SQL[grain], policy, replace(filters, period=None),
                           lots=False)
        df = df.rename(columns={"item": "period"}).sort_values("period")
        df["period"] = pd.to_datetime(df["period"]).dt.date
        df["label"] = [period_label(grain, d) for d in df["period"]]
        for col in ("charged", "defect", "movein"):
            df[col] = df[col].astype("int64")
        df["reject_rate_pct"] = _rate(df["charged"], df["movein"])
        df["defect_rate_pct"] = _rate(df["defect"], df["movein"])
        cover = [coverage(grain, d, span) for d in df["period"]]
        df["days"] = pd.Series([c.days for c in cover], index=df.index, dtype="int64")
        df["period_days"] = pd.Series([c.period_days for c in cover], index=df.index,
                                      dtype="int64")
        df["partial"] = pd.Series([c.partial for c in cover], index=df.index, dtype="bool")
        df["coverage"] = pd.Series([c.note() for c in cover], index=df.index, dtype="object")
        return df[["period", "label", "charged", "defect", "movein", "reject_rate_pct",
                   "defect_rate_pct", "days", "period_days", "partial",
                   "coverage"]].reset_index(drop=True)

    def pareto(
        self, policy: Policy, filters: Filters, dim: str = "reason", measure: str = "charged",
        *, only_top80: bool = False,
    ) -> pd.DataFrame:
        """Items of ``dim`` sorted by ``measure`` descending, with share and cumulative %."""
        if dim not in DIMENSIONS or measure not in MEASURES:
            raise ValueError(f"unknown pareto {dim!r} by {measure!r}")
        df = self._by_item(dim, f"{dim}_c", policy, filters)
        key = "charged" if measure == "charged" else "defect"
        df[dim] = self._label(dim, df.pop("item"))
        for col in ("charged", "defect", "movein", "lots"):
            df[col] = df[col].astype("int64")
        df = rank(df[df[key] > 0], key, dim)
        df = df[[dim, "charged", "defect", "movein", "lots"]].reset_index(drop=True)
        df = add_cumulative(df, key)
        df["reject_rate_pct"] = _rate(df["charged"], df["movein"])
        return top80(df) if only_top80 else df

    def detail(
        self, policy: Policy, filters: Filters, selection: Selection | None = None, *,
        sort: str = "txndate", descending: bool = True, page: int = 1, page_size: int = 50,
    ) -> tuple[pd.DataFrame, int]:
        """One page of the filtered rows (sorted) and the number of rows in all."""
        if sort not in SORTABLE:
            sort = "txndate"
        w, p = self.where(policy, filters, selection)
        total = int(self._q(f"SELECT count(*) n FROM r WHERE {w}", p)["n"].iloc[0])
        page = min(max(1, page), max(1, -(-total // max(1, page_size))))  # a link's page
        cols = ", ".join(DETAIL_COLUMNS)
        df = self._q(
            f"SELECT {cols} FROM r WHERE {w} ORDER BY {sort} {'DESC' if descending else 'ASC'}"
            f" NULLS LAST, txndate, lot, reason LIMIT ? OFFSET ?",
            [*p, int(page_size), int((page - 1) * page_size)],
        )
        return df, total

    def csv_bytes(
        self, policy: Policy, filters: Filters, selection: Selection | None = None, *,
        raw_headers: bool = False,
    ) -> bytes:
        """The full filtered set as CSV: header row, UTF-8 with BOM (Excel opens it); the
        headers are the columns' labels (core.labels, the current language) unless
        ``raw_headers`` (settings.csv_headers == "names", the CLI's --raw-headers)."""
        w, p = self.where(policy, filters, selection)
        cols = ", ".join(DETAIL_COLUMNS)
        with self._lock:
            table = self._con.sql(
                f"SELECT {cols} FROM r WHERE {w} ORDER BY txndate, lot, reason", params=p
            ).to_arrow_table()
        return csv_bytes(table, raw_headers=raw_headers)


def _encode(col: Any, *, null_is_value: bool) -> tuple[pa.Array, pa.ChunkedArray]:
    """The distinct values of a column and each row's index into them, in one hash pass
    (Arrow gives every chunk the same, final dictionary). A null row is a value of its
    own when ``null_is_value``, else a null index."""
    encoded = pc.dictionary_encode(col, null_encoding="encode" if null_is_value else "mask")
    chunks = encoded.chunks if isinstance(encoded, pa.ChunkedArray) else [encoded]
    if not chunks:
        return pa.array([], col.type), pa.chunked_array([], pa.int32())
    return chunks[-1].dictionary, pa.chunked_array([c.indices for c in chunks], pa.int32())


def _col(name: str) -> str:
    """The Slicer column holding a property: the code of a dimension, else itself."""
    return f"{name}_c" if name in (*DIMENSIONS, "machine_list") else name
