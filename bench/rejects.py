"""Reject history on the incident scale: primary load time and rows (30 and 365 days)
against a bare aggregate over the same raw rows (the ratio), the one-off cost of building
the local slicer, and the median of 20 local filter/toggle changes. Prints a table.

    python bench/rejects.py [--db duckdb:////tmp/incident_rejects.duckdb] [--schema dwh]

"primary" is everything ``load_range`` does (the reject records and their containers'
attributes, fetched side by side, joined locally, the reference data, ``prepare``),
timed best of ``--repeat`` after one untimed run of each; "query" is the records
statement alone; the bare aggregate (``core.rejects._queries.bare_aggregate``: the same
raw rows grouped at lot × event × reason grain) is timed the same way, interleaved with
them, so all see the same machine load. The ratio is primary / bare, of the best runs
and of the medians (the VM this was tuned on drifts by ~20 % from run to run, and one
lucky bare run moves the best-of ratio; the median is the steadier figure). The worst
run is printed beside the best. A change
is what one page rerun computes on the kept slicer: options, KPIs, the day trend, the
reason and station-group paretos and a detail page (no CSV).

Note: the demo's incident scale spans about 5.5 months, so the 365-day range covers all
of its rejects.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, timedelta

from _demo import ensure_incident  # bench/_demo.py (the script's folder is on sys.path)

from core.config import load_settings
from core.db import local_threads, open_lanes
from core.rejects import (
    Filters,
    Policy,
    Selection,
    Slicer,
    bare_aggregate,
    load_range,
    rejects_by_range,
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="duckdb:////tmp/incident_rejects.duckdb")
    ap.add_argument("--schema", default=None, help="schema of the MES tables (default: setting)")
    ap.add_argument("--end", default="2026-11-19")
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    overrides = {"db_url": args.db, **({"schema": args.schema} if args.schema else {})}
    settings = load_settings(**overrides)
    ensure_incident(args.db, settings.schema)  # built on first use (bench/_demo.py)
    lanes = open_lanes(settings)
    end = date.fromisoformat(args.end)
    rows = []
    try:
        for days in (30, 365):
            start = end - timedelta(days=days - 1)
            t_primary: list[float] = []
            t_query: list[float] = []
            t_bare: list[float] = []
            load_range(lanes, start, end)  # one untimed run each: first-use costs aside
            lanes.slow.fetch_arrow(bare_aggregate(start, end))
            for _ in range(args.repeat):  # interleaved: all see the same machine load
                # each result is let go before the next timed run, so every run starts
                # from the same memory (holding a 100 MB result while the next one is
                # built made the runs after it pay for fresh pages)
                t0 = time.perf_counter()
                n_rows = load_range(lanes, start, end).table.num_rows
                t_primary.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                lanes.slow.fetch_arrow(rejects_by_range(start, end))
                t_query.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                n_bare = lanes.slow.fetch_arrow(bare_aggregate(start, end)).num_rows
                t_bare.append(time.perf_counter() - t0)
            loaded = load_range(lanes, start, end)
            t0 = time.perf_counter()
            # the page's job builds it once per load (threads by the live widgets' rule)
            sl = Slicer(loaded.table, threads=local_threads(lanes, settings))
            t_build = time.perf_counter() - t0
            opts = sl.options()
            pkgs = [p for p in opts["package"] if not p.startswith("PB_")][:3]
            changes = [
                (Policy(), Filters()),
                (Policy(include_excluded=True), Filters()),
                (Policy(include_pb=True), Filters()),
                (Policy(include_material=True), Filters()),
                (Policy(include_non_nnn=True, include_xxx_zzz=True), Filters()),
                (Policy(), Filters(package=(pkgs[0],))),
                (Policy(), Filters(package=tuple(pkgs))),
                (Policy(), Filters(station_group=("TMTT",))),
                (Policy(), Filters(reason=tuple(opts["reason"][:3]))),
                (Policy(), Filters(machine=tuple(opts["machine"][:2]))),
            ] * 2
            times = []
            for policy, f in changes:  # what one page rerun computes (without CSV)
                t0 = time.perf_counter()
                sl.options()
                sl.kpis(policy, f)
                sl.trend(policy, f, "day")
                sl.pareto(policy, f, "reason")
                sl.pareto(policy, f, "station_group")
                sl.detail(policy, f, Selection("reason", opts["reason"][0]))
                times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            sl.csv_bytes(Policy(), Filters())
            t_csv = time.perf_counter() - t0
            sl.close()
            rows.append((days, n_rows, n_bare, t_primary, t_query,
                         t_bare, t_build, times, t_csv))
    finally:
        lanes.close()
    print(f"backend {lanes.backend} · {args.db} · schema {settings.schema} · range ending {end}"
          f" · best of {args.repeat} (worst in brackets)")
    print("| range | records | bare rows | primary s | records query s |"
          " bare aggregate s | ratio best (median) | slicer build s | median change ms (20) |"
          " slowest change ms | full CSV ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for d, n, raw, tp, tq, tb, tbuild, tm, tc in rows:
        print(f"| {d} days | {n:,} | {raw:,} | {min(tp):.3f} ({max(tp):.3f}) |"
              f" {min(tq):.3f} ({max(tq):.3f}) | {min(tb):.3f} ({max(tb):.3f}) |"
              f" {min(tp) / min(tb):.2f} ({statistics.median(tp) / statistics.median(tb):.2f}) |"
              f" {tbuild:.2f} | {statistics.median(tm) * 1000:.1f} |"
              f" {max(tm) * 1000:.0f} | {tc * 1000:.0f} |")


if __name__ == "__main__":
    main()
