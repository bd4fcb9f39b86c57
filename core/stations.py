"""Step / workcenter → station group → group order: the factory's routing, as data, in one place.

Why: domain.md says the mapping is read from dw_mes_spec_workcenter_v, overridable by a
config file, and never hard-coded twice. Trace history, reject history and the defect
trace all need it (station group of a step; "upstream" = a group earlier in the order).
The view is small (one row per step), so it is loaded once per process through the
realtime lane and kept as Arrow tables: one row per work center (``table``) and one per
step (``specs``). ``settings.workcenter_map_file`` (CSV with work_center,
work_center_group, workcentersequence_group) replaces matching work-center rows, and so
also the group of every step of an overridden work center. A step missing from the view
falls back to its row's work center (``step_groups``). Group order is stored as text in
the warehouse; here it is an integer.
"""

from __future__ import annotations

import csv
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.sql import Select

from core.catalog import query
from core.config import SettingsError
from core.schema import spec_workcenter

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings
    from core.db import Lanes

MAP_SCHEMA = pa.schema([
    ("work_center", pa.string()), ("station_group", pa.string()), ("group_seq", pa.int64()),
])
SPEC_SCHEMA = pa.schema([
    ("spec", pa.string()), ("work_center", pa.string()), ("station_group", pa.string()),
    ("group_seq", pa.int64()),
])


class StationMapError(SettingsError):
    """The override file (the ``workcenter_map_file`` setting) is unreadable or malformed:
    a settings problem (the CLI's exit 2), named with the setting to fix."""

    def __init__(self, message: str) -> None:
        super().__init__([message])


@query("stations.map")
def station_map_query() -> Select:
    v = spec_workcenter
    return (
        sa.select(
            v.c.work_center,
            sa.func.min(v.c.work_center_group).label("station_group"),
            sa.func.min(v.c.workcentersequence_group).label("group_seq"),
        )
        .where(v.c.work_center.is_not(None))
        .group_by(v.c.work_center)
        .order_by(v.c.work_center)
    )


@query("stations.specs")
def spec_map_query() -> Select:
    """One row per step: its work center and the view's group for it."""
    v = spec_workcenter
    return (
        sa.select(
            v.c.spec,
            sa.func.min(v.c.work_center).label("work_center"),
            sa.func.min(v.c.work_center_group).label("station_group"),
            sa.func.min(v.c.workcentersequence_group).label("group_seq"),
        )
        .group_by(v.c.spec)
        .order_by(v.c.spec)
    )


def _seq(text: object) -> int | None:
    try:
        return int(float(str(text).strip()))
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class StationMap:
    table: pa.Table  # MAP_SCHEMA: one row per work center
    specs: pa.Table = field(default_factory=SPEC_SCHEMA.empty_table)  # one row per step

    def group_of_step(self, spec: str | None, work_center: str | None) -> str | None:
        """The step's group (overrides of its work center applied), else the group of
        the given work center."""
        got = self.step_groups(pa.array([spec], pa.string()), pa.array([work_center], pa.string()))
        return got[0].as_py()

    def step_groups(self, specs: pa.Array | pa.ChunkedArray,
                    work_centers: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Vectorised ``group_of_step`` over aligned arrays (for loaded event tables: Arrow
        kernels, one hash lookup per row into the small maps)."""
        by_spec = pc.take(self.specs["station_group"],
                          pc.index_in(specs, value_set=self.specs["spec"]))
        by_wc = pc.take(self.table["station_group"],
                        pc.index_in(work_centers, value_set=self.table["work_center"]))
        out = pc.coalesce(by_spec, by_wc)
        return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out

    def group_of(self, work_center: str | None) -> str | None:
        return self._by_wc().get(work_center or "", (None, None))[0]

    def seq_of_group(self, group: str) -> int | None:
        return dict(self.groups()).get(group)

    def workcenters_of(self, group: str) -> list[str]:
        return sorted(wc for wc, (g, _) in self._by_wc().items() if g == group)

    def groups(self) -> list[tuple[str, int | None]]:
        """Station groups in flow order."""
        seen: dict[str, int | None] = {}
        for wc_group, seq in self._by_wc().values():
            if wc_group is not None and (wc_group not in seen or seen[wc_group] is None):
                seen[wc_group] = seq
        return sorted(seen.items(), key=lambda kv: (kv[1] is None, kv[1] or 0, kv[0]))

    def _by_wc(self) -> dict[str, tuple[str | None, int | None]]:
        cols = self.table.to_pydict()
        return {
            wc: (g, s)
            for wc, g, s in zip(cols["work_center"], cols["station_group"],
                                cols["group_seq"], strict=True)
        }


def _read_override(path: Path) -> list[dict[str, object]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise StationMapError(f"workcenter_map_file {path} cannot be read: {exc}") from exc
    need = {"work_center", "work_center_group", "workcentersequence_group"}
    if rows and not need <= set(rows[0]):
        raise StationMapError(
            f"workcenter_map_file {path} needs the columns {', '.join(sorted(need))}."
        )
    return [
        {"work_center": r["work_center"].strip(), "station_group": r["work_center_group"].strip(),
         "group_seq": _seq(r["workcentersequence_group"])}
        for r in rows if r.get("work_center", "").strip()
    ]


def build_station_map(
    view_rows: pa.Table, override_file: str = "", spec_rows: pa.Table | None = None
) -> StationMap:
    """The work-center map (``station_map_query`` rows) and, given ``spec_map_query``
    rows, the step map, both with the override file applied."""
    rows = {
        r["work_center"]: {"work_center": r["work_center"], "station_group": r["station_group"],
                           "group_seq": _seq(r["group_seq"])}
        for r in view_rows.to_pylist()
    }
    overridden: dict[str, dict[str, object]] = {}
    if override_file:
        for r in _read_override(Path(override_file)):
            rows[str(r["work_center"])] = overridden[str(r["work_center"])] = r
    ordered = [rows[k] for k in sorted(rows)]
    specs = []
    for r in (spec_rows.to_pylist() if spec_rows is not None else []):
        o = overridden.get(r["work_center"] or "")
        specs.append({
            "spec": r["spec"], "work_center": r["work_center"],
            "station_group": o["station_group"] if o else r["station_group"],
            "group_seq": o["group_seq"] if o else _seq(r["group_seq"]),
        })
    return StationMap(pa.Table.from_pylist(ordered, schema=MAP_SCHEMA),
                      pa.Table.from_pylist(specs, schema=SPEC_SCHEMA))


_CACHE_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str, str], tuple[float, StationMap]] = {}


def station_map(lanes: Lanes, settings: Settings) -> StationMap:
    """The mapping, read once per database and kept ``cache_ttl_s`` (a few hundred rows
    of reference data, shared by trace domains, defect jobs and pages)."""
    key = (settings.effective_db_url, settings.schema, settings.workcenter_map_file)
    now = time.monotonic()
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
    fresh = load_station_map(lanes, settings)
    with _CACHE_LOCK:
        _CACHE[key] = (now + settings.cache_ttl_s, fresh)
    return fresh


def load_station_map(lanes: Lanes, settings: Settings) -> StationMap:
    """The mapping from the view (realtime lane: it is tiny) plus the override file,
    uncached (``station_map`` is the cached way)."""
    return build_station_map(
        lanes.realtime.fetch_arrow(station_map_query(), live=False),
        settings.workcenter_map_file,
        lanes.realtime.fetch_arrow(spec_map_query(), live=False),
    )
