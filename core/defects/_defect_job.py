"""The defect trace as a job: detection → lineage → events → analysis, on the slow lane.

Why a job (core.jobs): the 5-month TMTT case is the incident itself (70K seeds,
114K containers); it must run in the background with progress per stage and a Cancel
that returns every permit and connection, while the live widgets keep their speed.
Everything large goes to the job's Parquet spool (core.jobs._spool) and is aggregated by
DuckDB from there; nothing here is cached (the sets are far over cache_max_ids).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.sql import Select

from core import completeness as comp
from core.catalog import query
from core.config import Settings
from core.db import Lanes, local_threads
from core.defects._analysis import (
    BackwardResult,
    analyse_backward,
    analyse_forward,
    detection_kpis,
)
from core.defects._attribution import FACTOR_KINDS, pareto
from core.defects._detection import Detection, detect
from core.defects._queries import downstream_rejects_query
from core.defects._request import DefectRequest
from core.defects._summary import describe
from core.i18n import N_
from core.jobs import Job
from core.realtime import snapshot_time_query
from core.schema import resource
from core.stations import StationMap, station_map
from core.trace import fetch_domain, spool_query, trace_lineage


@query("defects.resources")
def resources_query() -> Select:
    return sa.select(resource.c.resourceid, resource.c.resourcename,
                     resource.c.resourcefamilyname).where(resource.c.resourcename.is_not(None))


PART_INPUTS: dict[str, tuple[str, ...]] = {
    "machine": ("lineage", "history"), "affected_machines": ("lineage", "history"),
    "material": ("lineage", "materials"), "wafer": (), "detection_machine": (),
    "reasons": (), "trend": (), "kpis": (),
}
"""What each part of a backward result is built from: machine factors from the lineage's
history, material factors from its materials; wafer lots, the detection machine, loss
reasons, the trend and the lot/input/defect KPIs from the detection alone."""


@dataclass
class DefectResult:
    request: DefectRequest
    kpis: dict[str, Any]
    backward: BackwardResult | None = None
    forward: dict[str, Any] | None = None
    scope: dict[str, Any] = field(default_factory=dict)
    completeness: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    unmatched: tuple[str, ...] = ()

    def completeness_of(self, part: str) -> dict[str, Any]:
        """The record of one part (a factor kind's pareto, a KPI): derived from the
        inputs it is built from (``PART_INPUTS``, backward); any other part, and every
        forward table, has the whole analysis' record."""
        if self.backward is None or part not in PART_INPUTS:
            return self.completeness.get("analysis") or comp.fetched()
        return comp.derive(None, {n: self.completeness.get(n) for n in PART_INPUTS[part]})

    def tables(self) -> dict[str, pa.Table]:
        """The result's tables by file name (the CLI's ``--out``): a backward run's factors,
        lot detail, trend and reasons, or the forward run's tables."""
        if self.backward is not None:
            return {"factors": self.backward.factors, "lot_detail": self.backward.lots,
                    "trend": self.backward.trend, "reasons": self.backward.reasons}
        return {k: v for k, v in (self.forward or {}).items() if isinstance(v, pa.Table)}

    def as_json(self, top: int = 10) -> dict[str, Any]:
        """The CLI's JSON object (like ``TraceResult.as_json``): the request, KPIs, scope,
        unmatched values, completeness and every pareto (``top`` long, then 'others') as
        lists of rows; put through core.jsonsafe before printing."""
        out: dict[str, Any] = {"request": asdict(self.request), "kpis": self.kpis,
                               "scope": self.scope, "unmatched": list(self.unmatched),
                               "completeness": self.completeness}
        if self.backward is not None:
            back = self.backward
            paretos = {kind: _rows(pareto(back.factors, kind, top=top,
                                          exposures=back.exposures, seeds=back.seeds),
                                   (*PARETO_KEYS, "cumulative_pct"))
                       for kind in FACTOR_KINDS}
            paretos["reason"] = [
                {"factor": r["reason"], "defects": r["defects"], "charged": r["charged"],
                 "uncharged": r["uncharged"], "lots": r["lots"],
                 "share_pct": r["share_pct"], "cumulative_pct": r["cumulative_pct"]}
                for r in back.reasons.to_pylist()]
            out["paretos"] = paretos
            out["suspects"] = back.suspects(top)
        elif self.forward:
            out["paretos"] = {k: _rows(v, FORWARD_KEYS) for k, v in self.tables().items()
                              if k in FORWARD_PARETOS}
            for extra in ("lots", "matrix"):
                table = self.forward.get(extra)
                if isinstance(table, pa.Table):
                    out[f"forward_{extra}"] = table.to_pylist()
        return out


PARETO_KEYS = ("factor", "lots", "input", "defects", "charged", "uncharged", "rate", "lift",
               "lift_low", "lift_high", "lift_note", "p_value", "q_value", "suspect_rank")
"""A backward pareto row's keys in the JSON (and ``cumulative_pct``)."""
FORWARD_KEYS = ("factor", "lots", "input", "rejects", "uncharged", "rate")
FORWARD_PARETOS = ("station", "machine", "reason")
"""A forward table row's keys in the JSON."""


def _rows(table: pa.Table, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{k: r.get(k) for k in keys} for r in table.to_pylist()]


def _empty_kpis() -> dict[str, Any]:
    return {**detection_kpis(0, 0, 0, 0, 0), "top_reason": None, "affected_machines": 0,
            "unattributed_rows": 0}


EVENT_STAGES = {"history": N_("events: history"), "materials": N_("events: materials")}
"""Stage names are created on the job's thread and shared by sessions of different
languages: marked here, translated where they are shown (N_)."""


def run_defect_analysis(
    job: Job, lanes: Lanes, request: DefectRequest, settings: Settings,
    *, stations: StationMap | None = None,
) -> DefectResult:
    cancel = job.cancel_token
    queries_before = lanes.slow.stats.queries
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    stage = job.stage(N_("detection"), total=2)
    stations = stations or station_map(lanes, settings)
    det: Detection = detect(lanes, request, stations, cancel=cancel)
    job.progress_for(stage)(done=2, rows=det.seeds.num_rows,
                            message=N_("{lots:,} lots passed {station}"),
                            message_args={"lots": det.seeds.num_rows,
                                          "station": request.station})
    job.spool.write_table("seeds", det.seeds)
    seconds["detection"] = time.perf_counter() - t0
    scope: dict[str, Any] = {"seeds": det.seeds.num_rows, "unmatched": list(det.unmatched)}
    completeness: dict[str, Any] = {}
    if det.seeds.num_rows == 0:
        result = DefectResult(request, _empty_kpis(), scope=scope, unmatched=det.unmatched)
        result.summary = describe(result)
        return result

    if request.direction == "backward":
        seed_ids = det.seeds.column("containerid")  # Arrow: no 70K Python strings
        t0 = time.perf_counter()
        stage = job.stage(N_("lineage"))
        lineage = trace_lineage(lanes, seed_ids, "backward", settings=settings,
                                cancel=cancel, progress=job.progress_for(stage))
        job.spool.write_table("lineage_edges", lineage.edges)
        seconds["lineage"] = time.perf_counter() - t0
        _record_lineage(lineage, scope, completeness)
        t0 = time.perf_counter()
        ids = lineage.container_id_array
        domains = {}
        for name in ("history", "materials"):
            stage = job.stage(EVENT_STAGES[name], total=len(ids))
            domains[name] = fetch_domain(lanes, name, ids, job.spool, settings=settings,
                                         cancel=cancel, progress=job.progress_for(stage),
                                         inputs={"lineage": completeness["lineage"]})
            completeness[name] = domains[name].completeness
        seconds["events"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        job.stage(N_("analysis"))
        resources = lanes.slow.fetch_arrow(resources_query(), cancel=cancel)
        # the warehouse's "now" (the live snapshot's time): a trend day after it is partial
        snap = lanes.slow.fetch_arrow(snapshot_time_query(), cancel=cancel)
        as_of = snap.column(0)[0].as_py() if snap.num_rows else None
        back = analyse_backward(
            det, lineage.edges, domains["history"].path, domains["materials"].path, stations,
            reasons_selected=request.reasons, resources=resources,
            exposures_path=job.spool.file("exposures"), threads=local_threads(lanes, settings),
            period=(request.start_ts, request.end_ts), now=as_of,
            min_lots=settings.suspect_min_lots,
        )
        for name, table in (("factors", back.factors), ("trend", back.trend),
                            ("reasons", back.reasons)):
            job.spool.write_table(name, table)
        seconds["analysis"] = time.perf_counter() - t0
        scope.update(back.scope)
        result = DefectResult(request, back.kpis, backward=back, scope=scope,
                              completeness=completeness)
    else:
        defective = det.seeds.filter(pc.field("defective")).column("containerid")
        kpis = _forward_kpis(det)
        if not len(defective):
            result = DefectResult(request, kpis, forward={}, scope=scope)
            result.summary = describe(result)
            return result
        t0 = time.perf_counter()
        stage = job.stage(N_("lineage"))
        lineage = trace_lineage(lanes, defective, "forward", settings=settings,
                                cancel=cancel, progress=job.progress_for(stage))
        seconds["lineage"] = time.perf_counter() - t0
        _record_lineage(lineage, scope, completeness)
        t0 = time.perf_counter()
        ids = lineage.container_id_array
        stage = job.stage(N_("events: downstream rejects"), total=len(ids))
        down = spool_query(
            lanes, "downstream", lambda chunk: downstream_rejects_query(chunk, request.start_ts),
            ids, job.spool, settings=settings, cancel=cancel, progress=job.progress_for(stage),
            inputs={"lineage": completeness["lineage"]},
        )
        completeness["downstream"] = down.completeness
        # the descendants' own track-ins: what they brought into each later station
        stage = job.stage(EVENT_STAGES["history"], total=len(ids))
        hist = fetch_domain(lanes, "history", ids, job.spool, settings=settings,
                            cancel=cancel, progress=job.progress_for(stage),
                            inputs={"lineage": completeness["lineage"]})
        completeness["history"] = hist.completeness
        seconds["events"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        job.stage(N_("analysis"))
        forward = analyse_forward(det, down.path, stations, history=hist.path,
                                  since=request.start_ts, edges=lineage.edges,
                                  names=lineage.nodes,
                                  threads=local_threads(lanes, settings))
        seconds["analysis"] = time.perf_counter() - t0
        kpis.update(forward["kpis"])  # type: ignore[arg-type]
        result = DefectResult(request, kpis, forward=forward, scope=scope,
                              completeness=completeness)
    scope["queries"] = lanes.slow.stats.queries - queries_before
    scope["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    # the factors, paretos and KPIs are built on all of the above: no better than the worst
    result.completeness["analysis"] = comp.derive(None, dict(result.completeness))
    result.unmatched = det.unmatched
    result.summary = describe(result)
    return result


def _record_lineage(lineage: Any, scope: dict[str, Any], completeness: dict[str, Any]) -> None:
    scope.update(containers=lineage.nodes.num_rows, lineage_levels=lineage.levels)
    completeness["lineage"] = comp.of_lineage(lineage.truncated)


def _forward_kpis(det: Detection) -> dict[str, Any]:
    seeds = det.seeds  # Arrow sums: no Python row per seed lot

    def total(col: str) -> int:
        return int(pc.sum(seeds[col]).as_py() or 0)

    return detection_kpis(
        seeds.num_rows, int(pc.sum(seeds["defective"].cast(pa.int64())).as_py() or 0),
        total("input"), total("charged"), total("uncharged"))
