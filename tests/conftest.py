"""Shared fixtures: real DuckDB files, a real PostgreSQL schema per test session, real Redis.

Nothing here is mocked: PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are started
by .ci/run. The demo database is built once per session at the `tiny` scale into a DuckDB
file and into a PostgreSQL schema of its own, dropped at the end.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.config import Settings, load_settings
from core.db import Lanes, open_lanes

PG_URL = os.environ.get("MES_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("MES_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
DEMO_ANCHOR = dt.date(2026, 11, 20)
DEMO_SEED = 7


def make_settings(url: str, schema: str = "dwh", **overrides: object) -> Settings:
    return load_settings(env={}, secrets_path="/nonexistent", db_url=url, schema=schema,
                         **overrides)


@pytest.fixture(scope="session")
def pg_url() -> str:
    engine = sa.create_engine(PG_URL)
    try:
        with engine.connect() as c:
            c.execute(sa.text("select 1"))
    except Exception as exc:  # pragma: no cover - CI starts PostgreSQL
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL}: {exc}. Run .ci/run.")
    finally:
        engine.dispose()
    return PG_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as exc:  # pragma: no cover - CI starts Redis
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}. Run .ci/run.")
    return REDIS_URL


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL schema, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    yield name
    with engine.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def demo_duckdb_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    from core.demo import build_demo

    path = tmp_path_factory.mktemp("demo") / "tiny.duckdb"
    url = f"duckdb:///{path}"
    build_demo(url, scale="tiny", seed=DEMO_SEED, anchor=DEMO_ANCHOR)
    return url


@pytest.fixture(scope="session")
def demo_pg_schema(pg_url: str) -> Iterator[str]:
    from core.demo import build_demo

    name = f"demo_{uuid.uuid4().hex[:8]}"
    build_demo(pg_url, scale="tiny", seed=DEMO_SEED, anchor=DEMO_ANCHOR, schema=name)
    yield name
    engine = sa.create_engine(pg_url)
    with engine.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    engine.dispose()


@pytest.fixture
def duckdb_lanes(demo_duckdb_url: str) -> Iterator[Lanes]:
    lanes = open_lanes(make_settings(demo_duckdb_url))
    yield lanes
    lanes.close()


@pytest.fixture
def pg_lanes(pg_url: str, demo_pg_schema: str) -> Iterator[Lanes]:
    lanes = open_lanes(make_settings(pg_url, schema=demo_pg_schema))
    yield lanes
    lanes.close()


@pytest.fixture(params=["duckdb", "postgresql"])
def lanes(request: pytest.FixtureRequest) -> Lanes:
    """The demo database's lanes, once per backend."""
    return request.getfixturevalue("duckdb_lanes" if request.param == "duckdb" else "pg_lanes")


@pytest.fixture
def empty_duckdb_url(tmp_path: Path) -> str:
    import duckdb

    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    return f"duckdb:///{path}"
