"""Machines + a date range as trace seeds (issue 16 item 3), on both backends: the seeds
are core.contain's exposed lots (the lots tracked in on the machines in the range), the
window is checked by containment's rule before any query, a machine that ran nothing in
the range is listed as unmatched, and the contain_max_lots bound says it cut the seeds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from core import schema as t
from core.db import Lanes
from core.jobs import JobManager
from core.trace import MACHINE, SeedError, TraceRequest, run_trace, seed_lots


def _expected(lanes: Lanes, machine: str, start: str, end: str) -> set[str]:
    """Lot names with a track-in on ``machine`` in [start, end + 1 day), straight SQL."""
    h, r, c = t.lotwiphistory, t.resource, t.container
    stmt = (sa.select(c.c.containername).distinct()
            .join_from(h, r, r.c.resourceid == h.c.equipmentid)
            .join(c, c.c.containerid == h.c.containerid)
            .where(r.c.resourcename == machine,
                   h.c.trackintimestamp >= sa.func.cast(start, sa.TIMESTAMP),
                   h.c.trackintimestamp < sa.func.cast(end, sa.TIMESTAMP)
                   + sa.text("INTERVAL '1 day'")))
    return set(lanes.slow.fetch_arrow(stmt)["containername"].to_pylist())


def _run(lanes: Lanes, request: TraceRequest, tmp_path: Path):
    s = lanes.settings.replace(spool_dir=str(tmp_path))
    manager = JobManager(s)
    job = manager.submit(request.key, lambda j: run_trace(j, lanes, request, s),
                         label=request.label)
    deadline = time.monotonic() + 60
    while job.state not in ("done", "failed", "cancelled") and time.monotonic() < deadline:
        time.sleep(0.05)
    return job


@pytest.mark.parametrize("lanes", ["duckdb", "pg"], indirect=True)
def test_machine_seeds_are_the_lots_that_ran_on_them_in_the_range(
        lanes: Lanes, tmp_path: Path) -> None:
    request = TraceRequest.build({MACHINE: "DB-005, NO-SUCH-RUN"}, "forward", ["history"],
                                 lanes.settings, start="2026-11-01", end="2026-11-10")
    assert (request.start, request.end) == ("2026-11-01", "2026-11-10")
    expected = _expected(lanes, "DB-005", "2026-11-01", "2026-11-10")
    assert expected
    failed = _run(lanes, request, tmp_path)  # not in dw_mes_resource: a clear message
    assert failed.state == "failed" and "Unknown machine(s): NO-SUCH-RUN" in failed.error
    request = TraceRequest.build({MACHINE: "DB-005, DB-001"}, "forward", ["history"],
                                 lanes.settings, start="2026-11-01", end="2026-11-10")
    job = _run(lanes, request, tmp_path)
    assert job.state == "done", job.error
    lots, cut = seed_lots(job.spool)
    assert set(lots["containername"]) == expected | _expected(lanes, "DB-001", "2026-11-01",
                                                              "2026-11-10")
    assert cut is None
    seeds = job.result.seeds[MACHINE]
    assert {job.spool.sql(f"SELECT containername FROM nodes WHERE containerid = '{c}'")
            ["containername"][0].as_py() for c in seeds.matches["DB-005"]} == expected
    # another range is another job; a machine that ran nothing in it is unmatched
    quiet = TraceRequest.build({MACHINE: "DB-005, DB-001"}, "forward", ["history"],
                               lanes.settings, start="2026-11-13", end="2026-11-19")
    assert quiet.key != request.key
    assert not _expected(lanes, "DB-005", "2026-11-13", "2026-11-19")
    assert _expected(lanes, "DB-001", "2026-11-13", "2026-11-19")
    job = _run(lanes, quiet, tmp_path)
    assert job.state == "done", job.error
    assert job.result.seeds[MACHINE].unmatched == ["DB-005"]


def test_the_window_is_checked_before_any_query(duckdb_lanes: Lanes) -> None:
    s = duckdb_lanes.settings.replace(contain_max_days=5)
    sent = duckdb_lanes.slow.stats.queries
    with pytest.raises(SeedError, match="contain_max_days"):
        TraceRequest.build({MACHINE: "DB-005"}, settings=s, start="2026-11-01",
                           end="2026-11-10")
    with pytest.raises(SeedError, match="start"):
        TraceRequest.build({MACHINE: "DB-005"}, settings=s, start="2026-11-01")
    with pytest.raises(SeedError, match="machine seeds only"):
        TraceRequest.build({"lot": "GA1"}, settings=s, start="2026-11-01", end="2026-11-02")
    assert duckdb_lanes.slow.stats.queries == sent


def test_the_lot_bound_says_it_cut_the_seeds(duckdb_lanes: Lanes, tmp_path: Path) -> None:
    lanes = duckdb_lanes
    s = lanes.settings.replace(contain_max_lots=2, spool_dir=str(tmp_path))
    request = TraceRequest.build({MACHINE: "DB-005"}, "forward", [], s,
                                 start="2026-11-01", end="2026-11-10")
    manager = JobManager(s)
    job = manager.submit(request.key, lambda j: run_trace(j, lanes, request, s),
                         label=request.label)
    while job.state not in ("done", "failed", "cancelled"):
        time.sleep(0.05)
    assert job.state == "done", job.error
    lots, cut = seed_lots(job.spool)
    assert len(lots) == 2 and cut and "contain_max_lots" in cut
    assert job.result.seeds[MACHINE].truncated == cut
