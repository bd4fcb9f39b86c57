"""`mesdash contain`: from a suspect to the lots to hold and the serials to recall.

Runs core.contain (exposed lots -> descendants -> serials -> where each is now) on the
slow lane, as the page's job (on the workers with job_backend = rq, unless ``--local``;
its progress line on stderr). One suspect kind per run; a repeated flag adds to its
list. ``--json`` prints one object (exposed, descendants, serials, now, truncated,
kpis); ``--csv FILE`` writes the hold list (every lot still in WIP, held ones marked)
with the one CSV writer (core.export). Bad input is a UsageError (exit 1), database
errors exit 3, a busy lane or a timeout exit 4 (core.cli.main).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.config import load_settings
from core.i18n import _

EXAMPLES = """
  mesdash contain --machine DB-003 --start 2026-11-01 --end 2026-11-10
  mesdash contain --machine DB-003 --machine DB-004 --start 2026-11-01 --end 2026-11-10 \\
      --csv hold_list.csv
  mesdash contain --material-lot LFT-0026 --json
  mesdash contain --wafer-lot W26C7722.5
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "contain", help=_("containment: lots and serials a suspect reached, where they are now"),
        description=_("From a suspect (machines and a window, material lots, or wafer lots) "
                    "to the lots exposed, all their descendants down to serial numbers, and "
                    "where each is now (live snapshot) or whether it left WIP."),
        epilog=_("examples:") + EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument("--machine", action="extend", nargs="+", metavar="NAME",
                      help=_("machine names (or repeat the flag); needs --start and --end"))
    kind.add_argument("--material-lot", action="extend", nargs="+", metavar="NAME",
                      help=_("material lots consumed (or repeat the flag)"))
    kind.add_argument("--wafer-lot", action="extend", nargs="+", metavar="NAME",
                      help=_("wafer lots (a lot's firstname; or repeat the flag)"))
    p.add_argument("--start", help=_("first day of the machine window, YYYY-MM-DD"))
    p.add_argument("--end", help=_("last day of the machine window (included), YYYY-MM-DD"))
    p.add_argument("--json", action="store_true", help=_("print one JSON object"))
    p.add_argument("--csv", metavar="FILE", help=_("write the hold list (lots still in WIP)"))
    p.add_argument("--db", help=_("SQLAlchemy URL (default: settings)"))
    from core.cli import run_job

    run_job.add_local_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.cli import run_job
    from core.contain import build_suspect, job_key, run_contain
    from core.db import open_lanes
    from core.export import write_csv
    from core.jobs import Task

    settings = load_settings(**({"db_url": args.db} if args.db else {}))
    kind, names = next((k, v) for k, v in (("machine", args.machine),
                                           ("material_lot", args.material_lot),
                                           ("wafer_lot", args.wafer_lot)) if v)
    # a ContainError is an InputError: main prints it and exits 1
    suspect = build_suspect(kind, names, settings=settings, start=args.start, end=args.end)
    lanes = open_lanes(settings)
    try:  # the page's job (core.contain._contain_job), on the job backend of the settings
        with run_job.job_manager(settings, local=args.local) as manager:
            job = manager.submit(job_key(suspect), Task(run_contain, suspect, lanes=lanes,
                                                        settings=settings),
                                 label=suspect.label, label_args=suspect.label_args)
            code = run_job.wait_for(job, what=_("The containment"), show_progress=not args.json)
            if code is not None:
                return code
            result = job.result
    finally:
        lanes.close()
    if args.csv:
        with Path(args.csv).open("wb") as fh:
            write_csv(result.hold_list(), fh)
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
        return 0
    _print_text(result, args.csv)
    return 0


def _print_text(result: object, csv_path: str | None) -> None:
    from core.contain import Containment

    assert isinstance(result, Containment)
    from core import glossary

    snap = f"{result.snapshot_at:%Y-%m-%d %H:%M}" if result.snapshot_at else _("(empty)")
    print(_("suspect  {suspect}; live snapshot {snapshot}; {levels} genealogy levels, "
            "{queries} queries, {seconds:.1f} s").format(
        suspect=result.suspect.describe(), snapshot=snap, levels=result.levels,
        queries=result.queries, seconds=result.seconds))
    for key, value in result.kpis().items():
        print(f"  {glossary.label(key):<36} {value:>14,}")
    if result.truncated:
        print(_("TRUNCATED by {bound}: the lists are incomplete").format(
            bound=result.truncated))
    wip = result.in_wip
    if wip.num_rows:
        by = wip.group_by(["station_group", "status"]).aggregate([("containerid", "count"),
                                                                  ("qty", "sum")])
        by = by.sort_by([("station_group", "ascending"), ("status", "ascending")])
        print("\n" + _("in WIP by station group and status (lots, pcs)"))
        for r in by.to_pylist():
            print(f"  {r['station_group'] or _('(none)'):<12} {r['status']:<6} "
                  f"{r['containerid_count']:>6,} {r['qty_sum'] or 0:>14,}")
    if result.serials:
        shown = ", ".join(result.serials[:20])
        more = _(" … and {n:,} more (--json lists all)").format(
            n=len(result.serials) - 20) if len(result.serials) > 20 else ""
        print("\n" + _("serials ({n:,}): {serials}{more}").format(
            n=len(result.serials), serials=shown, more=more))
    if csv_path:
        print("\n" + _("hold list ({n:,} lots) written to {path}").format(
            n=wip.num_rows, path=csv_path))
