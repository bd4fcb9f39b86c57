"""`mesdash rejects`: reject history on the command line (KPIs, reason pareto, trend).

Same core as the page: one primary query on the slow lane, then local slicing with the
policy toggles and filters; bad input is a UsageError (exit code 1), never a traceback.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.config import load_settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("rejects", help="reject history: KPIs, reason pareto, trend")
    p.add_argument("--start", help="first day, YYYY-MM-DD (default: 30 days ending yesterday)")
    p.add_argument("--end", help="last day, YYYY-MM-DD")
    p.add_argument("--package", action="append", default=[], help="package (repeatable)")
    p.add_argument("--group", action="append", default=[], help="station group (repeatable)")
    p.add_argument("--include-excluded", action="store_true",
                   help="count reasons on the exclusion list")
    p.add_argument("--grain", choices=("day", "week", "month"), default="day")
    p.add_argument("--db", help="SQLAlchemy URL (default: settings)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object")
    out.add_argument("--csv", metavar="FILE", help="write the filtered rows as CSV")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.cli import UsageError
    from core.db import open_lanes
    from core.rejects.inputs import check_range, known_values
    from core.rejects.load import load_range
    from core.rejects.measures import Filters, Slicer
    from core.rejects.policy import Policy

    settings = load_settings(**({"db_url": args.db} if args.db else {}))
    start, end = check_range(args.start, args.end, settings)  # RejectInputError: exit 1
    lanes = open_lanes(settings)
    try:
        loaded = load_range(lanes, start, end)
    finally:
        lanes.close()
    sl = Slicer(loaded.table)
    opts = sl.options()
    for values, dim, what in ((args.package, "package", "package"),
                              (args.group, "station_group", "station group")):
        _, problem = known_values(values, opts[dim], what)
        if problem and loaded.table.num_rows:
            raise UsageError(problem.replace(" ignored", ""))
    policy = Policy(include_excluded=args.include_excluded)
    filters = Filters(package=tuple(args.package), station_group=tuple(args.group))
    if args.csv:
        Path(args.csv).write_bytes(sl.csv_bytes(policy, filters))
        print(f"wrote {args.csv}")
        return 0
    kpis = sl.kpis(policy, filters)
    pareto = sl.pareto(policy, filters, "reason")
    trend = sl.trend(policy, filters, args.grain)
    result: dict[str, Any] = {
        "start": start.isoformat(), "end": end.isoformat(),
        "policy": policy.chips(filters.package),
        "kpis": kpis,
        "reason_pareto": [
            {"reason": r.reason, "charged": int(r.charged), "defect": int(r.defect),
             "share_pct": round(float(r.share_pct), 4), "cum_pct": round(float(r.cum_pct), 4)}
            for r in pareto.itertuples()
        ],
        "trend": [
            {"period": r.label, "charged": int(r.charged), "defect": int(r.defect),
             "movein": int(r.movein), "reject_rate_pct": float(r.reject_rate_pct)}
            for r in trend.itertuples()
        ],
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(f"rejects {start} to {end}: " + " · ".join(result["policy"]))
    for key, value in kpis.items():
        print(f"  {key:<18} {value:,}" if isinstance(value, int) else f"  {key:<18} {value:.3f}")
    print("reason pareto (charged, share %, cumulative %):")
    for r in result["reason_pareto"]:
        print(f"  {r['reason']:<20} {r['charged']:>10,} {r['share_pct']:>7.2f} "
              f"{r['cum_pct']:>7.2f}")
    return 0
