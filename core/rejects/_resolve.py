"""Container lists for reject history: lots, GA/GC work orders, wafer lots, wildcards.

Problem: engineers paste lot names, work orders or wafer lots (some with wildcards) and
want the rejects of the containers they mean, plus the values that matched nothing.
(It matches one mixed list against three columns, where core.trace._seeds resolves one
kind at a time; the list rule and the resolver are core.values'.)

Design: a value matches a container by containername, mfgordername (work order) or
firstname (the wafer lot a lot came from). Exact values go in IN lists of at most 1000
(``stream_batched``); values with wildcards (``*`` or ``%`` any text, ``_`` one
character, a backslash makes the next character literal) become LIKE patterns, a few per
query. Which value matched what is decided locally with the same rule as a regex. The
matching rows carry the containers' attributes too, so loading their rejects needs no
second container query (``core.rejects._queries.attach``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.sql import Select

from core.catalog import query
from core.db import in_ids
from core.i18n import _
from core.rejects._inputs import RejectInputError
from core.rejects._queries import CONTAINER_COLUMNS, container_columns
from core.schema import container
from core.values import LIKE_ESCAPE, parse
from core.values import resolve as resolve_values

PATTERNS_PER_QUERY = 50
_MATCH_COLUMNS = ("containername", "mfgordername", "firstname")


@dataclass(frozen=True)
class Resolved:
    containerids: list[str]
    unmatched: list[str]
    matches: int
    containers: pa.Table
    """The matched containers' attributes (``CONTAINER_COLUMNS``), one row each."""


def is_pattern(value: str) -> bool:
    return parse(value).pattern is not None


def literal(value: str) -> str:
    return parse(value).literal


def like_pattern(value: str) -> str:
    """The LIKE pattern (escape character backslash), by core.values' one rule."""
    return parse(value).like


def regex(value: str) -> re.Pattern[str]:
    """The same match as the LIKE pattern, for deciding locally which value matched."""
    return parse(value).regex()


def _columns() -> list[sa.ColumnElement[str]]:
    """The attributes a load needs (named as CONTAINER_COLUMNS) and the match columns."""
    c = container.c
    return [*container_columns(), c.containername, c.firstname]


def _attributes(rows: list[dict[str, object]]) -> pa.Table:
    by_id = {r["containerid"]: r for r in rows}
    return pa.table({name: pa.array([r[name] for r in by_id.values()], pa.string())
                     for name in CONTAINER_COLUMNS})


@query("rejects.resolve_exact", {"values": [f"GA2601{i:04d}" for i in range(1000)]})
def resolve_exact_query(values: Sequence[str]) -> Select:
    vals = list(values)
    return sa.select(*_columns()).where(
        sa.or_(*(in_ids(container.c[n], vals) for n in _MATCH_COLUMNS))
    )


@query("rejects.resolve_like", {"patterns": ["GA2601%", "W\\_01*"]})
def resolve_like_query(patterns: Sequence[str], *, escaped: bool = False) -> Select:
    """Containers matching any pattern: typed values, or LIKE patterns (``escaped``)."""
    conds = [
        container.c[n].like(p if escaped else like_pattern(p), escape=LIKE_ESCAPE)
        for p in patterns for n in _MATCH_COLUMNS
    ]
    return sa.select(*_columns()).where(sa.or_(*conds))


def resolve(lanes: object, values: Sequence[str], *, max_matches: int,
            cancel: object = None) -> Resolved:
    """Container ids the values match, and the values that matched nothing
    (core.values.resolve: exact values batched, patterns as LIKE)."""
    rows: list[dict[str, object]] = []
    ids: set[str] = set()

    def add(_texts: list[str], row: dict[str, object]) -> None:
        rows.append(row)
        ids.add(str(row["containerid"]))
        if len(ids) > max_matches:
            raise RejectInputError(
                _("The list matches more than {n} containers (setting seed_max_matches). "
                  "Use narrower values or fewer wildcards.").format(n=f"{max_matches:,}"))

    found = resolve_values(
        lanes, [parse(v) for v in values], exact=resolve_exact_query,
        like=lambda pats: resolve_like_query(pats, escaped=True), keys=_MATCH_COLUMNS,
        on_row=add, patterns_per_query=PATTERNS_PER_QUERY, cancel=cancel)
    return Resolved(sorted(ids), found.unmatched, len(ids), _attributes(rows))
