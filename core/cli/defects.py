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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from core import fmt, jsonsafe, labels
from core.cli.args import positive_int
from core.config import load_settings
from core.i18n import _
from core.text import plain

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings
    from core.defects import DefectRequest


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("defects", help=_("defect trace: attribute defects at a station"))
    p.add_argument("--station", help=_("detection station group (default: setting)"))
    p.add_argument("--start", help=_("YYYY-MM-DD (required unless a list is given)"))
    p.add_argument("--end", help=_("YYYY-MM-DD, inclusive"))
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--lots", action="append",
                       help=_("lot names, separated by commas, semicolons or spaces "
                       "(wildcards * %% _, \\ escapes)"))
    seeds.add_argument("--work-orders", action="append", help=_("work orders (same list rule)"))
    seeds.add_argument("--wafer-lots", action="append", help=_("wafer lots (same list rule)"))
    p.add_argument("--reasons", action="append", default=[],
                   help=_("loss reasons separated by commas or "
                   "semicolons (default all)"))
    p.add_argument("--types", action="append", default=[], help=_("product types, comma-separated"))
    p.add_argument("--packages", action="append", default=[],
                   help=_("packages, comma-separated (a package "
                   "name may hold a space)"))
    p.add_argument("--direction", choices=["backward", "forward"], default="backward")
    p.add_argument("--top", type=positive_int, default=10,
                   help=_("pareto length (rest as 'others'), 1 or more"))
    p.add_argument("--out", help=_("folder for the Parquet tables"))
    p.add_argument("--json", action="store_true", help=_("print one JSON object"))
    from core.cli import run_job

    run_job.add_local_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.cli import run_job
    from core.db import open_lanes
    from core.defects import run_defect_analysis
    from core.jobs import Task

    settings = load_settings()
    request = _request(args, settings)
    lanes = open_lanes(settings)
    try:
        with run_job.job_manager(settings, local=args.local) as manager:
            job = manager.submit(request.key(), Task(run_defect_analysis, request, lanes=lanes,
                                                     settings=settings), label="defects")
            code = run_job.wait_for(job, what=_("The defect trace"), show_progress=not args.json)
            if code is not None:
                return code
            out = job.result.as_json(top=args.top)
            if args.out:
                out["files"] = _write_tables(job.result.tables(), Path(args.out))
            if args.json:
                print(jsonsafe.dumps(out, indent=1))
            else:
                # the summary in this command's language (the job's thread has none)
                from core.defects import summary_text

                _print_text(summary_text(job.result), out, args.top)
            return 0
    finally:
        lanes.close()


def _request(args: argparse.Namespace, settings: Settings) -> DefectRequest:
    """The request from the arguments (a DefectInputError is an InputError: exit 1)."""
    from core.defects import DefectRequest

    # lists are parsed by DefectRequest.build with core.values' one rule
    kind, values = next(((k, v) for k, v in (
        ("lot", args.lots), ("work_order", args.work_orders),
        ("wafer_lot", args.wafer_lots)) if v), ("", ""))
    return DefectRequest.build(
        settings, station=args.station, start=args.start or "", end=args.end or "",
        seed_kind=kind, seed_values=values,
        reasons=args.reasons, types=args.types, packages=args.packages,
        direction=args.direction,
    )


def _write_tables(tables: dict[str, pa.Table], folder: Path) -> list[str]:
    """Each table as ``<name>.parquet`` in ``folder``; the paths written, sorted."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet")
    return sorted(str(folder / f"{n}.parquet") for n in tables)


def _print_text(summary: str, out: dict[str, Any], top: int) -> None:
    """The summary, then each pareto (``top`` rows and 'others') under its readable name,
    each row as ``label value`` pairs (core.labels / core.glossary labels, values
    formatted by the column's kind, rates in percent as on the page)."""
    from core.defects import KIND_NAMES, PARETO_COLUMNS

    print(plain(summary))
    forward = (out.get("request") or {}).get("direction") == "forward"
    for kind, rows in jsonsafe.clean(out.get("paretos") or {}).items():
        title = (_(KIND_NAMES[kind]) if kind in KIND_NAMES
                 else labels.label(PARETO_COLUMNS.get(kind, kind)))
        print(f"\n{title}:")
        for r in rows[: top + 1]:
            print("  " + "  ".join(_cell(kind, k, v, r, forward) for k, v in r.items()
                                   if k != "lift_note"))


def _cell(kind: str, key: str, value: Any, row: dict[str, Any], forward: bool) -> str:
    """One value of a pareto row with its label: ``Lift 2.33x``, ``Defect rate 1.45%``."""
    from core.defects import LIFT_UNBOUNDED, PARETO_COLUMNS, pareto_view
    from core.pareto import is_others, others_count

    name, scale = pareto_view(kind, forward).get(key, (key, 1))
    if key == "factor":
        name = PARETO_COLUMNS.get(kind, "factor")
    col_kind = labels.kind(name)
    if key == "lift" and row.get("lift_note") == LIFT_UNBOUNDED:
        text = "∞"
    elif key == "factor" and is_others(value):
        text = _("others ({n})").format(n=fmt.count(others_count(value)))
    elif value is None or isinstance(value, str):
        text = fmt.MISSING if value is None else value
    elif col_kind in ("count", "qty"):
        text = fmt.count(value)
    elif col_kind == "percent":
        text = fmt.percent(value * scale)
    elif col_kind == "ratio":
        text = fmt.ratio(value, 2)
    elif col_kind == "p":
        text = f"{value:.3g}"
    else:
        text = fmt.number(value, 2)
    return f"{labels.label(name)} {text}"
