"""Charged scrap, defined once (shared/domain.md, "Reject (scrap) measures").

Charged scrap = rejectqty + standbyqty + qtytoprocess + inprocessqty + processedqty, nulls
as 0; defectqty is uncharged and never added. Warehouse queries use ``charged_scrap()``
(SQLAlchemy, every backend); local DuckDB over loaded rows uses ``charged_sql()``.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import sqlalchemy as sa

from core.schema import lotrejecthistory

CHARGED_BUCKETS = ("rejectqty", "standbyqty", "qtytoprocess", "inprocessqty", "processedqty")


def charged_scrap(t: Any = lotrejecthistory) -> sa.ColumnElement[int]:
    """The five charged buckets of table/subquery ``t`` summed, nulls as 0."""
    zero = sa.literal(0)
    return functools.reduce(
        operator.add, (sa.func.coalesce(t.c[b], zero) for b in CHARGED_BUCKETS)
    )


def charged_sql() -> str:
    """The same sum as DuckDB SQL over columns named like the buckets (fixed text)."""
    return " + ".join(f"coalesce({b}, 0)" for b in CHARGED_BUCKETS)
