"""core.defects._lookups: the defect page's reference reads (slow lane) and its lot-detail
cache rule, away from the page."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from core.db import Lanes
from core.defects._analysis import BackwardResult
from core.defects._lookups import lot_pages_cacheable, machine_jobs_window, reasons_seen
from tests.conftest import DEMO_ANCHOR, make_settings


def _back(seeds: pa.Table | None) -> BackwardResult:
    empty = pa.table({})
    return BackwardResult(kpis={}, factors=empty, reasons=empty, trend=empty, seeds=seeds)


def test_lot_pages_are_cached_up_to_cache_max_ids_seed_lots() -> None:
    settings = make_settings("duckdb:///:memory:", cache_max_ids=3)
    three = pa.table({"containerid": ["a", "b", "c"]})
    assert lot_pages_cacheable(_back(three), settings)
    four = pa.table({"containerid": ["a", "b", "c", "d"]})
    assert not lot_pages_cacheable(_back(four), settings)
    assert not lot_pages_cacheable(_back(None), settings)


def test_machine_jobs_window_ends_the_day_after_the_analysis() -> None:
    settings = make_settings("duckdb:///:memory:")
    since, until = machine_jobs_window(dt.date(2026, 11, 20), settings)
    assert until == dt.datetime(2026, 11, 21)
    assert until - since == dt.timedelta(days=settings.defect_max_days)
    now = dt.datetime(2026, 12, 5, 8, 30)
    assert machine_jobs_window(None, settings, now=now)[1] == now


def test_reasons_seen_are_the_reasons_booked_since_the_lookback(
    duckdb_lanes: Lanes
) -> None:
    got = reasons_seen(duckdb_lanes, 10, today=DEMO_ANCHOR)
    since = dt.datetime.combine(DEMO_ANCHOR - dt.timedelta(days=10), dt.time())
    with duckdb_lanes.realtime.engine.connect() as con:  # an independent, plain read
        want = [r for (r,) in con.exec_driver_sql(
            "SELECT DISTINCT lossreasonname FROM dwh.dw_mes_lotrejecthistory WHERE txndate >= ? "
            "AND lossreasonname IS NOT NULL ORDER BY 1", (since,))]
    assert got == want and got
