"""The driver base: what every backend's driver does the same way, and the Arrow typing.

Why its own module: the generic SQLAlchemy path (fetch, DB-API streaming in partitions),
the Arrow schema derived from a statement's column types (so the same query gives the
same Arrow types on every backend) and the ``Driver`` contract each backend module
(duckdb, postgresql, oracle) fills in. See core.db._drivers for the three jobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from core.db._engines import Backend
from core.db._watchdog import Deadline


def arrow_type_for(sa_type: sa.types.TypeEngine[Any]) -> pa.DataType | None:
    """The Arrow type a SQLAlchemy column type is delivered as (None: infer)."""
    t = sa_type
    if isinstance(t, sa.Boolean):
        return pa.bool_()
    if isinstance(t, sa.Integer):
        return pa.int64()
    if isinstance(t, (sa.Float, sa.Numeric)):
        return pa.float64()
    if isinstance(t, sa.DateTime):
        return pa.timestamp("us")
    if isinstance(t, sa.Date):
        return pa.date32()
    if isinstance(t, (sa.String, sa.Enum)):
        return pa.string()
    return None


def arrow_schema_for(stmt: Executable) -> list[tuple[str, pa.DataType | None]]:
    cols = getattr(stmt, "selected_columns", None)
    if cols is None:
        return []
    return [
        (c.key or getattr(c, "name", None) or f"column_{i}", arrow_type_for(c.type))
        for i, c in enumerate(cols)
    ]


def _conform(batch: pa.RecordBatch, wanted: list[tuple[str, pa.DataType | None]]) -> pa.RecordBatch:
    """Rename to the statement's column keys and cast to their declared Arrow types."""
    if not wanted or len(wanted) != batch.num_columns:
        return batch
    arrays = []
    for arr, (_, typ) in zip(batch.columns, wanted, strict=True):
        if typ is not None and arr.type != typ:
            arr = arr.cast(typ)
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, names=[n for n, _ in wanted])


def _rows_to_batch(
    rows: list[Any], keys: list[str], wanted: list[tuple[str, pa.DataType | None]]
) -> pa.RecordBatch:
    types = dict(wanted) if wanted and len(wanted) == len(keys) else {}
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in keys]
    arrays = [
        pa.array(list(col), type=types.get(k)) if types.get(k) is not None or rows
        else pa.array([], type=pa.null())
        for k, col in zip(keys, columns, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, names=keys)


def compile_for(conn: Connection, stmt: Executable) -> Any:
    """The statement as the connection's dialect runs it: schema translated, IN lists
    expanded (for drivers we call directly, outside SQLAlchemy's execute)."""
    opts = conn.get_execution_options()
    return stmt.compile(
        dialect=conn.dialect,
        schema_translate_map=opts.get("schema_translate_map"),
        render_schema_translate=bool(opts.get("schema_translate_map")),
        compile_kwargs={"render_postcompile": True},
    )


class Armed:
    """One armed deadline (``deadline`` when a watchdog fires it; drivers whose server
    enforces the deadline have none), handed back to ``disarm``."""

    def __init__(self, deadline: Deadline | None = None) -> None:
        self.deadline = deadline


class Driver:
    """Base: the generic SQLAlchemy streaming path with no deadline support."""

    backend: Backend
    invalidate_on_timeout = False
    # Batch cost grows with its ids (index lookups on a server): smaller batches while the
    # live widgets are active cost little and give way sooner.
    shrink_batches_for_live = True

    # --- deadlines and cancel ------------------------------------------------------------
    def arm(self, conn: Connection, deadline_s: float) -> Armed:  # pragma: no cover - abstract
        raise NotImplementedError

    def configure(self, settings: Any) -> None:
        """Take the settings that shape this driver's fetch (none in the base)."""

    def attach(self, lane: Any) -> None:
        """Told which lane it serves (real drivers need nothing; a test double uses the
        lane's retry hint: core.db._faults)."""

    def session_connect_args(
        self, deadline_s: float, *, parallel_workers: int | None = None
    ) -> dict[str, Any]:
        """connect() arguments that make ``deadline_s`` every session's default deadline
        (and, where the server has them, cap its parallel workers per query)."""
        return {}

    def disarm(self, conn: Connection, armed: Armed) -> None:
        if armed.deadline is not None:
            armed.deadline.cancel()

    def interrupt(self, raw: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def is_interrupt(self, exc: BaseException) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def is_db_error(self, exc: BaseException) -> bool:
        """An error raised by the database or its driver (as opposed to our own bugs)."""
        return isinstance(exc, sa.exc.DBAPIError)

    # --- small results (realtime lane): one round trip, no server-side cursor ----------
    def fetch(self, conn: Connection, stmt: Executable) -> pa.Table:
        wanted = arrow_schema_for(stmt)
        result = conn.execute(stmt)
        keys = list(result.keys())
        batch = _conform(_rows_to_batch(result.fetchall(), keys, wanted), wanted)
        return pa.Table.from_batches([batch])

    # --- streaming -----------------------------------------------------------------------
    def stream(
        self, conn: Connection, stmt: Executable, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        wanted = arrow_schema_for(stmt)
        result = conn.execution_options(stream_results=True, yield_per=batch_rows).execute(
            stmt
        )
        keys = list(result.keys())
        emitted = False
        try:
            for part in result.partitions(batch_rows):
                emitted = True
                yield _conform(_rows_to_batch(part, keys, wanted), wanted)
            if not emitted:
                yield _conform(_rows_to_batch([], keys, wanted), wanted)
        finally:
            result.close()


def _orig(exc: BaseException) -> BaseException:
    return exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
