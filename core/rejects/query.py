"""The primary reject-history query: the only one that reaches the warehouse.

Problem: a reject event is stored as one row per reason, each repeating the event's
move-in quantity; summing it naively inflates move-in (~26 % in a real sample). Filters
and toggles must then be applied locally, so the rows carry everything they need.

Design: one SQLAlchemy Core statement for every backend, in three levels:
1. raw rows in the range (or of the given containers) with the event key: the
   historymainlineid, or containerid + txndate to the second + specid when it is null;
2. grouped by (event key, reason): the five charged buckets and defects summed (nulls as
   0), move-in taken once (max) per event and reason, the event's time, place, machine;
3. joined to the container (package, type, function, product, work order, objecttype),
   to the station group (dw_mes_spec_workcenter_v, by spec, else by workcenter: data, not
   code) and flagged when the reason is on the active exclusion list (by code or name).
Move-in over any local slice is then the sum over the distinct event keys in the slice
(``core.rejects.measures``), so each event counts once whatever is filtered.
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
from core.schema import container, lotrejecthistory, scrap_reasons_exclude, spec_workcenter
from core.scrap import CHARGED_BUCKETS

BUCKETS = CHARGED_BUCKETS
"""The five charged scrap buckets (charged scrap = their sum, nulls as 0)."""

RESULT_COLUMNS = (
    "event_key", "containerid", "lot", "workorder", "workcenter", "spec", "station_group",
    "machine", "reason", "category", "comment", "txndate", *BUCKETS, "defectqty",
    "moveinqty", "package", "type", "function", "product", "objecttype", "excluded",
)
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


def event_key(r: Any = lotrejecthistory) -> Any:
    """historymainlineid, else containerid|txndate-to-the-second|specid."""
    fallback = (
        r.c.containerid.concat(_lit(_SEP))
        .concat(_SecondText(r.c.txndate))
        .concat(_lit(_SEP))
        .concat(sa.func.coalesce(r.c.specid, _lit("")))
    )
    return sa.func.coalesce(r.c.historymainlineid, fallback)


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end + 1 day 00:00): the whole end day is included."""
    return datetime.combine(start, time()), datetime.combine(end + timedelta(days=1), time())


def _station_groups() -> tuple[Any, Any]:
    """Spec -> group and workcenter -> group, one row per key (max() guards fan-out)."""
    by_spec = (
        sa.select(
            spec_workcenter.c.spec.label("key"),
            sa.func.max(spec_workcenter.c.work_center_group).label("grp"),
        )
        .group_by(spec_workcenter.c.spec)
        .subquery("grp_spec")
    )
    by_wc = (
        sa.select(
            spec_workcenter.c.work_center.label("key"),
            sa.func.max(spec_workcenter.c.work_center_group).label("grp"),
        )
        .where(spec_workcenter.c.work_center.is_not(None))
        .group_by(spec_workcenter.c.work_center)
        .subquery("grp_wc")
    )
    return by_spec, by_wc


def _excluded(reason: Any) -> Any:
    """1 when the reason is on the active exclusion list, by full name or by code (the
    part before the first '_', ' ' or '-'): a code matches a name that starts with it
    followed by a separator, when the code itself holds no separator or LIKE wildcard."""
    x = scrap_reasons_exclude.c.reason_name
    plain = sa.and_(*(sa.not_(x.contains(ch, autoescape=True)) for ch in ("_", " ", "-", "%")))
    by_code = sa.or_(
        *(reason.like(x.concat(_lit(sep + "%")), escape="\\") for sep in ("\\_", " ", "-"))
    )
    hit = (
        sa.select(sa.literal(1))
        .where(scrap_reasons_exclude.c.enable_flag == _lit("Y"))
        .where(sa.or_(x == reason, sa.and_(plain, by_code)))
        .exists()
    )
    return sa.case((hit, sa.literal(1)), else_=sa.literal(0))


def _rejects(where: Sequence[Any]) -> Select:
    r = lotrejecthistory
    raw = (
        sa.select(
            event_key(r).label("event_key"),
            *(r.c[n] for n in (
                "containerid", "pj_workorder", "workcentername", "specname", "equipmentname",
                "lossreasonname", "rejectcategoryname", "rejectcomment", "txndate",
                "moveinqty", *BUCKETS, "defectqty",
            )),
        )
        .where(*where)
        .subquery("raw")
    )
    zero = sa.literal(0)
    ev = (
        sa.select(
            raw.c.event_key,
            raw.c.lossreasonname.label("reason"),
            sa.func.max(raw.c.containerid).label("containerid"),
            sa.func.max(raw.c.pj_workorder).label("pj_workorder"),
            sa.func.max(raw.c.workcentername).label("workcenter"),
            sa.func.max(raw.c.specname).label("spec"),
            sa.func.max(raw.c.equipmentname).label("machine"),
            sa.func.max(raw.c.rejectcategoryname).label("category"),
            sa.func.max(raw.c.rejectcomment).label("comment"),
            sa.func.min(raw.c.txndate).label("txndate"),
            *(sa.func.sum(sa.func.coalesce(raw.c[b], zero)).label(b) for b in BUCKETS),
            sa.func.sum(sa.func.coalesce(raw.c.defectqty, zero)).label("defectqty"),
            # one event repeats its move-in on every reason row: take it once
            sa.func.max(sa.func.coalesce(raw.c.moveinqty, zero)).label("moveinqty"),
        )
        .group_by(raw.c.event_key, raw.c.lossreasonname)
        .subquery("ev")
    )
    by_spec, by_wc = _station_groups()
    c = container
    return (
        sa.select(
            ev.c.event_key,
            ev.c.containerid,
            c.c.containername.label("lot"),
            sa.func.coalesce(ev.c.pj_workorder, c.c.mfgordername).label("workorder"),
            ev.c.workcenter,
            ev.c.spec,
            sa.func.coalesce(by_spec.c.grp, by_wc.c.grp).label("station_group"),
            ev.c.machine,
            ev.c.reason,
            ev.c.category,
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
            _excluded(ev.c.reason).label("excluded"),
        )
        .select_from(
            ev.outerjoin(c, c.c.containerid == ev.c.containerid)
            .outerjoin(by_spec, by_spec.c.key == ev.c.spec)
            .outerjoin(by_wc, by_wc.c.key == ev.c.workcenter)
        )
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
