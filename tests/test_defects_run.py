"""The defect trace end to end as a job (detection → lineage → events → analysis) through
the real trace engine, on the hand-built factory and the tiny demo, on both backends."""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from core.db import Lanes, open_lanes
from core.defects import DefectRequest
from core.defects._defect_job import DefectResult, run_defect_analysis
from core.export import csv_bytes
from core.jobs import JobManager
from tests import defects_factory as f
from tests.conftest import DEMO_ANCHOR, make_settings


@pytest.fixture(params=["duckdb", "postgresql"])
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lanes]:
    if request.param == "duckdb":
        url, schema_name = f"duckdb:///{tmp_path / 'factory.duckdb'}", "dwh"
    else:
        url = request.getfixturevalue("pg_url")
        schema_name = request.getfixturevalue("pg_schema")
    f.build(url, schema_name)
    lanes = open_lanes(make_settings(url, schema=schema_name, spool_dir=str(tmp_path / "sp")))
    yield lanes
    lanes.close()


def run_job(lanes: Lanes, req: DefectRequest) -> DefectResult:
    manager = JobManager(lanes.settings)
    job = manager.submit(req.key(), lambda j: run_defect_analysis(j, lanes, req,
                                                                  lanes.settings),
                         label="defects")
    assert job.wait(120)
    assert job.state == "done", job.error
    assert job.stages[0].name == "detection"
    manager.close()
    return job.result


def test_backward_job_through_the_real_lineage_matches_the_known_answers(
    factory: Lanes,
) -> None:
    req = DefectRequest.build(factory.settings, station="TMTT", start="2026-06-01",
                              end="2026-06-30")
    res = run_job(factory, req)
    assert res.kpis["detection_input"] == 3500 and res.kpis["detection_defects"] == 70
    factors = {(r["factor_kind"], r["factor"]): r for r in res.backward.factors.to_pylist()}
    m1 = factors[("machine", "焊接_DB / M1")]  # reached through the split from P1
    assert (m1["lots"], m1["input"], m1["defects"]) == (2, 2000, 65)
    assert factors[("material", "LF / LF-1")]["defects"] == 65
    assert res.scope["containers"] >= 6 and res.scope["queries"] > 0
    assert res.completeness["history"]["status"] == "complete"
    assert "Fisher exact" in res.summary and "not exclusive" in res.summary
    assert factory.stats()["slow"]["throttle"]["in_use"] == 0
    # every table the page offers as a CSV download writes (and round-trips its rows)
    back = res.backward
    for table in (back.factors, back.factors.to_pandas(), back.reasons, back.trend):
        rows = list(csv.reader(io.StringIO(csv_bytes(table).decode("utf-8-sig"))))
        assert len(rows) == 1 + len(table)


def test_forward_job_counts_later_rejects(factory: Lanes) -> None:
    req = DefectRequest.build(factory.settings, station="TMTT", start="2026-06-01",
                              end="2026-06-30", direction="forward")
    res = run_job(factory, req)
    assert res.kpis["defective_lots"] == 3 and res.kpis["downstream_rejects"] == 7
    fqc = res.forward["station"].to_pylist()[0]
    # over A's own FQC track-in (960, from the fetched history), not the detection input
    assert (fqc["factor"], fqc["input"], fqc["rate"]) == ("FQC", 960, pytest.approx(7 / 960))
    for table in res.forward.values():
        if isinstance(table, pa.Table):
            assert csv_bytes(table).decode("utf-8-sig").count("\n") == 1 + table.num_rows


def test_no_lot_in_range_is_an_empty_result_not_an_error(factory: Lanes) -> None:
    req = DefectRequest.build(factory.settings, station="TMTT", start="2025-01-01",
                              end="2025-01-31")
    res = run_job(factory, req)
    assert res.kpis["detection_lots"] == 0 and "0 lots" in res.summary


def demo_request(lanes: Lanes) -> DefectRequest:
    return DefectRequest.build(lanes.settings, station="TMTT",
                               start=DEMO_ANCHOR.replace(day=1).replace(month=9),
                               end=DEMO_ANCHOR)


def test_duckdb_and_postgresql_agree_on_the_demo(duckdb_lanes: Lanes, pg_lanes: Lanes,
                                                 tmp_path: Path) -> None:
    a = run_job(duckdb_lanes, demo_request(duckdb_lanes))
    b = run_job(pg_lanes, demo_request(pg_lanes))
    assert a.kpis == b.kpis and a.kpis["detection_lots"] > 0
    assert a.backward.factors.equals(b.backward.factors)
    assert a.backward.lot_rows() == b.backward.lot_rows() > 0
    # the demo's data end at the snapshot (anchor day, 08:00): only that day is partial
    trend = a.backward.trend.to_pylist()
    assert [r["day"] for r in trend if r["partial"]] == [
        r["day"] for r in trend if r["day"] == DEMO_ANCHOR]


def test_cancel_mid_analysis_returns_every_permit_and_connection(duckdb_lanes: Lanes) -> None:
    lanes = duckdb_lanes
    req = demo_request(lanes)
    manager = JobManager(lanes.settings)
    started = threading.Event()

    def slow_run(job):  # cancel while lineage/events run
        started.set()
        return run_defect_analysis(job, lanes, req, lanes.settings)

    job = manager.submit(req.key(), slow_run, label="defects")
    started.wait(5)
    time.sleep(0.05)
    assert job.cancel(wait_s=5)
    assert job.state in ("cancelled", "done")
    st = lanes.stats()["slow"]
    assert st["throttle"]["in_use"] == 0 and st["pool"]["checked_out"] == 0
    manager.close()


def test_the_analysis_takes_two_threads_only_while_the_live_widgets_are_quiet(
    duckdb_lanes: Lanes,
) -> None:
    """analysis_threads while nobody watches, one thread right after a live query; the
    numbers are the same either way."""
    import sqlalchemy as sa

    from core.db._local import local_threads as _threads

    slow = duckdb_lanes.slow
    saved = slow.live_recent_s
    try:
        slow.live_recent_s = 0.0
        assert _threads(duckdb_lanes, duckdb_lanes.settings) == 2
        req = demo_request(duckdb_lanes)
        two = run_job(duckdb_lanes, req).backward.factors
        slow.live_recent_s = 60.0
        duckdb_lanes.realtime.fetch_arrow(sa.select(sa.literal(1)))  # a live widget
        assert _threads(duckdb_lanes, duckdb_lanes.settings) == 1
        one = run_job(duckdb_lanes, req).backward.factors
        assert one.num_rows > 0 and one.equals(two)
    finally:
        slow.live_recent_s = saved
