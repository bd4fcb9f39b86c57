"""DuckDB: a watchdog timer interrupts for deadlines; Arrow record batches straight from
the engine.

Why its own module: one module per backend (core.db._drivers), each importing only its
own client library.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Executable

from core.db._drivers.base import Armed, Driver, _conform, _orig, arrow_schema_for, compile_for
from core.db._engines import Backend, raw_connection_of
from core.db._watchdog import WATCHDOG


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
