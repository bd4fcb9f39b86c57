"""Loading the generated Arrow tables into the target database, fast on each backend.

Why: the incident scale writes millions of rows; SQLAlchemy executemany would take
hours. DuckDB reads an Arrow table directly (``INSERT INTO t SELECT * FROM arrow``),
PostgreSQL streams CSV through ``COPY ... FROM STDIN`` (Arrow writes the CSV in C++);
any other backend falls back to SQLAlchemy ``insert()`` in chunks of 5000 rows. Only
identifiers are ever put into SQL text: the schema (validated as a plain identifier) and
the names of core.schema's tables and columns, quoted by the dialect or by psycopg.

Afterwards PostgreSQL gets the indexes the trace and history queries need, and ANALYZE;
a DuckDB file is rewritten once with smaller row groups (``repack_duckdb``), DuckDB's
counterpart of those indexes.
"""

from __future__ import annotations

import io
import os
import re

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from core import schema as t
from core.db import duckdb_path, file_literal, make_engine, raw_connection_of
from core.schema import SCHEMA_PLACEHOLDER

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
GENERIC_CHUNK = 5000

INDEXES: tuple[tuple[sa.Table, tuple[str, ...]], ...] = (
    (t.lotwiphistory, ("containerid",)),
    (t.lotrejecthistory, ("containerid",)),
    (t.lotmaterialshistory, ("containerid",)),
    (t.holdreleasehistory, ("containerid",)),
    (t.container, ("splitfromid",)),
    (t.container, ("originalcontainerid",)),
    (t.container, ("firstname",)),
    (t.container, ("mfgordername",)),
    (t.combinedassylots, ("lotid",)),
    (t.combinedassylots, ("containerid",)),
    (t.combinedassylots, ("finishedname",)),
    (t.lotrejecthistory, ("txndate",)),
    (t.lotwiphistory, ("workcentername", "trackintimestamp")),
    (t.holdreleasehistory, ("holdtxndate",)),
    (t.job, ("resourceid", "createdate")),
)
"""(table, columns) indexed on PostgreSQL (DuckDB scans fast enough without)."""

DUCKDB_ROW_GROUP_ROWS = 16_384
"""Rows per row group of a demo DuckDB file (DuckDB's default: 122,880). The big tables are
stored by container id, and DuckDB skips row groups by their min/max, so an IN-list batch
of 1000 lots (~15K history rows) reads one or two row groups: with the default it scanned
a whole 122,880-row group for them. Measured on the incident (2 cores, best of 3, two
runs each): trace domains 2.10-2.21 -> 1.98-2.00 CPU-s, lineage 1.36-1.70 -> 1.20-1.23 s,
a 365-day reject load unchanged (0.216 s); 32,768 measured between the two."""


class DemoExistsError(RuntimeError):
    """The target already holds demo data and ``replace=False`` was asked."""


def check_schema(schema: str) -> str:
    if not _IDENT.match(schema):
        raise ValueError(f"schema {schema!r} must be a plain identifier (letters, digits, _)")
    return schema


def backend_name(url: str) -> str:
    return make_url(url).get_backend_name()


def open_engine(url: str, schema: str) -> Engine:
    """An unpooled read-write engine translating the placeholder schema to ``schema``."""
    backend = backend_name(url)
    if backend == "duckdb":
        path = make_url(url).database
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
    if backend in ("duckdb", "postgresql", "oracle"):
        return make_engine(url, schema=schema, pool=None, read_only=False, role="demo")
    # other backends: plain SQLAlchemy; SQLite has no schemas, so tables go unqualified
    engine = sa.create_engine(url, poolclass=NullPool)
    target: str | None = None if backend == "sqlite" else schema
    return engine.execution_options(schema_translate_map={SCHEMA_PLACEHOLDER: target})


def prepare(conn: sa.Connection, schema: str, replace: bool) -> None:
    """Create the schema (DuckDB, PostgreSQL) and the tables, dropping old ones first."""
    if conn.dialect.name in ("duckdb", "postgresql"):
        conn.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
    if replace:
        t.metadata.drop_all(conn, checkfirst=True)
    t.metadata.create_all(conn, checkfirst=True)
    if not replace:
        has_rows = conn.execute(sa.select(t.container.c.containerid).limit(1)).first()
        if has_rows is not None:
            raise DemoExistsError(
                "the target already holds dw_mes_container rows; build with replace=True "
                "to rebuild the demo")


def _qualified(conn: sa.Connection, schema: str | None, table: sa.Table) -> str:
    q = conn.dialect.identifier_preparer.quote
    return f"{q(schema)}.{q(table.name)}" if schema else q(table.name)


class TableWriter:
    """Writes Arrow tables (columns in core.schema order) through one connection."""

    def __init__(self, conn: sa.Connection, schema: str):
        self.conn = conn
        self.schema = schema
        self.backend = conn.dialect.name

    def write(self, table: sa.Table, data: pa.Table) -> int:
        if [c.name for c in table.columns] != data.column_names:
            raise ValueError(f"{table.name}: columns out of order")
        if data.num_rows == 0:
            return 0
        if table.name in ("dw_mes_lotwiphistory", "dw_mes_lotrejecthistory",
                          "dw_mes_lotmaterialshistory", "dw_mes_container"):
            # by lot id, as the warehouse's indexes would serve them: DuckDB's IN-list
            # batches then read the few row groups whose min/max can match
            data = data.sort_by("containerid")
        if self.backend == "duckdb":
            self._duckdb(table, data)
        elif self.backend == "postgresql":
            self._postgres(table, data)
        else:
            self._generic(table, data)
        return data.num_rows

    def _duckdb(self, table: sa.Table, data: pa.Table) -> None:
        raw = raw_connection_of(self.conn)
        view = "demo_arrow_source"
        raw.register(view, data)  # type: ignore[attr-defined]
        try:
            target = _qualified(self.conn, self.schema, table)
            raw.execute(f"INSERT INTO {target} SELECT * FROM {view}")  # type: ignore[attr-defined]
        finally:
            raw.unregister(view)  # type: ignore[attr-defined]

    def _postgres(self, table: sa.Table, data: pa.Table) -> None:
        from psycopg import sql

        raw = raw_connection_of(self.conn)
        stmt = sql.SQL("COPY {}.{} ({}) FROM STDIN (FORMAT csv)").format(
            sql.Identifier(self.schema), sql.Identifier(table.name),
            sql.SQL(", ").join(sql.Identifier(c.name) for c in table.columns))
        # 'needed' quoting quotes every string, so "" is an empty string and an unquoted
        # empty field is NULL, exactly what COPY's CSV format expects
        opts = pacsv.WriteOptions(include_header=False, quoting_style="needed")
        with raw.cursor() as cur, cur.copy(stmt) as copy:  # type: ignore[attr-defined]
            for batch in data.to_batches(max_chunksize=200_000):
                buf = io.BytesIO()
                pacsv.write_csv(pa.Table.from_batches([batch]), buf, opts)
                copy.write(buf.getvalue())

    def _generic(self, table: sa.Table, data: pa.Table) -> None:
        for off in range(0, data.num_rows, GENERIC_CHUNK):
            rows = data.slice(off, GENERIC_CHUNK).to_pylist()
            self.conn.execute(table.insert(), rows)


def create_indexes(conn: sa.Connection, schema: str) -> int:
    """PostgreSQL: the indexes of INDEXES, then ANALYZE of every demo table."""
    if conn.dialect.name != "postgresql":
        return 0
    q = conn.dialect.identifier_preparer.quote
    for table, cols in INDEXES:
        name = f"ix_{table.name}_{'_'.join(cols)}"[:63]
        conn.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {q(name)} ON {_qualified(conn, schema, table)} "
            f"({', '.join(q(c) for c in cols)})")
    for table in t.ALL_TABLES:
        conn.exec_driver_sql(f"ANALYZE {_qualified(conn, schema, table)}")
    return len(INDEXES)


def repack_duckdb(url: str, row_group_rows: int = DUCKDB_ROW_GROUP_ROWS) -> bool:
    """Rewrite the DuckDB file of ``url`` with ``row_group_rows`` rows per row group.

    DuckDB fixes the row-group size when a database is attached, not per table, and the
    build writes through an engine that attaches the file with the default; so the
    finished file is copied once (schemas, tables, rows in their stored order) into a new
    file attached with the size, which then replaces it. The database must not be open
    elsewhere. Returns False (nothing done) for an in-memory database or another backend
    (whose URL's database name is no file)."""
    import duckdb

    path = duckdb_path(url) if backend_name(url) == "duckdb" else None
    if path is None:
        return False
    part = f"{path}.repack"
    leftovers = (part, f"{part}.wal")

    def remove_leftovers() -> None:
        for leftover in leftovers:
            if os.path.exists(leftover):
                os.remove(leftover)

    remove_leftovers()  # of a build that died while repacking (ATTACH would open it)
    copied = False
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {file_literal(path)} AS demo_source (READ_ONLY)")
        con.execute(f"ATTACH {file_literal(part)} AS demo_target "
                    f"(ROW_GROUP_SIZE {int(row_group_rows)})")
        con.execute("COPY FROM DATABASE demo_source TO demo_target")
        con.execute("DETACH demo_target")  # checkpoints: no WAL left beside the file
        con.execute("DETACH demo_source")
        copied = True
    finally:
        con.close()
        if not copied:
            remove_leftovers()
    os.replace(part, path)
    return True
