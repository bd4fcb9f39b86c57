"""Build both lanes from the settings: the one place that wires engines, throttle, gate.

Why a module of its own: the dashboard caches one Lanes per process
(st.cache_resource), the CLI opens one per command, tests open them against DuckDB and
PostgreSQL; all go through ``open_lanes`` so every lane everywhere has the same limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from core.config import Settings
from core.db._drivers import driver_for
from core.db._engines import PoolSpec, backend_of, duckdb_path, make_engine
from core.db._errors import DatabaseUnavailable
from core.db._lanes import LiveGate, RealtimeLane, SlowLane
from core.db._throttle import DEGRADED_NOTICE, Throttle, make_throttle
from core.interpreter import status as interpreter_status
from core.interpreter import tune_for_live
from core.redact import mask_url


@dataclass
class Lanes:
    settings: Settings
    realtime: RealtimeLane
    slow: SlowLane
    gate: LiveGate
    backend: str
    url_display: str

    def stats(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "url": self.url_display,
            "realtime": self.realtime.status(),
            "slow": self.slow.status(),
            "interpreter": interpreter_status(),
        }

    def notices(self) -> list[str]:
        """What someone running something should know about these lanes now (a degraded
        mode), without a round trip: pages show it beside their work."""
        return [DEGRADED_NOTICE] if self.slow.throttle.degraded else []

    def check(self) -> float:
        """One trivial query on the realtime lane; returns its seconds or raises."""
        import time

        t0 = time.perf_counter()
        self.realtime.scalar(sa.select(sa.literal(1)))
        return time.perf_counter() - t0

    def close(self) -> None:
        self.slow.close()
        self.realtime.close()


def open_lanes(settings: Settings, *, throttle: Throttle | None = None) -> Lanes:
    """Both lanes for ``settings``; DatabaseUnavailable when the database can't be opened.

    Also tunes the interpreter for live widgets (core.interpreter: thread switch interval,
    garbage-collector freeze): their queries must not wait behind a background job's
    Python."""
    tune_for_live(settings)
    url = settings.effective_db_url
    url_display = mask_url(url)
    backend = backend_of(url)
    if backend == "duckdb":
        path = duckdb_path(url)
        if path is not None and not __import__("os").path.exists(path):
            hint = (
                " Build it with `mesdash demo build` or start the dashboard once."
                if settings.uses_demo
                else ""
            )
            raise DatabaseUnavailable(f"The DuckDB file {path} does not exist.{hint}")
    read_only = backend == "duckdb" and duckdb_path(url) is not None
    gate = LiveGate()
    rt_driver, slow_driver = driver_for(backend), driver_for(backend)
    slow_driver.configure(settings)  # the realtime lane keeps its drivers' defaults
    if settings.test_fault:  # a test hook (MES_TEST_FAULT): core/db/_faults.py
        from core.db._faults import FaultInjectingDriver, FaultPlan

        plan = FaultPlan.parse(settings.test_fault)
        if plan.applies_to("realtime"):
            rt_driver = FaultInjectingDriver(rt_driver, plan)
        if plan.applies_to("slow"):
            slow_driver = FaultInjectingDriver(slow_driver, plan)
    try:
        rt_engine = make_engine(
            url,
            schema=settings.schema,
            read_only=read_only,
            role="realtime",
            duckdb_threads=settings.duckdb_threads,
            duckdb_memory_limit=settings.duckdb_memory_limit,
            connect_args=rt_driver.session_connect_args(settings.realtime_deadline_s),
            pool=PoolSpec(
                size=settings.realtime_pool_size,
                max_overflow=settings.realtime_max_overflow,
                timeout_s=settings.realtime_pool_timeout_s,
                recycle_s=settings.realtime_pool_recycle_s,
                pre_ping=settings.realtime_pool_pre_ping,
            ),
        )
        slow_engine = make_engine(
            url,
            schema=settings.schema,
            read_only=read_only,
            role="slow",
            duckdb_threads=settings.duckdb_threads,
            duckdb_memory_limit=settings.duckdb_memory_limit,
            connect_args=slow_driver.session_connect_args(
                settings.slow_deadline_s, parallel_workers=settings.slow_parallel_workers
            ),
            pool=PoolSpec(
                size=settings.slow_connections,
                max_overflow=0,
                timeout_s=settings.slow_wait_s,
                recycle_s=settings.realtime_pool_recycle_s,
                pre_ping=True,
            ),
        )
    except Exception as exc:
        raise DatabaseUnavailable(f"Cannot open the database at {url_display}: {exc}") from exc
    realtime = RealtimeLane(
        rt_engine,
        gate=gate,
        deadline_s=settings.realtime_deadline_s,
        url_display=url_display,
        driver=rt_driver,
    )
    slow = SlowLane(
        slow_engine,
        throttle=throttle
        or make_throttle(
            settings.slow_permits,
            redis_url=settings.redis_url,
            db_url=url,
            lease_s=settings.slow_lease_s,
            timeout_s=settings.redis_timeout_s,
        ),
        gate=gate,
        wait_s=settings.slow_wait_s,
        workers=settings.slow_workers,
        in_list_max=settings.in_list_max,
        yield_to_live=settings.yield_to_live,
        yield_max_wait_s=settings.yield_max_wait_s,
        live_recent_s=settings.live_recent_s,
        live_batch_size=min(settings.live_batch_size, settings.in_list_max),
        deadline_s=settings.slow_deadline_s,
        url_display=url_display,
        driver=slow_driver,
    )
    return Lanes(settings, realtime, slow, gate, backend, url_display)
