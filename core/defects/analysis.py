"""Backward and forward analysis over the spooled trace data, in an in-memory DuckDB.

Backward: each seed is joined to itself and all its ancestors (a recursive walk up the
lineage edges; UNION makes it cycle-safe); the history and materials of those containers
at station groups *before* the detection station (group order from core.stations) are
the seed's upstream exposures: machine (station group / machine, with its model), material
(part / material lot), root wafer lot (the seed's wafer lot), and the detection machine.
core.defects.attribution turns exposures into input, defects, rate, lift and p-value.

Forward: the rejects of the defective seeds' descendants (and the seeds themselves) at
station groups *after* the detection station, per station, machine and reason, with
rates against the defective seeds' detection input.

Sources are Arrow tables or Parquet files (a trace spool), so memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from core.db.local import local_duckdb
from core.defects.attribution import factor_table_in
from core.defects.detection import Detection
from core.stations import StationMap

Source = pa.Table | Path | str


def _attach(con: duckdb.DuckDBPyConnection, name: str, src: Source) -> None:
    if isinstance(src, pa.Table):
        con.register(name, src)
    else:
        con.read_parquet(str(src)).create_view(name)


class ResultExpired(RuntimeError):
    """A finished analysis whose spool files are gone (its job expired)."""


_LOT_ROWS = """
SELECT s.containerid, s.containername AS lot, s.mfgordername AS work_order, s.pj_type,
       s.productlinename AS package, s.firstname AS wafer_lot, s.detection_machine,
       s.detected_at, s.input, r.reason, coalesce(r.charged, 0)::BIGINT AS defects
FROM seeds s LEFT JOIN seed_reasons r ON r.containerid = s.containerid AND r.selected
"""
_LOT_ORDER = " ORDER BY defects DESC, lot, reason"


@dataclass
class BackwardResult:
    kpis: dict[str, Any]
    factors: pa.Table
    reasons: pa.Table
    trend: pa.Table
    scope: dict[str, Any] = field(default_factory=dict)
    exposures: pa.Table | str | None = None  # (seed, factor) pairs: a table or a Parquet path
    seeds: pa.Table | None = None
    seed_reasons: pa.Table | None = None  # containerid, reason, charged, selected
    _lot_rows: int | None = field(default=None, init=False, repr=False, compare=False)

    # The lot detail (one row per seed lot and chosen reason, with the lot's upstream
    # machines and materials as text) is built when read, a page at a time: for the
    # incident's 70K lots the whole of it took ~1 s of every analysis, for a tab most
    # people page through and a download few take.
    def _lot_con(self) -> duckdb.DuckDBPyConnection:
        con = local_duckdb()
        con.register("seeds", self.seeds if self.seeds is not None else pa.table({}))
        con.register("seed_reasons", self.seed_reasons)
        return con

    def lot_rows(self) -> int:
        """Rows of the lot detail (one per seed lot and chosen reason, at least one);
        counted once (~30 ms for the incident's 70K lots), the result never changes."""
        if self.seeds is None or self.seed_reasons is None:
            return 0
        if self._lot_rows is None:
            con = self._lot_con()
            try:
                self._lot_rows = int(
                    con.execute(f"SELECT count(*) FROM ({_LOT_ROWS})").fetchall()[0][0])
            finally:
                con.close()
        return self._lot_rows

    def lot_detail(self, offset: int = 0, limit: int | None = None) -> pa.Table:
        """Lot detail rows ``offset`` .. ``offset + limit`` (all with ``limit`` None),
        most defects first."""
        if self.seeds is None or self.seed_reasons is None or self.exposures is None:
            return pa.table({})
        if isinstance(self.exposures, str | Path) and not Path(self.exposures).is_file():
            raise ResultExpired("This defect trace's files were deleted (its job expired): "
                                "run it again to see the lot detail.")
        con = self._lot_con()
        try:
            page = con.sql(
                f"{_LOT_ROWS}{_LOT_ORDER} LIMIT $limit OFFSET $offset",
                params={"limit": limit if limit is not None else 2**62,
                        "offset": max(0, int(offset))},
            ).to_arrow_table()
            con.register("page", page)
            _attach(con, "exposures", self.exposures)
            return con.sql(
                """
                WITH agg AS (
                    -- list + sort per lot: an ordered DISTINCT string_agg costs ~10x more;
                    -- exposures hold each (seed, factor) once
                    SELECT containerid,
                           array_to_string(list_sort(
                               list(factor) FILTER (WHERE factor_kind = 'machine')), '; ')
                               AS upstream_machines,
                           array_to_string(list_sort(
                               list(factor) FILTER (WHERE factor_kind = 'material')), '; ')
                               AS materials
                    FROM exposures WHERE factor_kind IN ('machine', 'material')
                      AND containerid IN (SELECT containerid FROM page)
                    GROUP BY containerid
                )
                SELECT p.* EXCLUDE (containerid), a.upstream_machines, a.materials
                FROM page p LEFT JOIN agg a ON a.containerid = p.containerid
                """ + _LOT_ORDER
            ).to_arrow_table()
        finally:
            con.close()

    @property
    def lots(self) -> pa.Table:
        """The whole lot detail (the CLI's file, a download)."""
        return self.lot_detail()


def _reason_pareto(con: duckdb.DuckDBPyConnection) -> pa.Table:
    return con.sql(
        """
        WITH r AS (
            SELECT reason, sum(charged)::BIGINT AS defects, count(DISTINCT containerid) AS lots
            FROM seed_reasons WHERE selected GROUP BY reason
        )
        SELECT reason, defects, lots,
               100.0 * defects / nullif(sum(defects) OVER (), 0) AS share_pct,
               100.0 * sum(defects) OVER (ORDER BY defects DESC, reason
                                          ROWS UNBOUNDED PRECEDING)
                     / nullif(sum(defects) OVER (), 0) AS cumulative_pct
        FROM r ORDER BY defects DESC, reason
        """
    ).to_arrow_table()


def analyse_backward(
    detection: Detection,
    edges: pa.Table,
    history: Source,
    materials: Source,
    stations: StationMap,
    *,
    reasons_selected: tuple[str, ...] = (),
    resources: pa.Table | None = None,
    exposures_path: Path | str | None = None,
    threads: int = 1,
) -> BackwardResult:
    con = local_duckdb(threads=threads)
    try:
        con.register("seeds", detection.seeds)
        con.register("edges", edges)
        con.register("stations", stations.table)
        _attach(con, "history", history)
        _attach(con, "materials", materials)
        con.register("resources", resources if resources is not None else pa.table({
            "resourcename": pa.array([], pa.string()),
            "resourcefamilyname": pa.array([], pa.string())}))
        con.register("wanted", pa.table({"r": pa.array(reasons_selected, pa.string())}))
        con.register("all_reasons", detection.reasons)
        con.execute(
            """
            CREATE TEMP TABLE seed_reasons AS
            SELECT *, (SELECT count(*) FROM wanted) = 0 OR reason IN (SELECT r FROM wanted)
                      AS selected
            FROM all_reasons
            """
        )
        det_seq = detection.detection_seq if detection.detection_seq is not None else 10**9
        con.execute(
            """
            CREATE TEMP TABLE up AS
            WITH RECURSIVE walk(seed, node) AS (
                SELECT containerid, containerid FROM seeds
                UNION
                SELECT w.seed, e.parent_id FROM walk w JOIN edges e ON e.child_id = w.node
            )
            SELECT * FROM walk
            """
        )
        # one row per seed and factor (min(detail) where a material lot was used at two
        # station groups), so the factor table and the lot detail need no dedup of their own
        con.execute(
            """
            CREATE TEMP TABLE exposures AS
            -- grouped on the parts, the factor text is built once per (seed, factor)
            SELECT seed AS containerid, 'machine' AS factor_kind,
                   station_group || ' / ' || equipmentname AS factor,
                   coalesce(r.resourcefamilyname, '') AS detail
            FROM (SELECT DISTINCT u.seed, st.station_group, h.equipmentname
                  FROM up u JOIN history h ON h.containerid = u.node
                  JOIN stations st ON st.work_center = h.workcentername
                  WHERE h.equipmentname IS NOT NULL AND st.group_seq < $seq) x
            LEFT JOIN (SELECT resourcename, min(resourcefamilyname) AS resourcefamilyname
                       FROM resources GROUP BY 1) r ON r.resourcename = x.equipmentname
            UNION ALL
            SELECT seed, 'material', materialpartname || ' / ' || materiallotname, detail
            FROM (SELECT u.seed, m.materialpartname, m.materiallotname,
                         min(st.station_group) AS detail
                  FROM up u JOIN materials m ON m.containerid = u.node
                  JOIN stations st ON st.work_center = m.workcentername
                  WHERE m.materiallotname IS NOT NULL AND st.group_seq < $seq
                  GROUP BY 1, 2, 3)
            UNION ALL
            SELECT DISTINCT containerid, 'wafer', firstname, '' FROM seeds
            WHERE firstname IS NOT NULL
            UNION ALL
            SELECT DISTINCT containerid, 'detection_machine', detection_machine, ''
            FROM seeds WHERE detection_machine IS NOT NULL
            """,
            {"seq": det_seq},
        )
        factors = factor_table_in(con, unique=True)
        exposures: pa.Table | str
        if exposures_path is not None:  # large: kept on disk for the pareto coverage
            con.table("exposures").write_parquet(str(exposures_path))
            exposures = str(exposures_path)
        else:
            exposures = con.table("exposures").to_arrow_table()
        totals = con.execute(
            """
            SELECT count(*) AS lots, count(*) FILTER (WHERE defective) AS defective_lots,
                   coalesce(sum(input), 0)::BIGINT AS input,
                   coalesce(sum(defects), 0)::BIGINT AS defects FROM seeds
            """
        ).fetchall()[0]
        assert totals is not None
        lots, defective_lots, total_input, total_defects = (int(x) for x in totals)
        reasons = _reason_pareto(con)
        affected = con.execute(
            """
            SELECT count(DISTINCT e.factor) FROM exposures e JOIN seeds s USING (containerid)
            WHERE e.factor_kind = 'machine' AND s.defective
            """
        ).fetchall()[0]
        trend = con.sql(
            """
            SELECT CAST(detected_at AS DATE) AS day, count(*) AS lots,
                   sum(input)::BIGINT AS input, sum(defects)::BIGINT AS defects,
                   CASE WHEN sum(input) > 0 THEN sum(defects) / sum(input) ELSE 0 END AS rate
            FROM seeds GROUP BY ALL ORDER BY day
            """
        ).to_arrow_table()
        seed_reasons = con.table("seed_reasons").select(
            "containerid", "reason", "charged", "selected").to_arrow_table()
        scope = con.sql(
            """
            SELECT (SELECT count(DISTINCT node) FROM up) AS containers,
                   (SELECT count(*) FROM history) AS history_rows,
                   (SELECT count(*) FROM materials) AS material_rows,
                   (SELECT count(*) FROM exposures) AS exposures
            """
        ).to_arrow_table().to_pylist()[0]
    finally:
        con.close()
    top = reasons.to_pylist()[0]["reason"] if reasons.num_rows else None
    kpis = {
        "lots": lots, "defective_lots": defective_lots, "input": total_input,
        "defects": total_defects,
        "defect_rate_pct": 100.0 * total_defects / total_input if total_input else 0.0,
        "top_reason": top, "affected_machines": int(affected[0]) if affected else 0,
    }
    return BackwardResult(kpis, factors, reasons, trend, scope, exposures,
                          detection.seeds, seed_reasons)


def analyse_forward(
    detection: Detection, downstream: Source, stations: StationMap, *, threads: int = 1
) -> dict[str, pa.Table | dict[str, Any]]:
    """Rejects of the defective lots' descendants at later stations, with rates against
    the defective lots' detection input. ``downstream`` holds containerid (a descendant),
    seed (its defective detection lot), workcentername, equipmentname, lossreasonname,
    charged, defectqty."""
    con = local_duckdb(threads=threads)
    try:
        con.register("seeds", detection.seeds)
        con.register("stations", stations.table)
        _attach(con, "down", downstream)
        det_seq = detection.detection_seq if detection.detection_seq is not None else -1
        base = con.execute(
            "SELECT coalesce(sum(input), 0)::BIGINT, count(*) FROM seeds WHERE defective"
        ).fetchall()[0]
        assert base is not None
        base_input, base_lots = int(base[0]), int(base[1])
        con.execute(
            """
            CREATE TEMP TABLE later AS
            SELECT d.*, st.station_group, st.group_seq FROM down d
            JOIN stations st ON st.work_center = d.workcentername
            WHERE st.group_seq > $seq
            """,
            {"seq": det_seq},
        )
        tables: dict[str, pa.Table | dict[str, Any]] = {}
        for dim, expr in (("station", "station_group"), ("machine", "equipmentname"),
                          ("reason", "coalesce(lossreasonname, '(none)')")):
            tables[dim] = con.sql(
                f"""
                SELECT {expr} AS factor, count(DISTINCT containerid) AS lots,
                       sum(charged)::BIGINT AS rejects, sum(defectqty)::BIGINT AS defect,
                       sum(charged) / nullif($base, 0) AS rate
                FROM later GROUP BY 1 ORDER BY rejects DESC, factor
                """,  # expr comes from the fixed tuple above, never from input
                params={"base": base_input},
            ).to_arrow_table()
        tables["kpis"] = {"defective_lots": base_lots, "detection_input": base_input,
                          "downstream_rejects": int(sum(
                              tables["station"].column("rejects").to_pylist() or [0]))}
    finally:
        con.close()
    return tables
