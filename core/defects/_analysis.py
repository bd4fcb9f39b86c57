"""Backward and forward analysis over the spooled trace data, in an in-memory DuckDB.

Backward: each seed is joined to itself and all its ancestors (a recursive walk up the
lineage edges; UNION makes it cycle-safe); the history and materials of those containers
at station groups *before* the detection station (group order from core.stations) are
the seed's upstream exposures: machine (station group / machine, with its model), material
(part / material lot), root wafer lot (the seed's wafer lot), and the detection machine.
core.defects._attribution turns exposures into input, defects, rate, lift and p-value.
No exposure is dropped for a missing key (domain.md): a consumption without a material
lot counts under its part with the lot shown as UNKNOWN_LOT, a machine step whose machine
name is missing under the machine's name from dw_mes_resource (or its id); rows that
cannot be placed at all (a workcenter the station map does not know) are counted and
reported (``scope["unattributed"]``, KPI ``unattributed_rows``), never silently left out.

Forward: the rejects of the defective seeds' descendants (and the seeds themselves) at
station groups *after* the detection station, per station, machine and reason. A
station's rate = its rejects of those descendants / the quantity those descendants
brought into that station: their own track-ins there (core.stepqty), not the detection
input; a machine's rate likewise over the track-ins on that machine, a reason's over the
track-ins at the stations where it was booked.

Sources are Arrow tables or Parquet files (a trace spool), so memory stays bounded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core import periods
from core.db import local_duckdb
from core.defects import _window as window
from core.defects._attribution import factor_table_in
from core.defects._detection import Detection
from core.defects._suspects import top_suspects
from core.machines import first_sql
from core.pareto import cumulative
from core.stations import StationMap
from core.stepqty import ENTERED, entered_grouped_sql

UNKNOWN = "(unknown)"  # a missing key's value in a factor name
UNKNOWN_LOT = "(unknown lot)"
UNKNOWN_PART = "(unknown part)"

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
       s.detected_at, s.input, r.reason,
       (coalesce(r.charged, 0) + coalesce(r.defectqty, 0))::BIGINT AS defects,
       coalesce(r.charged, 0)::BIGINT AS charged,
       coalesce(r.defectqty, 0)::BIGINT AS uncharged
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
    seed_reasons: pa.Table | None = None  # containerid, reason, charged, defectqty, selected
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

    def suspects(self, n: int = 10) -> list[dict[str, Any]]:
        """The ``n`` strongest suspects across factor kinds (core.defects._suspects)."""
        return top_suspects(self.factors, n)

    def exposed_lots(self, factor_kind: str, factor: str) -> pd.DataFrame:
        """The seed lots exposed to one factor: when they (or their ancestor) first passed
        it (``when``; machines and materials), their input and defects at detection."""
        if self.seeds is None or self.exposures is None:
            return pd.DataFrame(columns=["containerid", "containername", "when", "input",
                                         "defects"])
        con = local_duckdb()
        try:
            con.register("seeds", self.seeds)
            _attach(con, "exposures", self.exposures)
            return con.execute(
                """
                SELECT e.containerid, s.containername, e.first_at AS "when", s.input,
                       s.defects
                FROM exposures e JOIN seeds s USING (containerid)
                WHERE e.factor_kind = $kind AND e.factor = $factor AND e.first_at IS NOT NULL
                ORDER BY e.first_at
                """, {"kind": factor_kind, "factor": factor}).df()
        finally:
            con.close()

    def suspect_window(self, factor_kind: str, factor: str, *, period: str | None = None,
                       start: dt.date | None = None, end: dt.date | None = None,
                       lots: pd.DataFrame | None = None,
                       ) -> tuple[pd.DataFrame, window.Window]:
        """Per period, the defect rate of the lots that passed the factor against the
        rate of the lots that never did, and the window where it stands above
        (core.defects._window). ``lots``: the factor's ``exposed_lots`` when the caller
        read them already (one read of the exposures per page run); ``period`` None: the
        one ``suggest_period`` picks."""
        lots = self.exposed_lots(factor_kind, factor) if lots is None else lots
        period = period or window.suggest_period(lots)
        row = self.factors.filter(pc.and_(pc.equal(self.factors["factor_kind"], factor_kind),
                                          pc.equal(self.factors["factor"], factor)))
        baseline = row["rate_unexposed"][0].as_py() if row.num_rows else None
        rates = window.period_rates(lots, float(baseline or 0.0), period=period,
                                    start=start, end=end)
        return rates, window.find_window(rates, period=period)

    @property
    def lots(self) -> pa.Table:
        """The whole lot detail (the CLI's file, a download)."""
        return self.lot_detail()


def _reason_pareto(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Loss reasons at detection, largest first, with share and cumulative %
    (``core.pareto``; null when nothing was counted)."""
    table = con.sql(
        """
        SELECT reason, sum(charged + defectqty)::BIGINT AS defects,
               sum(charged)::BIGINT AS charged, sum(defectqty)::BIGINT AS uncharged,
               count(DISTINCT containerid) FILTER (WHERE charged + defectqty > 0) AS lots
        FROM seed_reasons WHERE selected GROUP BY reason ORDER BY defects DESC, reason
        """
    ).to_arrow_table()
    share, cum = cumulative(table["defects"].to_numpy(zero_copy_only=False))
    if not pc.sum(table["defects"]).as_py():  # nothing counted: no share at all
        share = cum = pa.nulls(table.num_rows, pa.float64())
    return (table.append_column("share_pct", pa.array(share, pa.float64()))
            .append_column("cumulative_pct", pa.array(cum, pa.float64())))


_RESOURCES_EMPTY = pa.table({"resourceid": pa.array([], pa.string()),
                             "resourcename": pa.array([], pa.string()),
                             "resourcefamilyname": pa.array([], pa.string())})


def _resources(resources: pa.Table | None) -> pa.Table:
    if resources is None:
        return _RESOURCES_EMPTY
    if "resourceid" not in resources.column_names:
        resources = resources.append_column(
            "resourceid", pa.nulls(resources.num_rows, pa.string()))
    return resources


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
    period: tuple[dt.datetime | None, dt.datetime | None] = (None, None),
    now: dt.datetime | None = None,
    min_lots: int = 1,
) -> BackwardResult:
    """``history`` needs containerid, workcentername, equipmentid, equipmentname;
    ``materials`` containerid, workcentername, materialpartname, materiallotname.
    ``period`` (start, exclusive end) marks the trend's days the range covers in part."""
    con = local_duckdb(threads=threads)
    try:
        con.register("seeds", detection.seeds)
        con.register("edges", edges)
        con.register("stations", stations.table)
        _attach(con, "history", history)
        _attach(con, "materials", materials)
        con.register("resources", _resources(resources))
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
        # station groups), so the factor table and the lot detail need no dedup of their own.
        # A missing key never drops an exposure: a machine step (a machine id or name) with
        # no name counts under the resource's name or its id; a consumption without a part
        # or a lot under UNKNOWN_PART / UNKNOWN_LOT; a seed without wafer lot or detection
        # machine under UNKNOWN.
        con.execute(
            f"""
            CREATE TEMP TABLE exposures AS
            -- grouped on the parts, the factor text is built once per (seed, factor)
            SELECT seed AS containerid, 'machine' AS factor_kind,
                   station_group || ' / ' || machine AS factor,
                   coalesce(r.resourcefamilyname, '') AS detail, first_at
            FROM (SELECT u.seed, st.station_group,
                         coalesce(nullif(trim(h.equipmentname), ''), rn.resourcename,
                                  'machine id ' || h.equipmentid) AS machine,
                         min(h.trackintimestamp) AS first_at
                  FROM up u JOIN history h ON h.containerid = u.node
                  JOIN stations st ON st.work_center = h.workcentername
                  LEFT JOIN (SELECT resourceid, min(resourcename) AS resourcename
                             FROM resources WHERE resourceid IS NOT NULL GROUP BY 1) rn
                         ON rn.resourceid = h.equipmentid
                  WHERE (nullif(trim(h.equipmentname), '') IS NOT NULL
                         OR h.equipmentid IS NOT NULL)  -- else a checkpoint step
                    AND st.group_seq < $seq
                  GROUP BY 1, 2, 3) x
            LEFT JOIN (SELECT resourcename, min(resourcefamilyname) AS resourcefamilyname
                       FROM resources GROUP BY 1) r ON r.resourcename = x.machine
            UNION ALL
            SELECT seed, 'material', part || ' / ' || mlot, detail, first_at
            FROM (SELECT u.seed,
                         coalesce(nullif(trim(m.materialpartname), ''), '{UNKNOWN_PART}')
                             AS part,
                         coalesce(nullif(trim(m.materiallotname), ''), '{UNKNOWN_LOT}')
                             AS mlot,
                         min(st.station_group) AS detail, min(m.txndate) AS first_at
                  FROM up u JOIN materials m ON m.containerid = u.node
                  JOIN stations st ON st.work_center = m.workcentername
                  WHERE st.group_seq < $seq
                  GROUP BY 1, 2, 3)
            UNION ALL
            SELECT DISTINCT containerid, 'wafer',
                   coalesce(nullif(trim(firstname), ''), '{UNKNOWN}'), '',
                   NULL::TIMESTAMP FROM seeds
            UNION ALL
            -- a detection machine's time is the lot's pass there (its context's timeline)
            SELECT DISTINCT containerid, 'detection_machine',
                   coalesce(nullif(trim(detection_machine), ''), '{UNKNOWN}'), '',
                   CAST(detected_at AS TIMESTAMP) FROM seeds
            """,  # the UNKNOWN names are fixed text of this module
            {"seq": det_seq},
        )
        factors = factor_table_in(con, unique=True, min_lots=min_lots)
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
                   coalesce(sum(charged), 0)::BIGINT AS charged,
                   coalesce(sum(uncharged), 0)::BIGINT AS uncharged FROM seeds
            """
        ).fetchall()[0]
        assert totals is not None
        lots, defective_lots, total_input, charged, uncharged = (int(x) for x in totals)
        reasons = _reason_pareto(con)
        affected = con.execute(
            """
            SELECT count(DISTINCT e.factor) FROM exposures e JOIN seeds s USING (containerid)
            WHERE e.factor_kind = 'machine' AND s.defective
            """
        ).fetchall()[0]
        trend = _trend(con, period, now)
        seed_reasons = con.table("seed_reasons").select(
            "containerid", "reason", "charged", "defectqty", "selected").to_arrow_table()
        # rows that cannot be attributed at all: the station map does not place their
        # workcenter, so whether they are upstream of the detection station is unknown
        unplaced = """(SELECT count(*) FROM {t} x WHERE x.workcentername IS NULL
                       OR x.workcentername NOT IN (SELECT work_center FROM stations))"""
        scope = con.sql(
            f"""
            SELECT (SELECT count(DISTINCT node) FROM up) AS containers,
                   (SELECT count(*) FROM history) AS history_rows,
                   (SELECT count(*) FROM materials) AS material_rows,
                   (SELECT count(*) FROM exposures) AS exposures,
                   {unplaced.format(t="history")} AS history_unplaced,
                   {unplaced.format(t="materials")} AS materials_unplaced
            """  # fixed text: table names of this function
        ).to_arrow_table().to_pylist()[0]
    finally:
        con.close()
    unplaced_h = int(scope.pop("history_unplaced") or 0)
    unplaced_m = int(scope.pop("materials_unplaced") or 0)
    scope["unattributed"] = {
        "history_rows": unplaced_h, "material_rows": unplaced_m,
        "why": "workcenter missing or not in the station map: cannot tell whether the "
               "row is upstream of the detection station",
    }
    top = reasons.to_pylist()[0]["reason"] if reasons.num_rows else None
    kpis = {
        **detection_kpis(lots, defective_lots, total_input, charged, uncharged),
        "top_reason": top, "affected_machines": int(affected[0]) if affected else 0,
        "unattributed_rows": unplaced_h + unplaced_m,
    }
    return BackwardResult(kpis, factors, reasons, trend, scope, exposures,
                          detection.seeds, seed_reasons)


def detection_kpis(lots: int, defective_lots: int, input_: int, charged: int,
                   uncharged: int) -> dict[str, Any]:
    """The detection KPIs under their core.glossary keys (one place for backward,
    forward and an empty result)."""
    defects = charged + uncharged
    return {
        "detection_lots": lots, "defective_lots": defective_lots,
        "detection_input": input_, "detection_charged": charged,
        "detection_uncharged": uncharged, "detection_defects": defects,
        "detection_defect_rate_pct": 100.0 * defects / input_ if input_ else 0.0,
    }


def _trend(con: duckdb.DuckDBPyConnection,
           period: tuple[dt.datetime | None, dt.datetime | None],
           now: dt.datetime | None) -> pa.Table:
    """Seeds per detection day; ``partial``: the day is covered only in part, by the
    range (core.periods: never for a whole-day range) or by the data (it ends at ``now``,
    the warehouse's snapshot time, within the day), so its counts are not comparable
    with a whole day's."""
    start, end = period
    limit = now or dt.datetime.now()
    table = con.sql(
        """
        SELECT CAST(detected_at AS DATE) AS day, count(*) AS lots,
               (count(*) FILTER (WHERE defective))::BIGINT AS defective_lots,
               (count(*) FILTER (WHERE NOT defective))::BIGINT AS clean_lots,
               sum(input)::BIGINT AS input, sum(charged)::BIGINT AS charged,
               sum(uncharged)::BIGINT AS uncharged, sum(defects)::BIGINT AS defects,
               CASE WHEN sum(input) > 0 THEN sum(defects) / sum(input) ELSE 0 END AS rate,
               CAST(day AS TIMESTAMP) + INTERVAL 1 DAY > $limit AS partial
        FROM seeds GROUP BY day ORDER BY day
        """,
        params={"limit": limit},
    ).to_arrow_table()
    span = ((start.date(), (end - dt.timedelta(days=1)).date())
            if start is not None and end is not None else None)
    by_range = [periods.coverage("day", d, span).partial
                for d in table.column("day").to_pylist()]
    partial = pc.or_(table.column("partial"), pa.array(by_range, pa.bool_()))
    return table.set_column(table.schema.get_field_index("partial"), "partial", partial)


_HISTORY_EMPTY = pa.table({
    "containerid": pa.array([], pa.string()), "workcentername": pa.array([], pa.string()),
    "specname": pa.array([], pa.string()), "equipmentname": pa.array([], pa.string()),
    "trackintimestamp": pa.array([], pa.timestamp("us")),
    "trackinqty": pa.array([], pa.int64())})


_SINCE = ("(SELECT * FROM hist_all WHERE CAST($since AS TIMESTAMP) IS NULL "
          "OR trackintimestamp >= $since)")


def analyse_forward(
    detection: Detection, downstream: Source, stations: StationMap, *,
    history: Source | None = None, since: dt.datetime | None = None, threads: int = 1,
    edges: pa.Table | None = None, names: pa.Table | None = None,
) -> dict[str, pa.Table | dict[str, Any]]:
    """Rejects of the defective lots' descendants at later stations, with rates against
    what those descendants brought into each station. ``downstream`` holds containerid (a
    descendant), workcentername, equipmentname, lossreasonname, charged, defectqty (rows
    from ``since`` on); ``history`` the descendants' wip history (containerid,
    workcentername, specname, equipmentname, trackintimestamp, trackinqty), of which the
    track-ins from ``since`` on count. Without it every rate is null (nothing to divide
    by), never the detection input. ``edges`` (parent_id, child_id: the forward lineage)
    maps each descendant to the defective detection lots it came from, for the per-lot
    table (``lots``); the reason × station ``matrix`` and the ``amplification`` KPI
    (downstream defects per defect at detection) need no edges. ``machine_lots`` (per
    later machine and descendant: its first track-in there, the qty it brought, its
    rejects there) is a machine's context on the page; ``names`` (containerid,
    containername: the lineage's nodes) names its lots."""
    con = local_duckdb(threads=threads)
    try:
        con.register("seeds", detection.seeds)
        con.register("stations", stations.table)
        _attach(con, "down", downstream)
        _attach(con, "hist_all", history if history is not None else _HISTORY_EMPTY)
        det_seq = detection.detection_seq if detection.detection_seq is not None else -1
        base = con.execute(
            "SELECT coalesce(sum(input), 0)::BIGINT, count(*) FROM seeds WHERE defective"
        ).fetchall()[0]
        assert base is not None
        base_input, base_lots = int(base[0]), int(base[1])
        con.execute(
            f"""
            CREATE TEMP TABLE later AS
            SELECT d.containerid, st.station_group,
                   coalesce({first_sql("d.equipmentname")}, '{UNKNOWN}') AS machine,
                   coalesce(d.lossreasonname, '(none)') AS reason,
                   coalesce(d.charged, 0) AS charged, coalesce(d.defectqty, 0) AS defectqty
            FROM down d JOIN stations st ON st.work_center = d.workcentername
            WHERE st.group_seq > $seq
            """,  # UNKNOWN and the first-machine rule: fixed text of core, no input
            {"seq": det_seq},
        )
        # what the descendants brought into each later station: one row per track-in,
        # its quantity by core.stepqty (never a partial track-out's later row)
        con.execute(
            f"""
            CREATE TEMP TABLE entered AS
            SELECT t.containerid, st.station_group,
                   coalesce(nullif(trim(t.equipmentname), ''), '{UNKNOWN}') AS machine,
                   t.trackintimestamp, coalesce(t.{ENTERED}, 0) AS qty
            FROM ({entered_grouped_sql(_SINCE, extra=("workcentername", "equipmentname"))}) t
            JOIN stations st ON st.work_center = t.workcentername
            WHERE st.group_seq > $seq
            """,  # generated text (core.stepqty) and fixed names, no input
            {"seq": det_seq, "since": since},
        )
        unplaced = con.execute(
            "SELECT count(*) FROM down WHERE workcentername IS NULL OR workcentername NOT IN "
            "(SELECT work_center FROM stations)").fetchall()[0][0]
        tables: dict[str, pa.Table | dict[str, Any]] = {}
        station_input = (
            "SELECT station_group AS factor, sum(qty) AS input FROM entered GROUP BY 1")
        inputs = {
            "station": station_input,
            "machine": "SELECT machine AS factor, sum(qty) AS input FROM entered GROUP BY 1",
            # a reason: the input of the stations where it was booked on the descendants
            "reason": f"""SELECT x.reason AS factor, sum(i.input) AS input
                          FROM (SELECT DISTINCT reason, station_group FROM later) x
                          JOIN ({station_input}) i ON i.factor = x.station_group
                          GROUP BY 1""",
        }
        for dim, expr in (("station", "station_group"), ("machine", "machine"),
                          ("reason", "reason")):
            tables[dim] = con.sql(
                f"""
                WITH r AS (
                    SELECT {expr} AS factor, count(DISTINCT containerid) AS lots,
                           sum(charged)::BIGINT AS rejects,
                           sum(defectqty)::BIGINT AS uncharged
                    FROM later GROUP BY 1
                ), i AS ({inputs[dim]})
                SELECT r.factor, r.lots, i.input::BIGINT AS input, r.rejects, r.uncharged,
                       r.rejects / nullif(i.input, 0) AS rate
                FROM r LEFT JOIN i USING (factor)
                ORDER BY r.rejects DESC, r.factor
                """,  # expr and inputs come from the fixed texts above, never from input
            ).to_arrow_table()
        tables["matrix"] = con.sql(
            """
            SELECT reason, station_group, sum(charged)::BIGINT AS rejects,
                   sum(defectqty)::BIGINT AS uncharged
            FROM later GROUP BY 1, 2 ORDER BY 1, 2
            """).to_arrow_table()
        tables["lots"] = _forward_lots(con, edges)
        tables["machine_lots"] = _machine_lots(con, names)
        station = tables["station"]
        rejects = int(sum(station.column("rejects").to_pylist() or [0]))
        uncharged = int(sum(station.column("uncharged").to_pylist() or [0]))
        found = con.execute(
            "SELECT coalesce(sum(defects), 0)::BIGINT FROM seeds WHERE defective"
        ).fetchall()[0][0]
        tables["kpis"] = {
            "defective_lots": base_lots, "defective_input": base_input,
            "downstream_rejects": rejects, "downstream_uncharged": uncharged,
            "unattributed_rows": int(unplaced),
            "amplification": round((rejects + uncharged) / found, 4) if found else None,
        }
    finally:
        con.close()
    return tables


_MACHINE_LOTS = pa.schema([
    ("machine", pa.string()), ("containerid", pa.string()), ("containername", pa.string()),
    ("when", pa.timestamp("us")), ("input", pa.int64()), ("rejects", pa.int64()),
    ("uncharged", pa.int64()),
])


def _machine_lots(con: duckdb.DuckDBPyConnection, names: pa.Table | None) -> pa.Table:
    """Per later machine and descendant lot: its first track-in there (``when``), the
    qty it brought (``input``) and its rejects there (charged, uncharged)."""
    con.register("fwd_names", names.select(["containerid", "containername"])
                 if names is not None else pa.table({"containerid": pa.array([], pa.string()),
                                                     "containername": pa.array([], pa.string())}))
    return con.sql(
        """
        WITH e AS (SELECT machine, containerid, min(trackintimestamp) AS "when",
                          sum(qty) AS input FROM entered GROUP BY 1, 2),
        r AS (SELECT machine, containerid, sum(charged) AS rejects,
                     sum(defectqty) AS uncharged FROM later GROUP BY 1, 2),
        n AS (SELECT containerid, min(containername) AS containername FROM fwd_names
              GROUP BY 1)
        SELECT machine, containerid, coalesce(n.containername, containerid) AS containername,
               e."when", e.input::BIGINT AS input, coalesce(r.rejects, 0)::BIGINT AS rejects,
               coalesce(r.uncharged, 0)::BIGINT AS uncharged
        FROM e FULL JOIN r USING (machine, containerid) LEFT JOIN n USING (containerid)
        ORDER BY machine, "when" NULLS LAST, containername
        """).to_arrow_table().cast(_MACHINE_LOTS)


_FORWARD_LOTS_EMPTY = pa.schema([
    ("containerid", pa.string()), ("containername", pa.string()),
    ("detection_defects", pa.int64()), ("descendants", pa.int64()),
    ("stations_reached", pa.int64()), ("downstream_rejects", pa.int64()),
    ("downstream_uncharged", pa.int64()), ("worst_station", pa.string()),
    ("worst_station_rejects", pa.int64()),
])


def _forward_lots(con: duckdb.DuckDBPyConnection, edges: pa.Table | None) -> pa.Table:
    """Per defective detection lot: its descendants, the later stations they reached,
    their rejects there and the station with the most (ties: the first in name order).
    A descendant of two defective lots (a merge) counts for both."""
    if edges is None:
        return _FORWARD_LOTS_EMPTY.empty_table()
    con.register("fwd_edges", edges.select(["parent_id", "child_id"]))
    return con.sql(
        """
        WITH RECURSIVE walk(seed, node) AS (
            SELECT containerid, containerid FROM seeds WHERE defective
            UNION
            SELECT w.seed, e.child_id FROM walk w JOIN fwd_edges e ON e.parent_id = w.node
        ),
        family AS (SELECT seed, count(*) - 1 AS descendants FROM walk GROUP BY 1),
        reached AS (SELECT w.seed, count(DISTINCT e.station_group) AS stations
                    FROM walk w JOIN entered e ON e.containerid = w.node GROUP BY 1),
        hurt AS (SELECT w.seed, l.station_group, sum(l.charged) AS rejects,
                        sum(l.defectqty) AS uncharged
                 FROM walk w JOIN later l ON l.containerid = w.node GROUP BY 1, 2),
        total AS (SELECT seed, sum(rejects) AS rejects, sum(uncharged) AS uncharged
                  FROM hurt GROUP BY 1),
        worst AS (SELECT seed, station_group AS station, rejects FROM (
                      SELECT *, row_number() OVER (PARTITION BY seed
                                                   ORDER BY rejects DESC, station_group) AS n
                      FROM hurt) WHERE n = 1)
        SELECT s.containerid, s.containername, s.defects::BIGINT AS detection_defects,
               coalesce(f.descendants, 0)::BIGINT AS descendants,
               coalesce(r.stations, 0)::BIGINT AS stations_reached,
               coalesce(t.rejects, 0)::BIGINT AS downstream_rejects,
               coalesce(t.uncharged, 0)::BIGINT AS downstream_uncharged,
               w.station AS worst_station, w.rejects::BIGINT AS worst_station_rejects
        FROM seeds s LEFT JOIN family f ON f.seed = s.containerid
        LEFT JOIN reached r ON r.seed = s.containerid
        LEFT JOIN total t ON t.seed = s.containerid
        LEFT JOIN worst w ON w.seed = s.containerid
        WHERE s.defective
        ORDER BY downstream_rejects DESC, s.containername
        """).to_arrow_table().cast(_FORWARD_LOTS_EMPTY)
