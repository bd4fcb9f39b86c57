"""PostgreSQL: statement_timeout for deadlines, cancel_safe() to interrupt, COPY to CSV
parsed by Arrow for streaming.

Why its own module: one module per backend (core.db._drivers), each importing only its
own client library.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Executable

from core.db._drivers.base import Armed, Driver, _conform, _orig, arrow_schema_for, compile_for
from core.db._engines import Backend, raw_connection_of

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
