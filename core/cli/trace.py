"""`mesdash trace`: the Trace page's engine from the command line.

Runs the same ``run_trace`` as the page (seeds → lineage → domains on the slow lane,
spooled to Parquet), as a job with a progress line on stderr (core.cli.run_job).
``--json`` prints one JSON object (seeds, unmatched, nodes, edges, truncated,
lineage_completeness, per-domain rows and completeness: status, reason in words,
failed batches, derived_from);
``--out DIR`` copies the spool's Parquet files there (nodes, edges, one per domain).
Bad input is a UsageError (exit 1), never a traceback.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from core import jsonsafe, values
from core.config import load_settings
from core.errors import InputError
from core.i18n import _


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from core.cli import run_job
    from core.trace import DEFAULT_DOMAINS, DOMAINS

    p = sub.add_parser("trace", help=_("trace lots backward or forward with their events"))
    p.add_argument("--lot", action="extend", nargs="+", default=[], metavar="NAME",
                   help=_("lot names (spaces, commas or semicolons between; * %% _ wildcards)"))
    p.add_argument("--wafer-lot", action="extend", nargs="+", default=[], metavar="NAME",
                   help=_("wafer lots"))
    p.add_argument("--work-order", action="extend", nargs="+", default=[], metavar="WO",
                   help=_("work orders"))
    p.add_argument("--serial", action="extend", nargs="+", default=[], metavar="SN",
                   help=_("serial numbers"))
    p.add_argument("--machine", action="extend", nargs="+", default=[], metavar="NAME",
                   help=_("machines: the lots that ran on them between --start and --end"))
    p.add_argument("--start", metavar="YYYY-MM-DD", help=_("first day of the machines' range"))
    p.add_argument("--end", metavar="YYYY-MM-DD", help=_("last day of the machines' range"))
    p.add_argument("--direction", choices=("backward", "forward"), default="backward")
    p.add_argument("--domains", default=",".join(DEFAULT_DOMAINS),
                   help=_("comma-separated, from {domains} (empty: lineage only)").format(
                       domains=",".join(DOMAINS)))
    p.add_argument("--out", help=_("folder to write the Parquet files into"))
    p.add_argument("--json", action="store_true", help=_("print one JSON object"))
    p.add_argument("--db", help=_("SQLAlchemy URL (default: settings)"))
    run_job.add_local_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.cli import run_job
    from core.db import open_lanes
    from core.jobs import Task
    from core.trace import TraceRequest, run_trace

    settings = load_settings(**({"db_url": args.db} if args.db else {}))
    seeds = {"lot": args.lot, "wafer_lot": args.wafer_lot, "work_order": args.work_order,
             "serial": args.serial, "machine": args.machine}
    if (args.start or args.end) and not args.machine:
        raise InputError(_("--start and --end give the range of --machine: name the machines "
                           "too."))
    domains = values.split(args.domains, values.LABELS)
    request = TraceRequest.build(  # a SeedError, LineageError is an InputError: exit 1
        {k: v for k, v in seeds.items() if v}, args.direction, domains, settings,
        start=args.start, end=args.end)
    lanes = open_lanes(settings)
    try:
        with run_job.job_manager(settings, local=args.local) as manager:
            job = manager.submit(request.key, Task(run_trace, request, lanes=lanes,
                                                   settings=settings), label=request.label,
                                 label_args=request.label_args)
            code = run_job.wait_for(job, what=_("The trace"), show_progress=not args.json)
            if code is not None:
                return code
            result = job.result
            if args.out:
                out = Path(args.out)
                out.mkdir(parents=True, exist_ok=True)
                for name in job.spool.domains():
                    shutil.copyfile(job.spool.file(name), out / f"{name}.parquet")
            if args.json:
                print(jsonsafe.dumps(result.as_json(job.spool)))
            else:
                _print_text(result, args.out)
            return 0
    finally:
        lanes.close()


def _print_text(result: object, out: str | None) -> None:
    """Seeds, lineage and domains in words: seed kinds by their labels, domains by their
    stage names and statuses through core.completeness (JSON keeps the raw ones)."""
    from core.completeness import status_text
    from core.trace import SEED_KINDS

    res = result  # TraceResult
    lin = res.lineage  # type: ignore[attr-defined]
    for kind, seed in res.seeds.items():  # type: ignore[attr-defined]
        print(_("{kind}: {matched} of {values} values matched {containers} containers").format(
            kind=_(SEED_KINDS.get(kind, kind)), matched=len(seed.matches), values=len(seed.values),
            containers=len(seed.container_ids)))
        if seed.unmatched:
            print("  " + _("unmatched: {values}").format(values=", ".join(seed.unmatched)))
    direction = {"backward": _("backward"), "forward": _("forward")}
    print(_("lineage ({direction}): {nodes} containers, {edges} edges, {roots} roots, "
            "{levels} levels").format(
        direction=direction.get(lin["direction"], lin["direction"]), nodes=lin["nodes"],
        edges=lin["edges"], roots=lin["roots"], levels=lin["levels"]))
    if lin["truncated"]:
        print("  " + _("TRUNCATED by {bound}").format(bound=lin["truncated"]))
    for name, d in res.domains.items():  # type: ignore[attr-defined]
        c = d.completeness  # its reason names failed batches, cuts and partial inputs
        print(_("{domain}: {rows} rows, {status}").format(
            domain=_(name), rows=d.rows, status=status_text(c["status"]))
              + (f": {c['reason']}" if c.get("reason") else ""))
    if out:
        print(_("Parquet files written to {folder}").format(folder=out))
