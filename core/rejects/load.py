"""Running the primary reject query on the slow lane and preparing the rows for slicing.

Problem: the primary query is the only warehouse round trip of reject history; it must
run on the slow lane (throttled, deadline, cancellable) and come back as one Arrow table.

Design: a date range is one statement (``fetch_arrow``); a container list is resolved
(``core.rejects.resolve``) and fetched in IN lists of at most 1000 (``stream_batched``);
either way the result is ``measures.prepare``-d once, with the reference data applied
locally: the station map of ``core.stations`` (cached per database; the view plus the
workcenter_map_file override) and the active exclusion list (a few rows, read with each
load so the flag is as fresh as the rows). ``values_digest`` names a container list
by its sorted values (core.rejects.run keys a load by its primary inputs only).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from core.rejects.measures import prepare
from core.rejects.query import exclusion_list, rejects_by_containers, rejects_by_range
from core.rejects.resolve import resolve
from core.stations import station_map


@dataclass(frozen=True)
class Loaded:
    table: pa.Table
    start: date | None
    end: date | None
    unmatched: tuple[str, ...] = ()
    containers: int | None = None


def _prepare(lanes: Any, table: pa.Table) -> pa.Table:
    """The rows with the station group and policy flags (reference data read on the
    realtime lane: a few hundred rows at most, like core.stations)."""
    names = lanes.realtime.fetch_arrow(exclusion_list(), live=False).column(
        "reason_name").to_pylist()
    return prepare(table, station_map(lanes, lanes.settings), names)


def load_range(lanes: Any, start: date, end: date, *, cancel: Any = None) -> Loaded:
    table = lanes.slow.fetch_arrow(rejects_by_range(start, end), cancel=cancel)
    return Loaded(_prepare(lanes, table), start, end)


def load_containers(
    lanes: Any, values: Sequence[str], *, max_matches: int, cancel: Any = None,
    progress: Callable[..., None] | None = None,
) -> Loaded:
    """Rejects of the containers ``values`` match; ``progress(done=, total=, rows=)``
    after each IN-list batch (ids done of the matched containers)."""
    found = resolve(lanes, values, max_matches=max_matches, cancel=cancel)
    tables: list[pa.Table] = []
    if found.containerids:
        done = rows = 0
        total = len(found.containerids)
        if progress is not None:
            progress(done=0, total=total, rows=0)
        with closing(lanes.slow.stream_batched(
            lambda chunk: rejects_by_containers(chunk), found.containerids, cancel=cancel
        )) as it:
            for b in it:
                done += b.size
                if b.table is not None:
                    tables.append(b.table)
                    rows += b.table.num_rows
                if progress is not None:
                    progress(done=done, total=total, rows=rows)
    table = pa.concat_tables(tables) if tables else _empty_result()
    start = end = None
    if table.num_rows:
        days = table.column("txndate")
        lo, hi = pc.min_max(days).values()
        start, end = lo.as_py().date(), hi.as_py().date()
    return Loaded(_prepare(lanes, table), start, end, tuple(found.unmatched),
                  len(found.containerids))


def _empty_result() -> pa.Table:
    """An empty table with the primary query's columns (no container matched)."""
    from core.db.drivers import arrow_schema_for

    wanted = arrow_schema_for(rejects_by_containers(["0" * 16]))
    return pa.schema([(n, t or pa.string()) for n, t in wanted]).empty_table()


def values_digest(values: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(values)).encode("utf-8")).hexdigest()[:32]
