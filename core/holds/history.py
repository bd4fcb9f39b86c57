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
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.sql import Select

from core.catalog import query
from core.holds.classify import (
    ALL,
    HoldInputError,
    check_range,
    duration_labels,
    shift_day_bounds,
    shift_offset,
)
from core.pareto import cumulative_in_order, rank
from core.schema import container, holdreleasehistory
from core.wip import hold_type_arrow

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings
    from core.db import CancelToken, Lanes

NO_REASON = "(no reason)"
# The history view opens on the last week of shift days ending today (a page default, not
# a limit: the longest range is settings.hold_history_max_days).
DEFAULT_DAYS = 7
RECORD_TYPES = ("new", "on_hold", "released")
RECORD_TYPE_LABELS = {"new": "New holds", "on_hold": "On hold", "released": "Released"}


@query(
    "holds.history",
    {"begin": datetime(2026, 1, 1, 7, 30), "end": datetime(2026, 12, 31, 7, 30)},
)
def history_query(begin: datetime, end: datetime) -> Select:
    """Every hold overlapping [begin, end): placed before end, not released before begin;
    with the lot name and package from dw_mes_container (left join: never drop a hold)."""
    h = holdreleasehistory
    return (
        sa.select(
            h.c.containerid,
            container.c.containername,
            container.c.productlinename.label("package"),
            h.c.pj_workorder,
            h.c.workcentername,
            h.c.qty,
            h.c.holdtxndate,
            h.c.releasetxndate,
            h.c.holdreasonname,
            h.c.holdemp,
            h.c.holdempdeptname,
            h.c.holdcomments,
            h.c.releaseemp,
            h.c.releasecomments,
            h.c.ncrid,
            h.c.futureholdcomments,
        )
        .select_from(h.outerjoin(container, container.c.containerid == h.c.containerid))
        .where(
            h.c.holdtxndate < end,
            sa.or_(h.c.releasetxndate.is_(None), h.c.releasetxndate >= begin),
        )
    )


# ---------------------------------------------------------------------------------------------
# load: stream → derived columns → Parquet spool
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldHistory:
    """A small, picklable handle on one loaded range (the rows are in ``path``)."""

    path: str
    start: date
    end: date
    begin: datetime
    window_end: datetime
    as_of: datetime
    rows: int
    load_s: float
    shift_minutes: int
    duration_edges_h: tuple[float, ...]

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def bucket_labels(self) -> list[str]:
        return duration_labels(self.duration_edges_h)

    def exists(self) -> bool:
        return Path(self.path).is_file()


def spool_root(settings: Settings) -> Path:
    base = Path(settings.spool_dir) if settings.spool_dir else Path(tempfile.gettempdir())
    root = base / "mesdash-holds"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _sweep(root: Path, max_age_s: float) -> None:
    """Remove spools older than ``max_age_s`` (settings.job_ttl_s)."""
    now = time.time()
    for p in root.glob("*.parquet"):
        try:
            if now - p.stat().st_mtime > max_age_s:
                p.unlink()
        except OSError:
            pass  # another process removed it first


def _derive(batch: pa.RecordBatch, *, as_of: datetime, offset: timedelta,
            non_quality: Sequence[str], edges_h: Sequence[float]) -> pa.RecordBatch:
    hold = batch.column("holdtxndate")
    release = batch.column("releasetxndate")
    off = pa.scalar(offset, type=pa.duration("us"))
    as_of_s = pa.scalar(as_of, type=pa.timestamp("us"))
    reason = batch.column("holdreasonname")
    is_open = pc.or_kleene(pc.is_null(release), pc.greater_equal(release, as_of_s))
    is_open = pc.fill_null(is_open, True)
    end_ts = pc.if_else(is_open, as_of_s, release)
    dur_us = pc.cast(pc.subtract(end_ts, hold), pa.int64())
    duration_h = pc.divide(pc.cast(dur_us, pa.float64()), 3_600_000_000.0)
    labels = duration_labels(edges_h)
    idx = pa.array([0] * len(batch), pa.int64())
    for edge in edges_h:
        idx = pc.add(idx, pc.cast(pc.greater_equal(duration_h, edge), pa.int64()))
    bucket = pc.take(pa.array(labels, pa.string()), idx)
    derived = {
        "hold_day": pc.cast(pc.add(hold, off), pa.date32()),
        "release_day": pc.cast(pc.add(release, off), pa.date32()),
        "hold_type": hold_type_arrow(reason, non_quality),
        "reason": pc.fill_null(reason, NO_REASON),
        "is_open": is_open,
        "duration_h": duration_h,
        "duration_bucket": bucket,
        "future": pc.invert(pc.is_null(batch.column("futureholdcomments"))),
    }
    arrays = list(batch.columns) + list(derived.values())
    names = list(batch.schema.names) + list(derived)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def history_window(start: date, end: date, settings: Settings) -> tuple[datetime, datetime]:
    begin, _ = shift_day_bounds(start, settings.shift_day_offset_minutes)
    _, window_end = shift_day_bounds(end, settings.shift_day_offset_minutes)
    return begin, window_end


def as_of_for(start: date, end: date, settings: Settings, now: datetime | None) -> datetime:
    """The as-of time of a range: its end, or ``now`` (the live snapshot) when earlier.
    Pages key their cached loads on it, so a new snapshot reloads a range reaching it."""
    _, window_end = history_window(start, end, settings)
    return min(window_end, now or datetime.now())


def load_history(
    lanes: Lanes,
    settings: Settings,
    start: date,
    end: date,
    *,
    now: datetime | None = None,
    cancel: CancelToken | None = None,
) -> HoldHistory:
    """Read shift days ``start``..``end`` once from the slow lane into a Parquet spool.

    ``now`` (usually the live snapshot time; default: the wall clock) caps the as-of time.
    Raises HoldInputError for a bad range, LaneError for database trouble.
    """
    check_range(start, end, settings.hold_history_max_days)
    begin, window_end = history_window(start, end, settings)
    as_of = as_of_for(start, end, settings, now)
    offset = shift_offset(settings.shift_day_offset_minutes)
    root = spool_root(settings)
    _sweep(root, settings.job_ttl_s)
    key = "|".join(map(str, (settings.effective_db_url, settings.schema, start, end, as_of,
                             settings.shift_day_start, settings.non_quality_hold_reasons,
                             settings.hold_duration_edges_h)))
    path = root / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.parquet"
    tmp = path.with_suffix(f".{os.getpid()}.{time.monotonic_ns()}.tmp")
    t0 = time.perf_counter()
    rows = 0
    writer: pq.ParquetWriter | None = None
    try:
        with closing(lanes.slow.stream(history_query(begin, window_end), cancel=cancel)) as it:
            for batch in it:
                out = _derive(batch, as_of=as_of, offset=offset,
                              non_quality=settings.non_quality_hold_reasons,
                              edges_h=settings.hold_duration_edges_h)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, out.schema)
                writer.write_batch(out)
                rows += out.num_rows
        if writer is None:  # no batch at all: write an empty file with the right schema
            empty = pa.RecordBatch.from_pylist([], schema=_empty_schema())
            out = _derive(empty, as_of=as_of, offset=offset,
                          non_quality=settings.non_quality_hold_reasons,
                          edges_h=settings.hold_duration_edges_h)
            writer = pq.ParquetWriter(tmp, out.schema)
            writer.write_batch(out)
        writer.close()
        writer = None
        os.replace(tmp, path)
    finally:
        if writer is not None:
            writer.close()
        if tmp.exists():
            tmp.unlink()
    return HoldHistory(str(path), start, end, begin, window_end, as_of, rows,
                       time.perf_counter() - t0, settings.shift_day_offset_minutes,
                       tuple(settings.hold_duration_edges_h))


def _empty_schema() -> pa.Schema:
    from core.db.drivers import arrow_schema_for

    return arrow_schema_for(history_query(datetime(2000, 1, 1), datetime(2000, 1, 2)))


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
        full = pd.MultiIndex.from_product([labels, ["released", "open"]],
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


# ---------------------------------------------------------------------------------------------
# periods: days → weeks / months, partial periods marked
# ---------------------------------------------------------------------------------------------

GRAINS = ("day", "week", "month")
GRAIN_LABELS = {"day": "Day", "week": "Week", "month": "Month"}
_SUMMED = ("new", "new_qty", "released", "released_qty", "future")
_AT_END = ("on_hold_end", "on_hold_end_qty")


def parse_grain(value: str | None) -> str:
    """'day' | 'week' | 'month' (default 'day'); HoldInputError names the choices."""
    text = (value or "day").strip().lower()
    if text not in GRAINS:
        raise HoldInputError(f"Unknown period {value!r}: choose one of {', '.join(GRAINS)}.")
    return text


def period_first_day(day: date, grain: str) -> date:
    """The first shift day of the period holding ``day`` (weeks start on Monday)."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def period_last_day(first: date, grain: str) -> date:
    if grain == "week":
        return first + timedelta(days=6)
    if grain == "month":
        return date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(1)
    return first


def period_label(first: date, grain: str) -> str:
    if grain == "week":
        iso = first.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if grain == "month":
        return f"{first:%Y-%m}"
    return first.isoformat()


def periods(daily: pd.DataFrame, h: HoldHistory, grain: str = "day") -> pd.DataFrame:
    """The per-shift-day trend grouped by ``grain``, one row per period, in order.

    Counts of events (new, released, future and their qty) are summed over the period's
    days; on_hold_end(_qty) is the value at the end of its last day in the range. A
    period is ``partial`` when the range does not cover all its shift days (the first and
    last week or month of a range) or its covered end lies after the as-of time (a day in
    progress); ``covered_from``/``covered_to`` say which part the numbers describe.
    """
    grain = parse_grain(grain)
    df = daily.copy()
    df["first"] = [period_first_day(d, grain) for d in df["day"]]
    rows: list[dict[str, Any]] = []
    for first, part in df.groupby("first", sort=True):
        last = period_last_day(first, grain)
        row: dict[str, Any] = {"day": first, "period": period_label(first, grain)}
        row.update({c: int(part[c].sum()) for c in _SUMMED})
        row.update({c: int(part[c].iloc[-1]) for c in _AT_END})
        begin = shift_day_bounds(max(first, h.start), h.shift_minutes)[0]
        end = min(shift_day_bounds(min(last, h.end), h.shift_minutes)[1], h.as_of)
        row["partial"] = bool(first < h.start or last > h.end
                              or end < shift_day_bounds(last, h.shift_minutes)[1])
        row["covered_from"], row["covered_to"] = begin, end
        rows.append(row)
    cols = ["day", "period", "on_hold_end", "on_hold_end_qty", *_SUMMED, "partial",
            "covered_from", "covered_to"]
    out = pd.DataFrame(rows, columns=cols)
    for c in ("on_hold_end", "on_hold_end_qty", *_SUMMED):
        out[c] = out[c].astype("int64")
    out["partial"] = out["partial"].astype(bool)
    return out


def report(history: HoldHistory, f: HistoryFilter | None = None,
           grain: str = "day") -> dict[str, Any]:
    """Everything the CLI prints: KPIs, trend, paretos, buckets."""
    f = f or HistoryFilter()
    with HistoryView(history) as v:
        return {
            "start": history.start, "end": history.end, "as_of": history.as_of,
            "rows_loaded": history.rows, "kpis": v.kpis(f), "grain": grain,
            "trend": v.trend(f, grain), "reason_pareto": v.reason_pareto(f),
            "duration_buckets": v.duration_buckets(f),
        }
