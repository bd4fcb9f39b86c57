"""Containment: from a suspect to every lot and serial it reached, and where each is now.

Why: when a machine, a material lot or a wafer lot is found bad, quality must hold what
is still in the factory and recall what left it. Steps, each on the slow lane with its
deadline (one registered query per question, core.contain._queries):

1. exposed lots: a machine's track-ins in the window (dw_mes_lotwiphistory by
   equipmentid), a material lot's consumers (dw_mes_lotmaterialshistory), or a wafer
   lot's containers (firstname); one query, at most ``contain_max_lots`` lots;
2. descendants: ``core.trace.trace_lineage`` forward from the exposed lots (splits,
   merges into combined lots finished as serials, rework, wafer cuts; cycle-safe),
   bounded by ``contain_max_lots`` (and ``trace_max_depth``);
3. where each one is now: the live snapshot (dw_mes_lot_v) in IN-list batches, the
   status by the one WIP status rule and the hold type (core.wip's Arrow forms, over the
   whole column), the hold reason;
4. for the lots that left WIP, which of them passed finished goods (one batched query).

State of a container (column ``state``), first rule that holds:

- ``WIP``: in the live snapshot with a work order (status RUN / QUEUE / HOLD);
- ``FINISHED``: not in WIP, and either a combined lot finished under a serial number
  (finishedname) or it passed the flow's last station group (成品入庫, finished goods, by
  the station map's order). The warehouse contract has no shipping table, so finished
  goods still in the store and shipped ones are both ``FINISHED``: recall by serial;
- ``MERGED``: not in WIP, merged into a combined lot of this containment;
- ``SPLIT``: not in WIP, its pieces went on in split or rework children;
- ``LEFT_WIP``: none of these (scrapped, or left WIP without a trace in the data).

Bounds never cut silently: ``truncated`` names ``contain_max_lots`` or
``trace_max_depth``. Lineage and tables stay Arrow; only the small per-lot status rule
runs in Python (one call per WIP row, at most the snapshot's ~10K lots).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from core import wip
from core.contain._queries import (
    finished_passes_query,
    machine_exposure_query,
    machines_query,
    material_exposure_query,
    snapshot_query,
    wafer_exposure_query,
)
from core.contain._suspect import LABELS, ContainError, Suspect
from core.i18n import N_
from core.realtime import snapshot_time_query
from core.stations import station_map
from core.trace import trace_lineage

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings
    from core.db import CancelToken, Lanes

STATES = ("WIP", "FINISHED", "MERGED", "SPLIT", "LEFT_WIP")
ROLES = ("exposed", "descendant", "origin")  # origin: a suspect wafer lot's own container
VALUE_LABELS = {
    "role": {"exposed": N_("exposed"), "descendant": N_("descendant"),
             "origin": N_("wafer origin")},
    "state": {"WIP": N_("in WIP"), "FINISHED": N_("finished"), "MERGED": N_("merged"),
              "SPLIT": N_("split"), "LEFT_WIP": N_("left WIP")},
    "hold_type": {"quality": N_("quality"), "non-quality": N_("non-quality")},
}
"""What a page shows for the values of these columns (translated with ``_`` where shown);
the data, the CSV and the JSON keep the values."""

EXPOSED_SCHEMA = pa.schema([
    ("containerid", pa.string()), ("containername", pa.string()),
    ("first_at", pa.timestamp("us")), ("via", pa.string()), ("events", pa.int64()),
])
SNAPSHOT_SCHEMA = pa.schema([
    ("containerid", pa.string()), ("lotid", pa.string()), ("qty", pa.int64()),
    ("workcenter_group", pa.string()), ("workcentername", pa.string()),
    ("specname", pa.string()), ("equipmentcount", pa.int64()),
    ("currentholdcount", pa.int64()), ("holdreasonname", pa.string()),
    ("agebydays", pa.float64()), ("sys_date", pa.timestamp("us")),
])
LOTS_SCHEMA = pa.schema([
    ("containerid", pa.string()), ("containername", pa.string()), ("role", pa.string()),
    ("kind", pa.string()), ("depth", pa.int64()), ("serial", pa.string()),
    ("parent_id", pa.string()), ("parent_name", pa.string()), ("edge_kind", pa.string()),
    ("parents", pa.int64()), ("state", pa.string()), ("status", pa.string()),
    ("station_group", pa.string()), ("workcentername", pa.string()),
    ("specname", pa.string()), ("qty", pa.int64()), ("on_hold", pa.bool_()),
    ("hold_reason", pa.string()), ("hold_type", pa.string()), ("days_at_station", pa.float64()),
])

LINEAGE_COLUMNS = ("containerid", "containername", "role", "kind", "depth", "serial",
                   "parent_id", "parent_name", "edge_kind", "parents")

Progress = Callable[..., None]
"""``progress(msgid, **args)``: a stage message (``N_``) and its named format arguments,
made into text where it is shown, in the reader's language (core.jobs.stage_text)."""


@dataclass
class Containment:
    suspect: Suspect
    exposed: pa.Table  # EXPOSED_SCHEMA, one row per exposed lot (origins left out)
    lots: pa.Table  # LOTS_SCHEMA, one row per container of the containment
    serials: list[str]
    snapshot_at: datetime | None
    truncated: str | None
    levels: int
    queries: int
    seconds: float
    stages: dict[str, dict[str, float]] = field(default_factory=dict)  # step: seconds, queries

    def role(self, role: str) -> pa.Table:
        return self.lots.filter(pc.equal(self.lots["role"], role))

    @property
    def descendants(self) -> pa.Table:
        return self.role("descendant")

    @property
    def in_wip(self) -> pa.Table:
        """Lots of the containment still in WIP (exposed or descendant): the hold list."""
        wip = pc.and_(pc.equal(self.lots["state"], "WIP"),
                      pc.not_equal(self.lots["role"], "origin"))
        return self.lots.filter(wip)

    def kpis(self) -> dict[str, int]:
        """The KPIs, keyed by their measure in core/glossary.py (section 'contain')."""
        wip = self.in_wip
        held = wip.filter(wip["on_hold"])
        lots = self.lots.filter(pc.not_equal(self.lots["role"], "origin"))
        states = {s: int(pc.sum(pc.equal(lots["state"], s)).as_py() or 0) for s in STATES}
        return {
            "contain_exposed_lots": self.exposed.num_rows,
            "contain_descendant_lots": self.descendants.num_rows,
            "contain_serials": len(self.serials),
            "contain_wip_lots": wip.num_rows,
            "contain_wip_qty": int(pc.sum(wip["qty"]).as_py() or 0),
            "contain_held_lots": held.num_rows,
            "contain_held_qty": int(pc.sum(held["qty"]).as_py() or 0),
            "contain_not_held_lots": wip.num_rows - held.num_rows,
            "contain_finished_lots": states["FINISHED"],
            "contain_merged_lots": states["MERGED"],
            "contain_split_lots": states["SPLIT"],
            "contain_left_wip_lots": states["LEFT_WIP"],
        }

    def hold_list(self) -> pa.Table:
        """The CSV of the hold list: every lot still in WIP, held ones marked."""
        w = self.in_wip
        return pa.table({
            "lot": w["containername"], "containerid": w["containerid"], "role": w["role"],
            "kind": w["kind"], "station_group": w["station_group"],
            "workcenter": w["workcentername"], "step": w["specname"], "status": w["status"],
            "qty_pcs": w["qty"], "on_hold": w["on_hold"], "hold_reason": w["hold_reason"],
            "hold_type": w["hold_type"], "days_at_station": w["days_at_station"],
            "parent_lot": w["parent_name"],
        })

    def as_json(self) -> dict[str, Any]:
        """One JSON-ready object (the CLI's --json): lists are lists, missing is null."""
        lots = self.lots.filter(pc.not_equal(self.lots["role"], "origin"))
        state = dict(zip(lots["containerid"].to_pylist(), lots["state"].to_pylist(),
                         strict=True))
        exposed = [
            {"name": r["containername"], "cid": r["containerid"], "when": _iso(r["first_at"]),
             "via": r["via"], "events": r["events"], "state": state.get(r["containerid"])}
            for r in self.exposed.to_pylist()
        ]
        descendants = [
            {"name": r["containername"], "cid": r["containerid"], "kind": r["kind"],
             "parent": r["parent_id"], "parent_name": r["parent_name"],
             "edge": r["edge_kind"], "parents": r["parents"], "depth": r["depth"],
             "serial": r["serial"], "state": r["state"]}
            for r in self.descendants.to_pylist()
        ]
        now = [
            {"name": r["containername"], "cid": r["containerid"], "role": r["role"],
             "station_group": r["station_group"], "workcenter": r["workcentername"],
             "step": r["specname"], "status": r["status"], "qty": r["qty"],
             "hold": ({"reason": r["hold_reason"], "type": r["hold_type"]}
                      if r["on_hold"] else None),
             "days_at_station": r["days_at_station"]}
            for r in self.in_wip.to_pylist()
        ]
        return {
            "suspect": self.suspect.as_json(),
            "snapshot_at": _iso(self.snapshot_at),
            "exposed": exposed,
            "descendants": descendants,
            "serials": list(self.serials),
            "now": now,
            "truncated": self.truncated,
            "kpis": self.kpis(),
            "levels": self.levels,
            "queries": self.queries,
            "seconds": round(self.seconds, 3),
            "stages": self.stages,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- step 1: exposed lots -------------------------------------------------------------------


def _exposure(lanes: Lanes, suspect: Suspect, settings: Settings,
              cancel: CancelToken | None) -> tuple[pa.Table, str | None]:
    """Exposure rows, one per (lot, via), and the bound they hit (None)."""
    limit = settings.contain_max_lots + 1
    names = list(suspect.names)
    if suspect.kind == "machine":
        machines = lanes.slow.fetch_arrow(machines_query(names), cancel=cancel)
        unknown = sorted(set(names) - set(machines["resourcename"].to_pylist()))
        if unknown:
            raise ContainError(f"Unknown machine(s): {', '.join(unknown)} (not in "
                               "dw_mes_resource): check the names.")
        start, end = suspect.window  # type: ignore[misc]
        stmt = machine_exposure_query(machines["resourceid"].to_pylist(), start, end, limit)
    elif suspect.kind == "material_lot":
        stmt = material_exposure_query(names, limit)
    else:
        stmt = wafer_exposure_query(names, limit)
    rows = lanes.slow.fetch_arrow(stmt, cancel=cancel).select(EXPOSED_SCHEMA.names)
    rows = rows.cast(EXPOSED_SCHEMA)
    truncated = None
    if rows.num_rows >= limit:
        # rows are (lot, via) in id order: drop the last lot (its vias may be cut), then
        # keep at most contain_max_lots lots
        last = rows["containerid"][rows.num_rows - 1]
        rows = rows.filter(pc.not_equal(rows["containerid"], last))
        truncated = f"contain_max_lots ({settings.contain_max_lots:,} containers)"
        ids = pc.unique(rows["containerid"])
        if len(ids) > settings.contain_max_lots:
            keep = ids.slice(0, settings.contain_max_lots)
            rows = rows.filter(pc.is_in(rows["containerid"], value_set=keep))
    elif suspect.kind != "machine":
        found = set(pc.unique(rows["via"]).to_pylist())
        missing = [n for n in names if n not in found]
        if missing:
            what = ("no lot consumed" if suspect.kind == "material_lot"
                    else "no container comes from")
            raise ContainError(f"{LABELS[suspect.kind].capitalize()}(s) not found: {what} "
                               f"{', '.join(missing)}: check the names.")
    return rows, truncated


def exposed_lots(lanes: Lanes, suspect: Suspect, *, settings: Settings,
                 cancel: CancelToken | None = None) -> tuple[pa.Table, str | None]:
    """Step 1 alone: the lots exposed to ``suspect`` (EXPOSED_SCHEMA, one row per lot, by
    id) and the bound hit (``contain_max_lots``) or None. The Trace page's "machines +
    date range" seeds are these lots. ContainError for unknown names."""
    rows, truncated = _exposure(lanes, suspect, settings, cancel)
    return _per_lot(rows), truncated


def _per_lot(rows: pa.Table) -> pa.Table:
    """One row per lot: first time, the vias joined (sorted), events summed."""
    if not rows.num_rows:
        return EXPOSED_SCHEMA.empty_table()
    rows = rows.sort_by([("containerid", "ascending"), ("via", "ascending")])
    g = rows.group_by("containerid", use_threads=False).aggregate([
        ("containername", "max"), ("first_at", "min"), ("via", "list"), ("events", "sum"),
    ])
    via = pc.binary_join(g["via_list"], ", ")
    out = pa.table({
        "containerid": g["containerid"], "containername": g["containername_max"],
        "first_at": g["first_at_min"], "via": via, "events": g["events_sum"],
    }).cast(EXPOSED_SCHEMA)
    return out.sort_by("containerid")


# --- steps 2-4 ------------------------------------------------------------------------------


def contain(lanes: Lanes, suspect: Suspect, *, settings: Settings,
            cancel: CancelToken | None = None, progress: Progress | None = None) -> Containment:
    """The containment of ``suspect``. Raises ContainError for unknown names, LaneError
    from the lanes."""
    t0 = time.perf_counter()
    sent0 = lanes.slow.stats.queries
    stages: dict[str, dict[str, float]] = {}
    mark = [t0, sent0]

    def stage(name: str) -> None:
        now, sent = time.perf_counter(), lanes.slow.stats.queries
        stages[name] = {"seconds": round(now - mark[0], 3), "queries": sent - mark[1]}
        mark[:] = [now, sent]

    say = progress or (lambda _m, **_a: None)
    say(N_("exposed lots of {names}"), names=", ".join(suspect.names))
    rows, truncated = _exposure(lanes, suspect, settings, cancel)
    exposed = _per_lot(rows)
    stage("exposed")
    table, cut, levels = _lineage_lots(lanes, suspect, exposed, settings, cancel, say)
    stage("descendants")
    truncated = truncated or cut
    origin_names = set(suspect.names) if suspect.kind == "wafer_lot" else set()
    if origin_names:
        origin_ids = table.filter(pc.equal(table["role"], "origin"))["containerid"]
        exposed = exposed.filter(pc.invert(pc.is_in(exposed["containerid"],
                                                    value_set=origin_ids)))
    say(N_("where {containers:,} containers are now"), containers=table.num_rows)
    table, snapshot_at = _now(lanes, table, settings, cancel)
    serial_col = table.filter(pc.is_valid(table["serial"]))["serial"]
    serials = sorted(pc.unique(serial_col).to_pylist())
    stage("now")
    return Containment(suspect, exposed, table, serials, snapshot_at, truncated, levels,
                       lanes.slow.stats.queries - sent0, time.perf_counter() - t0, stages)


def _lineage_lots(lanes: Lanes, suspect: Suspect, exposed: pa.Table, settings: Settings,
                  cancel: CancelToken | None, say: Progress) -> tuple[pa.Table, str | None, int]:
    """Every container of the containment (exposed lots and their descendants) with its
    role, kind, depth and the parent it was reached from; the bound the walk hit; the
    levels walked."""
    if not exposed.num_rows:
        empty = pa.schema([*(LOTS_SCHEMA.field(n) for n in LINEAGE_COLUMNS),
                           ("merged_on", pa.bool_()), ("split_on", pa.bool_())])
        return empty.empty_table(), None, 0
    bound = settings.contain_max_lots
    walk = settings.replace(trace_max_nodes=min(settings.trace_max_nodes, bound))
    lin = trace_lineage(lanes, exposed["containerid"], "forward", settings=walk, cancel=cancel,
                        progress=lambda **kw: say(kw.get("message", ""),
                                                  **(kw.get("message_args") or {})))
    truncated = lin.truncated
    if truncated and truncated.startswith("trace_max_nodes") and bound <= settings.trace_max_nodes:
        truncated = f"contain_max_lots ({bound:,} containers)"
    nodes, edges = lin.nodes, lin.edges
    role = pc.if_else(nodes["is_seed"], "exposed", "descendant")
    if suspect.kind == "wafer_lot":
        origin = pc.and_(nodes["is_seed"],
                         pc.is_in(nodes["containername"], value_set=pa.array(suspect.names)))
        role = pc.if_else(origin, "origin", role)
    # the parent each descendant was reached from: the shallowest, then the smallest id
    depth_of = pc.index_in(edges["parent_id"], value_set=nodes["containerid"])
    ranked = pa.table({
        "child": edges["child_id"], "parent": edges["parent_id"],
        "edge": edges["edge_kind"], "pdepth": pc.take(nodes["depth"], depth_of),
    }).sort_by([("child", "ascending"), ("pdepth", "ascending"), ("parent", "ascending")])
    at = pc.index_in(nodes["containerid"], value_set=ranked["child"])
    counts = ranked.group_by("child").aggregate([("parent", "count_distinct")])
    n_parents = pc.take(counts["parent_count_distinct"],
                        pc.index_in(nodes["containerid"], value_set=counts["child"]))
    parent_id = pc.take(ranked["parent"], at)
    parent_name = pc.take(nodes["containername"],
                          pc.index_in(parent_id, value_set=nodes["containerid"]))
    descendant = pc.equal(role, "descendant")
    null_str = pa.scalar(None, pa.string())
    table = pa.table({
        "containerid": nodes["containerid"], "containername": nodes["containername"],
        "role": role, "kind": nodes["kind"], "depth": nodes["depth"],
        "serial": pc.if_else(pc.equal(nodes["kind"], "SERIAL"), nodes["finishedname"],
                             null_str),
        "parent_id": pc.if_else(descendant, parent_id, null_str),
        "parent_name": pc.if_else(descendant, parent_name, null_str),
        "edge_kind": pc.if_else(descendant, pc.take(ranked["edge"], at), null_str),
        "parents": pc.fill_null(n_parents, 0).cast(pa.int64()),
    })
    # what happened to a lot that left WIP: merged on, or split / reworked into children
    merged_from = edges.filter(pc.equal(edges["edge_kind"], "merge"))["parent_id"]
    split_from = edges.filter(pc.is_in(edges["edge_kind"],
                                       value_set=pa.array(["split", "rework"])))["parent_id"]
    table = table.append_column("merged_on", pc.is_in(table["containerid"],
                                                      value_set=merged_from))
    table = table.append_column("split_on", pc.is_in(table["containerid"],
                                                     value_set=split_from))
    return table, truncated, lin.levels


def _now(lanes: Lanes, table: pa.Table, settings: Settings,
         cancel: CancelToken | None) -> tuple[pa.Table, datetime | None]:
    """``table`` with where each container is now (LOTS_SCHEMA) and the snapshot time."""
    ids = table["containerid"]
    snap = _batched(lanes, snapshot_query, ids, cancel, SNAPSHOT_SCHEMA)
    snap = snap.take(pc.index_in(pc.unique(snap["containerid"]), value_set=snap["containerid"]))
    snapshot_at = pc.max(snap["sys_date"]).as_py() if snap.num_rows else _snapshot_time(
        lanes, cancel)
    at = pc.index_in(ids, value_set=snap["containerid"])
    in_wip = pc.is_valid(at)

    def col(name: str) -> pa.Array:
        return pc.take(snap[name], at)

    none = pa.scalar(None, pa.string())
    status = pc.if_else(in_wip, wip.status_arrow({
        "equipmentcount": col("equipmentcount"),
        "currentholdcount": col("currentholdcount")}), none)
    on_hold = pc.and_(in_wip, pc.fill_null(pc.greater(col("currentholdcount"), 0), False))
    hold_type = pc.if_else(on_hold, wip.hold_type_arrow(
        col("holdreasonname"), settings.non_quality_hold_reasons), none)
    # left WIP: passed finished goods? (only asked for lots not known finished already)
    serial = pc.is_valid(table["serial"])
    ask = table.filter(pc.and_(pc.invert(in_wip), pc.invert(serial)))["containerid"]
    passed_fg = _finished_goods(lanes, ask, settings, cancel)
    finished = pc.or_(serial, pc.is_in(ids, value_set=passed_fg))
    state = pc.case_when(
        pc.make_struct(in_wip, finished, table["merged_on"], table["split_on"],
                       field_names=["wip", "finished", "merged", "split"]),
        "WIP", "FINISHED", "MERGED", "SPLIT", "LEFT_WIP",
    )
    out = pa.table({
        **{n: table[n] for n in LINEAGE_COLUMNS},
        "state": state, "status": status, "station_group": col("workcenter_group"),
        "workcentername": col("workcentername"), "specname": col("specname"),
        "qty": col("qty"), "on_hold": on_hold,
        "hold_reason": pc.if_else(on_hold, col("holdreasonname"), pa.scalar(None, pa.string())),
        "hold_type": hold_type, "days_at_station": col("agebydays"),
    })
    return out.cast(LOTS_SCHEMA), snapshot_at


def _snapshot_time(lanes: Lanes, cancel: CancelToken | None) -> datetime | None:
    """The snapshot's time when no lot of the containment is in it (as of when)."""
    got = lanes.slow.fetch_arrow(snapshot_time_query(), cancel=cancel)
    return got["sys_date"][0].as_py() if got.num_rows else None


def _finished_goods(lanes: Lanes, ids: pa.Array | pa.ChunkedArray, settings: Settings,
                    cancel: CancelToken | None) -> pa.Array:
    """Which of ``ids`` passed the flow's last station group (finished goods)."""
    groups = station_map(lanes, settings).groups() if len(ids) else []
    workcenters = station_map(lanes, settings).workcenters_of(groups[-1][0]) if groups else []
    if not workcenters:
        return pa.array([], pa.string())
    schema = pa.schema([("containerid", pa.string())])
    got = _batched(lanes, lambda chunk: finished_passes_query(chunk, workcenters), ids,
                   cancel, schema)
    return got["containerid"].combine_chunks()


def _batched(lanes: Lanes, build: Callable[[list[str]], Any],
             ids: pa.Array | pa.ChunkedArray, cancel: CancelToken | None,
             schema: pa.Schema) -> pa.Table:
    from core.db import sorted_ids

    todo = sorted_ids(ids)
    tables = [schema.empty_table()]
    if len(todo):
        for batch in lanes.slow.stream_batched(build, todo, cancel=cancel):
            if batch.table is not None:
                tables.append(batch.table.select(schema.names).cast(schema))
    return pa.concat_tables(tables).combine_chunks()
