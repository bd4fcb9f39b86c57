"""Benchmark: a backward trace of the incident's ~114K containers with history and materials.

Measures, on the `incident` demo scale (build it first:
``mesdash demo build --db duckdb:////tmp/incident.duckdb --scale incident --anchor 2026-11-20``):

- lineage: backward from the ~70K lots that passed TMTT (the incident's seeds), with the
  number of queries it sent;
- domains: history + materials of the lineage's containers, streamed to the spool
  (IN lists of 1000, slow_workers), wall time and rows;
- the lower bound: one streaming query per domain fetching the same rows (a join
  against the id list held in a temporary table / array), consumed batch by batch;
- peak RSS of the process (resource.getrusage) after each phase.

    python bench/trace.py [--db URL] [--schema NAME]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.dialects.postgresql import ARRAY  # noqa: E402

from core import schema as t  # noqa: E402
from core.config import load_settings  # noqa: E402
from core.db import open_lanes  # noqa: E402
from core.trace import Spool, fetch_domain, trace_lineage  # noqa: E402


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="duckdb:////tmp/incident.duckdb")
    ap.add_argument("--schema", default="dwh")
    args = ap.parse_args()
    settings = load_settings(env={}, secrets_path="/nonexistent", db_url=args.db,
                             schema=args.schema, spool_dir=tempfile.mkdtemp())
    lanes = open_lanes(settings)
    rows: list[tuple[str, float, int, float]] = []
    h = t.lotwiphistory
    t0 = time.perf_counter()
    seeds = lanes.slow.fetch_arrow(
        sa.select(h.c.containerid).where(h.c.workcentername == "TMTT").distinct()
    )["containerid"].to_pylist()
    rows.append((f"seeds: lots that passed TMTT ({len(seeds):,})",
                 time.perf_counter() - t0, len(seeds), peak_mib()))
    t0 = time.perf_counter()
    sent = lanes.stats()["slow"]["queries"]
    lin = trace_lineage(lanes, seeds, "backward", settings=settings)
    ids = lin.container_ids
    sent = lanes.stats()["slow"]["queries"] - sent
    rows.append((f"lineage backward ({lin.levels} levels, {lin.edges.num_rows:,} edges, "
                 f"{sent} queries)", time.perf_counter() - t0, len(ids), peak_mib()))
    del lin
    spool = Spool.create(settings)
    total_t, total_rows = 0.0, 0
    for name in ("history", "materials"):
        t0 = time.perf_counter()
        res = fetch_domain(lanes, name, ids, spool, settings=settings)
        dt = time.perf_counter() - t0
        total_t += dt
        total_rows += res.rows
        rows.append((f"domain {name} → spool ({res.completeness['status']})", dt, res.rows,
                     peak_mib()))
    rows.append(("trace domains total", total_t, total_rows, peak_mib()))
    # Lower bound: one streaming query per domain joined against the id list.
    bound_t, bound_rows = 0.0, 0
    for table in (t.lotwiphistory, t.lotmaterialshistory):
        # The same rows in ONE query: the whole id list as one array bind (no batches).
        arr = sa.bindparam("ids", ids, type_=ARRAY(sa.String()))
        stmt = sa.select(*table.c).where(
            table.c.containerid.in_(sa.select(sa.func.unnest(arr).table_valued().column))
        )
        t0 = time.perf_counter()
        n = 0
        with closing(lanes.slow.stream(stmt, deadline_s=600)) as batches:
            for b in batches:
                n += b.num_rows
        dt = time.perf_counter() - t0
        bound_t += dt
        bound_rows += n
        rows.append((f"bound: one streaming query {table.name}", dt, n, peak_mib()))
    rows.append(("bound total", bound_t, bound_rows, peak_mib()))
    print(f"\nbackend {lanes.backend} · {args.db} · slow_workers {settings.slow_workers}\n")
    print("| step | seconds | rows | peak RSS MiB |")
    print("|---|---:|---:|---:|")
    for label, secs, n, rss in rows:
        print(f"| {label} | {secs:.2f} | {n:,} | {rss:.0f} |")
    print(f"\ntrace domains / bound: {total_t / bound_t:.2f}x")
    spool.delete()
    lanes.close()


if __name__ == "__main__":
    main()
