"""The range load's two slow-lane statements run side by side; when one fails or the
user cancels, the other is stopped too and every permit and connection comes back
(real PostgreSQL: a table lock holds one statement in the server while the other fails).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import psycopg
import pytest
import sqlalchemy as sa

from core import schema
from core.db import Lanes, open_lanes
from core.db._cancel import CancelToken
from core.db._engines import make_engine
from core.rejects._load import load_range
from tests.conftest import make_settings
from tests.test_lanes import all_returned

DEADLINE_S = 30.0
"""The slow lane's deadline here: far above what a prompt return may take."""


def _locked_container(pg_url: str, name: str) -> psycopg.Connection:
    """A connection holding an exclusive lock on the container table (open transaction):
    any statement reading it waits in the server until the lock is released."""
    conn = psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"))
    conn.execute(f'LOCK TABLE "{name}".dw_mes_container IN ACCESS EXCLUSIVE MODE')
    return conn


def _tables(pg_url: str, name: str, *, broken_rejects: bool) -> None:
    engine = make_engine(pg_url, schema=name, pool=None, read_only=False)
    try:
        tables = [schema.container, schema.scrap_reasons_exclude, schema.spec_workcenter]
        if not broken_rejects:
            tables.append(schema.lotrejecthistory)
        schema.metadata.create_all(engine, tables=tables)
        if broken_rejects:  # the records statement fails at once: a column is missing
            with engine.begin() as c:
                c.execute(sa.text(
                    f'CREATE TABLE "{name}".dw_mes_lotrejecthistory'
                    " (containerid text, historymainlineid text, txndate timestamp)"))
    finally:
        engine.dispose()


@contextmanager
def _container_locked(pg_url: str, name: str, *, broken_rejects: bool) -> Iterator[Lanes]:
    """Lanes on a schema whose container table another session holds locked."""
    _tables(pg_url, name, broken_rejects=broken_rejects)
    lanes = open_lanes(make_settings(pg_url, schema=name, slow_deadline_s=DEADLINE_S))
    locker = _locked_container(pg_url, name)
    try:
        yield lanes
    finally:
        locker.rollback()
        locker.close()
        lanes.close()


def test_a_failing_records_query_stops_the_waiting_side_query(
    pg_url: str, pg_schema: str
) -> None:
    with _container_locked(pg_url, pg_schema, broken_rejects=True) as lanes:
        t0 = time.monotonic()
        with pytest.raises(Exception, match="does not exist"):
            load_range(lanes, date(2026, 3, 1), date(2026, 3, 2))
        assert time.monotonic() - t0 < DEADLINE_S / 3  # not left to its deadline
        assert all_returned(lanes)


def test_cancel_stops_both_statements_and_returns_everything(
    pg_url: str, pg_schema: str
) -> None:
    token = CancelToken()
    timer = threading.Timer(1.0, token.cancel)  # the user presses Cancel after a second
    with _container_locked(pg_url, pg_schema, broken_rejects=False) as lanes:
        try:
            timer.start()
            t0 = time.monotonic()
            with pytest.raises(Exception):  # noqa: B017 - the lane's cancelled error
                load_range(lanes, date(2026, 3, 1), date(2026, 3, 2), cancel=token)
            assert time.monotonic() - t0 < 1.0 + 2.0  # issue #3: everything back within 2 s
            assert all_returned(lanes)
        finally:
            timer.cancel()


def test_attach_is_an_outer_join_with_the_records_own_work_order_first() -> None:
    """A record keeps its place when its container is unknown (attributes null, as the
    outer join was); the record's work order wins over the container's."""
    import pyarrow as pa

    from core.rejects._queries import CONTAINER_COLUMNS, RECORD_COLUMNS, attach

    def rec(cid: str, wo: str | None) -> dict[str, object]:
        return {**{c: None for c in RECORD_COLUMNS}, "containerid": cid, "pj_workorder": wo}

    records = pa.Table.from_pylist(
        [rec("C1", None), rec("C2", "GA-OWN"), rec("GONE", None), rec("C1", "GA-X")],
        schema=pa.schema([(c, pa.string()) for c in RECORD_COLUMNS]))
    containers = pa.table({c: ["C2", "C1"] if c == "containerid" else [f"{c}-2", f"{c}-1"]
                           for c in CONTAINER_COLUMNS})
    out = attach(records, containers)
    assert out.column_names[:3] == ["event_key", "containerid", "lot"]
    rows = out.to_pylist()
    assert [r["workorder"] for r in rows] == ["mfgordername-1", "GA-OWN", None, "GA-X"]
    assert [r["lot"] for r in rows] == ["lot-1", "lot-2", None, "lot-1"]
    assert [r["package"] for r in rows] == ["package-1", "package-2", None, "package-1"]

