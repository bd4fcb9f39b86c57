"""Event domains of a container set (history, materials, rejects, holds, jobs), streamed
from the slow lane into a spool's Parquet file.

Why: the incident fetched ~230 batches into memory as rows, then a frame, then dicts.
Here each domain is one registered query run in IN-list batches (≤ 1000 ids, at most
``slow_workers`` in flight, the slow lane's per-batch deadline) with
``on_error="collect"``; each batch is shaped in the slow lane's worker right after its
fetch (history and materials with Arrow kernels, core.trace._shaping; the small domains
with a DuckDB statement over that batch alone) and appended to the domain's Parquet
file, so memory holds about one batch per worker.
Completeness is explicit (core.completeness): ``complete``; ``partial`` with the
failed batches' id ranges and errors; ``truncated`` when ``trace_domain_max_rows`` cut it;
and never better than what the domain was built from: jobs from history (its machine
windows), every domain from the caller's ``inputs`` (the lineage that listed the ids).

Shapes (shared/domain.md):
- history: one row per lot/machine/step/track-in, keeping the latest track-out (rows
  still running, track-out null, only when no row of that pass was tracked out), with
  the station group and its order from core.stations (view + optional override file).
- rejects: ``charged_qty`` = the five buckets (nulls as 0), ``defect_qty`` apart,
  ``reason_code`` = lossreasonname before the first ``_``, space or ``-``.
- holds: ``hold_status`` ON HOLD / RELEASED and ``hold_hours`` (open holds up to now).
- jobs: maintenance jobs of the machines in the history overlapping each lot's stay on
  the machine: joined by machine id and time window (never by scanning containerids);
  needs the history domain, fetched first when the spool has none. Its batches are
  batches of machine ids, so failed ranges name machines; a partial or truncated
  history makes jobs partial or truncated too (their windows are missing).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.sql import Executable

from core import completeness as comp
from core.db import IdSet, arrow_schema_for, file_literal, sorted_ids
from core.errors import InputError
from core.i18n import N_
from core.jobs import Spool
from core.scrap import charged_sql
from core.stations import station_map
from core.trace._queries import (
    history_query,
    holds_query,
    jobs_query,
    materials_query,
    rejects_query,
)
from core.trace._shaping import history_shape, sorted_by

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings
    from core.db import CancelToken, Lanes
    from core.trace._cache import DomainCache

Progress = Callable[..., None]

MATERIALS_ORDER = ("containerid", "txndate", "materialpartname")

_REJECTS_SQL = f"""
SELECT *,
       {charged_sql()} AS charged_qty,
       coalesce(defectqty, 0) AS defect_qty,
       nullif(regexp_extract(lossreasonname, '^[^_ -]*'), '') AS reason_code
FROM batch ORDER BY containerid, txndate, lossreasonname
"""

_HOLDS_SQL = """
SELECT *,
       CASE WHEN releasetxndate IS NULL THEN 'ON HOLD' ELSE 'RELEASED' END AS hold_status,
       round(date_diff('second', holdtxndate, coalesce(releasetxndate, $now)) / 3600.0, 2)
         AS hold_hours
FROM batch ORDER BY containerid, holdtxndate
"""

_JOBS_SQL = """
SELECT w.containerid, w.equipmentid, w.equipmentname, w.specname, w.trackintimestamp,
       w.trackouttimestamp, j.jobid, j.resourcename, j.jobstatus, j.jobmodelname,
       j.jobordername, j.createdate, j.completedate, j.causecodename, j.repaircodename,
       j.symptomcodename
FROM batch j JOIN windows w
  ON j.resourceid = w.equipmentid
 AND j.createdate <= coalesce(w.trackouttimestamp, $now)
 AND coalesce(j.completedate, $now) >= w.trackintimestamp
ORDER BY w.containerid, w.trackintimestamp, j.createdate, j.jobid
"""


@dataclass(frozen=True)
class DomainSpec:
    name: str
    title: str
    description: str
    build: Callable[[list[str]], Executable]
    post: str  # DuckDB SQL over the batch (table ``batch``); "" = Arrow-shaped (shaping.py)
    time_column: str
    version: str = ""  # bump to invalidate cached results after a shape change


DOMAINS: dict[str, DomainSpec] = {
    s.name: s
    for s in (
        DomainSpec("history", "History", "Steps, machines, track-in/out (wip history).",
                   history_query, "", "trackintimestamp",
                   version="entered-qty"),  # trackinqty: the track-in's largest (stepqty)
        DomainSpec("materials", "Materials", "Materials consumed (part, material lot).",
                   materials_query, "", "txndate"),
        DomainSpec("rejects", "Rejects", "Scrap: charged buckets and defect apart.",
                   rejects_query, _REJECTS_SQL, "txndate"),
        DomainSpec("holds", "Holds", "Holds and releases, hours on hold (open: to now).",
                   holds_query, _HOLDS_SQL, "holdtxndate"),
        DomainSpec("jobs", "Machine jobs",
                   "Maintenance jobs on the machines while the lots were on them.",
                   lambda ids: jobs_query(ids, datetime(1900, 1, 1), datetime(1900, 1, 1)),
                   _JOBS_SQL, "createdate"),
    )
}


@dataclass
class DomainResult:
    name: str
    path: str
    rows: int
    completeness: dict[str, Any]
    seconds: float = 0.0
    cached: bool = False

    def summary(self) -> dict[str, Any]:
        return {"rows": self.rows, "completeness": self.completeness,
                "seconds": round(self.seconds, 3), "cached": self.cached}


class DomainError(InputError):
    """Unknown domain name."""


# --- fetching ----------------------------------------------------------------------------------


def _empty(build: Callable[[list[str]], Executable]) -> pa.Table:
    cols = arrow_schema_for(build([]))
    return pa.table({n: pa.array([], type=t or pa.string()) for n, t in cols})


class _Shaper:
    """An in-memory DuckDB that shapes batches (called from the slow lane's workers)."""

    def __init__(self, sql: str, now: datetime) -> None:
        self.sql = sql
        self.now = now
        self.con = duckdb.connect()
        self.con.execute("SET threads TO 1")

    def __call__(self, table: pa.Table) -> pa.Table:
        """Shape one batch. Thread-safe: each call has a cursor of its own, so the slow
        lane's workers shape their batches in parallel with the other fetches."""
        cur = self.con.cursor()
        try:
            cur.register("batch", table)
            params = {"now": self.now} if "$now" in self.sql else None
            return cur.sql(self.sql, params=params).to_arrow_table()
        finally:
            cur.close()

    def close(self) -> None:
        self.con.close()


def _unshaped(table: pa.Table) -> pa.Table:
    return table


def fetch_domain(
    lanes: Lanes,
    name: str,
    container_ids: IdSet,
    spool: Spool,
    *,
    settings: Settings,
    cancel: CancelToken | None = None,
    progress: Progress | None = None,
    cache: DomainCache | None = None,
    inputs: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> DomainResult:
    """Stream domain ``name`` of ``container_ids`` into ``spool`` (file ``<name>.parquet``).

    Returns its path, row count and completeness, derived (core.completeness) from
    ``inputs``: name -> record of what ``container_ids`` came from (the lineage), so a
    domain of a cut lineage is not "complete". ``cache`` (optional) serves and stores
    results complete in themselves, of sets up to ``settings.cache_max_ids``. Raises
    DomainError for an unknown name, LaneError (QueryCancelled, LaneBusy, ...) when the
    trace cannot go on; failed batches do not raise, they make the result ``partial``.
    """
    if name not in DOMAINS:
        raise DomainError(f"Unknown domain {name!r}: choose from {', '.join(DOMAINS)}.")
    spec = DOMAINS[name]
    started = time.perf_counter()
    ids = sorted_ids(container_ids)  # Arrow: no 50 ms GIL hold for a 114K-id sort
    key = cache.key(name, ids, spec.version) if cache is not None else None
    data = cache.get(key) if cache is not None and key is not None else None
    if data is not None:
        path = spool.write_bytes(name, data)
        rows = pq.ParquetFile(path).metadata.num_rows
        completeness = comp.derive(comp.fetched(), inputs or {})
        spool.set_meta(name, {"rows": rows, "completeness": completeness, "cached": True})
        if progress is not None:
            progress(done=len(ids), total=len(ids), rows=rows, message=N_("from cache"))
        return DomainResult(name, str(path), rows, completeness,
                            time.perf_counter() - started, cached=True)
    now = datetime.now().replace(microsecond=0)
    if name == "jobs":
        result = _fetch_jobs(lanes, ids, spool, settings, cancel, progress, now)
    else:
        shape: Callable[[pa.Table], pa.Table]
        if name == "history":
            # core.stations' map (view + override file), cached per database
            shape = partial(history_shape, station_map=station_map(lanes, settings).table)
        elif name == "materials":
            shape = partial(sorted_by, keys=MATERIALS_ORDER)
        else:
            shape = _Shaper(spec.post, now)
        try:
            result = _stream_into(lanes, spec, spec.build, ids, spool, settings, cancel,
                                  progress, shape)
        finally:
            if isinstance(shape, _Shaper):
                shape.close()
    result.seconds = time.perf_counter() - started
    # cached when complete in itself (jobs: with its history): the ids are the key
    if (key is not None and cache is not None
            and result.completeness["status"] == comp.COMPLETE):
        cache.put(key, open(result.path, "rb").read())  # noqa: SIM115 - small by the key rule
    result.completeness = comp.derive(result.completeness, inputs or {})
    spool.set_meta(name, {"rows": result.rows, "completeness": result.completeness,
                          "cached": False, "seconds": round(result.seconds, 3)})
    return result


def spool_query(
    lanes: Lanes,
    name: str,
    build: Callable[[list[str]], Executable],
    ids: IdSet,
    spool: Spool,
    *,
    settings: Settings,
    cancel: CancelToken | None = None,
    progress: Progress | None = None,
    inputs: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> DomainResult:
    """Any IN-list query streamed batch by batch into ``spool`` file ``name``, with the
    same completeness rules as the domains (failed batches make it ``partial``; derived
    from ``inputs`` like ``fetch_domain``)."""
    spec = DomainSpec(name, name, "", build, "", "")
    # Batches are spooled as fetched: no shaping pass (a DuckDB round trip per batch).
    result = _stream_into(lanes, spec, build, sorted_ids(ids), spool, settings, cancel,
                          progress, _unshaped)
    result.completeness = comp.derive(result.completeness, inputs or {})
    return result


def _stream_into(
    lanes: Lanes,
    spec: DomainSpec,
    build: Callable[[list[str]], Executable],
    ids: IdSet,
    spool: Spool,
    settings: Settings,
    cancel: CancelToken | None,
    progress: Progress | None,
    shaper: Callable[[pa.Table], pa.Table],
    unit: str = "containers",
) -> DomainResult:
    schema = shaper(_empty(build)).schema
    writer = spool.writer(spec.name, schema)
    failed: list[dict[str, Any]] = []
    limit_hit: str | None = None
    max_rows = settings.trace_domain_max_rows
    done = n_batches = 0
    try:
        if len(ids):
            with closing(
                lanes.slow.stream_batched(build, ids, cancel=cancel, on_error="collect",
                                          transform=shaper)
            ) as batches:
                for batch in batches:
                    done += batch.size
                    n_batches += 1  # every batch comes back, failed ones too
                    if batch.error is not None:
                        failed.append({"first_id": batch.first_id, "last_id": batch.last_id,
                                       "ids": batch.size, "error": str(batch.error)})
                    elif batch.table is not None and batch.table.num_columns:
                        shaped = batch.table  # already shaped by the worker
                        room = max_rows - writer.rows
                        if shaped.num_rows > room:
                            shaped = shaped.slice(0, room)
                            limit_hit = f"trace_domain_max_rows ({max_rows:,} rows)"
                        writer.write(shaped)
                    if progress is not None:
                        progress(done=done, total=len(ids), rows=writer.rows,
                                 message=N_("some batches failed") if failed else "")
                    if limit_hit:
                        break
        writer.close()
    except BaseException:
        writer.abort()
        raise
    completeness = comp.fetched(failed, batches=n_batches, limit=limit_hit, unit=unit)
    return DomainResult(spec.name, str(writer.path), writer.rows, completeness)


def _fetch_jobs(
    lanes: Lanes,
    ids: IdSet,
    spool: Spool,
    settings: Settings,
    cancel: CancelToken | None,
    progress: Progress | None,
    now: datetime,
) -> DomainResult:
    if not spool.has("history"):
        fetch_domain(lanes, "history", ids, spool, settings=settings, cancel=cancel)
    history_completeness = spool.meta("history").get("completeness")
    history = file_literal(spool.file("history"))
    shaper = _Shaper(_JOBS_SQL, now)
    try:
        shaper.con.execute(
            "CREATE VIEW windows AS SELECT containerid, equipmentid, equipmentname, specname, "
            f"trackintimestamp, trackouttimestamp FROM read_parquet({history}) "
            "WHERE equipmentid IS NOT NULL"
        )
        rows = shaper.con.execute(
            "SELECT equipmentid, min(trackintimestamp), "
            "max(coalesce(trackouttimestamp, $now)) FROM windows GROUP BY 1 ORDER BY 1",
            {"now": now},
        ).fetchall()
        span = {r[0]: (r[1], r[2]) for r in rows}

        def build(chunk: list[str]) -> Executable:
            if not chunk:
                return jobs_query(chunk, now, now)
            start = min(span[m][0] for m in chunk)
            end = max(span[m][1] for m in chunk)
            return jobs_query(chunk, start, end)

        result = _stream_into(lanes, DOMAINS["jobs"], build, sorted(span), spool, settings,
                              cancel, progress, shaper, unit="machines")
    finally:
        shaper.close()
    # the machine windows are history's rows: jobs miss what history misses
    result.completeness = comp.derive(result.completeness, {"history": history_completeness})
    return result
