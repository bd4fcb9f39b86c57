"""What each database driver must do for a lane: deadlines, cancel, streaming to Arrow.

Why: the rules "every slow query has a deadline the driver enforces" and "stream, never
hold three copies" are the same for every backend, but each driver does them its own
way. A Driver is the swappable transport under a lane (as in httpx): the lane's logic
(throttle, stats, clean-up) is shared, the driver's three jobs are not:

- deadline: Oracle ``call_timeout`` (ms) on the real oracledb connection; PostgreSQL
  ``statement_timeout`` local to the transaction; DuckDB has none, so a timer calls the
  connection's own ``interrupt()``.
- cancel from another thread: ``interrupt()``, psycopg ``cancel_safe()``, oracledb
  ``cancel()``.
- streaming: DuckDB hands Arrow record batches straight from the engine; PostgreSQL and
  Oracle fetch through a server-side cursor in partitions turned into record batches.

Every batch is cast to the Arrow schema derived from the statement's SQLAlchemy column
types, so the same query returns the same Arrow types on every backend.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from core.db.engines import Backend, raw_connection_of
from core.db.watchdog import WATCHDOG, Deadline


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


PG_COPY_BLOCK_BYTES = 4 << 20


def _csv_record_end(buf: bytes | bytearray, limit: int) -> int:
    """Index just past the last complete CSV record in ``buf[:limit]``, or 0.

    A newline ends a record exactly when an even number of quote characters precede it
    (CSV escapes a quote inside a field by doubling it), so quoted newlines are safe."""
    pos = limit
    while True:
        pos = buf.rfind(b"\n", 0, pos)
        if pos < 0:
            return 0
        if buf.count(b'"', 0, pos) % 2 == 0:
            return pos + 1


def _pg_copy_arrow(
    conn: Connection,
    stmt: Executable,
    wanted: list[tuple[str, pa.DataType | None]],
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    """Stream a query through PostgreSQL's COPY as CSV into Arrow record batches.

    COPY chunks are gathered into blocks of about PG_COPY_BLOCK_BYTES, cut at a record
    boundary, and each block is parsed by Arrow's C++ CSV reader (which releases the GIL).
    Memory stays at one block plus its Arrow batch, whatever the result size."""
    import pyarrow.csv as pcsv

    compiled = compile_for(conn, stmt)
    raw = raw_connection_of(conn)
    names = [n for n, _ in wanted]
    # one thread: a block is small, and the other core belongs to the live widgets
    read_options = pcsv.ReadOptions(column_names=names, use_threads=False)
    parse_options = pcsv.ParseOptions(newlines_in_values=True)
    convert_options = pcsv.ConvertOptions(
        column_types={n: t for n, t in wanted if t is not None},
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["t", "true"],
        false_values=["f", "false"],
    )

    def parse(block: bytes | bytearray) -> Iterator[pa.RecordBatch]:
        table = pcsv.read_csv(
            pa.py_buffer(bytes(block)),
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )
        for batch in table.to_batches(max_chunksize=batch_rows):
            yield _conform(batch, wanted)

    emitted = False
    buf = bytearray()
    with raw.cursor() as cur, cur.copy(
        f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv)",  # bound client-side
        compiled.params,
    ) as copy:
        for data in copy:
            buf += data
            if len(buf) >= PG_COPY_BLOCK_BYTES:
                cut = _csv_record_end(buf, len(buf))
                if cut:
                    block = buf[:cut]
                    del buf[:cut]
                    for batch in parse(block):
                        emitted = True
                        yield batch
        if buf:
            for batch in parse(buf):
                emitted = True
                yield batch
    if not emitted:
        yield _conform(
            pa.RecordBatch.from_pylist(
                [], schema=pa.schema([(n, t or pa.string()) for n, t in wanted])
            ),
            wanted,
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
        lane's retry hint: core.db.faults)."""

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


class DuckDBDriver(Driver):
    backend: Backend = "duckdb"
    # Every batch scans the table: smaller batches would multiply the work. DuckDB gives
    # way through its thread limit (settings.duckdb_threads) instead.
    shrink_batches_for_live = False

    def arm(self, conn: Connection, deadline_s: float) -> Armed:
        # DuckDB has no statement timeout: the process's watchdog interrupts the query.
        return Armed(WATCHDOG.schedule(deadline_s, raw_connection_of(conn).interrupt))

    def interrupt(self, raw: Any) -> None:
        raw.interrupt()

    def is_interrupt(self, exc: BaseException) -> bool:
        import duckdb

        err = _orig(exc)
        if isinstance(err, duckdb.InterruptException):
            return True
        # Interrupted while the Arrow reader pulls a batch: DuckDB's error reaches us
        # through Arrow as an OSError ("INTERRUPT Error: Interrupted!").
        return isinstance(err, OSError) and str(err).startswith("INTERRUPT Error")

    def is_db_error(self, exc: BaseException) -> bool:
        import duckdb

        return super().is_db_error(exc) or isinstance(exc, duckdb.Error)

    def stream(
        self, conn: Connection, stmt: Executable, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        """Arrow straight from DuckDB (no DB-API rows, no extra copy)."""
        wanted = arrow_schema_for(stmt)
        compiled = compile_for(conn, stmt)
        params = [compiled.params[k] for k in (compiled.positiontup or [])]
        raw = raw_connection_of(conn)
        # DuckDB 2 refuses new work while an earlier result (e.g. the pool's pre-ping)
        # is unfinished on this connection; abandon it first.
        raw.abort()
        reader = raw.sql(str(compiled), params=params or None).to_arrow_reader(batch_rows)
        try:
            emitted = False
            for batch in reader:
                emitted = True
                yield _conform(batch, wanted)
            if not emitted:
                yield _conform(pa.RecordBatch.from_pylist([], schema=reader.schema), wanted)
        finally:
            reader.close()  # an open reader blocks the connection for its next user


class PostgresDriver(Driver):
    """statement_timeout for deadlines; COPY ... TO STDOUT (CSV) parsed by Arrow's C++
    reader for streaming, which is ~4x faster than DB-API rows and leaves the GIL to the
    live widgets' threads. adbc-driver-postgresql was measured against it and not adopted
    (bench/pg_arrow.py, docs/benchmarks.md): it holds a bound query's whole result, and
    its server-side-cursor variant was slower."""

    backend: Backend = "postgresql"

    def __init__(self) -> None:
        self.session_deadline_ms: int | None = None

    def session_connect_args(
        self, deadline_s: float, *, parallel_workers: int | None = None
    ) -> dict[str, Any]:
        self.session_deadline_ms = max(1, int(deadline_s * 1000))
        options = f"-c statement_timeout={self.session_deadline_ms}"
        if parallel_workers is not None:
            # A slow query with parallel workers takes every core of a small server, and
            # the live widgets' queries queue behind it (seen in the incident replay).
            options += f" -c max_parallel_workers_per_gather={int(parallel_workers)}"
        return {"options": options}

    def arm(self, conn: Connection, deadline_s: float) -> Armed:
        ms = max(1, int(deadline_s * 1000))
        if ms != self.session_deadline_ms:
            # Local to the transaction the lane always rolls back: nothing leaks.
            conn.execute(
                sa.select(sa.func.set_config("statement_timeout", str(ms), sa.true()))
            )
        return Armed()

    def stream(
        self, conn: Connection, stmt: Executable, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        wanted = arrow_schema_for(stmt)
        if not wanted:
            yield from super().stream(conn, stmt, batch_rows)
            return
        yield from _pg_copy_arrow(conn, stmt, wanted, batch_rows)

    def interrupt(self, raw: Any) -> None:
        cancel = getattr(raw, "cancel_safe", None) or raw.cancel
        cancel()

    def is_interrupt(self, exc: BaseException) -> bool:
        import psycopg

        return isinstance(_orig(exc), psycopg.errors.QueryCanceled)

    def is_db_error(self, exc: BaseException) -> bool:
        import psycopg

        return super().is_db_error(exc) or isinstance(exc, psycopg.Error)


# python-oracledb error codes meaning "stopped by call_timeout or cancel".
ORACLE_INTERRUPT_CODES = frozenset(
    {"DPY-4024", "DPY-4011", "DPI-1067", "ORA-01013", "ORA-03156"}
)


class OracleDriver(Driver):
    """call_timeout for deadlines, cancel() to interrupt; slow-lane results through
    python-oracledb's Arrow fetch (``Connection.fetch_df_batches``, thin mode): record
    batches built in its Cython layer, no Python tuple per row, so a 1.4M-row history
    costs no per-row interpreter time and far less GIL than the DB-API row path (which
    stays as the fallback: ``arrow_fetch`` False, from setting ``oracle_arrow_fetch``, or
    a python-oracledb without it)."""

    backend: Backend = "oracle"
    # After a call timeout the session state is unknown: never give it back to the pool.
    invalidate_on_timeout = True
    arrow_fetch = True

    def configure(self, settings: Any) -> None:
        self.arrow_fetch = bool(settings.oracle_arrow_fetch)

    def is_db_error(self, exc: BaseException) -> bool:
        import oracledb

        # the Arrow fetch calls python-oracledb directly: its errors arrive unwrapped
        return super().is_db_error(exc) or isinstance(exc, oracledb.Error)

    def arm(self, conn: Connection, deadline_s: float) -> Armed:
        raw = raw_connection_of(conn)
        raw.call_timeout = max(1, int(deadline_s * 1000))
        return Armed()

    def disarm(self, conn: Connection, armed: Armed) -> None:
        super().disarm(conn, armed)
        try:
            raw_connection_of(conn).call_timeout = 0
        except Exception:  # connection already invalidated
            pass

    def interrupt(self, raw: Any) -> None:
        raw.cancel()

    def is_interrupt(self, exc: BaseException) -> bool:
        err = _orig(exc)
        args = getattr(err, "args", ())
        obj = args[0] if args else None
        code = getattr(obj, "full_code", None) or ""
        text = str(err)
        return code in ORACLE_INTERRUPT_CODES or any(c in text for c in ORACLE_INTERRUPT_CODES)

    def stream(
        self, conn: Connection, stmt: Executable, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        raw = raw_connection_of(conn)
        if not (self.arrow_fetch and hasattr(raw, "fetch_df_batches")):
            yield from super().stream(conn, stmt, batch_rows)  # DB-API rows, yield_per
            return
        compiled = compile_for(conn, stmt)
        yield from self.arrow_batches(raw, str(compiled), dict(compiled.params),
                                      arrow_schema_for(stmt), batch_rows)

    @staticmethod
    def arrow_batches(
        raw: Any, sql: str, params: dict[str, Any],
        wanted: list[tuple[str, pa.DataType | None]], batch_rows: int,
    ) -> Iterator[pa.RecordBatch]:
        """Record batches of ``sql`` from ``raw.fetch_df_batches``: typed by python-oracledb
        itself when every column's Arrow type is known (``requested_schema``), else cast
        here; named like the statement's columns (Oracle reports them in upper case)."""
        known = bool(wanted) and all(t is not None for _, t in wanted)
        schema = pa.schema([(n, t) for n, t in wanted]) if known else None
        extra = {"requested_schema": schema} if _takes_requested_schema(type(raw)) else {}
        emitted = False
        for frame in raw.fetch_df_batches(sql, parameters=params or None, size=batch_rows,
                                          **extra):
            for batch in pa.table(frame).to_batches():  # Arrow PyCapsule stream
                emitted = True
                yield _conform(batch, wanted)
        if not emitted:
            yield pa.RecordBatch.from_pylist(
                [], schema=pa.schema([(n, t or pa.string()) for n, t in wanted]))


@functools.cache
def _takes_requested_schema(cls: type) -> bool:
    """python-oracledb before ``requested_schema`` existed (its Arrow fetch is older):
    fetch untyped there and let ``_conform`` name and cast the columns. Asked once per
    connection class, not per batch (a signature costs ~20 µs under the GIL)."""
    import inspect

    try:
        return "requested_schema" in inspect.signature(cls.fetch_df_batches).parameters
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return False


DRIVERS: dict[str, type[Driver]] = {
    "duckdb": DuckDBDriver,
    "postgresql": PostgresDriver,
    "oracle": OracleDriver,
}


def driver_for(backend: str) -> Driver:
    return DRIVERS[backend]()
