"""Benchmark: the incident, replayed (shared/domain.md, "The incident").

On the `incident` demo scale (about 70K lots passing TMTT in 5 months, whose genealogy
reaches about 114K containers), run the 5-month TMTT backward defect trace while a second
thread plays the live widgets (snapshot sys_date check and WIP summary through the
realtime lane, several per second). Prints containers traced, queries sent, wall time per
stage, peak RSS, realtime p50/p99 idle vs. during, realtime errors, and how many keys the
trace wrote to Redis (must be 0: far over cache_max_ids).

    python bench/incident.py [--backends duckdb,postgresql] [--rebuild]

The demo databases are built once (DuckDB /tmp/mesdash_incident.duckdb, PostgreSQL
schema `incident`) in a subprocess, so their build does not count in this process's RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _demo import ANCHOR, ensure_incident  # noqa: E402  (bench/_demo.py)
from lanes import live_loop, pct  # noqa: E402  (bench/lanes.py: the live widget loop)

from core.config import load_settings  # noqa: E402
from core.db import open_lanes  # noqa: E402
from core.defects import DefectRequest, run_defect_analysis  # noqa: E402
from core.jobs import JobManager  # noqa: E402

PG_URL = os.environ.get("MES_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DUCKDB_FILE = Path(tempfile.gettempdir()) / "mesdash_incident.duckdb"
PG_SCHEMA = "incident"
REDIS_URL = os.environ.get("MES_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def ensure_built(backend: str, rebuild: bool) -> tuple[str, str]:
    if backend == "duckdb":
        url, schema = f"duckdb:///{DUCKDB_FILE}", "dwh"
    else:
        url, schema = PG_URL, PG_SCHEMA
    ensure_incident(url, schema, rebuild=rebuild)
    return url, schema


class PeakRSS:
    """Samples this process's RSS every 50 ms; ``peak`` is the highest seen."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> PeakRSS:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def run(backend: str, rebuild: bool, interval_s: float) -> dict[str, object]:
    url, schema = ensure_built(backend, rebuild)
    spool = tempfile.mkdtemp(prefix="mesdash_bench_spool_")
    settings = load_settings(env={}, secrets_path="/nonexistent", db_url=url, schema=schema,
                             redis_url=REDIS_URL, spool_dir=spool)
    r = redis.Redis.from_url(REDIS_URL)
    r.flushdb()
    lanes = open_lanes(settings)
    try:
        for _ in range(10):
            lanes.check()
        idle: list[float] = []
        errors: list[str] = []
        stop = threading.Event()
        t = threading.Thread(target=live_loop, args=(lanes, stop, idle, errors, interval_s))
        t.start()
        time.sleep(10)
        stop.set()
        t.join()

        request = DefectRequest.build(settings, station="TMTT",
                                      start=ANCHOR - dt.timedelta(days=150),
                                      end=ANCHOR - dt.timedelta(days=1))
        manager = JobManager(settings)
        busy: list[float] = []
        rss_before = psutil.Process().memory_info().rss
        with PeakRSS() as rss:
            stop = threading.Event()
            t = threading.Thread(target=live_loop, args=(lanes, stop, busy, errors,
                                                         interval_s))
            t.start()
            t0 = time.perf_counter()
            job = manager.submit(request.key(), lambda j: run_defect_analysis(
                j, lanes, request, settings), label="incident")
            job.wait()
            wall = time.perf_counter() - t0
            stop.set()
            t.join()
        if job.state != "done":
            raise SystemExit(f"{backend}: the defect trace {job.state}: {job.error}")
        res = job.result
        keys = [k.decode() for k in r.keys("*") if not k.startswith(b"mesdash:throttle")]
        manager.close()
        return {
            "backend": backend, "seeds": res.kpis["detection_lots"],
            "containers": res.scope.get("containers", 0), "queries": res.scope["queries"],
            "stages": res.scope["seconds"], "wall": wall,
            "rss_peak_mb": rss.peak / 2**20, "rss_delta_mb": (rss.peak - rss_before) / 2**20,
            "idle_p50": pct(idle, 50), "idle_p99": pct(idle, 99),
            "busy_p50": pct(busy, 50), "busy_p99": pct(busy, 99), "live_n": len(busy),
            "errors": len(errors), "redis_keys": len(keys),
            "history_rows": res.scope.get("history_rows", 0),
            "top_machine": next((f["factor"] for f in sorted(
                (x for x in res.backward.factors.to_pylist() if x["factor_kind"] == "machine"
                 and x["p_value"] is not None and x["lots"] >= 30),
                key=lambda x: x["p_value"])), None),
        }
    finally:
        lanes.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="duckdb,postgresql")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--interval-ms", type=float, default=200.0,
                    help="live widget query interval (several per second)")
    args = ap.parse_args()
    rows = [run(b.strip(), args.rebuild, args.interval_ms / 1000)
            for b in args.backends.split(",")]
    print("\nthe incident replayed: 5-month TMTT backward defect trace + live widgets")
    head = (f"{'backend':<11}{'seeds':>8}{'containers':>11}{'queries':>8}{'wall s':>8}"
            f"{'peak RSS MB':>12}{'idle p50':>9}{'idle p99':>9}{'busy p50':>9}"
            f"{'busy p99':>9}{'p99 x':>6}{'errors':>7}{'redis keys':>11}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['backend']:<11}{r['seeds']:>8,}{r['containers']:>11,}{r['queries']:>8,}"
              f"{r['wall']:>8.1f}{r['rss_peak_mb']:>12.0f}{r['idle_p50']:>9.2f}"
              f"{r['idle_p99']:>9.2f}{r['busy_p50']:>9.2f}{r['busy_p99']:>9.2f}"
              f"{r['busy_p99'] / r['idle_p99']:>6.2f}{r['errors']:>7}{r['redis_keys']:>11}")
    for r in rows:
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in r["stages"].items())
        print(f"{r['backend']}: stages {stages}; history rows {r['history_rows']:,}; "
              f"RSS +{r['rss_delta_mb']:.0f} MB during the trace; most significant "
              f"upstream machine: {r['top_machine']}")
    ok = all(r["busy_p99"] <= 2 * r["idle_p99"] and r["busy_p99"] < 50 and r["errors"] == 0
             and r["rss_peak_mb"] < 1024 and r["redis_keys"] == 0 for r in rows)
    print("targets (p99 during <= 2x idle and < 50 ms, 0 errors, peak RSS < 1 GB, "
          f"0 Redis keys): {'met' if ok else 'NOT met'}")



if __name__ == "__main__":
    main()
