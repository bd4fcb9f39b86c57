"""Benchmark: WIP hold page costs on the incident-scale demo (11.2K-lot snapshot).

Measures what a user of the WIP hold page waits for:
- live refresh with an unchanged snapshot: must be one tiny query (sys_date);
- live refresh after the snapshot changed: sys_date + held lots + WIP summary;
- a live filter change (local pandas: filter, KPIs, matrix, pareto, buckets);
- hold-history load of 365 shift days (slow lane → Parquet spool), cold;
- a hold-history filter change (KPIs, trend, two paretos, buckets, one list page).

    python bench/holds.py [--db duckdb:////tmp/incident_holds.duckdb] [--schema dwh] [-n 200]

Target (issue 6): unchanged refresh = one tiny query; filter changes under 200 ms.
A changed snapshot cannot be produced on a read-only file, so that case forgets the
watcher's memory before each poll (the same queries a real change costs).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _demo import ensure_incident

from core.config import load_settings
from core.db import open_lanes
from core.holds import current, history, shift_day


def stats(samples: list[float]) -> tuple[float, float]:
    a = np.array(samples) * 1000
    return float(np.median(a)), float(np.percentile(a, 99))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", default="duckdb:////tmp/incident_holds.duckdb")
    ap.add_argument("--schema", default="dwh")
    ap.add_argument("-n", type=int, default=200, help="repetitions of the cheap cases")
    args = ap.parse_args()
    ensure_incident(args.db, args.schema)  # built on first use (bench/_demo.py)
    spool = Path(tempfile.mkdtemp(prefix="bench-holds-"))
    settings = load_settings(env={}, secrets_path="/nonexistent", db_url=args.db,
                             schema=args.schema, spool_dir=str(spool))
    lanes = open_lanes(settings)
    rows: list[tuple[str, float, float, str]] = []
    try:
        watcher = current.LiveHoldsWatcher()
        holds, _ = watcher.poll(lanes, settings)
        n_lots = lanes.realtime.scalar(
            __import__("sqlalchemy").select(__import__("sqlalchemy").func.count())
            .select_from(__import__("core.schema", fromlist=["lot_v"]).lot_v))
        # unchanged snapshot
        samples, queries = [], []
        for _ in range(args.n):
            q0 = lanes.stats()["realtime"]["queries"]
            t0 = time.perf_counter()
            _, reloaded = watcher.poll(lanes, settings)
            samples.append(time.perf_counter() - t0)
            queries.append(lanes.stats()["realtime"]["queries"] - q0)
            assert not reloaded
        rows.append(("live refresh, snapshot unchanged", *stats(samples),
                     f"{np.mean(queries):.0f} query per refresh"))
        # changed snapshot
        samples, queries = [], []
        for _ in range(max(20, args.n // 4)):
            watcher.current = None
            q0 = lanes.stats()["realtime"]["queries"]
            t0 = time.perf_counter()
            holds, reloaded = watcher.poll(lanes, settings)
            samples.append(time.perf_counter() - t0)
            queries.append(lanes.stats()["realtime"]["queries"] - q0)
        rows.append(("live refresh, snapshot changed", *stats(samples),
                     f"{np.mean(queries):.0f} queries, {len(holds.lots)} held of {n_lots:,} lots"))
        # live filter change (local)
        df = holds.lots
        reasons = sorted(df["reason"].unique())
        samples = []
        for i in range(args.n):
            f = current.LiveFilter(hold_type=("all", "quality", "non-quality")[i % 3],
                                reasons=(reasons[i % len(reasons)],) if i % 2 else ())
            t0 = time.perf_counter()
            part = current.apply_filter(df, f)
            current.kpis(part), current.matrix(part), current.pareto(part)
            current.age_buckets(part, settings), current.lot_table(part)
            samples.append(time.perf_counter() - t0)
        rows.append(("live filter change (local)", *stats(samples), "no query"))
        # history: 365 shift days, cold
        end = shift_day(holds.snapshot, settings.shift_day_offset_minutes)
        start = end - timedelta(days=settings.hold_history_max_days - 1)
        samples = []
        for _ in range(3):
            shutil.rmtree(spool / "mesdash-holds", ignore_errors=True)
            t0 = time.perf_counter()
            h = history.load_history(lanes, settings, start, end, now=holds.snapshot)
            samples.append(time.perf_counter() - t0)
        size_mb = Path(h.path).stat().st_size / 1e6
        rows.append(("hold history load, 365 days (cold)", *stats(samples),
                     f"{h.rows:,} holds, spool {size_mb:.1f} MB"))
        # history filter change
        hist_reasons = []
        with history.HistoryView(h) as v:
            hist_reasons = v.reasons()
        days = h.days
        samples = []
        for i in range(max(20, args.n // 4)):
            rec = history.RECORD_TYPES[i % 3]
            f = history.HistoryFilter(
                hold_type=("all", "quality", "non-quality")[i % 3],
                reasons=(hist_reasons[i % len(hist_reasons)],) if i % 2 else (),
                record_type=rec, day=days[-1 - i % 30] if i % 4 == 0 else None,
                buckets=(h.bucket_labels[i % 4],) if i % 5 == 0 else ())
            chart_f = history.HistoryFilter(hold_type=f.hold_type, reasons=f.reasons,
                                            record_type=rec)
            t0 = time.perf_counter()
            with history.HistoryView(h) as v:
                v.kpis(chart_f), v.trend(chart_f), v.reason_pareto(chart_f)
                v.duration_buckets(chart_f), v.records(f, limit=settings.page_size)
            samples.append(time.perf_counter() - t0)
        rows.append(("hold history filter change", *stats(samples),
                     "KPIs, trend, pareto, buckets, list page"))
    finally:
        lanes.close()
        shutil.rmtree(spool, ignore_errors=True)

    print(f"\nWIP hold benchmark on {lanes.backend} ({args.db})\n")
    print("| case | median ms | p99 ms | notes |")
    print("|---|---|---|---|")
    for name, med, p99, note in rows:
        print(f"| {name} | {med:.1f} | {p99:.1f} | {note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
