"""WIP status and hold type (core.wip): the SQLAlchemy form run by the warehouse (DuckDB
and PostgreSQL), the DuckDB text form run locally over the same rows, the Arrow form and
the plain-Python reference agree with hand-computed answers on a hand-built snapshot:
null counts, a null reason, non-quality reasons, raw material, DUMMY and null lot ids."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import sqlalchemy as sa

from core import schema as t
from core import wip
from core.db import Lanes, open_lanes
from core.db._engines import make_engine
from tests.conftest import make_settings

NQ = ("工程驗證(PE)", "盤點(收線)需求")


def _lot(n: int, eq: int | None, hold: int | None, reason: str | None, *,
         wo: str | None = "GA26030001", lotid: str | None = "") -> dict:
    return {"containerid": f"C{n:02d}", "lotid": f"GA26030001-{n:03d}" if lotid == "" else lotid,
            "workorder": wo, "qty": 100 * n, "equipmentcount": eq, "currentholdcount": hold,
            "holdreasonname": reason, "sys_date": datetime(2026, 3, 4, 8, 0)}


LOTS = [
    _lot(1, 1, 1, "YieldLimit"),  # RUN wins over a hold
    _lot(2, 0, 1, None),  # HOLD, null reason: quality
    _lot(3, 0, 1, "工程驗證(PE)"),  # HOLD, non-quality
    _lot(4, 0, 0, None),  # QUEUE
    _lot(5, None, None, None),  # null counts: QUEUE
    _lot(6, None, 2, "YieldLimit"),  # HOLD, quality
    _lot(7, 2, 0, "盤點(收線)需求"),  # RUN (the reason's type is still non-quality)
    _lot(8, 0, 1, "工程驗證(PE)", wo=None),  # raw material: not WIP
    _lot(9, 0, 1, "YieldLimit", lotid="GA2603DUMMY01"),  # hidden by default
    _lot(10, 0, 1, "盤點(收線)需求", lotid=None),  # null lot id: kept; non-quality
    _lot(11, 0, 1, "工程驗證(PE) "),  # not on the list (trailing space): quality
]
# containerid -> (status, hold type with the NQ list, hold type with an empty list)
EXPECTED = {
    "C01": ("RUN", "quality"), "C02": ("HOLD", "quality"), "C03": ("HOLD", "non-quality"),
    "C04": ("QUEUE", "quality"), "C05": ("QUEUE", "quality"), "C06": ("HOLD", "quality"),
    "C07": ("RUN", "non-quality"), "C09": ("HOLD", "quality"),
    "C10": ("HOLD", "non-quality"), "C11": ("HOLD", "quality"),
}
HIDDEN = {"C09"}  # DUMMY: only with include_dummy


def _fill(url: str, schema: str) -> None:
    engine = make_engine(url, schema=schema, pool=None, read_only=False)
    try:
        with engine.begin() as c:
            if engine.dialect.name == "duckdb":
                c.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        t.metadata.create_all(engine, tables=[t.lot_v])
        with engine.begin() as c:
            c.execute(t.lot_v.insert(), LOTS)
    finally:
        engine.dispose()


@pytest.fixture(params=["duckdb", "postgresql"])
def snap(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lanes]:
    if request.param == "duckdb":
        url, schema = f"duckdb:///{tmp_path / 'wip.duckdb'}", "dwh"
    else:
        url, schema = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema")
    _fill(url, schema)
    lanes = open_lanes(make_settings(url, schema=schema))
    yield lanes
    lanes.close()


def _warehouse(lanes: Lanes, reasons: tuple[str, ...], include_dummy: bool) -> dict:
    """The SQLAlchemy form, run by the warehouse."""
    stmt = (sa.select(t.lot_v.c.containerid, wip.status_expr().label("status"),
                      wip.hold_type_expr(t.lot_v.c.holdreasonname, reasons).label("hold_type"))
            .where(*wip.wip_where(t.lot_v, include_dummy)).order_by(t.lot_v.c.containerid))
    rows = lanes.realtime.fetch_arrow(stmt, live=False).to_pylist()
    got = {r["containerid"]: (r["status"], r["hold_type"]) for r in rows}
    # the status as plain predicates (the held-lots query's filter) picks the same lots
    for status in wip.STATUSES:
        picked = sa.select(t.lot_v.c.containerid).where(
            *wip.wip_where(t.lot_v, include_dummy), wip.status_is(status))
        ids = set(lanes.realtime.fetch_arrow(picked, live=False)["containerid"].to_pylist())
        assert ids == {k for k, v in got.items() if v[0] == status}, status
    return got


def _local(raw: pa.Table, reasons: tuple[str, ...], include_dummy: bool) -> dict:
    """The DuckDB text form, run in a local in-memory DuckDB over the fetched rows."""
    con = duckdb.connect()
    try:
        con.register("raw", raw)
        rows = con.execute(
            f"SELECT containerid, {wip.status_sql()} AS status, {wip.hold_type_sql()} AS ht "
            f"FROM raw WHERE {wip.wip_where_sql(include_dummy)} ORDER BY containerid",
            {"non_quality": list(reasons)}).fetchall()
    finally:
        con.close()
    return {cid: (status, ht) for cid, status, ht in rows}


def _python(reasons: tuple[str, ...], include_dummy: bool) -> dict:
    return {r["containerid"]: (wip.status_of(r["equipmentcount"], r["currentholdcount"]),
                               wip.hold_type_of(r["holdreasonname"], reasons))
            for r in LOTS if r["workorder"] is not None
            and (include_dummy or "DUMMY" not in (r["lotid"] or ""))}


@pytest.mark.parametrize("include_dummy", [False, True])
def test_sql_and_duckdb_forms_agree_with_the_hand_answers(snap: Lanes,
                                                          include_dummy: bool) -> None:
    want = {k: v for k, v in EXPECTED.items() if include_dummy or k not in HIDDEN}
    raw = snap.realtime.fetch_arrow(sa.select(t.lot_v).order_by(t.lot_v.c.containerid),
                                    live=False)
    assert _warehouse(snap, NQ, include_dummy) == want
    assert _local(raw, NQ, include_dummy) == want
    assert _python(NQ, include_dummy) == want
    # the Arrow form (hold history's record batches) over every row of the snapshot
    arrow = wip.hold_type_arrow(raw["holdreasonname"], NQ).to_pylist()
    by_cid = dict(zip(raw["containerid"].to_pylist(), arrow, strict=True))
    assert {k: by_cid[k] for k in want} == {k: v[1] for k, v in want.items()}
    assert by_cid["C08"] == "non-quality"  # raw material has a type; it is just not WIP
    status = dict(zip(raw["containerid"].to_pylist(),
                      wip.status_arrow({c: raw[c] for c in raw.column_names}).to_pylist(),
                      strict=True))
    assert {k: status[k] for k in want} == {k: v[0] for k, v in want.items()}


def test_an_empty_non_quality_list_makes_every_hold_quality(snap: Lanes) -> None:
    raw = snap.realtime.fetch_arrow(sa.select(t.lot_v), live=False)
    want = {k: (status, "quality") for k, (status, _) in EXPECTED.items() if k not in HIDDEN}
    assert _warehouse(snap, (), False) == want
    assert _local(raw, (), False) == want
    assert set(wip.hold_type_arrow(raw["holdreasonname"], ()).to_pylist()) == {"quality"}


def test_json_keys_of_hold_types() -> None:
    assert [wip.json_key(k) for k in wip.HOLD_KINDS] == ["quality", "non_quality"]
