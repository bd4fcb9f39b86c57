"""WIP status and hold type, defined once (shared/domain.md "Holds").

- Status: RUN if equipmentcount > 0, else HOLD if currentholdcount > 0, else QUEUE (a
  null count is 0). Lots without a work order are raw material, not WIP; lot ids
  containing DUMMY are hidden by default.
- Hold type: a reason on the configured non-quality list (settings
  ``non_quality_hold_reasons``) is a non-quality hold; everything else, a null reason
  included, is a quality hold. The value is ``non-quality`` (the CLI's ``--type``, the
  lot tables' ``hold_type``); as a JSON key it is ``non_quality`` (``json_key``).

Why: the rule was written four times (the WIP summary's CASE, the held-lots query, the
history's Arrow compute, the Python reference) and could drift. Here the status rule is
data (``STATUS_RULE``: the first count above zero names the status) and each form is
generated from it, as core/scrap.py does for charged scrap: ``status_expr`` /
``status_is`` / ``hold_type_expr`` / ``wip_where`` (SQLAlchemy, every backend), ``status_sql`` /
``hold_type_sql`` / ``wip_where_sql`` (DuckDB text over columns named like the
snapshot's, the reasons a bound list), ``status_arrow`` / ``hold_type_arrow`` (Arrow
compute, for record batches) and ``status_of`` / ``hold_type_of`` (plain Python, the
tests' reference).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from core.schema import lot_v

RUN, HOLD, QUEUE = "RUN", "HOLD", "QUEUE"
STATUSES = (RUN, QUEUE, HOLD)
STATUS_RULE: tuple[tuple[str, str], ...] = (("equipmentcount", RUN), ("currentholdcount", HOLD))
"""(count column, status) in order: the first count above zero (null as 0) names it."""
STATUS_OTHERWISE = QUEUE

QUALITY = "quality"
NON_QUALITY = "non-quality"
HOLD_KINDS = (QUALITY, NON_QUALITY)
REASON_COLUMN = "holdreasonname"
DUMMY_MARK = "DUMMY"


def json_key(hold_type: str) -> str:
    """The JSON / dict key of a hold type: ``quality``, ``non_quality``."""
    return hold_type.replace("-", "_")


# --- plain Python (the reference the tests hold the other forms to) -------------------------


def status_of(equipmentcount: int | None, currentholdcount: int | None) -> str:
    """The status of one lot."""
    counts = {"equipmentcount": equipmentcount, "currentholdcount": currentholdcount}
    for column, status in STATUS_RULE:
        if (counts[column] or 0) > 0:
            return status
    return STATUS_OTHERWISE


def hold_type_of(reason: str | None, non_quality_reasons: Iterable[str]) -> str:
    """The hold type of one reason (null is a quality hold)."""
    return NON_QUALITY if reason is not None and reason in set(non_quality_reasons) else QUALITY


# --- SQLAlchemy (warehouse queries, every backend) ------------------------------------------


def status_expr(t: Any = lot_v) -> sa.ColumnElement[str]:
    """CASE giving RUN / HOLD / QUEUE for the rows of table or subquery ``t``."""
    zero = sa.literal(0)
    return sa.case(
        *((sa.func.coalesce(t.c[column], zero) > 0, sa.literal(status))
          for column, status in STATUS_RULE),
        else_=sa.literal(STATUS_OTHERWISE),
    )


def status_is(status: str, t: Any = lot_v) -> sa.ColumnElement[bool]:
    """The rows of ``t`` whose status is ``status``, as plain predicates (no CASE, so a
    warehouse can use them as filters): the counts before its rule are not above zero,
    its own is."""
    zero = sa.literal(0)
    conds: list[sa.ColumnElement[bool]] = []
    for column, named in STATUS_RULE:
        count = sa.func.coalesce(t.c[column], zero)
        if named == status:
            return sa.and_(*conds, count > 0)
        conds.append(count <= 0)
    if status != STATUS_OTHERWISE:
        raise ValueError(f"unknown status {status!r}: one of {', '.join(STATUSES)}")
    return sa.and_(*conds)


def hold_type_expr(reason: Any, non_quality_reasons: Iterable[str]) -> sa.ColumnElement[str]:
    """CASE giving the hold type of column ``reason`` (a null reason is never IN the list,
    so it falls through to quality); a constant when the list is empty."""
    reasons = list(non_quality_reasons)
    if not reasons:
        return sa.literal(QUALITY)
    return sa.case((reason.in_(reasons), sa.literal(NON_QUALITY)), else_=sa.literal(QUALITY))


def wip_where(t: Any = lot_v, include_dummy: bool = False) -> list[sa.ColumnElement[bool]]:
    """WHERE conditions of WIP lots: a work order (else raw material); DUMMY lots hidden
    unless ``include_dummy`` (a null lot id is kept)."""
    conds: list[sa.ColumnElement[bool]] = [t.c.workorder.is_not(None)]
    if not include_dummy:
        conds.append(sa.or_(t.c.lotid.is_(None), sa.not_(t.c.lotid.contains(DUMMY_MARK))))
    return conds


# --- DuckDB text (local queries over loaded rows; fixed text, the reasons a bound list) -----


def status_sql() -> str:
    """The status CASE as DuckDB SQL over columns named like the snapshot's."""
    whens = " ".join(f"WHEN coalesce({column}, 0) > 0 THEN '{status}'"
                     for column, status in STATUS_RULE)
    return f"CASE {whens} ELSE '{STATUS_OTHERWISE}' END"


def hold_type_sql(reason: str = REASON_COLUMN, param: str = "non_quality") -> str:
    """The hold type as DuckDB SQL; bind ``$param`` to the reasons (a list of strings).
    ``reason`` is a fixed column name, never user input."""
    return (f"CASE WHEN coalesce(list_contains(${param}::VARCHAR[], {reason}), false) "
            f"THEN '{NON_QUALITY}' ELSE '{QUALITY}' END")


def wip_where_sql(include_dummy: bool = False) -> str:
    """The WIP conditions as DuckDB SQL (no parameters)."""
    cond = "workorder IS NOT NULL"
    if not include_dummy:
        cond += f" AND (lotid IS NULL OR NOT contains(lotid, '{DUMMY_MARK}'))"
    return cond


# --- Arrow compute (record batches) ---------------------------------------------------------


def status_arrow(columns: dict[str, pa.Array | pa.ChunkedArray]) -> pa.Array:
    """The status of each row, from its count columns (``{"equipmentcount": ...,
    "currentholdcount": ...}``, a table's columns or a dict of arrays)."""
    conds = [pc.fill_null(pc.greater(columns[column], 0), False) for column, _ in STATUS_RULE]
    cases = pc.make_struct(*conds, field_names=[column for column, _ in STATUS_RULE])
    return pc.case_when(cases, *(status for _, status in STATUS_RULE), STATUS_OTHERWISE)


def hold_type_arrow(reason: pa.Array | pa.ChunkedArray,
                    non_quality_reasons: Iterable[str]) -> pa.Array | pa.ChunkedArray:
    """The hold type of each reason (a null reason is a quality hold)."""
    value_set = pa.array(list(non_quality_reasons), pa.string())
    nq = pc.is_in(reason, value_set=value_set)  # a null reason: false (no null in the set)
    return pc.if_else(nq, pa.scalar(NON_QUALITY), pa.scalar(QUALITY))
