"""Hold history, load: one range read once on the slow lane into a Parquet spool.

Why its own module: the load (the query, the derived columns computed per record batch:
shift days, hold type, duration, bucket, open at as-of; the spool and its sweep) runs
once per range; the view (core.holds.history._view) and the report
(core.holds.history._report) run on every click. Definitions: core.holds.history.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.sql import Select

from core.catalog import query
from core.holds._classify import (
    check_range,
    duration_labels,
    shift_day_bounds,
    shift_offset,
)
from core.i18n import N_
from core.schema import container, holdreleasehistory
from core.wip import hold_type_arrow

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings
    from core.db import CancelToken, Lanes


NO_REASON = "(no reason)"
# The history view opens on the last week of shift days ending today (a page default, not
# a limit: the longest range is settings.hold_history_max_days).
DEFAULT_DAYS = 7
RECORD_TYPES = ("new", "on_hold", "released")
RECORD_TYPE_LABELS = {"new": N_("New holds"), "on_hold": N_("On hold"),
                      "released": N_("Released")}  # shown with _()


@query(
    "holds.history",
    {"begin": datetime(2026, 1, 1, 7, 30), "end": datetime(2026, 12, 31, 7, 30)},
)
def history_query(begin: datetime, end: datetime) -> Select:
    """Every hold overlapping [begin, end): placed before end, not released before begin;
    with the lot name and package from dw_mes_container (left join: never drop a hold)."""
    h = holdreleasehistory
    return (
        sa.select(
            h.c.containerid,
            container.c.containername,
            container.c.productlinename.label("package"),
            h.c.pj_workorder,
            h.c.workcentername,
            h.c.qty,
            h.c.holdtxndate,
            h.c.releasetxndate,
            h.c.holdreasonname,
            h.c.holdemp,
            h.c.holdempdeptname,
            h.c.holdcomments,
            h.c.releaseemp,
            h.c.releasecomments,
            h.c.ncrid,
            h.c.futureholdcomments,
        )
        .select_from(h.outerjoin(container, container.c.containerid == h.c.containerid))
        .where(
            h.c.holdtxndate < end,
            sa.or_(h.c.releasetxndate.is_(None), h.c.releasetxndate >= begin),
        )
    )


# ---------------------------------------------------------------------------------------------
# load: stream → derived columns → Parquet spool
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldHistory:
    """A small, picklable handle on one loaded range (the rows are in ``path``)."""

    path: str
    start: date
    end: date
    begin: datetime
    window_end: datetime
    as_of: datetime
    rows: int
    load_s: float
    shift_minutes: int
    duration_edges_h: tuple[float, ...]

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def bucket_labels(self) -> list[str]:
        return duration_labels(self.duration_edges_h)

    def exists(self) -> bool:
        return Path(self.path).is_file()


def spool_root(settings: Settings) -> Path:
    base = Path(settings.spool_dir) if settings.spool_dir else Path(tempfile.gettempdir())
    root = base / "mesdash-holds"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _sweep(root: Path, max_age_s: float) -> None:
    """Remove spools older than ``max_age_s`` (settings.job_ttl_s)."""
    now = time.time()
    for p in root.glob("*.parquet"):
        try:
            if now - p.stat().st_mtime > max_age_s:
                p.unlink()
        except OSError:
            pass  # another process removed it first


def _derive(batch: pa.RecordBatch, *, as_of: datetime, offset: timedelta,
            non_quality: Sequence[str], edges_h: Sequence[float]) -> pa.RecordBatch:
    hold = batch.column("holdtxndate")
    release = batch.column("releasetxndate")
    off = pa.scalar(offset, type=pa.duration("us"))
    as_of_s = pa.scalar(as_of, type=pa.timestamp("us"))
    reason = batch.column("holdreasonname")
    is_open = pc.or_kleene(pc.is_null(release), pc.greater_equal(release, as_of_s))
    is_open = pc.fill_null(is_open, True)
    end_ts = pc.if_else(is_open, as_of_s, release)
    dur_us = pc.cast(pc.subtract(end_ts, hold), pa.int64())
    duration_h = pc.divide(pc.cast(dur_us, pa.float64()), 3_600_000_000.0)
    labels = duration_labels(edges_h)
    idx = pa.array([0] * len(batch), pa.int64())
    for edge in edges_h:
        idx = pc.add(idx, pc.cast(pc.greater_equal(duration_h, edge), pa.int64()))
    bucket = pc.take(pa.array(labels, pa.string()), idx)
    derived = {
        "hold_day": pc.cast(pc.add(hold, off), pa.date32()),
        "release_day": pc.cast(pc.add(release, off), pa.date32()),
        "hold_type": hold_type_arrow(reason, non_quality),
        "reason": pc.fill_null(reason, NO_REASON),
        "is_open": is_open,
        "duration_h": duration_h,
        "duration_bucket": bucket,
        "future": pc.invert(pc.is_null(batch.column("futureholdcomments"))),
    }
    arrays = list(batch.columns) + list(derived.values())
    names = list(batch.schema.names) + list(derived)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def history_window(start: date, end: date, settings: Settings) -> tuple[datetime, datetime]:
    begin, _ = shift_day_bounds(start, settings.shift_day_offset_minutes)
    _, window_end = shift_day_bounds(end, settings.shift_day_offset_minutes)
    return begin, window_end


def as_of_for(start: date, end: date, settings: Settings, now: datetime | None) -> datetime:
    """The as-of time of a range: its end, or ``now`` (the live snapshot) when earlier.
    Pages key their cached loads on it, so a new snapshot reloads a range reaching it."""
    _, window_end = history_window(start, end, settings)
    return min(window_end, now or datetime.now())


def load_history(
    lanes: Lanes,
    settings: Settings,
    start: date,
    end: date,
    *,
    now: datetime | None = None,
    cancel: CancelToken | None = None,
) -> HoldHistory:
    """Read shift days ``start``..``end`` once from the slow lane into a Parquet spool.

    ``now`` (usually the live snapshot time; default: the wall clock) caps the as-of time.
    Raises HoldInputError for a bad range, LaneError for database trouble.
    """
    check_range(start, end, settings.hold_history_max_days, settings)
    begin, window_end = history_window(start, end, settings)
    as_of = as_of_for(start, end, settings, now)
    offset = shift_offset(settings.shift_day_offset_minutes)
    root = spool_root(settings)
    _sweep(root, settings.job_ttl_s)
    key = "|".join(map(str, (settings.effective_db_url, settings.schema, start, end, as_of,
                             settings.shift_day_start, settings.non_quality_hold_reasons,
                             settings.hold_duration_edges_h)))
    path = root / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.parquet"
    tmp = path.with_suffix(f".{os.getpid()}.{time.monotonic_ns()}.tmp")
    t0 = time.perf_counter()
    rows = 0
    writer: pq.ParquetWriter | None = None
    try:
        with closing(lanes.slow.stream(history_query(begin, window_end), cancel=cancel)) as it:
            for batch in it:
                out = _derive(batch, as_of=as_of, offset=offset,
                              non_quality=settings.non_quality_hold_reasons,
                              edges_h=settings.hold_duration_edges_h)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, out.schema)
                writer.write_batch(out)
                rows += out.num_rows
        if writer is None:  # no batch at all: write an empty file with the right schema
            empty = pa.RecordBatch.from_pylist([], schema=_empty_schema())
            out = _derive(empty, as_of=as_of, offset=offset,
                          non_quality=settings.non_quality_hold_reasons,
                          edges_h=settings.hold_duration_edges_h)
            writer = pq.ParquetWriter(tmp, out.schema)
            writer.write_batch(out)
        writer.close()
        writer = None
        os.replace(tmp, path)
    finally:
        if writer is not None:
            writer.close()
        if tmp.exists():
            tmp.unlink()
    return HoldHistory(str(path), start, end, begin, window_end, as_of, rows,
                       time.perf_counter() - t0, settings.shift_day_offset_minutes,
                       tuple(settings.hold_duration_edges_h))


def _empty_schema() -> pa.Schema:
    from core.db import arrow_schema_for

    return arrow_schema_for(history_query(datetime(2000, 1, 1), datetime(2000, 1, 2)))
