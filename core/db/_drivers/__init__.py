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

One module per backend (base, duckdb, postgresql, oracle) so each reads on its own and
imports only its client library; this package keeps the names other code imports.
"""

from core.db._drivers.base import (
    Armed,
    Driver,
    _conform,
    _orig,
    _rows_to_batch,
    arrow_schema_for,
    arrow_type_for,
    compile_for,
)
from core.db._drivers.duckdb import DuckDBDriver
from core.db._drivers.oracle import ORACLE_INTERRUPT_CODES, OracleDriver
from core.db._drivers.postgresql import PG_COPY_BLOCK_BYTES, PostgresDriver, _csv_record_end

DRIVERS: dict[str, type[Driver]] = {
    "duckdb": DuckDBDriver,
    "postgresql": PostgresDriver,
    "oracle": OracleDriver,
}


def driver_for(backend: str) -> Driver:
    return DRIVERS[backend]()


__all__ = [
    "DRIVERS",
    "ORACLE_INTERRUPT_CODES",
    "PG_COPY_BLOCK_BYTES",
    "Armed",
    "Driver",
    "DuckDBDriver",
    "OracleDriver",
    "PostgresDriver",
    "_conform",
    "_csv_record_end",
    "_orig",
    "_rows_to_batch",
    "arrow_schema_for",
    "arrow_type_for",
    "compile_for",
    "driver_for",
]
