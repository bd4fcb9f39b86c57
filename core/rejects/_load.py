"""Running the primary reject load on the slow lane and preparing the rows for slicing.

Problem: the primary load is the only warehouse round trip of reject history; it must
run on the slow lane (throttled, deadline, cancellable) and come back as one Arrow table.

Design: a date range is two statements run side by side on the slow lane (its two
workers): the reject records and the attributes of their containers, joined locally
(``core.rejects._queries.attach``); a container list is resolved (``core.rejects._resolve``,
which reads the attributes as it matches) and its records fetched in IN lists of at most
1000 (``stream_batched``). Either way the rows are ``measures.prepare``-d once, with the
reference data applied locally: the station map of ``core.stations`` (cached per
database; the view plus the workcenter_map_file override) and the active exclusion list
(a few rows, read with each load so the flag is as fresh as the rows); the workflow of
each lot comes from the WIP snapshot (``core.rejects._workflow``). ``values_digest``
names a container list by its sorted values (core.rejects._load_job keys a load by its primary
inputs only).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from core.db import CancelToken
from core.rejects._queries import (
    attach,
    containers_by_range,
    exclusion_list,
    rejects_by_containers,
    rejects_by_range,
)
from core.rejects._records import prepare
from core.rejects._resolve import resolve
from core.rejects._workflow import as_of, attach_workflow, workflows
from core.stations import station_map


@dataclass(frozen=True)
class Loaded:
    table: pa.Table
    start: date | None
    end: date | None
    unmatched: tuple[str, ...] = ()
    containers: int | None = None
    workflow_as_of: datetime | None = None
    """When the WIP snapshot the workflows come from was taken (core.rejects._workflow)."""


def _exclusions(lanes: Any) -> list[str]:
    """The active exclusion list (reference data read on the realtime lane: a few rows,
    read with each load so the flag is as fresh as the rows)."""
    return lanes.realtime.fetch_arrow(exclusion_list(), live=False).column(
        "reason_name").to_pylist()


def _prepare(lanes: Any, table: pa.Table, exclusions: list[str]) -> pa.Table:
    """The rows with the station group and policy flags."""
    return prepare(table, station_map(lanes, lanes.settings), exclusions)


def load_range(lanes: Any, start: date, end: date, *, cancel: Any = None) -> Loaded:
    """The range's records and, side by side on the slow lane (its two workers), their
    containers' attributes and the exclusion list. If either side fails or the caller
    cancels, the other is cancelled too, and both have returned their permits and
    connections before this returns or raises."""
    token = CancelToken(cancel)  # also ends the side work when the records fail

    def side() -> tuple[pa.Table, list[str], pa.Table]:
        return (lanes.slow.fetch_arrow(containers_by_range(start, end), cancel=token),
                _exclusions(lanes), lanes.slow.fetch_arrow(workflows(), cancel=token))

    try:
        with ThreadPoolExecutor(1, thread_name_prefix="rejects-load") as pool:
            pending = pool.submit(side)
            try:
                records = lanes.slow.fetch_arrow(rejects_by_range(start, end), cancel=token)
                containers, exclusions, wip = pending.result()
            except BaseException:
                token.cancel()
                raise
    finally:
        token.detach()
    table = attach_workflow(attach(records, containers), wip)
    return Loaded(_prepare(lanes, table, exclusions), start, end, workflow_as_of=as_of(wip))


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
    records = pa.concat_tables(tables) if tables else _empty(rejects_by_containers(["0" * 16]))
    wip = lanes.slow.fetch_arrow(workflows(), cancel=cancel)
    table = attach_workflow(attach(records, found.containers), wip)
    start = end = None
    if table.num_rows:
        days = table.column("txndate")
        lo, hi = pc.min_max(days).values()
        start, end = lo.as_py().date(), hi.as_py().date()
    return Loaded(_prepare(lanes, table, _exclusions(lanes)), start, end, tuple(found.unmatched),
                  len(found.containerids), workflow_as_of=as_of(wip))


def _empty(stmt: Any) -> pa.Table:
    """An empty table with a statement's columns (no container matched)."""
    from core.db import arrow_schema_for

    return pa.schema([(n, t or pa.string()) for n, t in arrow_schema_for(stmt)]).empty_table()


def values_digest(values: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(values)).encode("utf-8")).hexdigest()[:32]
