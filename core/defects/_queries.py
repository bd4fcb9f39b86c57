"""The defect trace's own warehouse queries (all on the slow lane, all registered).

- detection passes: every wip-history row of a lot at the detection station's workcenters
  in the range (the caller keeps each lot's latest track-in: the seed, with the quantity
  that entered it by core.stepqty), with the container's type, package and wafer lot;
- detection rejects: scrap at those workcenters in the range, charged (the five buckets,
  nulls as 0) and uncharged defect apart, per lot and reason;
- reasons seen: the loss reasons of the last N days, for the reason picker;
- downstream rejects: rejects of a batch of containers (forward analysis).
The station's workcenters come from core.stations (the mapping is data).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import Select

from core.catalog import query
from core.db import in_ids
from core.schema import container, lotrejecthistory, lotwiphistory
from core.scrap import charged_scrap

_EX_TS = {"start": dt.datetime(2026, 6, 1), "end": dt.datetime(2026, 11, 1)}
_EX_WC = {"workcenters": ["TMTT"]}
_EX_IDS = {"ids": [f"{i:016X}" for i in range(1000)]}


@query("defects.detection_passes", {**_EX_WC, **_EX_TS},
       {**_EX_WC, "start": None, "end": None, **_EX_IDS})
def detection_passes_query(
    workcenters: Sequence[str], start: dt.datetime | None, end: dt.datetime | None,
    ids: Sequence[str] | None = None,
) -> Select:
    h, c = lotwiphistory, container
    return (
        sa.select(
            h.c.containerid, c.c.containername, c.c.pj_type, c.c.productlinename,
            c.c.firstname, c.c.mfgordername, h.c.specname, h.c.equipmentname,
            h.c.trackintimestamp, h.c.trackouttimestamp, h.c.trackinqty,
        )
        .join_from(h, c, c.c.containerid == h.c.containerid)
        .where(h.c.workcentername.in_(list(workcenters)),
               *_window(h.c.trackintimestamp, start, end), *_ids(h.c.containerid, ids))
        # no ORDER BY: the caller picks each lot's latest pass itself (PostgreSQL spilled
        # the 125K-row sort of the incident to disk for nothing)
    )


def _window(col: Any, start: dt.datetime | None, end: dt.datetime | None) -> list[Any]:
    return [c for c in ((col >= start) if start else None, (col < end) if end else None)
            if c is not None]


def _ids(col: Any, ids: Sequence[str] | None) -> list[Any]:
    return [in_ids(col, ids)] if ids is not None else []


@query("defects.detection_rejects", {**_EX_WC, **_EX_TS},
       {**_EX_WC, "start": None, "end": None, **_EX_IDS})
def detection_rejects_query(
    workcenters: Sequence[str], start: dt.datetime | None, end: dt.datetime | None,
    ids: Sequence[str] | None = None,
) -> Select:
    r = lotrejecthistory
    return (
        sa.select(
            r.c.containerid,
            r.c.lossreasonname,
            sa.func.sum(charged_scrap()).label("charged"),
            sa.func.sum(sa.func.coalesce(r.c.defectqty, sa.literal(0))).label("defectqty"),
        )
        .where(r.c.workcentername.in_(list(workcenters)),
               *_window(r.c.txndate, start, end), *_ids(r.c.containerid, ids))
        .group_by(r.c.containerid, r.c.lossreasonname)
    )


@query("defects.reasons_seen", {"since": dt.datetime(2026, 6, 1)})
def reasons_seen_query(since: dt.datetime) -> Select:
    r = lotrejecthistory
    return (
        sa.select(r.c.lossreasonname, sa.func.count().label("rows"))
        .where(r.c.txndate >= since, r.c.lossreasonname.is_not(None))
        .group_by(r.c.lossreasonname)
        .order_by(r.c.lossreasonname)
    )


@query("defects.downstream_rejects", {**_EX_IDS, "since": dt.datetime(2026, 6, 1)})
def downstream_rejects_query(ids: Sequence[str], since: dt.datetime | None) -> Select:
    r = lotrejecthistory
    return sa.select(
        r.c.containerid, r.c.workcentername, r.c.equipmentname, r.c.lossreasonname,
        r.c.txndate, charged_scrap().label("charged"),
        sa.func.coalesce(r.c.defectqty, sa.literal(0)).label("defectqty"),
    ).where(in_ids(r.c.containerid, ids), *_window(r.c.txndate, since, None))


@query("defects.machine_jobs", {"machine": "DB-003", "since": dt.datetime(2026, 6, 1),
                                "until": dt.datetime(2026, 11, 1)})
def machine_jobs_query(machine: str, since: dt.datetime, until: dt.datetime) -> Select:
    """Maintenance jobs of one machine (by name) opened in a window, newest first."""
    from core.schema import job

    return (
        sa.select(job.c.jobid, job.c.resourcename, job.c.jobstatus, job.c.jobmodelname,
                  job.c.jobordername, job.c.createdate, job.c.completedate,
                  job.c.causecodename, job.c.repaircodename, job.c.symptomcodename)
        .where(job.c.resourcename == machine, job.c.createdate >= since,
               job.c.createdate < until)
        .order_by(job.c.createdate.desc())
    )
