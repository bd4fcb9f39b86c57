"""`mesdash defects`: the defect trace from the command line (same job as the page).

--json prints the KPIs (core.glossary keys: detection_defects = detection_charged +
detection_uncharged, ...), ``completeness`` (per input: lineage, history, materials or
downstream; and ``analysis``, derived from them: status and the reason in words) and every
pareto as lists of {factor, lots, input, defects, charged, uncharged, rate, lift,
lift_note, p_value, cumulative_pct}; a forward run's tables as {factor, lots, input,
rejects, uncharged, rate}. Through core.jsonsafe: a lift that is undefined is null (never
"inf"), missing is null, lists are lists. --out writes the tables (factors, lot detail,
trend, reasons, or the forward tables) as Parquet files.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from core import jsonsafe
from core.config import load_settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("defects", help="defect trace: attribute defects at a station")
    p.add_argument("--station", help="detection station group (default: setting)")
    p.add_argument("--start", help="YYYY-MM-DD (required unless a list is given)")
    p.add_argument("--end", help="YYYY-MM-DD, inclusive")
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--lots", help="comma-separated lot names (wildcards * %% _)")
    seeds.add_argument("--work-orders", help="comma-separated work orders")
    seeds.add_argument("--wafer-lots", help="comma-separated wafer lots")
    p.add_argument("--reasons", default="", help="comma-separated loss reasons (default all)")
    p.add_argument("--types", default="", help="comma-separated product types")
    p.add_argument("--packages", default="", help="comma-separated packages")
    p.add_argument("--direction", choices=["backward", "forward"], default="backward")
    p.add_argument("--top", type=int, default=10, help="pareto length (rest as 'others')")
    p.add_argument("--out", help="folder for the Parquet tables")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _split(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _rows(table: pa.Table, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{k: r.get(k) for k in keys} for r in table.to_pylist()]


def run(args: argparse.Namespace) -> int:
    from core.cli import UsageError
    from core.db import LaneError, open_lanes
    from core.defects import DefectInputError, DefectRequest, pareto
    from core.defects.attribution import FACTOR_KINDS
    from core.defects.run import run_defect_analysis
    from core.jobs import JobManager

    settings = load_settings()
    try:
        kind, values = next(((k, _split(v)) for k, v in (
            ("lot", args.lots), ("work_order", args.work_orders),
            ("wafer_lot", args.wafer_lots)) if v), ("", []))
        request = DefectRequest.build(
            settings, station=args.station, start=args.start or "", end=args.end or "",
            seed_kind=kind, seed_values=values,
            reasons=_split(args.reasons), types=_split(args.types),
            packages=_split(args.packages), direction=args.direction,
        )
    except DefectInputError as exc:
        raise UsageError(str(exc)) from exc
    lanes = open_lanes(settings)
    manager = JobManager(settings)
    try:
        job = manager.submit(request.key(), lambda j: run_defect_analysis(
            j, lanes, request, settings), label="defects")
        last = ""
        while not job.wait(0.5):
            if not args.json:
                snap = job.snapshot()["stages"]
                line = " · ".join(f"{s['name']} {s['done']}/{s['total'] or '?'}" for s in snap)
                if line != last:
                    print(f"\r{line[:110]:<110}", end="", file=sys.stderr, flush=True)
                    last = line
        if job.state != "done":
            if job.error_type == "DefectInputError":
                raise UsageError(job.error or "bad input")
            if job.state == "failed" and isinstance(job.exception, LaneError):
                raise job.exception  # main() says it and exits 4 (busy, timeout) or 3
            print(f"mesdash: defect trace {job.state}: {job.error}", file=sys.stderr)
            return 4 if job.state == "cancelled" else 3
        result = job.result
        keys = ("factor", "lots", "input", "defects", "charged", "uncharged", "rate", "lift",
                "lift_note", "p_value")
        out: dict[str, Any] = {"request": dataclasses.asdict(request),
                               "kpis": result.kpis, "scope": result.scope,
                               "unmatched": list(result.unmatched),
                               "completeness": result.completeness}
        if result.backward is not None:
            back = result.backward
            out["paretos"] = {
                kind: _rows(pareto(back.factors, kind, top=args.top,
                                   exposures=back.exposures, seeds=back.seeds),
                            (*keys, "cumulative_pct"))
                for kind in FACTOR_KINDS}
            out["paretos"]["reason"] = [
                {"factor": r["reason"], "defects": r["defects"], "charged": r["charged"],
                 "uncharged": r["uncharged"], "lots": r["lots"],
                 "share_pct": r["share_pct"], "cumulative_pct": r["cumulative_pct"]}
                for r in result.backward.reasons.to_pylist()]
        elif result.forward:
            out["paretos"] = {k: _rows(v, ("factor", "lots", "input", "rejects", "uncharged",
                                           "rate"))
                              for k, v in result.forward.items() if isinstance(v, pa.Table)}
        if args.out:
            folder = Path(args.out)
            folder.mkdir(parents=True, exist_ok=True)
            tables: dict[str, pa.Table] = {}
            if result.backward is not None:
                tables = {"factors": result.backward.factors, "lot_detail": result.backward.lots,
                          "trend": result.backward.trend, "reasons": result.backward.reasons}
            elif result.forward:
                tables = {k: v for k, v in result.forward.items() if isinstance(v, pa.Table)}
            for name, table in tables.items():
                pq.write_table(table, folder / f"{name}.parquet")
            out["files"] = sorted(str(folder / f"{n}.parquet") for n in tables)
        if args.json:
            print(jsonsafe.dumps(out, indent=1))
        else:
            print(file=sys.stderr)
            print(result.summary.replace("**", ""))
            for kind, rows in jsonsafe.clean(out.get("paretos") or {}).items():
                print(f"\n{kind}:")
                for r in rows[: args.top + 1]:
                    print("  " + "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else
                                            f"{k}={'–' if v is None else v}"
                                            for k, v in r.items() if k != "lift_note"
                                            or v is not None))
        return 0
    finally:
        manager.close()
        lanes.close()
