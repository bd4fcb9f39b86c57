"""`mesdash rejects`: reject history on the command line (KPIs, a pareto, trend).

Same core as the page: one primary query on the slow lane, run as the page's job
(core.rejects._load_job, waited for by core.cli.run_job), then local slicing with the policy
toggles and filters; bad input is a UsageError (exit code 1), never a traceback.
``--by`` picks the pareto's dimension (default reason) under the page's rules (a record
booked on several machines counts for its first; the workflow comes from the WIP
snapshot, ``core.rejects._workflow``). The JSON keeps its earlier keys (``kpis``,
``reason_pareto``, ``trend``) and adds ``pareto_by``/``pareto`` (and the trend's
partial-period keys); measure names are the glossary's keys.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.config import load_settings
from core.i18n import N_, _

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings
    from core.rejects import RejectView

BY: dict[str, str] = {
    "reason": "reason", "package": "package", "type": "type", "function": "function",
    "group": "station_group", "machine": "machine", "workflow": "workflow",
}
"""--by choices and the pareto dimension each names."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("rejects", help=_("reject history: KPIs, a pareto, trend"))
    p.add_argument("--start", help=_("first day, YYYY-MM-DD (default: 30 days ending yesterday)"))
    p.add_argument("--end", help=_("last day, YYYY-MM-DD"))
    p.add_argument("--package", action="append", default=[],
                   help=_("package (repeatable, or comma-separated)"))
    p.add_argument("--group", action="append", default=[],
                   help=_("station group (repeatable, or comma-separated)"))
    p.add_argument("--include-excluded", action="store_true",
                   help=_("count reasons on the exclusion list"))
    p.add_argument("--by", choices=tuple(BY), default="reason",
                   help=_("the pareto's dimension (default reason; machine: a record booked "
                        "on several machines counts for its first; workflow: from the WIP "
                        "snapshot, lots that left WIP are unknown)"))
    p.add_argument("--measure", choices=("charged", "defect"), default="charged",
                   help=_("what the pareto sorts and shares by (default charged)"))
    p.add_argument("--grain", choices=("day", "week", "month"), default="day")
    p.add_argument("--db", help=_("SQLAlchemy URL (default: settings)"))
    from core.cli import run_job

    run_job.add_local_flag(p)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help=_("print one JSON object"))
    out.add_argument("--csv", metavar="FILE", help=_("write the filtered rows as CSV"))
    p.add_argument("--raw-headers", action="store_true",
                   help=_("CSV headers as column names (for scripts), not labels "
                        "(the csv_headers setting does the same)"))
    p.set_defaults(func=run)


def _items(pareto: Any, dim: str) -> list[dict[str, Any]]:
    """Pareto rows as JSON objects: the item under the dimension's name, then the measures."""
    return [
        {dim: str(r[dim]), "charged": int(r["charged"]), "defect": int(r["defect"]),
         "share_pct": round(float(r["share_pct"]), 4), "cum_pct": round(float(r["cum_pct"]), 4)}
        for r in pareto.to_dict("records")
    ]


def _load(settings: Settings, start: date, end: date, *, show_progress: bool,
          local: bool = False) -> RejectView | int:
    """The page's load (core.rejects._load_job) as a job: the view to slice, or an exit code."""
    from core.cli import run_job
    from core.db import open_lanes
    from core.jobs import Task
    from core.rejects import RejectRequest, run_reject_load

    request = RejectRequest("range", start, end)
    lanes = open_lanes(settings)
    try:
        with run_job.job_manager(settings, local=local) as manager:
            job = manager.submit(request.key(settings), Task(
                run_reject_load, request, lanes=lanes, settings=settings), label=request.label,
                label_args=request.label_args)
            code = run_job.wait_for(job, what=_("The reject-history load"),
                                    show_progress=show_progress)
            return code if code is not None else job.result
    finally:
        lanes.close()


COUNT_WORDS = {"events": N_("Reject events"), "rows": N_("Rows read")}
"""The load's own counts beside the KPIs (not measures: no page shows them)."""


def run(args: argparse.Namespace) -> int:
    from core import glossary
    from core import values as core_values
    from core.cli import UsageError
    from core.rejects import DIMENSIONS, WORKFLOW_SOURCE, Filters, Policy, check_range, known_values

    settings = load_settings(**({"db_url": args.db} if args.db else {}))
    start, end = check_range(args.start, args.end, settings)  # RejectInputError: exit 1
    view = _load(settings, start, end, show_progress=not args.json, local=args.local)
    if isinstance(view, int):
        return view
    loaded, sl = view.loaded, view.slicer
    opts = sl.options()
    # repeated flags and comma lists alike, by core.values' one rule for label lists
    args.package = core_values.literals(args.package, core_values.LABELS)
    args.group = core_values.literals(args.group, core_values.LABELS)
    for values, dim, what in ((args.package, "package", "package"),
                              (args.group, "station_group", "station group")):
        _good, problem = known_values(values, opts[dim], what)
        if problem and sl.rows:
            raise UsageError(problem.replace(" ignored", ""))
    policy = Policy(include_excluded=args.include_excluded)
    filters = Filters(package=tuple(args.package), station_group=tuple(args.group))
    if args.csv:
        raw = args.raw_headers or settings.csv_headers == "names"
        Path(args.csv).write_bytes(sl.csv_bytes(policy, filters, raw_headers=raw))
        print(_("wrote {path}").format(path=args.csv))
        return 0
    by = BY[args.by]
    kpis = sl.kpis(policy, filters)
    reason = sl.pareto(policy, filters, "reason")
    pareto = reason if (by, args.measure) == ("reason", "charged") else sl.pareto(
        policy, filters, by, args.measure)
    trend = sl.trend(policy, filters, args.grain, span=(start, end))
    notes = {"machine": N_("A record booked on several machines counts for its first listed "
                           "machine."), "workflow": WORKFLOW_SOURCE}  # JSON: English
    result: dict[str, Any] = {
        "start": start.isoformat(), "end": end.isoformat(),
        "policy": policy.chips(filters.package),
        "kpis": kpis,
        "reason_pareto": _items(reason, "reason"),
        "pareto_by": by,
        "pareto_measure": args.measure,
        "pareto_note": notes.get(by),
        "pareto": _items(pareto, by),
        "trend": [
            {"period": r.label, "charged": int(r.charged), "defect": int(r.defect),
             "movein": int(r.movein), "reject_rate_pct": float(r.reject_rate_pct),
             "days": int(r.days), "period_days": int(r.period_days),
             "partial": bool(r.partial)}
            for r in trend.itertuples()
        ],
    }
    if by == "workflow":
        result["workflow_as_of"] = (loaded.workflow_as_of.isoformat(sep=" ")
                                    if loaded.workflow_as_of else None)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(_("rejects {start} to {end}: ").format(start=start, end=end)
          + " · ".join(result["policy"]))
    for key, value in kpis.items():
        name = (glossary.label(key) if key in glossary.GLOSSARY
                 else _(COUNT_WORDS[key]) if key in COUNT_WORDS else key)
        print(f"  {name:<28} {value:,}" if isinstance(value, int)
              else f"  {name:<28} {value:.3f}")
    print()
    _table(result["pareto"], by, _(DIMENSIONS[by]), args.measure, glossary)
    if result["pareto_note"]:
        print(_("note: {note}").format(note=_(result["pareto_note"])))
    if result.get("workflow_as_of"):
        print(_("WIP snapshot as of {time}").format(time=result["workflow_as_of"]))
    partial = [_("{period} {days} of {period_days} days").format(**r) for r in result["trend"]
               if r["partial"]]
    if partial:
        grains = {"day": _("partial days in the range: "),
                  "week": _("partial weeks in the range: "),
                  "month": _("partial months in the range: ")}
        print(grains.get(args.grain, f"partial {args.grain}s in the range: ")
              + ", ".join(partial))
    return 0


def _table(items: list[dict[str, Any]], dim: str, title: str, measure: str,
           glossary: Any) -> None:
    """The pareto as a text table: item, charged, defect, share %, cumulative %."""
    heads = [title, glossary.label("charged"), glossary.label("defect"),
             glossary.label("share_pct"), glossary.label("cum_pct")]
    rows = [[str(r[dim]), f"{r['charged']:,}", f"{r['defect']:,}", f"{r['share_pct']:.2f}",
             f"{r['cum_pct']:.2f}"] for r in items]
    width = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
             for i, h in enumerate(heads)]
    print(_("{title} pareto by {measure} ({n:,} items)").format(
        title=title, measure=glossary.label(measure, unit=False).lower(), n=len(items)))
    print("  ".join(h.ljust(width[0]) if i == 0 else h.rjust(width[i])
                    for i, h in enumerate(heads)))
    for row in rows:
        print("  ".join(v.ljust(width[0]) if i == 0 else v.rjust(width[i])
                        for i, v in enumerate(row)))
