"""The primary reject-history query: the one heavy statement that reaches the warehouse.

Problem: a reject event is stored as one row per reason, each repeating the event's
move-in quantity; summing it naively inflates move-in (~26 % in a real sample). Filters
and toggles must then be applied locally, so the rows carry everything they need; and a
365-day load should cost little more than the plain aggregate of the same rows.

Design: one SQLAlchemy Core statement for every backend, in two levels:
1. raw rows in the range (or of the given containers) grouped at event × reason grain:
   by lot, historymainlineid, the fallback key text (txndate to the second + specid,
   built only for rows without a historymainlineid), reason and the event's own
   attributes (work order, workcenter, step, machine: grouped on, which costs less than
   a max() per string and gives the same rows while an event agrees with itself); the
   five charged buckets and defects summed (nulls as 0), move-in once (max), the comment
   (max) and the first time;
2. joined to the container (package, type, function, product, work order, objecttype),
   with the event key text (historymainlineid, else containerid|second|specid) built
   once per result row.
Reference data is applied after the load, once per distinct value
(``core.rejects.measures.prepare``): the station group from ``core.stations`` (view plus
the workcenter_map_file override) and the exclusion flag from ``exclusion_list`` (a few
rows), instead of joins and a correlated EXISTS per row. Move-in over any local slice is
the sum over the distinct event keys in the slice, so each event counts once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import Select
from sqlalchemy.sql.functions import FunctionElement

from core.catalog import query
from core.db.idlist import in_ids
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


def _rejects(where: Sequence[Any]) -> Select:
    r = lotrejecthistory
    zero = sa.literal(0)
    fb = _fallback(r)
    # The place, machine and work order belong to the event: grouped on, not aggregated
    # (cheaper than max() per string; the same rows whenever they agree within an event).
    event_attrs = (r.c.pj_workorder, r.c.workcentername, r.c.specname, r.c.equipmentname)
    ev = (
        sa.select(
            r.c.containerid,
            r.c.historymainlineid.label("hml"),
            fb.label("fb"),
            r.c.lossreasonname.label("reason"),
            *event_attrs,
            sa.func.max(r.c.rejectcomment).label("comment"),
            sa.func.min(r.c.txndate).label("txndate"),
            *(sa.func.sum(sa.func.coalesce(r.c[b], zero)).label(b) for b in BUCKETS),
            sa.func.sum(sa.func.coalesce(r.c.defectqty, zero)).label("defectqty"),
            # one event repeats its move-in on every reason row: take it once
            sa.func.max(sa.func.coalesce(r.c.moveinqty, zero)).label("moveinqty"),
        )
        .where(*where)
        .group_by(r.c.containerid, r.c.historymainlineid, fb, r.c.lossreasonname, *event_attrs)
        .subquery("ev")
    )
    c = container
    # the text key is built once per result row, from the grouped components
    key = sa.func.coalesce(ev.c.hml, ev.c.containerid.concat(_lit(_SEP)).concat(ev.c.fb))
    return (
        sa.select(
            key.label("event_key"),
            ev.c.containerid,
            c.c.containername.label("lot"),
            sa.func.coalesce(ev.c.pj_workorder, c.c.mfgordername).label("workorder"),
            ev.c.workcentername.label("workcenter"),
            ev.c.specname.label("spec"),
            ev.c.equipmentname.label("machine"),
            ev.c.reason,
            ev.c.comment,
            ev.c.txndate,
            *(ev.c[b] for b in BUCKETS),
            ev.c.defectqty,
            ev.c.moveinqty,
            c.c.productlinename.label("package"),
            c.c.pj_type.label("type"),
            c.c.pj_function.label("function"),
            c.c.productname.label("product"),
            c.c.objecttype,
        )
        .select_from(ev.outerjoin(c, c.c.containerid == ev.c.containerid))
    )


@query(
    "rejects.by_range",
    {"start": date(2026, 10, 1), "end": date(2026, 10, 30)},
)
def rejects_by_range(start: date, end: date) -> Select:
    """Reject rows of every container with a reject in [start, end] (whole days)."""
    lo, hi = day_bounds(start, end)
    t = lotrejecthistory.c.txndate
    return _rejects([t >= lo, t < hi])


@query(
    "rejects.by_containers",
    {"containerids": [f"{i:016X}" for i in range(1000)]},
    {"containerids": ["00000000000000AB"], "start": date(2026, 1, 1), "end": date(2026, 2, 1)},
)
def rejects_by_containers(
    containerids: Sequence[str], start: date | None = None, end: date | None = None
) -> Select:
    """Reject rows of the given containers (at most 1000: one IN list), optionally in a range."""
    where: list[Any] = [in_ids(lotrejecthistory.c.containerid, list(containerids))]
    if start is not None and end is not None:
        lo, hi = day_bounds(start, end)
        where += [lotrejecthistory.c.txndate >= lo, lotrejecthistory.c.txndate < hi]
    return _rejects(where)


@query("rejects.exclusion_list")
def exclusion_list() -> Select:
    """The active exclusion list (reason codes or full names): a few rows, matched
    against the loaded reasons locally (``core.rejects.measures.reason_flags``)."""
    x = scrap_reasons_exclude
    return (
        sa.select(x.c.reason_name)
        .where(x.c.enable_flag == _lit("Y"), x.c.reason_name.is_not(None))
        .distinct()
        .order_by(x.c.reason_name)
    )


@query("rejects.bare_aggregate", {"start": date(2026, 10, 1), "end": date(2026, 10, 30)})
def bare_aggregate(start: date, end: date) -> Select:
    """Benchmark baseline: the same raw rows grouped at the same grain (lot, event,
    reason) with the same sums, but no event key, joins, dedupe or exclusion flag."""
    lo, hi = day_bounds(start, end)
    r = lotrejecthistory
    return (
        sa.select(
            r.c.containerid, r.c.historymainlineid, r.c.lossreasonname,
            sa.func.min(r.c.txndate).label("txndate"),
            *(sa.func.sum(r.c[b]).label(b) for b in BUCKETS),
            sa.func.sum(r.c.defectqty).label("defectqty"),
            sa.func.max(r.c.moveinqty).label("moveinqty"),
        )
        .where(r.c.txndate >= lo, r.c.txndate < hi)
        .group_by(r.c.containerid, r.c.historymainlineid, r.c.lossreasonname)
    )
