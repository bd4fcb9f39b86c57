"""Every warehouse query of containment, registered in the query catalog.

One builder per question, binds only, IN lists through ``in_ids`` (at most 1000 values:
the suspect lists are short, the container lists go through ``stream_batched``):

- ``contain.machines``: the machines named (dw_mes_resource), so an unknown name is a
  message, and their ids (the id space of dw_mes_lotwiphistory.equipmentid);
- ``contain.machine_exposure``: lots tracked in on those machines in a window, one row
  per (lot, machine) with the first track-in in the window, at most ``limit`` rows;
- ``contain.material_exposure``: lots that consumed the material lots, first consumption;
- ``contain.wafer_exposure``: containers whose firstname is one of the wafer lots;
- ``contain.snapshot``: where the lineage's lots are now (dw_mes_lot_v, WIP rows only);
- ``contain.finished_passes``: which containers that left WIP passed finished goods.

Exposure rows are ordered by container id so a bound cuts the same lots every time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.sql import Select

from core import schema as t
from core.catalog import query
from core.db import in_ids

IDS = [f"{i:016X}" for i in range(1000)]
NAMES = [f"DB-{i:03d}" for i in range(1000)]
_WINDOW = {"start": datetime(2026, 10, 21), "end": datetime(2026, 11, 20)}


@query("contain.machines", {"names": NAMES})
def machines_query(names: Sequence[str]) -> Select:
    """The machines named ``names``: resourceid, resourcename, home workcenter."""
    r = t.resource
    return sa.select(r.c.resourceid, r.c.resourcename, r.c.workcentername).where(
        in_ids(r.c.resourcename, names)
    ).order_by(r.c.resourcename, r.c.resourceid)


@query("contain.machine_exposure", {"machine_ids": IDS, **_WINDOW, "limit": 50_001})
def machine_exposure_query(machine_ids: Sequence[str], start: datetime, end: datetime,
                           limit: int) -> Select:
    """Lots with a track-in on one of ``machine_ids`` in [start, end): one row per (lot,
    machine) with its first track-in there (``first_at``) and the number of track-ins."""
    h, c = t.lotwiphistory, t.container
    return (
        sa.select(
            h.c.containerid,
            sa.func.max(c.c.containername).label("containername"),
            h.c.equipmentname.label("via"),
            sa.func.min(h.c.trackintimestamp).label("first_at"),
            sa.func.count().label("events"),
        )
        .join_from(h, c, c.c.containerid == h.c.containerid, isouter=True)
        .where(in_ids(h.c.equipmentid, machine_ids), h.c.trackintimestamp >= start,
               h.c.trackintimestamp < end)
        .group_by(h.c.containerid, h.c.equipmentname)
        .order_by(h.c.containerid, h.c.equipmentname)
        .limit(limit)
    )


@query("contain.material_exposure", {"names": NAMES, "limit": 50_001})
def material_exposure_query(names: Sequence[str], limit: int) -> Select:
    """Lots that consumed one of the material lots ``names``: one row per (lot, material
    lot) with its first consumption (``first_at``) and the number of consumptions."""
    m, c = t.lotmaterialshistory, t.container
    return (
        sa.select(
            m.c.containerid,
            sa.func.max(c.c.containername).label("containername"),
            m.c.materiallotname.label("via"),
            sa.func.min(m.c.txndate).label("first_at"),
            sa.func.count().label("events"),
        )
        .join_from(m, c, c.c.containerid == m.c.containerid, isouter=True)
        .where(in_ids(m.c.materiallotname, names))
        .group_by(m.c.containerid, m.c.materiallotname)
        .order_by(m.c.containerid, m.c.materiallotname)
        .limit(limit)
    )


@query("contain.wafer_exposure", {"names": NAMES, "limit": 50_001})
def wafer_exposure_query(names: Sequence[str], limit: int) -> Select:
    """Containers whose firstname is one of the wafer lots ``names`` (the wafer lot's own
    container included: its name is its firstname), with their creation time."""
    c = t.container
    return (
        sa.select(
            c.c.containerid,
            c.c.containername,
            c.c.firstname.label("via"),
            c.c.createdate.label("first_at"),
            sa.type_coerce(sa.literal_column("1"), sa.Integer()).label("events"),
        )
        .where(in_ids(c.c.firstname, names))
        .order_by(c.c.containerid)
        .limit(limit)
    )


@query("contain.snapshot", {"ids": IDS})
def snapshot_query(ids: Sequence[str]) -> Select:
    """The live snapshot rows (dw_mes_lot_v) of WIP lots among ``ids``: lots without a
    work order are raw material, not WIP (domain.md), and are left out."""
    v = t.lot_v
    return sa.select(
        v.c.containerid, v.c.lotid, v.c.qty, v.c.workcenter_group, v.c.workcentername,
        v.c.specname, v.c.equipmentcount, v.c.currentholdcount, v.c.holdreasonname,
        v.c.agebydays, v.c.sys_date,
    ).where(in_ids(v.c.containerid, ids), v.c.workorder.is_not(None))


@query("contain.finished_passes", {"ids": IDS, "workcenters": ["成品入庫"]})
def finished_passes_query(ids: Sequence[str], workcenters: Sequence[str]) -> Select:
    """Which of the containers ``ids`` passed one of ``workcenters`` (the work centers of
    the flow's last station group: finished goods)."""
    h = t.lotwiphistory
    return sa.select(h.c.containerid).where(
        in_ids(h.c.containerid, ids), h.c.workcentername.in_(list(workcenters))
    ).distinct()
