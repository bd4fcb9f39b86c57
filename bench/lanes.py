"""Benchmark: do the live widgets keep their speed while a 114K-container trace runs?

Replays the incident's shape (shared/domain.md) on DuckDB and PostgreSQL: a live-snapshot
table of 10.4K lots and a wip history of 1.71M rows for 114K containers. The realtime
lane runs the frame's real queries (snapshot time, WIP summary) back to back, first idle,
then while the slow lane fetches the history of all 114K ids in IN lists of 1000.

    python bench/lanes.py [--backends duckdb,postgresql] [--ids 114000] [--no-yield]

Prints a table: realtime p50/p99 idle and under load, their ratio, errors, and the slow
workload's wall time and rows. Targets (issue 2): p99 under load within 2x of idle,
under 50 ms, zero errors.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import load_settings
from core.db import in_ids, make_engine, open_lanes
from core.realtime import snapshot_time, wip_summary
from core.schema import lot_v, lotwiphistory

PG_URL = os.environ.get("MES_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROWS_PER_ID = 15
SNAPSHOT_LOTS = 10_400

DUCKDB_SETUP = [
    """INSERT INTO {s}.dw_mes_lotwiphistory (containerid, workcentername, specname,
       equipmentid, equipmentname, trackintimestamp, trackouttimestamp, trackinqty,
       trackoutqty, pj_workorder)
       SELECT printf('%016X', i % {ids}), 'WC' || (i // {ids}), 'SPEC' || (i // {ids}),
              printf('%016X', 900000 + i % 700), 'EQ-' || (i % 700),
              TIMESTAMP '2026-06-01' + INTERVAL (i % 150000) MINUTE,
              TIMESTAMP '2026-06-01' + INTERVAL (i % 150000 + 90) MINUTE,
              1000, 990, 'GA2606' || (i % 9000)
       FROM range({rows}) t(i)""",
    """INSERT INTO {s}.dw_mes_lot_v (containerid, lotid, workorder, qty, status,
       holdreasonname, currentholdcount, equipmentcount, agebydays, productlinename,
       pj_type, workcenter_group, workcentersequence_group, sys_date)
       SELECT printf('%016X', i), 'GA-' || i, 'GA2606' || (i % 900), 1000, 'Active',
              CASE WHEN i % 50 = 0 THEN 'YieldLimit' END,
              CASE WHEN i % 50 = 0 THEN 1 ELSE 0 END,
              CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END,
              (i % 90) / 10.0, 'SOD-323', 'BAT54', 'G' || (i % 12), (i % 12)::VARCHAR,
              TIMESTAMP '2026-11-28 08:00:00'
       FROM range({lots}) t(i)""",
]

PG_SETUP = [
    """INSERT INTO {s}.dw_mes_lotwiphistory (containerid, workcentername, specname,
       equipmentid, equipmentname, trackintimestamp, trackouttimestamp, trackinqty,
       trackoutqty, pj_workorder)
       SELECT lpad(upper(to_hex(i % {ids})), 16, '0'), 'WC' || (i / {ids}),
              'SPEC' || (i / {ids}), lpad(upper(to_hex(900000 + i % 700)), 16, '0'),
              'EQ-' || (i % 700), TIMESTAMP '2026-06-01' + (i % 150000) * INTERVAL '1 minute',
              TIMESTAMP '2026-06-01' + (i % 150000 + 90) * INTERVAL '1 minute',
              1000, 990, 'GA2606' || (i % 9000)
       FROM generate_series(0, {rows} - 1) i""",
    "CREATE INDEX ON {s}.dw_mes_lotwiphistory (containerid)",
    """INSERT INTO {s}.dw_mes_lot_v (containerid, lotid, workorder, qty, status,
       holdreasonname, currentholdcount, equipmentcount, agebydays, productlinename,
       pj_type, workcenter_group, workcentersequence_group, sys_date)
       SELECT lpad(upper(to_hex(i)), 16, '0'), 'GA-' || i, 'GA2606' || (i % 900), 1000,
              'Active', CASE WHEN i % 50 = 0 THEN 'YieldLimit' END,
              CASE WHEN i % 50 = 0 THEN 1 ELSE 0 END, CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END,
              (i % 90) / 10.0, 'SOD-323', 'BAT54', 'G' || (i % 12), (i % 12)::text,
              TIMESTAMP '2026-11-28 08:00:00'
       FROM generate_series(0, {lots} - 1) i""",
    "CREATE INDEX ON {s}.dw_mes_lot_v (containerid)",
    "ANALYZE {s}.dw_mes_lotwiphistory",
    "ANALYZE {s}.dw_mes_lot_v",
]


def setup(backend: str, n_ids: int, workdir: Path) -> tuple[str, str]:
    """Create the two tables; return (url, schema)."""
    if backend == "duckdb":
        url, schema = f"duckdb:///{workdir / 'lanes_bench.duckdb'}", "dwh"
        script = DUCKDB_SETUP
    else:
        url, schema = PG_URL, f"bench_{uuid.uuid4().hex[:8]}"
        script = PG_SETUP
    engine = make_engine(url, schema=schema, pool=None, read_only=False)
    with engine.begin() as c:
        c.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
    lotwiphistory.create(engine)
    lot_v.create(engine)
    with engine.begin() as c:
        for stmt in script:
            sql = stmt.format(s=schema, ids=n_ids, rows=n_ids * ROWS_PER_ID,
                              lots=SNAPSHOT_LOTS)
            # psycopg reads % as a placeholder: double it (setup SQL has no parameters)
            c.exec_driver_sql(sql.replace("%", "%%") if backend == "postgresql" else sql)
    engine.dispose()
    return url, schema


def teardown(backend: str, url: str, schema: str) -> None:
    if backend == "postgresql":
        engine = sa.create_engine(url)
        with engine.begin() as c:
            c.execute(sa.schema.DropSchema(schema, cascade=True))
        engine.dispose()


def live_loop(lanes, stop: threading.Event, out: list[float], errors: list[str],
              interval_s: float) -> None:
    """The frame's widgets: snapshot time, then WIP summary, a few times a second."""
    i = 0
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            if i % 2 == 0:
                snapshot_time(lanes)
            else:
                wip_summary(lanes)
            out.append(time.perf_counter() - t0)
        except Exception as exc:  # counted, printed in the table
            errors.append(f"{type(exc).__name__}: {exc}")
        i += 1
        stop.wait(max(0.0, interval_s - (time.perf_counter() - t0)))


def pct(data: list[float], q: float) -> float:
    return float(np.percentile(np.array(data) * 1000, q)) if data else float("nan")


def run(backend: str, n_ids: int, idle_n: int, interval_s: float, yield_to_live: bool,
        workdir: Path, rounds: int) -> dict[str, object]:
    url, schema = setup(backend, n_ids, workdir)
    settings = load_settings(env={}, secrets_path="/nonexistent", db_url=url, schema=schema,
                             yield_to_live=yield_to_live)
    lanes = open_lanes(settings)
    try:
        for _ in range(10):  # warm both lanes
            wip_summary(lanes)
        idle: list[float] = []
        errors: list[str] = []
        stop = threading.Event()
        t = threading.Thread(target=live_loop, args=(lanes, stop, idle, errors, interval_s))
        t.start()
        while len(idle) < idle_n:
            time.sleep(0.05)
        stop.set()
        t.join()

        ids = [f"{i:016X}" for i in range(n_ids)]
        h = lotwiphistory

        def build(chunk: list[str]) -> sa.Select:
            return sa.select(h.c.containerid, h.c.equipmentname, h.c.trackintimestamp,
                             h.c.trackoutqty).where(in_ids(h.c.containerid, chunk))

        busy: list[float] = []
        stop = threading.Event()
        t = threading.Thread(target=live_loop, args=(lanes, stop, busy, errors, interval_s))
        t.start()
        t0 = time.perf_counter()
        rows = batches = 0
        for _ in range(rounds):
            for res in lanes.slow.stream_batched(build, ids):
                rows += res.table.num_rows if res.table is not None else 0
                batches += 1
        slow_s = (time.perf_counter() - t0) / rounds
        stop.set()
        t.join()
        return {
            "backend": backend,
            "idle_p50": pct(idle, 50), "idle_p99": pct(idle, 99),
            "load_p50": pct(busy, 50), "load_p99": pct(busy, 99),
            "ratio_p99": pct(busy, 99) / pct(idle, 99),
            "live_n": len(busy), "errors": len(errors),
            "slow_s": slow_s, "rows": rows // rounds, "batches": batches // rounds,
            "yields": lanes.gate.yields,
            "first_error": errors[0] if errors else "",
        }
    finally:
        lanes.close()
        teardown(backend, url, schema)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="duckdb,postgresql")
    ap.add_argument("--ids", type=int, default=114_000)
    ap.add_argument("--idle", type=int, default=200, help="idle samples")
    ap.add_argument("--interval-ms", type=float, default=100.0,
                    help="live query interval (several per second)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="times the slow workload runs (more live samples under load)")
    ap.add_argument("--no-yield", action="store_true",
                    help="disable the slow lane's yielding to live queries")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            results.append(run(backend.strip(), args.ids, args.idle,
                               args.interval_ms / 1000, not args.no_yield, Path(tmp),
                               args.rounds))
    head = (f"{'backend':<11}{'idle p50':>9}{'idle p99':>9}{'load p50':>9}{'load p99':>9}"
            f"{'p99 x':>7}{'live n':>7}{'errors':>7}{'slow s/run':>11}{'rows':>10}{'batches':>8}"
            f"{'yields':>7}")
    print(f"\nrealtime latency in ms; slow workload = {args.ids:,} ids in IN lists of 1000, "
          f"yield_to_live={'off' if args.no_yield else 'on'}")
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r['backend']:<11}{r['idle_p50']:>9.2f}{r['idle_p99']:>9.2f}"
              f"{r['load_p50']:>9.2f}{r['load_p99']:>9.2f}{r['ratio_p99']:>7.2f}"
              f"{r['live_n']:>7}{r['errors']:>7}{r['slow_s']:>11.2f}{r['rows']:>10,}"
              f"{r['batches']:>8}{r['yields']:>7}")
        if r["first_error"]:
            print(f"  first error: {r['first_error']}")
    ok = all(r["ratio_p99"] <= 2 and r["load_p99"] < 50 and r["errors"] == 0
             for r in results)
    print(f"target (p99 under load <= 2x idle, < 50 ms, 0 errors): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
