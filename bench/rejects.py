"""Reject history on the incident scale: primary query time and rows (30 and 365 days),
the median of 20 local filter/toggle changes, and a bare aggregate over the same raw rows
for the ratio. Prints a table.

    mesdash demo build --db duckdb:////tmp/incident_rejects.duckdb --scale incident \
        --anchor 2026-11-20
    python bench/rejects.py [--db duckdb:////tmp/incident_rejects.duckdb]

Note: the demo's incident scale spans about 5.5 months, so the 365-day range covers all
of its rejects.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, timedelta

from core.config import load_settings
from core.db import open_lanes
from core.rejects.load import load_range
from core.rejects.measures import Filters, Selection, Slicer
from core.rejects.policy import Policy
from core.rejects.query import bare_aggregate


def _timed(fn, repeat: int = 3):  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="duckdb:////tmp/incident_rejects.duckdb")
    ap.add_argument("--end", default="2026-11-19")
    args = ap.parse_args()
    settings = load_settings(db_url=args.db)
    lanes = open_lanes(settings)
    end = date.fromisoformat(args.end)
    rows = []
    try:
        for days in (30, 365):
            start = end - timedelta(days=days - 1)
            t_primary, loaded = _timed(lambda s=start: load_range(lanes, s, end))
            t_bare, bare = _timed(lambda s=start: lanes.slow.fetch_arrow(bare_aggregate(s, end)))
            sl = Slicer(loaded.table)
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
                sl.kpis(policy, f)
                sl.trend(policy, f, "day")
                sl.pareto(policy, f, "reason")
                sl.pareto(policy, f, "station_group")
                sl.detail(policy, f, Selection("reason", opts["reason"][0]))
                times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            sl.csv_bytes(Policy(), Filters())
            t_csv = time.perf_counter() - t0
            raw_rows = bare.num_rows
            rows.append((days, loaded.table.num_rows, raw_rows, t_primary, t_bare,
                         statistics.median(times), t_csv))
    finally:
        lanes.close()
    print(f"backend {lanes.backend} · {args.db} · range ending {end}")
    print("| range | result rows | bare rows | primary s | bare aggregate s | ratio |"
          " median change ms (20) | full CSV ms |")
    print("|---|---|---|---|---|---|---|---|")
    for d, n, raw, tp, tb, tm, tc in rows:
        print(f"| {d} days | {n:,} | {raw:,} | {tp:.3f} | {tb:.3f} | {tp / tb:.2f} |"
              f" {tm * 1000:.1f} | {tc * 1000:.0f} |")


if __name__ == "__main__":
    main()
