"""The defect page's small reads and its lot-detail cache rule, with their lane chosen.

Why: pages are UI only (docs/engineering.md): no SQL and no lane choice in dashboard/.
The defect page lists the loss reasons seen lately (its reason picker) and a machine's
maintenance jobs (beside the machines tab); both are reference reads that may take a
while on the warehouse, so they run on the slow lane, chosen here. Whether a finished
analysis' lot-detail pages may be cached is the product's small-set rule
(settings.cache_max_ids), also here: the page's st.cache_data wrapper only asks.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from core.config import Settings
from core.db import Lanes
from core.defects._analysis import BackwardResult
from core.defects._queries import machine_jobs_query, reasons_seen_query


def reasons_seen(lanes: Lanes, days: int, today: dt.date | None = None) -> list[str]:
    """Loss reasons booked since midnight ``days`` days before ``today``, by name."""
    today = today or dt.date.today()
    since = dt.datetime.combine(today - dt.timedelta(days=days), dt.time())
    return lanes.slow.fetch_arrow(reasons_seen_query(since)).column(
        "lossreasonname").to_pylist()


def machine_jobs_window(end: dt.date | None, settings: Settings,
                        now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The window of maintenance jobs shown for an analysis ending ``end`` (the day after
    it, or now for a list-only analysis), settings.defect_max_days long."""
    until = (dt.datetime.combine(end + dt.timedelta(days=1), dt.time()) if end
             else now or dt.datetime.now())
    return until - dt.timedelta(days=settings.defect_max_days), until


def machine_jobs(lanes: Lanes, machine: str, end: dt.date | None,
                 settings: Settings) -> pa.Table:
    """Maintenance jobs of one machine in the analysis' window, newest first."""
    since, until = machine_jobs_window(end, settings)
    return lanes.slow.fetch_arrow(machine_jobs_query(machine, since, until))


def lot_pages_cacheable(back: BackwardResult, settings: Settings) -> bool:
    """Pages of an analysis of at most cache_max_ids seed lots may be cached; over it
    nothing is (the product's rule for big container sets): each page is built when
    shown."""
    return back.seeds is not None and back.seeds.num_rows <= settings.cache_max_ids
