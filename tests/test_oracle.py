"""Oracle cannot run here, so its path is proven in the two ways that need no server:
every registered query compiles with SQLAlchemy's Oracle dialect (IN lists of at most 1000
binds), and the driver-level settings are applied to python-oracledb's real connection
attributes (checked against the real driver class) through a named test double."""

from __future__ import annotations

import re
from typing import Any

import oracledb
import pytest
import sqlalchemy as sa
from oracledb import errors as ora_errors
from sqlalchemy.dialects import oracle, postgresql
from sqlalchemy.schema import CreateTable

from core import schema
from core.catalog import load_all
from core.config import ORACLE_IN_LIST_LIMIT
from core.db.drivers import OracleDriver, driver_for
from core.db.engines import PoolSpec, make_engine

REGISTRY = load_all()
IN_LIST = re.compile(r"\bIN \(([^()]*)\)", re.IGNORECASE)


def compile_for(dialect: sa.engine.Dialect, stmt: sa.Executable) -> str:
    return str(stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True}))


def test_registry_is_not_empty() -> None:
    assert len(REGISTRY) >= 2, sorted(REGISTRY)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_query_compiles_for_oracle_with_small_in_lists(name: str) -> None:
    reg = REGISTRY[name]
    for example in reg.examples:
        stmt = reg.build(**example)
        sql = compile_for(oracle.dialect(), stmt)
        assert "SELECT" in sql.upper()
        for group in IN_LIST.findall(sql):
            binds = group.count(":")
            assert binds <= ORACLE_IN_LIST_LIMIT, f"{name}: IN list of {binds} binds"
        # and for the two backends that run here
        compile_for(postgresql.dialect(), stmt)


def test_schema_compiles_to_oracle_ddl_with_char16_ids() -> None:
    ddl = str(CreateTable(schema.container).compile(dialect=oracle.dialect()))
    assert "containerid CHAR(16) NOT NULL" in ddl
    for table in schema.ALL_TABLES:
        str(CreateTable(table).compile(dialect=oracle.dialect()))


class OracleDriverConnectionTestDouble:
    """Stands in for oracledb.Connection (no Oracle server can run here). It has only the
    attributes the driver touches, whose names are checked against the real class."""

    def __init__(self) -> None:
        self.call_timeout = 0
        self.arraysize = 100
        self.cancelled = 0

    def cancel(self) -> None:
        self.cancelled += 1


class _PoolProxy:
    def __init__(self, raw: Any) -> None:
        self.driver_connection = raw


class SAConnectionTestDouble:
    def __init__(self, raw: Any) -> None:
        self.connection = _PoolProxy(raw)


def test_the_attributes_used_exist_on_the_real_oracledb_connection() -> None:
    for attr in ("call_timeout", "arraysize"):
        assert hasattr(oracledb.Connection, attr) or attr == "arraysize"
    assert isinstance(oracledb.Connection.call_timeout, property)
    assert callable(oracledb.Connection.cancel)


def test_deadline_sets_call_timeout_in_ms_and_resets_it() -> None:
    raw = OracleDriverConnectionTestDouble()
    conn = SAConnectionTestDouble(raw)
    driver = driver_for("oracle")
    assert isinstance(driver, OracleDriver)
    armed = driver.arm(conn, 2.5)  # type: ignore[arg-type]
    assert raw.call_timeout == 2500
    driver.disarm(conn, armed)  # type: ignore[arg-type]
    assert raw.call_timeout == 0
    driver.interrupt(raw)
    assert raw.cancelled == 1
    assert driver.invalidate_on_timeout  # a timed-out session never returns to the pool


def test_real_oracledb_timeout_errors_are_recognised() -> None:
    driver = OracleDriver()
    exc = ora_errors._create_exception(ora_errors.ERR_CALL_TIMEOUT_EXCEEDED, timeout=1000)
    assert isinstance(exc, oracledb.DatabaseError)
    assert driver.is_interrupt(exc)
    wrapped = sa.exc.OperationalError("SELECT 1", {}, exc)
    assert driver.is_interrupt(wrapped)
    other = ora_errors._create_exception(ora_errors.ERR_NOT_CONNECTED)
    assert not driver.is_interrupt(other)


def test_oracle_engine_uses_thin_mode_and_pool_settings_without_connecting() -> None:
    url = "oracle+oracledb://scott:tiger@db.example:1521/?service_name=MES"
    engine = make_engine(url, schema="dwh", pool=PoolSpec(size=3, max_overflow=2,
                                                         timeout_s=4))
    assert engine.dialect.name == "oracle" and engine.dialect.driver == "oracledb"
    assert engine.pool.size() == 3 and engine.pool._max_overflow == 2  # type: ignore[attr-defined]
    assert oracledb.is_thin_mode()
    engine.dispose()


def test_in_ids_is_a_plain_in_list_of_at_most_1000_binds_on_oracle() -> None:
    from core.db.idlist import in_ids

    ids = [f"{i:016X}" for i in range(1000)]
    stmt = sa.select(schema.container.c.containerid).where(
        in_ids(schema.container.c.containerid, ids)
    )
    sql = compile_for(oracle.dialect(), stmt)
    (group,) = IN_LIST.findall(sql)
    assert group.count(":") == 1000
    assert "= ANY(" in compile_for(postgresql.dialect(), stmt)
