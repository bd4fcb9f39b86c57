"""A real database error for chosen rows: how a test makes one batch of a trace fail.

Why: completeness must be tested with a batch that really fails on a real backend, no
mock. ``poison`` renames a table to ``<table>_rows`` and puts a view of the same name in
its place returning the same rows, except that reading ``column`` of a row matching
``where`` (SQL over the table's own columns, a test's literal) makes the database itself
raise a conversion error (DuckDB and PostgreSQL alike). A batched query whose IN list
holds such a row fails; the other batches never read it (their IN list filters it out
before the column is computed), so only that batch fails. Pick a ``column`` the failing
query selects and no query filters on, so the error stays with the rows asked for.
"""

from __future__ import annotations

import sqlalchemy as sa

from core.db._engines import make_engine


def poison(url: str, schema: str, table: sa.Table, column: str, where: str) -> None:
    """Make reading ``table.column`` of the rows matching ``where`` fail in the database."""
    names = [c.name for c in table.columns]
    assert column in names and isinstance(table.c[column].type, sa.String), column
    cols = ", ".join(
        f"CASE WHEN {where} THEN CAST(CAST('poisoned row ' || containerid AS INTEGER) "
        f"AS VARCHAR) ELSE {c} END AS {c}" if c == column else c
        for c in names
    )
    engine = make_engine(url, schema=schema, pool=None, read_only=False)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"ALTER TABLE {schema}.{table.name} "
                                 f"RENAME TO {table.name}_rows"))
            conn.execute(sa.text(f"CREATE VIEW {schema}.{table.name} AS SELECT {cols} "
                                 f"FROM {schema}.{table.name}_rows"))
    finally:
        engine.dispose()

