"""Hold history, slicer: DuckDB in memory over one loaded range's spool.

Why its own module: every filter change is a few local queries with bind parameters over
the spool the load wrote (core.holds.history._load); nothing here reads the warehouse.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pyarrow as pa

from core.holds._classify import (
    ALL,
    shift_day_bounds,
)
from core.i18n import N_
from core.pareto import cumulative_in_order, rank

if TYPE_CHECKING:  # pragma: no cover
    pass

from core.holds.history._load import RECORD_TYPES, HoldHistory

# ---------------------------------------------------------------------------------------------
# slicing: DuckDB in memory over the spool
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryFilter:
    """Filters of the history view. ``day``/``buckets``/``record_type`` shape the list."""

    hold_type: str = ALL
    reasons: tuple[str, ...] = ()
    record_type: str = "new"
    day: date | None = None
    buckets: tuple[str, ...] = ()


_DB: duckdb.DuckDBPyConnection | None = None
_DB_LOCK = threading.Lock()


def _local_db() -> duckdb.DuckDBPyConnection:
    """The process's in-memory DuckDB for slicing spools (holds no data of its own)."""
    global _DB
    with _DB_LOCK:
        if _DB is None:
            _DB = duckdb.connect(config={"threads": 1})
        return _DB


DURATION_KINDS = {"released": N_("Released"), "open": N_("Still open")}  # shown with _()
"""The ``kind`` of a duration bucket row: released in the range or still open at as_of."""


class HistoryView:
    """Queries over one loaded range; open it per use (``with HistoryView(h) as v``)."""

    def __init__(self, history: HoldHistory) -> None:
        if not history.exists():
            raise FileNotFoundError(history.path)
        self.h = history
        # A cursor on the process's empty in-memory DuckDB (opening an instance costs tens
        # of ms); the spool is read once into a TEMP table private to this cursor, so
        # nothing outlives the view but the spool file itself.
        self.con = _local_db().cursor()
        self.con.execute("CREATE TEMP TABLE h_all AS SELECT * FROM read_parquet($p)",
                         {"p": history.path})

    def __enter__(self) -> HistoryView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    # --- helpers -------------------------------------------------------------------------
    def _params(self, f: HistoryFilter, **extra: Any) -> dict[str, Any]:
        return {"ht": f.hold_type, "reasons": list(f.reasons), "start": self.h.start,
                "end": self.h.end, **extra}

    _BASE = (
        "h AS (SELECT * FROM h_all WHERE ($ht = 'all' OR hold_type = $ht) "
        "AND (len($reasons) = 0 OR list_contains($reasons, reason)))"
    )
    _NEW = (
        "n AS (SELECT * FROM h WHERE hold_day BETWEEN $start AND $end "
        "QUALIFY row_number() OVER (PARTITION BY containerid, hold_day "
        "ORDER BY holdtxndate DESC, releasetxndate DESC NULLS FIRST) = 1)"
    )
    _REL = "r AS (SELECT * FROM h WHERE NOT is_open AND release_day BETWEEN $start AND $end)"

    @staticmethod
    def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
        # DuckDB refuses named parameters the statement does not use.
        names = set(re.findall(r"\$([a-z_]+)", sql))
        return {k: v for k, v in params.items() if k in names}

    def _df(self, sql: str, params: dict[str, Any]) -> pd.DataFrame:
        return self.con.execute(sql, self._used(sql, params)).df()

    def _row(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...]:
        # fetchall, never fetchone: an unfinished result blocks the connection (duckdb 2)
        rows = self.con.execute(sql, self._used(sql, params)).fetchall()
        return tuple(rows[0]) if rows else ()

    # --- views ---------------------------------------------------------------------------
    def trend(self, f: HistoryFilter, grain: str = "day") -> pd.DataFrame:
        """Per period (shift day, week or month): on_hold_end(_qty), new(_qty),
        released(_qty), future, with ``partial`` marking a period the range or the as-of
        time covers only in part (see ``periods``)."""
        from core.holds.history._report import periods  # the report imports this module

        return periods(self._daily(f), self.h, grain)

    def _daily(self, f: HistoryFilter) -> pd.DataFrame:
        # "on hold at the end of d" is measured at min(end of d, as_of): a day still in
        # progress shows what is on hold at the as-of time, not releases yet to come.
        days = pa.table({
            "day": pa.array(list(self.h.days), pa.date32()),
            "day_end": pa.array(
                [min(shift_day_bounds(d, self.h.shift_minutes)[1], self.h.as_of)
                 for d in self.h.days],
                pa.timestamp("us")),
        })
        self.con.register("days", days)
        try:
            sql = f"""
            WITH {self._BASE}, {self._NEW}, {self._REL},
            iv AS (SELECT containerid, qty, holdtxndate,
                          coalesce(releasetxndate, TIMESTAMP '9999-12-31') AS rel_end FROM h),
            ol AS (SELECT d.day, iv.containerid,
                          first(iv.qty ORDER BY iv.holdtxndate DESC, iv.qty DESC) AS qty
                   FROM days d JOIN iv ON iv.holdtxndate < d.day_end
                    AND iv.rel_end >= d.day_end
                   GROUP BY d.day, iv.containerid),
            oh AS (SELECT day, count(*) AS on_hold_end, sum(qty) AS on_hold_end_qty
                   FROM ol GROUP BY day),
            nn AS (SELECT hold_day AS day, count(*) AS new, sum(qty) AS new_qty
                   FROM n GROUP BY 1),
            rr AS (SELECT release_day AS day, count(*) AS released,
                          sum(qty) AS released_qty FROM r GROUP BY 1),
            ff AS (SELECT day, count(*) AS future FROM
                     (SELECT DISTINCT hold_day AS day, containerid, reason FROM h
                      WHERE future AND hold_day BETWEEN $start AND $end) GROUP BY 1)
            SELECT d.day,
                   coalesce(oh.on_hold_end, 0) AS on_hold_end,
                   coalesce(oh.on_hold_end_qty, 0) AS on_hold_end_qty,
                   coalesce(nn.new, 0) AS new, coalesce(nn.new_qty, 0) AS new_qty,
                   coalesce(rr.released, 0) AS released,
                   coalesce(rr.released_qty, 0) AS released_qty,
                   coalesce(ff.future, 0) AS future
            FROM days d LEFT JOIN oh USING (day) LEFT JOIN nn USING (day)
                 LEFT JOIN rr USING (day) LEFT JOIN ff USING (day)
            ORDER BY d.day
            """
            df = self._df(sql, self._params(f))
        finally:
            self.con.unregister("days")
        for c in df.columns[1:]:
            df[c] = df[c].astype("int64")
        df["day"] = pd.to_datetime(df["day"]).dt.date
        return df

    def kpis(self, f: HistoryFilter) -> dict[str, Any]:
        """On hold now, new, released, net change, real durations (hours)."""
        sql = f"""
        WITH {self._BASE}, {self._NEW}, {self._REL}
        SELECT o.*, nn.*, rr.* FROM
          (SELECT count(DISTINCT containerid) AS on_hold_now,
                  coalesce((SELECT sum(q) FROM
                              (SELECT first(qty ORDER BY holdtxndate DESC, qty DESC) AS q
                               FROM h WHERE is_open GROUP BY containerid)), 0)
                    AS on_hold_now_qty,
                  avg(duration_h) AS open_avg_h, max(duration_h) AS open_max_h
           FROM h WHERE is_open) o,
          (SELECT count(*) AS new, coalesce(sum(qty), 0) AS new_qty FROM n) nn,
          (SELECT count(*) AS released, coalesce(sum(qty), 0) AS released_qty,
                  avg(duration_h) AS released_avg_h, max(duration_h) AS released_max_h
           FROM r) rr
        """
        row = self._row(sql, self._params(f))
        names = ["on_hold_now", "on_hold_now_qty", "open_avg_h", "open_max_h", "new",
                 "new_qty", "released", "released_qty", "released_avg_h", "released_max_h"]
        out: dict[str, Any] = {}
        for name, value in zip(names, row or (None,) * len(names), strict=True):
            if name.endswith("_h"):
                out[name] = None if value is None else round(float(value), 3)
            else:
                out[name] = int(value or 0)
        out["net_change"] = out["new"] - out["released"]
        out["as_of"] = self.h.as_of
        return out

    def _records_cte(self, record_type: str) -> tuple[str, str]:
        """(CTE list, source name) for a record type."""
        if record_type == "new":
            return f"{self._BASE}, {self._NEW}", "n"
        if record_type == "released":
            return f"{self._BASE}, {self._REL}", "r"
        if record_type == "on_hold":
            return (f"{self._BASE}, o AS (SELECT * FROM h WHERE holdtxndate < $day_end AND "
                    "coalesce(releasetxndate, TIMESTAMP '9999-12-31') >= $day_end)"), "o"
        raise ValueError(f"unknown record type {record_type!r}: choose {RECORD_TYPES}")

    def _record_params(self, f: HistoryFilter, day: date | None) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if f.record_type == "on_hold":
            extra["day_end"] = (
                shift_day_bounds(day, self.h.shift_minutes)[1] if day else self.h.as_of
            )
        return self._params(f, **extra)

    def reason_pareto(self, f: HistoryFilter) -> pd.DataFrame:
        """Reasons of the selected record type: records (count: holds, or lots a day for
        new holds) and qty, each with cum %. On hold, a lot with two open holds of one
        reason adds its qty to that reason once (its latest hold's): a quantity on hold
        counts each lot once; new and released qty add up per record, as the KPIs do."""
        ctes, src = self._records_cte(f.record_type)
        per_lot = (
            "SELECT reason, count(*) AS n, first(qty ORDER BY holdtxndate DESC, qty DESC) "
            f"AS q FROM {src} GROUP BY reason, containerid"
            if f.record_type == "on_hold" else f"SELECT reason, 1 AS n, qty AS q FROM {src}")
        sql = (f"WITH {ctes}, per_lot AS ({per_lot}) "
               "SELECT reason, sum(n) AS count, coalesce(sum(q), 0) AS qty "
               "FROM per_lot GROUP BY reason ORDER BY count DESC, reason")
        df = self._df(sql, self._record_params(f, None))
        for m in ("count", "qty"):
            df[m] = df[m].astype("int64")
        for m in ("count", "qty"):  # each cumulative % runs in its own measure's order
            df[f"{m}_cum_pct"] = cumulative_in_order(df, m, "reason", decimals=2)
        return df

    @staticmethod
    def by_qty(pareto: pd.DataFrame) -> pd.DataFrame:
        """A ``reason_pareto`` in its qty order (largest qty first), for the qty chart."""
        return rank(pareto, "qty", "reason")

    def duration_buckets(self, f: HistoryFilter) -> pd.DataFrame:
        """Holds per duration bucket: released in the range (final duration) and still
        open at as_of (duration so far), each with qty."""
        sql = f"""
        WITH {self._BASE}, {self._REL}
        SELECT duration_bucket, 'released' AS kind, count(*) AS holds,
               coalesce(sum(qty), 0) AS qty FROM r GROUP BY 1
        UNION ALL
        SELECT duration_bucket, 'open' AS kind, count(*), coalesce(sum(qty), 0)
        FROM h WHERE is_open GROUP BY 1
        """
        got = self._df(sql, self._params(f))
        labels = self.h.bucket_labels
        full = pd.MultiIndex.from_product([labels, list(DURATION_KINDS)],
                                          names=["duration_bucket", "kind"])
        out = got.set_index(["duration_bucket", "kind"]).reindex(full, fill_value=0)
        return out.reset_index().astype({"holds": "int64", "qty": "int64"})

    def records(self, f: HistoryFilter, *, offset: int = 0,
                limit: int | None = None) -> tuple[pd.DataFrame, int]:
        """(a page of the list, total rows) for the filter; limit None = every row."""
        ctes, src = self._records_cte(f.record_type)
        where = ["(len($buckets) = 0 OR list_contains($buckets, duration_bucket))"]
        if f.day is not None and f.record_type == "new":
            where.append("hold_day = $day")
        elif f.day is not None and f.record_type == "released":
            where.append("release_day = $day")
        params = self._record_params(f, f.day)
        params["buckets"] = list(f.buckets)
        if f.day is not None and f.record_type in ("new", "released"):
            params["day"] = f.day
        cond = " AND ".join(where)
        total = self._row(f"WITH {ctes} SELECT count(*) FROM {src} WHERE {cond}", params)
        sql = (f"WITH {ctes} SELECT containername AS lot, containerid, pj_workorder, "
               "hold_type, reason, workcentername, package, qty, holdtxndate, "
               "releasetxndate, hold_day, release_day, round(duration_h, 2) AS duration_h, "
               "duration_bucket, is_open, holdemp, holdempdeptname, holdcomments, "
               "releaseemp, releasecomments, ncrid, futureholdcomments "
               f"FROM {src} WHERE {cond} ORDER BY holdtxndate DESC, containerid")
        if limit is not None:
            sql += " LIMIT $limit OFFSET $offset"
            params.update(limit=int(limit), offset=int(offset))
        return self._df(sql, params), int(total[0] if total else 0)

    def open_lots(self, f: HistoryFilter) -> pd.DataFrame:
        """Lots with an open hold at as_of, one row each: lot name, reasons and stations
        of its open holds ('; '-joined), qty of its latest open hold, open holds."""
        sql = f"""
        WITH {self._BASE}
        SELECT containerid, any_value(containername) AS lot,
               string_agg(DISTINCT reason, '; ' ORDER BY reason) AS reason,
               string_agg(DISTINCT workcentername, '; ' ORDER BY workcentername) AS station,
               first(qty ORDER BY holdtxndate DESC, qty DESC) AS qty,
               count(*) AS open_holds, min(holdtxndate) AS held_since
        FROM h WHERE is_open GROUP BY containerid ORDER BY containerid
        """
        df = self._df(sql, self._params(f))
        df["qty"] = pd.to_numeric(df["qty"]).fillna(0).astype("int64")
        df["open_holds"] = df["open_holds"].astype("int64")
        return df

    def reasons(self) -> list[str]:
        rows = self.con.execute("SELECT DISTINCT reason FROM h_all ORDER BY 1").fetchall()
        return [r[0] for r in rows]
