"""Engine construction per backend: the only place that knows URL quirks.

Why: each lane owns an engine of its own (never a shared pool), and each backend needs a
few settings at connect time: DuckDB files opened read-only by readers (a read-write open
locks the file for every other process), PostgreSQL's application_name, Oracle thin mode.
The schema placeholder of core.schema is translated to the configured schema here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool, QueuePool

from core.db._errors import DatabaseUnavailable
from core.schema import SCHEMA_PLACEHOLDER

Backend = Literal["duckdb", "postgresql", "oracle"]


@dataclass(frozen=True)
class PoolSpec:
    size: int = 5
    max_overflow: int = 0
    timeout_s: float = 5.0
    recycle_s: int = 1800
    pre_ping: bool = True


def backend_of(url: str | URL) -> Backend:
    name = make_url(url).get_backend_name()
    if name not in ("duckdb", "postgresql", "oracle"):
        raise ValueError(f"unsupported database backend {name!r}")
    return name  # type: ignore[return-value]


def duckdb_path(url: str | URL) -> str | None:
    """The file of a duckdb URL, or None for an in-memory database."""
    db = make_url(url).database
    return None if db in (None, "", ":memory:") else db


def make_engine(
    url: str | URL,
    *,
    schema: str = SCHEMA_PLACEHOLDER,
    pool: PoolSpec | None = None,
    read_only: bool = True,
    role: str = "mesdash",
    connect_args: dict[str, object] | None = None,
    duckdb_threads: int | None = None,
    duckdb_memory_limit: str | None = None,
) -> Engine:
    """An engine for one lane. ``pool=None`` means no pooling (one-shot tools)."""
    url = make_url(url)
    backend = backend_of(url)
    connect_args = dict(connect_args or {})
    if backend == "duckdb":
        path = duckdb_path(url)
        if path and read_only:
            if not Path(path).exists():
                raise DatabaseUnavailable(f"DuckDB file {path} does not exist.")
            connect_args["read_only"] = True
        config: dict[str, object] = dict(connect_args.get("config") or {})  # type: ignore[call-overload]
        if duckdb_threads:
            config["threads"] = duckdb_threads
        if duckdb_memory_limit:
            config["memory_limit"] = duckdb_memory_limit
        connect_args["config"] = config
    elif backend == "postgresql":
        connect_args["application_name"] = f"mesdash-{role}"
        connect_args.setdefault("connect_timeout", 10)
    elif backend == "oracle":
        # python-oracledb thin mode is the default; nothing to initialise.
        connect_args.setdefault("tcp_connect_timeout", 10)
    kwargs: dict[str, object] = {"connect_args": connect_args}
    if pool is None:
        kwargs["poolclass"] = NullPool
    else:
        kwargs.update(
            poolclass=QueuePool,
            pool_size=pool.size,
            max_overflow=pool.max_overflow,
            pool_timeout=pool.timeout_s,
            pool_recycle=pool.recycle_s,
            pool_pre_ping=pool.pre_ping,
        )
        if backend == "duckdb":
            # Embedded: there is no server connection to lose, and the lanes read through
            # the driver in autocommit (abort() clears a connection before each query), so
            # a ping and a rollback per checkout/return would only cost time (~1.5 ms per
            # query, paid under the GIL).
            kwargs.update(pool_pre_ping=False, pool_reset_on_return=None)
    engine = sa.create_engine(url, **kwargs)
    if schema != SCHEMA_PLACEHOLDER:
        engine = engine.execution_options(schema_translate_map={SCHEMA_PLACEHOLDER: schema})
    return engine


def raw_connection_of(conn: sa.Connection) -> object:
    """The real driver connection (duckdb.DuckDBPyConnection, psycopg.Connection,
    oracledb.Connection) under a SQLAlchemy connection, unwrapping duckdb-engine."""
    driver = conn.connection.driver_connection
    inner = getattr(driver, "_ConnectionWrapper__c", None)
    return inner if inner is not None else driver
