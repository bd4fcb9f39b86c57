"""The primary reject-history queries: the one heavy load that reaches the warehouse.

Problem: a reject event is stored as one row per reason, each repeating the event's
move-in quantity; summing it naively inflates move-in (~26 % in a real sample). Filters
and toggles must then be applied locally, so the rows carry everything they need; and a
365-day load should cost little more than the plain aggregate of the same rows.

Design: two SQLAlchemy Core statements for every backend, joined locally.
1. The reject records in the range (or of the given containers), as stored: one row per
   record (a reason of an event, sometimes booked on two rows), with the event key
   (historymainlineid, else containerid|txndate to the second|specid: built only for rows
   without one), the event's work order, workcenter, step and machine, the reason, the
   record's own comment and time, the five charged buckets, defect and move-in (nulls
   as 0). No GROUP BY: every measure is a sum over records and move-in is taken once
   per event key locally (``core.rejects._measures``), so grouping in the warehouse would
   only cost time and lose a record's comment.
2. The attributes (lot name, work order, package, type, function, product, objecttype)
   of the containers with a record there: one row per container (a semi join), instead
   of repeating five strings on every record through a join (which cost more than the
   records themselves, and on DuckDB planned the hash table on the reject side).
``attach`` joins them locally (one hash lookup per record, a take per column) into the
rows the slicer reads, the same for a range and a container list. Reference data is
applied after the load, once per distinct value (``core.rejects._records.prepare``): the
station group from ``core.stations`` and the exclusion flag from ``exclusion_list``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import Select
from sqlalchemy.sql.functions import FunctionElement

from core.catalog import query
from core.db import in_ids
from core.schema import container, lotrejecthistory, scrap_reasons_exclude
from core.scrap import CHARGED_BUCKETS

BUCKETS = CHARGED_BUCKETS
"""The five charged scrap buckets (charged scrap = their sum, nulls as 0)."""

_SEP = "|"


class _SecondText(FunctionElement[str]):
    """A timestamp as text to the second (YYYYMMDDHH24MISS), for the fallback event key."""

    type = sa.String()
    inherit_cache = True
    name = "second_text"


@compiles(_SecondText)
def _second_text_default(element: _SecondText, compiler: Any, **kw: Any) -> str:
    # Oracle and PostgreSQL share TO_CHAR and this format.
    arg = compiler.process(next(iter(element.clauses)), **kw)
    return f"TO_CHAR({arg}, 'YYYYMMDDHH24MISS')"


@compiles(_SecondText, "duckdb")
def _second_text_duckdb(element: _SecondText, compiler: Any, **kw: Any) -> str:
    arg = compiler.process(next(iter(element.clauses)), **kw)
    return f"strftime({arg}, '%Y%m%d%H%M%S')"


def _lit(text: str) -> Any:
    return sa.literal_column("'" + text.replace("'", "''") + "'", sa.String())


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end + 1 day 00:00): the whole end day is included."""
    return datetime.combine(start, time()), datetime.combine(end + timedelta(days=1), time())


def _fallback(r: Any) -> Any:
    """The second and step of a reject row without historymainlineid (text), else null:
    with the lot it is the fallback event key. Evaluated for those rows only."""
    text = _SecondText(r.c.txndate).concat(_lit(_SEP)).concat(
        sa.func.coalesce(r.c.specid, _lit(""))
    )
    return sa.case((r.c.historymainlineid.is_(None), text))


RECORD_COLUMNS = (
    "event_key", "containerid", "pj_workorder", "workcenter", "spec", "machine", "reason",
    "comment", "txndate", *BUCKETS, "defectqty", "moveinqty",
)
ATTACHED = ("package", "type", "function", "product", "objecttype")
"""Container attributes repeated at the end of each loaded row (``lot`` and ``workorder``
are placed apart)."""
_QUANTITIES = (*BUCKETS, "defectqty", "moveinqty")


def _records(where: Sequence[Any]) -> Select:
    r = lotrejecthistory
    key = sa.func.coalesce(
        r.c.historymainlineid, r.c.containerid.concat(_lit(_SEP)).concat(_fallback(r))
    )
    return sa.select(
        key.label("event_key"),
        r.c.containerid,
        r.c.pj_workorder,
        r.c.workcentername.label("workcenter"),
        r.c.specname.label("spec"),
        r.c.equipmentname.label("machine"),
        r.c.lossreasonname.label("reason"),
        r.c.rejectcomment.label("comment"),
        r.c.txndate,
        *(sa.func.coalesce(r.c[q], sa.literal(0)).label(q) for q in _QUANTITIES),
    ).where(*where)


def container_columns() -> list[Any]:
    """The container's attributes a loaded row carries, named as CONTAINER_COLUMNS (the
    range's container query and the container list's resolver both select these)."""
    c = container.c
    return [
        c.containerid,
        c.containername.label("lot"),
        c.mfgordername,
        c.productlinename.label("package"),
        c.pj_type.label("type"),
        c.pj_function.label("function"),
        c.productname.label("product"),
        c.objecttype,
    ]


CONTAINER_COLUMNS = tuple(col.name for col in container_columns())


def _containers(where: Any) -> Select:
    return sa.select(*container_columns()).where(where)


def _in_range(start: date, end: date) -> list[Any]:
    lo, hi = day_bounds(start, end)
    t = lotrejecthistory.c.txndate
    return [t >= lo, t < hi]


@query(
    "rejects.by_range",
    {"start": date(2026, 10, 1), "end": date(2026, 10, 30)},
)
def rejects_by_range(start: date, end: date) -> Select:
    """Reject records in [start, end] (whole days)."""
    return _records(_in_range(start, end))


@query(
    "rejects.containers_by_range",
    {"start": date(2026, 10, 1), "end": date(2026, 10, 30)},
)
def containers_by_range(start: date, end: date) -> Select:
    """Attributes of every container with a reject record in [start, end]."""
    r = lotrejecthistory
    return _containers(
        container.c.containerid.in_(sa.select(r.c.containerid).where(*_in_range(start, end)))
    )


@query(
    "rejects.by_containers",
    {"containerids": [f"{i:016X}" for i in range(1000)]},
    {"containerids": ["00000000000000AB"], "start": date(2026, 1, 1), "end": date(2026, 2, 1)},
)
def rejects_by_containers(
    containerids: Sequence[str], start: date | None = None, end: date | None = None
) -> Select:
    """Reject records of the given containers (at most 1000: one IN list), optionally in
    a range."""
    where: list[Any] = [in_ids(lotrejecthistory.c.containerid, list(containerids))]
    if start is not None and end is not None:
        where += _in_range(start, end)
    return _records(where)


def attach(records: pa.Table, containers: pa.Table) -> pa.Table:
    """The loaded rows: each record with its container's attributes (null when the
    container is unknown, as an outer join): ``lot`` after ``containerid``, ``workorder``
    (the record's own work order, else the container's) in place of ``pj_workorder``, and
    the ATTACHED attributes at the end."""
    where = pc.index_in(records["containerid"], value_set=containers["containerid"])

    def attribute(name: str) -> Any:
        return pc.take(containers[name], where)

    out: dict[str, Any] = {}
    for name in RECORD_COLUMNS:
        if name == "pj_workorder":
            out["workorder"] = pc.coalesce(records[name], attribute("mfgordername"))
            continue
        out[name] = records[name]
        if name == "containerid":
            out["lot"] = attribute("lot")
    out.update((name, attribute(name)) for name in ATTACHED)
    return pa.table(out)


@query("rejects.exclusion_list")
def exclusion_list() -> Select:
    """The active exclusion list (reason codes or full names): a few rows, matched
    against the loaded reasons locally (``core.rejects._records.reason_flags``)."""
    x = scrap_reasons_exclude
    return (
        sa.select(x.c.reason_name)
        .where(x.c.enable_flag == _lit("Y"), x.c.reason_name.is_not(None))
        .distinct()
        .order_by(x.c.reason_name)
    )


@query("rejects.bare_aggregate", {"start": date(2026, 10, 1), "end": date(2026, 10, 30)})
def bare_aggregate(start: date, end: date) -> Select:
    """Benchmark baseline: the same raw rows aggregated at lot × event × reason grain
    with the sums the page needs, but no event key, attributes or exclusion flag."""
    r = lotrejecthistory
    return (
        sa.select(
            r.c.containerid, r.c.historymainlineid, r.c.lossreasonname,
            sa.func.min(r.c.txndate).label("txndate"),
            *(sa.func.sum(r.c[b]).label(b) for b in BUCKETS),
            sa.func.sum(r.c.defectqty).label("defectqty"),
            sa.func.max(r.c.moveinqty).label("moveinqty"),
        )
        .where(*_in_range(start, end))
        .group_by(r.c.containerid, r.c.historymainlineid, r.c.lossreasonname)
    )
