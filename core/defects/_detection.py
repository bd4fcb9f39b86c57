"""Detection: the seeds of a defect trace and their defects.

Every lot that passed the detection station in the range is a seed, defective or not, so
clean lots count in the denominator (domain.md). Its latest track-in gives the detection
machine and its input: the quantity that entered the step (core.stepqty: the largest
trackinqty of the track-in's rows, never a partial track-out's later row). Its defects
are counted as the factory's defect report counts them: charged scrap (the five buckets)
plus uncharged defect (defectqty) of the chosen loss reasons booked at the station's
workcenters in the range (all reasons when none is chosen); both parts are kept
(``charged``, ``uncharged``, ``defects`` = their sum). The reason filter masks only the
numerator; the type and package filters remove seeds, so they mask numerator and
denominator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
from sqlalchemy.sql import Select

from core.db import CancelToken, Lanes, arrow_schema_for, local_duckdb
from core.defects._queries import detection_passes_query, detection_rejects_query
from core.defects._request import DefectInputError, DefectRequest
from core.stations import StationMap
from core.stepqty import entered_window_sql


@dataclass
class Detection:
    seeds: pa.Table  # one row per seed lot
    reasons: pa.Table  # seed lot × reason: charged, defectqty (all reasons, for the pareto)
    # seeds: containerid, ..., input, charged, uncharged, defects (= charged + uncharged),
    # defective (defects > 0)
    detection_seq: int | None
    queries: int
    unmatched: tuple[str, ...] = ()  # list mode: values that matched no container


def detect(
    lanes: Lanes, request: DefectRequest, stations: StationMap, *,
    cancel: CancelToken | None = None,
) -> Detection:
    workcenters = stations.workcenters_of(request.station)
    if not workcenters:
        known = [g for g, _ in stations.groups()]
        raise DefectInputError(
            f"Unknown detection station {request.station!r}. Known station groups: "
            f"{', '.join(known)}."
        )
    start, end = request.start_ts, request.end_ts
    unmatched: tuple[str, ...] = ()
    if request.seed_values:  # list mode: the listed containers' passes (IN-list batches)
        from core.trace import SeedError, resolve_seeds

        try:
            found = resolve_seeds(lanes, request.seed_kind, list(request.seed_values),
                                  settings=lanes.settings, cancel=cancel)
        except SeedError as exc:
            raise DefectInputError(str(exc)) from exc
        unmatched = tuple(found.unmatched)
        ids = found.container_ids
        passes = _batched(lanes, ids, cancel,
                          lambda c: detection_passes_query(workcenters, start, end, c))
        rejects = _batched(lanes, ids, cancel,
                           lambda c: detection_rejects_query(workcenters, start, end, c))
    else:
        passes = lanes.slow.fetch_arrow(
            detection_passes_query(workcenters, start, end), cancel=cancel)
        rejects = lanes.slow.fetch_arrow(
            detection_rejects_query(workcenters, start, end), cancel=cancel)
    con = local_duckdb()
    try:
        con.register("passes", passes)
        con.register("rejects", rejects)
        con.register("wanted_reasons", pa.table({"r": pa.array(request.reasons, pa.string())}))
        con.register("wanted_types", pa.table({"t": pa.array(request.types, pa.string())}))
        con.register("wanted_pkgs", pa.table({"p": pa.array(request.packages, pa.string())}))
        con.register("wanted_lots", pa.table({"n": pa.array(request.lots, pa.string())}))
        seeds = con.sql(
            f"""
            WITH latest AS (
                SELECT *, {entered_window_sql()} AS entered FROM passes
                QUALIFY row_number() OVER (
                    PARTITION BY containerid
                    ORDER BY trackintimestamp DESC, trackouttimestamp DESC NULLS FIRST,
                             equipmentname NULLS LAST, trackinqty DESC
                ) = 1  -- the latest track-in; ties: still one answer
            ), kept AS (
                SELECT * FROM latest
                WHERE ((SELECT count(*) FROM wanted_types) = 0
                       OR pj_type IN (SELECT t FROM wanted_types))
                  AND ((SELECT count(*) FROM wanted_pkgs) = 0
                       OR productlinename IN (SELECT p FROM wanted_pkgs))
                  AND ((SELECT count(*) FROM wanted_lots) = 0
                       OR containername IN (SELECT n FROM wanted_lots))
            ), d AS (
                SELECT containerid, sum(charged) AS charged, sum(defectqty) AS uncharged
                FROM rejects
                WHERE (SELECT count(*) FROM wanted_reasons) = 0
                   OR lossreasonname IN (SELECT r FROM wanted_reasons)
                GROUP BY containerid
            )
            SELECT k.containerid, k.containername, k.pj_type, k.productlinename,
                   k.firstname, k.mfgordername, k.equipmentname AS detection_machine,
                   k.trackintimestamp AS detected_at,
                   coalesce(k.entered, 0)::BIGINT AS input,
                   coalesce(d.charged, 0)::BIGINT AS charged,
                   coalesce(d.uncharged, 0)::BIGINT AS uncharged,
                   (coalesce(d.charged, 0) + coalesce(d.uncharged, 0))::BIGINT AS defects,
                   coalesce(d.charged, 0) + coalesce(d.uncharged, 0) > 0 AS defective
            FROM kept k LEFT JOIN d USING (containerid)
            ORDER BY k.containerid
            """  # the window expression is fixed text from core.stepqty
        ).to_arrow_table()
        con.register("seeds", seeds)
        reasons = con.sql(
            """
            SELECT r.containerid, coalesce(r.lossreasonname, '(none)') AS reason,
                   sum(r.charged)::BIGINT AS charged, sum(r.defectqty)::BIGINT AS defectqty
            FROM rejects r SEMI JOIN seeds s ON s.containerid = r.containerid
            GROUP BY ALL ORDER BY 1, 2
            """
        ).to_arrow_table()
    finally:
        con.close()
    return Detection(seeds, reasons, stations.seq_of_group(request.station), 2, unmatched)


def _batched(lanes: Lanes, ids: list[str], cancel: CancelToken | None,
             build: Callable[[list[str]], Select]) -> pa.Table:
    """One query per IN list of ids, concatenated (the detection result is small)."""
    empty = pa.Table.from_batches(
        [], schema=pa.schema([(n, t or pa.string()) for n, t in arrow_schema_for(build([]))]))
    tables = [r.table for r in lanes.slow.stream_batched(build, ids, cancel=cancel)
              if r.table is not None and r.table.num_rows]
    return pa.concat_tables(tables, promote_options="permissive") if tables else empty
