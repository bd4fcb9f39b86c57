"""``build_demo``: generate the demo factory and load it into any database.

Why: the dashboard must run without the factory's Oracle warehouse (first run builds
the embedded DuckDB demo), tests need a small database identical on every backend, and
benchmarks need the incident's volumes. One entry point does all three: it generates
table by table from seeded numpy streams (one stream per stage, so the data depends only
on scale, seed and anchor, never on the backend), writes each table as soon as it is
built (memory stays bounded by the biggest table) and reports progress per stage.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
import pyarrow as pa
from sqlalchemy import Table

from core import schema as t
from core.demo import events, masters, snapshots
from core.demo.columns import Clock, IdMaker
from core.demo.events import Vocab
from core.demo.genealogy import combined_table, container_table, grow
from core.demo.reference import build_factory
from core.demo.scales import scale_of
from core.demo.state import lot_state
from core.demo.writers import (
    TableWriter,
    check_schema,
    create_indexes,
    open_engine,
    prepare,
    repack_duckdb,
)
from core.i18n import N_

SNAPSHOT_TIME = time(8, 0)
"""Time of day of the snapshot ("now") for an explicit anchor: after the 07:30 shift start."""

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class DemoSummary:
    scale: str
    seed: int
    anchor: date
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _rng(seed: int, stage: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, stage])))


def snapshot_time(anchor: date | None) -> tuple[date, datetime]:
    """(anchor, now): today and the current minute by default; 08:00 of an explicit anchor,
    so an explicit anchor always gives the same data."""
    if anchor is None:
        now = datetime.now().replace(second=0, microsecond=0)
        return now.date(), now
    return anchor, datetime.combine(anchor, SNAPSHOT_TIME)


def build_demo(
    url: str,
    *,
    scale: str = "small",
    seed: int = 7,
    schema: str = "dwh",
    anchor: date | None = None,
    progress: Progress | None = None,
    replace: bool = True,
) -> DemoSummary:
    """Generate the demo data of ``scale`` and load it into ``url`` under ``schema``.

    Data covers ``SCALES[scale].days`` days up to the snapshot time of ``anchor`` (see
    ``snapshot_time``). ``replace=False`` refuses (DemoExistsError) to add to a target
    that already holds containers. Returns the row count of every table.
    """
    started = _time.perf_counter()
    sc = scale_of(scale)
    check_schema(schema)
    anchor, now = snapshot_time(anchor)
    report = progress or (lambda _text, _fraction: None)
    clock = Clock(now - timedelta(days=sc.days))
    ids = IdMaker(_rng(seed, 0))
    rows: dict[str, int] = {}
    engine = open_engine(url, schema)
    stages = 12
    done = 0

    def step(text: str) -> None:
        nonlocal done
        report(text, min(done / stages, 1.0))
        done += 1

    try:
        with engine.begin() as conn:
            step(N_("preparing tables"))
            prepare(conn, schema, replace)
            writer = TableWriter(conn, schema)

            def put(table: Table, data: pa.Table) -> None:
                rows[table.name] = rows.get(table.name, 0) + writer.write(table, data)

            step(N_("reference data"))
            fac = build_factory(sc.machine_factor, sc.days)
            machine_id = ids.draw(len(fac.machine_name))
            spec_id = ids.draw(len(fac.spec_name))
            put(t.spec_workcenter, masters.spec_workcenter_table(fac))
            put(t.resource, masters.resource_table(fac, machine_id))
            put(t.scrap_reasons_exclude, masters.exclude_table(ids.draw(5)))
            step(N_("genealogy: wafer lots, splits, merges, rework"))
            g = grow(_rng(seed, 1), ids, fac, sc, clock.start)
            st = lot_state(g, fac)
            vocab = Vocab(
                lot_id=pa.array(g.lot_id), lot_name=pa.array(g.lot_name, pa.string()),
                lot_wo=pa.array(g.lot_wo, pa.string()), machine_id=pa.array(machine_id),
                machine_name=pa.array(fac.machine_name), spec_id=pa.array(spec_id),
                spec_name=pa.array(fac.spec_name),
            )
            step("dw_mes_container")
            put(t.container, container_table(g, fac, st.spec, st.qty, clock))
            put(t.combinedassylots, combined_table(g, clock))
            step("dw_mes_lotwiphistory")
            put(t.lotwiphistory, events.wip_history(_rng(seed, 2), g, vocab, clock))
            step("dw_mes_lotrejecthistory")
            put(t.lotrejecthistory,
                events.reject_history(_rng(seed, 3), ids, g, fac, vocab, clock))
            step("dw_mes_lotmaterialshistory")
            put(t.lotmaterialshistory, events.material_history(_rng(seed, 4), g, fac, vocab,
                                                               clock))
            step("dw_mes_holdreleasehistory")
            holds = snapshots.pick_holds(_rng(seed, 5), g, fac, st, sc)
            put(t.holdreleasehistory,
                events.hold_history(_rng(seed, 6), g, sc, vocab, holds, clock))
            step("dw_mes_job")
            put(t.job, events.jobs(_rng(seed, 7), ids, g, fac, sc, vocab, clock))
            step("dw_mes_lot_v")
            put(t.lot_v, snapshots.lot_v(g, fac, st, holds, vocab, clock, sc))
            step("dw_mes_equipmentstatus_wip_v")
            put(t.equipmentstatus_wip_v,
                snapshots.equipment_status(_rng(seed, 8), g, fac, st, vocab, clock))
            step(N_("indexes and statistics"))
            create_indexes(conn, schema)
    finally:
        engine.dispose()
    repack_duckdb(url)  # DuckDB: row groups sized for IN-list batches (writers.py)
    report(N_("done"), 1.0)
    return DemoSummary(scale=sc.name, seed=seed, anchor=anchor, rows=rows,
                       seconds=round(_time.perf_counter() - started, 3))

