"""`mesdash db check` and `mesdash config`: is the database reachable, which limits apply.

`db check` opens both lanes with the configured settings, runs one trivial query on
each, reads the live snapshot's time, and prints the lane statistics (pool, throttle,
latency) and where jobs run (job backend, queue length, workers alive, jobs running):
the first thing to run when a page says the database is unavailable. Exit 3 when
job_backend = rq and its Redis does not answer.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import sqlalchemy as sa

from core.config import SETTINGS_DOC, allowed, load_settings, settings_markdown, shown_value
from core.i18n import _


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help=_("database checks"))
    dbsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    check = dbsub.add_parser("check", help=_("connectivity, backend and lane statistics"))
    check.add_argument("--db", help=_("SQLAlchemy URL (default: settings)"))
    check.add_argument("--json", action="store_true", help=_("print one JSON object"))
    check.set_defaults(func=run_check)
    cfg = sub.add_parser("config", help=_("print the settings reference or the values in effect "
                                          "(each with its allowed values)"))
    cfg.add_argument("--markdown", action="store_true", help=_("the README's reference table"))
    cfg.set_defaults(func=run_config)


def check(settings: Any) -> dict[str, Any]:
    from core.db import open_lanes
    from core.realtime import snapshot_time

    lanes = open_lanes(settings)
    try:
        t0 = time.perf_counter()
        lanes.check()
        realtime_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        lanes.slow.fetch_arrow(sa.select(sa.literal(1).label("one")))
        slow_ms = (time.perf_counter() - t0) * 1000
        snap = snapshot_time(lanes)
        return {
            "ok": True,
            "backend": lanes.backend,
            "url": lanes.url_display,
            "realtime_ms": round(realtime_ms, 2),
            "slow_ms": round(slow_ms, 2),
            "snapshot_time": snap.isoformat() if snap else None,
            "lanes": lanes.stats(),
            "jobs": jobs_status(settings),
        }
    finally:
        lanes.close()


def jobs_status(settings: Any) -> dict[str, Any]:
    """Where jobs run: the backend, queue length, workers alive, jobs running (this
    process's own for ``thread``); ``error`` when the rq queue's Redis does not answer."""
    from core.jobs import QueueUnavailable, make_backend

    backend = make_backend(settings)
    try:
        return backend.status()
    except QueueUnavailable as exc:
        return {"backend": settings.job_backend, "queue": settings.rq_queue, "error": str(exc)}
    finally:
        backend.close()


def run_check(args: argparse.Namespace) -> int:
    overrides = {"db_url": args.db} if args.db else {}
    result = check(load_settings(**overrides))
    jobs = result["jobs"]
    code = 3 if jobs.get("error") else 0  # job_backend = rq and its Redis is down
    if args.json:
        print(json.dumps(result, default=str, indent=2))
        return code
    thr = result["lanes"]["slow"]["throttle"]
    print(_("database   {url} ({backend}): reachable").format(url=result["url"],
                                                             backend=result["backend"]))
    print(_("realtime   first query {ms:.1f} ms, pool {pool}").format(
        ms=result["realtime_ms"], pool=result["lanes"]["realtime"]["pool"]))
    print(_("slow       first query {ms:.1f} ms, pool {pool}").format(
        ms=result["slow_ms"], pool=result["lanes"]["slow"]["pool"]))
    print(_("throttle   {kind}{degraded}: {in_use}/{permits} in use {detail}").format(
        kind=thr["kind"], degraded=_(" (DEGRADED)") if thr["degraded"] else "",
        in_use=thr["in_use"], permits=thr["permits"], detail=thr["detail"]))
    print(_("snapshot   {time}").format(
        time=result["snapshot_time"] or _("no live snapshot rows")))
    if jobs.get("error"):
        print(_("jobs       {backend} queue {queue}: {error}").format(
            backend=jobs["backend"], queue=jobs["queue"], error=jobs["error"]))
    elif jobs["backend"] == "rq":
        print(_("jobs       rq queue {queue}: {queued} queued, {running} running, {workers} "
                "worker(s) alive").format(queue=jobs["queue"], queued=jobs["queued"],
                                          running=jobs["running"], workers=jobs["workers"]))
    else:
        print(_("jobs       thread (in each dashboard process): {running} running "
                "here").format(running=jobs["running"]))
    return code


def run_config(args: argparse.Namespace) -> int:
    if args.markdown:
        print(settings_markdown())
        return 0
    settings = load_settings()
    for key, value in sorted(vars(settings).items()):
        bounds = allowed(key)
        print(f"# {_(SETTINGS_DOC[key][0])}")  # the doc in the command's language
        print(f"{key} = {shown_value(key, value)!r}" + (f"  # {bounds}" if bounds else ""))
    return 0
