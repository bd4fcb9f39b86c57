"""Jobs for the job-queue tests (tests/test_rq_jobs.py), run by real `mesdash worker`
processes: they import this module by name, like any job function (core.jobs.Task).

Why: a trace of the tiny demo finishes in a fraction of a second, too fast to cancel or
kill a worker in the middle of it. ``slow_steps`` reports a stage with batches done/total
(progress a restarted replica must find); ``heavy_query`` then runs one long query on the
real slow lane, holding a real throttle permit until the CancelToken interrupts it.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

HEAVY_SQL = "SELECT count(*) AS n FROM range(40000000000) t(x) WHERE x % 7 = 3"
"""DuckDB: tens of seconds on one thread, interruptible at any time."""
PG_HEAVY_SQL = "SELECT count(*) AS n FROM pg_sleep(30)"


def slow_steps(job: Any, lanes: Any, request: dict[str, Any], settings: Any) -> dict[str, Any]:
    """``steps`` batches of ``step_s`` each (stage "steps", done/total), then, with
    ``heavy``, one long slow-lane query."""
    stage = job.stage("steps", total=request["steps"])
    update = job.progress_for(stage)
    for i in range(request["steps"]):
        if job.cancel_token.cancelled:
            return {"steps": i}
        time.sleep(request.get("step_s", 0.2))
        update(done=i + 1, rows=i + 1, message=request.get("message"),
               message_args=request.get("message_args"))
    if request.get("heavy"):
        job.stage("heavy query")
        sql = PG_HEAVY_SQL if lanes.backend == "postgresql" else HEAVY_SQL
        lanes.slow.fetch_arrow(sa.text(sql), cancel=job.cancel_token, deadline_s=120)
    return {"steps": request["steps"], "tag": request.get("tag")}
