"""`mesdash demo build`: write the synthetic factory into a database.

The dashboard builds the small demo by itself on first run; this command builds any
scale into any SQLAlchemy URL (DuckDB file by default), e.g. the `incident` scale for
the benchmarks, or a PostgreSQL schema for tests.
"""

from __future__ import annotations

import argparse
import sys

from core.config import load_settings
from core.i18n import _


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help=_("synthetic demo factory data"))
    dsub = demo.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    build = dsub.add_parser("build", help=_("build the demo database"))
    build.add_argument("--db", help=_("SQLAlchemy URL (default: the embedded demo file)"))
    build.add_argument("--scale", choices=["tiny", "small", "incident"], default="small")
    build.add_argument("--seed", type=int, default=7)
    build.add_argument("--schema", help=_("schema to write (default: settings.schema)"))
    build.add_argument("--anchor", help=_("the data's 'today', YYYY-MM-DD (default: today)"))
    build.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from core.cli import UsageError
    from core.dates import parse_day
    from core.demo import build_demo

    settings = load_settings()
    url = args.db or settings.effective_db_url
    if not args.db:
        Path(settings.demo_db_path).parent.mkdir(parents=True, exist_ok=True)
    anchor = parse_day(args.anchor, "--anchor", UsageError, settings)

    def progress(stage: str, fraction: float) -> None:
        print(f"\r[{fraction * 100:5.1f}%] {stage:<60}", end="", file=sys.stderr, flush=True)

    summary = build_demo(url, scale=args.scale, seed=args.seed,
                         schema=args.schema or settings.schema, anchor=anchor,
                         progress=progress)
    print(file=sys.stderr)
    print(f"built {summary.scale} demo (seed {summary.seed}, anchor {summary.anchor}) "
          f"in {summary.seconds:.1f} s into {url}")
    for table, rows in summary.rows.items():
        print(f"  {table:<36} {rows:>10,}")
    return 0
