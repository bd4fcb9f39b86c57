"""Benchmark of the demo generator: build seconds and rows per scale and backend.

Usage: ``python bench/demo_build.py [--scale small] [--backend duckdb --backend postgresql]
[--genealogy]``. With ``--genealogy`` it also counts the containers reached by the full
backward genealogy of the lots that passed TMTT in the last 150 days (split, merge,
wafer-origin and rework edges; the incident figure is ~114K), with one recursive query.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.db import make_engine
from core.demo import build_demo
from core.demo.build import snapshot_time

PG_URL = os.environ.get("MES_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

GENEALOGY_SQL = """
with recursive
edges(child, parent) as (
    select containerid, splitfromid from dwh.dw_mes_container where splitfromid is not null
    union all
    select containerid, originalcontainerid from dwh.dw_mes_container
     where originalcontainerid is not null
    union all
    select lotid, containerid from dwh.dw_mes_pj_combinedassylots
    union all
    select l.containerid, w.containerid from dwh.dw_mes_container l
      join dwh.dw_mes_container w on w.containername = l.firstname
     where l.containername <> l.firstname
),
seeds(cid) as (
    select distinct containerid from dwh.dw_mes_lotwiphistory
     where workcentername = 'TMTT' and trackintimestamp >= :since
       and trackintimestamp < :until
),
anc(cid) as (
    select cid from seeds
    union
    select e.parent from anc join edges e on e.child = anc.cid
)
select (select count(*) from seeds), (select count(*) from anc)
"""


def genealogy(url: str, schema: str, anchor: dt.date) -> tuple[int, int, float]:
    """(seed lots, containers in their backward genealogy, seconds)."""
    _, now = snapshot_time(anchor)
    engine = make_engine(url, schema=schema, pool=None, read_only=False)
    started = time.perf_counter()
    try:
        with engine.connect() as c:
            sql = GENEALOGY_SQL.replace("dwh.", f"{schema}.")  # schema validated by build_demo
            seeds, reached = c.execute(sa.text(sql), {
                "since": now - dt.timedelta(days=150), "until": now}).one()
    finally:
        engine.dispose()
    return int(seeds), int(reached), time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", action="append", choices=["tiny", "small", "incident"])
    ap.add_argument("--backend", action="append", choices=["duckdb", "postgresql"])
    ap.add_argument("--pg-url", default=PG_URL)
    ap.add_argument("--anchor", type=dt.date.fromisoformat, default=dt.date(2026, 3, 1))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--genealogy", action="store_true")
    ap.add_argument("--rows", action="store_true", help="print rows per table")
    args = ap.parse_args()
    scales = args.scale or ["small"]
    backends = args.backend or ["duckdb"]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for scale in scales:
            for backend in backends:
                schema = "dwh"
                if backend == "duckdb":
                    url = f"duckdb:///{Path(tmp) / f'{scale}.duckdb'}"
                else:
                    url, schema = args.pg_url, f"demo_bench_{uuid.uuid4().hex[:8]}"
                summary = build_demo(url, scale=scale, seed=args.seed, schema=schema,
                                     anchor=args.anchor)
                gen = genealogy(url, schema, args.anchor) if args.genealogy else None
                if backend == "postgresql":
                    engine = sa.create_engine(url)
                    with engine.begin() as c:
                        c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                    engine.dispose()
                results.append((scale, backend, summary, gen))
                print(f"built {scale} into {backend} in {summary.seconds:.1f} s", flush=True)
    print()
    print(f"{'scale':<9} {'backend':<11} {'seconds':>8} {'rows':>10}  genealogy")
    for scale, backend, s, gen in results:
        g = f"{gen[0]} TMTT lots -> {gen[1]} containers ({gen[2]:.1f} s)" if gen else ""
        print(f"{scale:<9} {backend:<11} {s.seconds:>8.1f} {sum(s.rows.values()):>10}  {g}")
    if args.rows:
        for scale, backend, s, _ in results:
            print(f"\n{scale} / {backend}")
            for name, n in s.rows.items():
                print(f"  {name:<34} {n:>10}")


if __name__ == "__main__":
    main()
