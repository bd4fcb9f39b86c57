"""Container lists for reject history: lots, GA/GC work orders, wafer lots, wildcards.

Problem: engineers paste lot names, work orders or wafer lots (some with wildcards) and
want the rejects of the containers they mean, plus the values that matched nothing.
(It matches one mixed list against three columns, where core.trace.seeds resolves one
kind at a time; the wildcard rule itself is the trace seeds' ``parse_value``.)

Design: a value matches a container by containername, mfgordername (work order) or
firstname (the wafer lot a lot came from). Exact values go in IN lists of at most 1000
(``stream_batched``); values with wildcards (``*`` or ``%`` any text, ``_`` one
character, a backslash makes the next character literal) become LIKE patterns, a few per
query. Which value matched what is decided locally with the same rule as a regex. The
matching rows carry the containers' attributes too, so loading their rejects needs no
second container query (``core.rejects.query.attach``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.sql import Select

from core.catalog import query
from core.db.idlist import in_ids
from core.rejects.inputs import RejectInputError
from core.rejects.query import CONTAINER_COLUMNS, container_columns
from core.schema import container
from core.trace.seeds import parse_value

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
    return parse_value(value).pattern is not None


def literal(value: str) -> str:
    return parse_value(value).literal


def like_pattern(value: str) -> str:
    """The LIKE pattern (escape character backslash), by the trace seeds' one rule."""
    parsed = parse_value(value)
    return parsed.pattern or "".join(
        "\\" + ch if ch in "%_\\" else ch for ch in parsed.literal
    )


def regex(value: str) -> re.Pattern[str]:
    """The same match as the LIKE pattern, for deciding locally which value matched."""
    pat, parts, i = like_pattern(value), [], 0
    while i < len(pat):
        if pat[i] == "\\" and i + 1 < len(pat):
            parts.append(re.escape(pat[i + 1]))
            i += 2
            continue
        parts.append({"%": ".*", "_": "."}.get(pat[i], re.escape(pat[i])))
        i += 1
    return re.compile("^" + "".join(parts) + "$", re.DOTALL)


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
def resolve_like_query(patterns: Sequence[str]) -> Select:
    conds = [
        container.c[n].like(like_pattern(p), escape="\\")
        for p in patterns for n in _MATCH_COLUMNS
    ]
    return sa.select(*_columns()).where(sa.or_(*conds))


def resolve(lanes: object, values: Sequence[str], *, max_matches: int,
            cancel: object = None) -> Resolved:
    """Container ids the values match, and the values that matched nothing."""
    exact = [literal(v) for v in values if not is_pattern(v)]
    patterns = [v for v in values if is_pattern(v)]
    tables: list[pa.Table] = []
    slow = lanes.slow  # type: ignore[attr-defined]
    if exact:
        with closing(slow.stream_batched(resolve_exact_query, exact, cancel=cancel)) as it:
            tables += [b.table for b in it if b.table is not None]
    for i in range(0, len(patterns), PATTERNS_PER_QUERY):
        chunk = patterns[i:i + PATTERNS_PER_QUERY]
        tables.append(slow.fetch_arrow(resolve_like_query(chunk), cancel=cancel))
    rows = pa.concat_tables(tables).to_pylist() if tables else []
    ids = sorted({r["containerid"] for r in rows})
    if len(ids) > max_matches:
        raise RejectInputError(
            f"The list matches {len(ids):,} containers; at most {max_matches:,} are allowed "
            "(setting seed_max_matches). Use narrower values or fewer wildcards."
        )
    seen: set[str] = set()
    for r in rows:
        seen.update(v for v in (r[n] for n in _MATCH_COLUMNS) if v)
    unmatched = [v for v in values if not is_pattern(v) and literal(v) not in seen]
    for p in patterns:
        rx = regex(p)
        if not any(rx.match(s) for s in seen):
            unmatched.append(p)
    return Resolved(ids, unmatched, len(ids), _attributes(rows))
