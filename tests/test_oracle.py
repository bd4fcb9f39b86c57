"""Oracle cannot run here, so its path is proven in the two ways that need no server:
every registered query compiles with SQLAlchemy's Oracle dialect (IN lists of at most 1000
binds), and the driver-level settings are applied to python-oracledb's real connection
attributes (checked against the real driver class) through a named test double."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import oracledb
import pyarrow as pa
import pytest
import sqlalchemy as sa
from oracledb import errors as ora_errors
from sqlalchemy.dialects import oracle, postgresql
from sqlalchemy.schema import CreateTable

import core
from core import schema
from core.catalog import load_all
from core.config import ORACLE_IN_LIST_LIMIT
from core.db._drivers import OracleDriver, driver_for
from core.db._engines import PoolSpec, make_engine

REGISTRY = load_all()
IN_LIST = re.compile(r"\bIN \(([^()]*)\)", re.IGNORECASE)


def compile_for(dialect: sa.engine.Dialect, stmt: sa.Executable) -> str:
    return str(stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True}))


def test_registry_holds_every_query_the_sources_register() -> None:
    """Every ``@query("name"`` written in core/ is in the registry the tests compile: a
    module load_all() skips would leave its queries unchecked for Oracle."""
    root = Path(core.__file__).parent
    written = {
        name
        for path in root.rglob("*.py") if path.name != "catalog.py"
        for name in re.findall(r"@query\(\s*\"([\w.]+)\"", path.read_text(encoding="utf-8"))
    }
    assert written, "no @query( found: the pattern no longer matches the sources"
    assert written <= set(REGISTRY), sorted(written - set(REGISTRY))


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
        # the Arrow fetch passes compiled.params as the bind dict: one value per
        # placeholder, none missing, none extra
        params = stmt.compile(dialect=oracle.dialect(),
                              compile_kwargs={"render_postcompile": True}).params
        assert set(re.findall(r"(?<![\w:]):(\w+)", sql)) == set(params), name
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
    double = vars(OracleDriverConnectionTestDouble())
    for attr in set(double) - {"cancelled"}:  # "cancelled" counts calls of cancel()
        assert hasattr(oracledb.Connection, attr), attr
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
    # the Arrow fetch calls python-oracledb directly: its raw errors are database errors
    assert driver.is_db_error(other) and driver.is_db_error(wrapped)
    assert not driver.is_db_error(ValueError("our own bug"))


def test_oracle_engine_uses_thin_mode_and_pool_settings_without_connecting() -> None:
    url = "oracle+oracledb://scott:tiger@db.example:1521/?service_name=MES"
    engine = make_engine(url, schema="dwh", pool=PoolSpec(size=3, max_overflow=2,
                                                         timeout_s=4))
    assert engine.dialect.name == "oracle" and engine.dialect.driver == "oracledb"
    assert engine.pool.size() == 3 and engine.pool._max_overflow == 2  # type: ignore[attr-defined]
    assert oracledb.is_thin_mode()
    engine.dispose()


def test_in_ids_is_a_plain_in_list_of_at_most_1000_binds_on_oracle() -> None:
    from core.db._idlist import in_ids

    ids = [f"{i:016X}" for i in range(1000)]
    stmt = sa.select(schema.container.c.containerid).where(
        in_ids(schema.container.c.containerid, ids)
    )
    sql = compile_for(oracle.dialect(), stmt)
    (group,) = IN_LIST.findall(sql)
    assert group.count(":") == 1000
    assert "= ANY(" in compile_for(postgresql.dialect(), stmt)


class OracleArrowFetchConnectionTestDouble(OracleDriverConnectionTestDouble):
    """Stands in for oracledb.Connection's Arrow fetch (no Oracle server can run here):
    ``fetch_df_batches`` answers with Arrow data the way Oracle names it (upper case),
    as objects that only offer the Arrow PyCapsule stream, like oracledb.DataFrame, and
    typed by ``requested_schema`` when one is given. It records what it was asked."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        super().__init__()
        self.rows = rows
        self.calls: list[dict[str, Any]] = []

    def fetch_df_batches(self, statement: str, parameters: Any = None, size: int = 100,
                         *, requested_schema: Any = None) -> Any:
        self.calls.append({"sql": statement, "params": parameters, "size": size,
                           "schema": requested_schema})
        if requested_schema is not None:  # names and types as asked
            table = pa.Table.from_pylist(self.rows, schema=requested_schema)
        else:  # Oracle's own: upper-case names, inferred types
            table = pa.Table.from_pylist([{k.upper(): v for k, v in r.items()}
                                          for r in self.rows])
        for i in range(0, max(table.num_rows, 1), size):
            part = table.slice(i, size)

            class _Frame:  # only the PyCapsule interface, as oracledb.DataFrame offers
                def __arrow_c_stream__(self, requested_schema: Any = None, p: Any = part
                                       ) -> Any:
                    return p.__arrow_c_stream__(requested_schema)

            yield _Frame()


def test_the_arrow_fetch_used_exists_on_the_real_oracledb_connection() -> None:
    import inspect

    sig = inspect.signature(oracledb.Connection.fetch_df_batches)
    assert {"statement", "parameters", "size", "requested_schema"} <= set(sig.parameters)
    assert hasattr(oracledb.DataFrame, "__arrow_c_stream__")


def test_oracle_slow_lane_fetches_arrow_typed_and_named_like_the_statement() -> None:
    import datetime as dt

    from core.db._drivers import arrow_schema_for
    from core.trace._queries import history_query

    ids = [f"{i:016X}" for i in range(3)]
    stmt = history_query(ids)
    sql = str(compile_for(oracle.dialect(), stmt))
    compiled = stmt.compile(dialect=oracle.dialect(),
                            compile_kwargs={"render_postcompile": True})
    params = dict(compiled.params)
    assert all(f":{name}" in sql for name in params)  # every bind has its placeholder
    when = dt.datetime(2026, 11, 1, 7, 30)
    rows = [{"containerid": ids[0], "workcentername": "TMTT", "specname": "S",
             "equipmentid": "E1", "equipmentname": "TMTT-01", "trackintimestamp": when,
             "trackouttimestamp": None, "trackinqty": 1000, "trackoutqty": None,
             "finishedruncard": None, "pj_workorder": "GA26"}] * 5
    raw = OracleArrowFetchConnectionTestDouble(rows)
    wanted = arrow_schema_for(stmt)
    batches = list(OracleDriver.arrow_batches(raw, sql, params, wanted, batch_rows=2))
    table = pa.Table.from_batches(batches)
    assert table.num_rows == 5 and len(batches) == 3  # size=2 per fetch
    assert table.schema.names == [n for n, _ in wanted]  # lower case, the statement's keys
    assert table.schema.field("trackinqty").type == pa.int64()
    assert table.schema.field("trackintimestamp").type == pa.timestamp("us")
    assert table.column("trackintimestamp")[0].as_py() == when
    (call,) = raw.calls
    assert call["params"] == params and call["size"] == 2
    assert call["schema"].names == [n for n, _ in wanted]  # typed by python-oracledb
    empty = list(OracleDriver.arrow_batches(OracleArrowFetchConnectionTestDouble([]), sql,
                                            params, wanted, batch_rows=2))
    assert sum(b.num_rows for b in empty) == 0
    assert empty[0].schema.names == [n for n, _ in wanted]


def test_oracle_arrow_fetch_follows_the_setting() -> None:
    from core.config import load_settings

    on = load_settings(env={"MES_DB_URL": "oracle+oracledb://u:p@db.example:1521/?service_name=X"},
                       secrets_path="/nonexistent")
    off = on.replace(oracle_arrow_fetch=False)
    assert on.oracle_arrow_fetch and not off.oracle_arrow_fetch
    driver = OracleDriver()
    assert driver.arrow_fetch  # the default
    driver.configure(off)  # as open_lanes configures the slow lane's driver
    assert not driver.arrow_fetch


def test_oracle_arrow_fetch_without_a_full_schema_renames_and_casts_here() -> None:
    """A column whose Arrow type the statement does not say (a bare literal): no
    requested_schema; Oracle's upper-case names become the statement's, known types cast."""
    wanted = [("containerid", pa.string()), ("n", None), ("qty", pa.float64())]
    raw = OracleArrowFetchConnectionTestDouble([{"containerid": "A", "n": 1, "qty": 2}])
    (batch,) = OracleDriver.arrow_batches(raw, "select ...", {}, wanted, batch_rows=10)
    assert raw.calls[0]["schema"] is None and raw.calls[0]["params"] is None
    assert batch.schema.names == ["containerid", "n", "qty"]
    assert batch.schema.field("qty").type == pa.float64()
    assert batch.to_pylist() == [{"containerid": "A", "n": 1, "qty": 2.0}]


class OlderOracleArrowFetchConnectionTestDouble(OracleArrowFetchConnectionTestDouble):
    """Stands in for a python-oracledb whose fetch_df_batches predates requested_schema
    (the project allows oracledb >= 2.5)."""

    def fetch_df_batches(self, statement: str, parameters: Any = None,  # type: ignore[override]
                         size: int = 100) -> Any:
        return super().fetch_df_batches(statement, parameters, size)


def test_an_older_oracledb_arrow_fetch_is_named_and_cast_here() -> None:
    wanted = [("containerid", pa.string()), ("qty", pa.float64())]
    raw = OlderOracleArrowFetchConnectionTestDouble([{"containerid": "A", "qty": 2}])
    (batch,) = OracleDriver.arrow_batches(raw, "select ...", {"x": 1}, wanted, batch_rows=10)
    assert raw.calls[0]["schema"] is None  # not asked for: the old API has no such keyword
    assert batch.schema.names == ["containerid", "qty"]
    assert batch.to_pylist() == [{"containerid": "A", "qty": 2.0}]
