"""Issue 15, "a hostile world": the busy and timeout paths at the user's end, with real
data behind them.

A FaultInjectingDriver (core/db/_faults.py: a test double around the real DuckDB driver,
through the lanes' driver seam) raises the lane's LaneBusy or QueryTimeout on demand:
every page shows the "busy, try again in N s" / deadline message (no traceback, no
exception box) and works again once the fault is lifted; every CLI command exits 4. The
retry hint comes from the throttle's permits and lease, never a fixed small number.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
import redis as redis_lib
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from core import glossary
from core.config import SettingsError, load_settings
from core.db import LaneBusy, Lanes, QueryFailed, QueryTimeout, open_lanes
from core.db._faults import FaultInjectingDriver, FaultPlan, inject
from core.db._throttle import LocalThrottle, RedisThrottle, throttle_name
from core.schema import container
from core.text import md_unescape
from tests.conftest import make_settings
from tests.test_app_pages import (  # noqa: F401 - fixtures
    APP,
    TIMEOUT_S,
    _texts,
    app_env,
    on_tiny,
    tiny_db,
)

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------
# the double itself
# ---------------------------------------------------------------------------------------------


def test_fault_plans_parse_and_bad_ones_are_setting_errors() -> None:
    assert FaultPlan.parse("busy") == FaultPlan("busy", frozenset(), "busy", "slow")
    plan = FaultPlan.parse(" Realtime:FAIL@2,5 ")
    assert (plan.kind, plan.statements, plan.lane) == ("fail", frozenset({2, 5}), "realtime")
    assert plan.hits(2) and not plan.hits(3) and FaultPlan.parse("timeout").hits(99)
    assert FaultPlan.parse("all:busy").applies_to("realtime")
    for bad in ("nope", "busy@0", "busy@", "fast:busy"):
        with pytest.raises(ValueError):
            FaultPlan.parse(bad)
    with pytest.raises(SettingsError, match="test_fault"):
        load_settings(env={"MES_TEST_FAULT": "sometimes"}, secrets_path="/nonexistent")


def test_the_setting_installs_the_double_under_the_named_lane(demo_duckdb_url: str) -> None:
    lanes = open_lanes(make_settings(demo_duckdb_url, test_fault="fail"))
    try:
        assert isinstance(lanes.slow.driver, FaultInjectingDriver)
        assert not isinstance(lanes.realtime.driver, FaultInjectingDriver)
        with pytest.raises(QueryFailed, match="injected test fault fail"):
            lanes.slow.fetch_arrow(sa.select(container.c.containerid).limit(1))
        assert lanes.slow.stats.errors == 1
        assert lanes.realtime.scalar(sa.select(sa.func.count()).select_from(container)) > 0
    finally:
        lanes.close()


def _returned(lanes: Lanes) -> bool:
    st = lanes.stats()
    return (st["slow"]["pool"]["checked_out"] == 0 and st["slow"]["throttle"]["in_use"] == 0
            and st["slow"]["active"] == 0 and st["realtime"]["pool"]["checked_out"] == 0)


def test_busy_and_timeout_faults_go_through_the_lanes_own_paths(lanes: Lanes) -> None:
    """On DuckDB and PostgreSQL: the lane counts them, returns what it took, and serves
    real data as soon as the fault is lifted."""
    stmt = sa.select(container.c.containerid).limit(3)
    driver = inject(lanes.slow, "busy")
    with pytest.raises(LaneBusy, match="try again in about"):
        lanes.slow.fetch_arrow(stmt)
    driver.fault = FaultPlan.parse("timeout")
    with pytest.raises(QueryTimeout, match=f"{lanes.slow.deadline_s:g} s deadline"):
        lanes.slow.fetch_arrow(stmt)
    assert (lanes.slow.stats.busy, lanes.slow.stats.timeouts, lanes.slow.stats.errors) == (
        1, 1, 0)
    assert _returned(lanes)
    driver.fault = None
    assert lanes.slow.fetch_arrow(stmt).num_rows == 3
    assert (driver.statements, driver.injected) == (3, 2)


def test_one_failing_batch_of_a_batched_stream(demo_duckdb_url: str) -> None:
    """``fail@k``: the k-th statement fails, so one IN-list batch (with one worker, the
    k-th) is reported with its id range while the others deliver their rows."""
    lanes = open_lanes(make_settings(demo_duckdb_url, slow_workers=1))
    try:
        ids = lanes.slow.fetch_arrow(
            sa.select(container.c.containerid).order_by(container.c.containerid).limit(30)
        ).column(0).to_pylist()
        inject(lanes.slow, "fail@2")

        def build(chunk: list[str]) -> sa.Select:
            return sa.select(container.c.containerid).where(container.c.containerid.in_(chunk))

        results = sorted(lanes.slow.stream_batched(build, ids, batch_size=10,
                                                   on_error="collect"), key=lambda r: r.index)
        assert [r.error is not None for r in results] == [False, True, False]
        assert (results[1].first_id, results[1].last_id) == (ids[10], ids[19])
        assert isinstance(results[1].error, QueryFailed)
        got = pa.concat_tables([r.table for r in results if r.table is not None])
        assert sorted(got.column(0).to_pylist()) == ids[:10] + ids[20:]
        assert _returned(lanes)
    finally:
        lanes.close()


# ---------------------------------------------------------------------------------------------
# the retry hint: from the permits and the lease
# ---------------------------------------------------------------------------------------------


def test_a_throttle_alone_hints_the_time_until_its_permits_free() -> None:
    t = LocalThrottle(2, lease_s=10.0)
    assert t.free_in_s(5.0) == 0.0  # nothing held: nothing to wait for
    held = [t.acquire(0.1), t.acquire(0.1)]
    assert 4.0 <= t.free_in_s(5.0) <= 5.0  # the holders' deadline, under the lease
    with pytest.raises(LaneBusy) as info:
        t.acquire(0.1)  # no hint given: holders here are counted one lease at most
    assert 9.0 <= info.value.retry_after_s <= 10.0
    for p in held:
        t.release(p)
    assert t.free_in_s(5.0) == 0.0


@pytest.mark.parametrize(("deadline_s", "lease_s"), [(20.0, 30.0), (60.0, 30.0)])
def test_busy_hint_is_the_time_until_a_permit_must_free(
    demo_duckdb_url: str, deadline_s: float, lease_s: float
) -> None:
    """Permits held by this process free by their query's deadline; the hint says so,
    capped at the lease (a fixed 1 s sent everyone back while the permits were held)."""
    lanes = open_lanes(make_settings(demo_duckdb_url, slow_deadline_s=deadline_s,
                                     slow_lease_s=lease_s, slow_wait_s=0.2))
    held = [lanes.slow.throttle.acquire(1.0) for _ in range(lanes.slow.throttle.permits)]
    try:
        with pytest.raises(LaneBusy) as info:
            lanes.slow.fetch_arrow(sa.select(container.c.containerid).limit(1))
        expected = min(deadline_s, lease_s)
        assert expected - 2 <= info.value.retry_after_s <= expected
        assert f"try again in about {expected:.0f} s" in str(info.value)
    finally:
        for p in held:
            p.issuer.release(p)
        lanes.close()


def test_busy_hint_counts_another_processs_permits_by_their_lease(
    demo_duckdb_url: str, redis_url: str
) -> None:
    """Permits held by another process (another throttle on the same Redis key) are known
    by their lease only: the hint is the time until the earliest lease would lapse."""
    lease_s = 6.0
    settings = make_settings(demo_duckdb_url, redis_url=redis_url, slow_lease_s=lease_s,
                             slow_wait_s=0.2)
    other = RedisThrottle(redis_lib.Redis.from_url(redis_url), settings.slow_permits,
                          name=throttle_name(settings.effective_db_url, "slow"),
                          lease_s=lease_s)
    held = [other.acquire(1.0) for _ in range(settings.slow_permits)]
    lanes = open_lanes(settings)
    try:
        with pytest.raises(LaneBusy) as info:
            lanes.slow.fetch_arrow(sa.select(container.c.containerid).limit(1))
        # renewed every lease/3 by its holder: between 2/3 of the lease and the lease
        assert lease_s * 2 / 3 - 1 <= info.value.retry_after_s <= lease_s
        assert lanes.slow.throttle.free_in_s(settings.slow_deadline_s) <= lease_s
    finally:
        for p in held:
            other.release(p)
        other.close()
        lanes.close()


# ---------------------------------------------------------------------------------------------
# every page: the message, then working again once the fault is lifted
# ---------------------------------------------------------------------------------------------


def _app_lanes() -> Lanes:
    from dashboard import state

    return state.get_lanes(state.get_settings())


def _wait_for_jobs() -> None:
    from dashboard import state
    from dashboard.job_manager import get_job_manager

    for job in get_job_manager(state.get_settings()).jobs():
        assert job.wait(120), "a job did not finish"


def _open(page: str, params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    _wait_for_jobs()
    return at.run()


def _trace(at: AppTest) -> AppTest:
    at.text_area[0].input("GA2609100*-A00-001")
    at.button[0].click().run()
    _wait_for_jobs()
    return at.run()


def _trace_again(at: AppTest) -> AppTest:
    next(b for b in at.button if b.label == "Trace").click().run()
    _wait_for_jobs()
    return at.run()


def _run_again(at: AppTest) -> AppTest:
    """The page's own way to try again: its "Run again" or "Run" button, or a rerun."""
    again = [b for b in at.button if b.label in ("Run again", "Run")]
    if again:
        again[0].click().run()
    else:
        at.run()
    _wait_for_jobs()
    return at.run()


def _metrics(at: AppTest) -> set[str]:
    return {m.label for m in at.metric}


# page -> (link parameters, first action, try again, a metric its result shows)
PAGES: dict[str, tuple[dict[str, str], Callable[[AppTest], AppTest] | None,
                       Callable[[AppTest], AppTest], str]] = {
    "views/trace.py": ({}, _trace, _trace_again, "Containers"),
    "views/defect_trace.py": (
        {"station": "TMTT", "start": "2026-09-01", "end": "2026-11-20", "run": "1"},
        None, _run_again, glossary.label("detection_defect_rate_pct")),
    "views/reject_history.py": (
        {"run": "1", "start": "2026-09-01", "end": "2026-11-19"},
        None, _run_again, glossary.label("charged")),
    "views/wip_hold.py": (
        {"view": "history", "start": "2026-10-01", "end": "2026-11-21"},
        None, _run_again, glossary.label("new_holds")),
}


@pytest.mark.parametrize("fault", ["busy", "timeout"])
@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_says_busy_or_timeout_and_works_once_it_is_lifted(
    on_tiny: Path, app_env: pytest.MonkeyPatch, tmp_path: Path,  # noqa: F811
    page: str, fault: str,
) -> None:
    app_env.setenv("MES_SPOOL_DIR", str(tmp_path / "spool"))
    app_env.setenv("MES_TEST_FAULT", fault)
    params, first, again, metric = PAGES[page]
    at = _open(page, params)
    if first is not None:
        at = first(at)
    assert not at.exception, [e.value for e in at.exception]
    texts = md_unescape(" ".join(_texts(at.main)))  # messages quote errors escaped
    settings = load_settings()
    if fault == "busy":
        # the statement holds a permit it just took: it frees by its deadline, at most
        # one lease from now
        hint = min(settings.slow_deadline_s, settings.slow_lease_s)
        assert re.search(r"The slow lane is busy \(injected test fault busy, statement \d+\); "
                         rf"try again in about {hint:.0f} s\.", texts), texts
    else:
        assert f"ran past its {settings.slow_deadline_s:g} s deadline" in texts, texts
    assert "Traceback" not in texts
    assert metric not in _metrics(at)
    lanes = _app_lanes()
    assert lanes.slow.driver.injected >= 1
    assert _returned(lanes)

    lanes.slow.driver.fault = None  # the database is free again
    at = again(at)
    assert not at.exception, [e.value for e in at.exception]
    assert metric in _metrics(at), _texts(at.main)
    assert not at.main.error, [e.value for e in at.main.error]
    assert _returned(lanes)


# ---------------------------------------------------------------------------------------------
# every CLI command: exit 4 and the message, no traceback
# ---------------------------------------------------------------------------------------------

COMMANDS = {
    "trace": (["trace", "--lot", "GA2609100*-A00-001"], "slow"),
    "defects": (["defects", "--station", "TMTT", "--start", "2026-09-01", "--end",
                 "2026-11-20", "--json"], "slow"),
    "rejects": (["rejects", "--start", "2026-10-01", "--end", "2026-11-19", "--json"], "slow"),
    "holds": (["holds", "--json"], "realtime"),  # live holds: the realtime lane
    "hold-history": (["hold-history", "--start", "2026-10-01", "--end", "2026-11-21"], "slow"),
}


@pytest.mark.parametrize("fault", ["busy", "timeout"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_cli_command_exits_4_when_busy_or_timed_out(
    demo_duckdb_url: str, tmp_path: Path, command: str, fault: str
) -> None:
    args, lane = COMMANDS[command]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MES_")}
    env.update(MES_SECRETS_FILE="/nonexistent", MES_DB_URL=demo_duckdb_url,
               MES_SPOOL_DIR=str(tmp_path), MES_TEST_FAULT=f"{lane}:{fault}")
    res = subprocess.run([sys.executable, "-m", "core.cli", *args], capture_output=True,
                         text=True, cwd=ROOT, env=env, timeout=120)
    assert res.returncode == 4, (res.returncode, res.stderr[-2000:])
    assert "Traceback" not in res.stderr
    message = res.stderr.strip().splitlines()[-1]
    assert message.startswith("mesdash: "), message
    if fault == "busy":
        assert f"The {lane} lane is busy" in message and "try again in about" in message
    else:
        assert f"The query on the {lane} lane ran past its" in message
    # and without the fault the same command works (exit 0)
    del env["MES_TEST_FAULT"]
    ok = subprocess.run([sys.executable, "-m", "core.cli", *args], capture_output=True,
                        text=True, cwd=ROOT, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr[-2000:]
