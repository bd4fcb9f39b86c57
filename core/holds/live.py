"""The live hold picture: lots on hold now, from the snapshot dw_mes_lot_v (realtime lane).

Why: supervisors keep the page open all shift. The snapshot is refreshed upstream every
few minutes, so a refresh first asks only for its sys_date (one tiny query) and reloads
the held lots (and the WIP summary) only when that time changed; ``LiveHoldsWatcher``
does exactly that and is what the page's fragment and the tests drive.

Design: one registered query returns every held WIP lot (status rule: not on a machine and
currentholdcount > 0; raw material and DUMMY lots left out) with its hold type computed in
SQL from the configured non-quality reasons (null reason = quality). That is about 200
rows in the real factory, so every filter, KPI, the station-group × package matrix, the
reason pareto and the days-at-station buckets are computed locally with pandas: a filter
change never touches the database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.sql import Select

from core import live as core_live
from core import pareto as core_pareto
from core.catalog import query
from core.config import DEFAULT_NON_QUALITY_HOLD_REASONS
from core.holds.classify import ALL, NON_QUALITY, QUALITY, HoldInputError, age_labels
from core.schema import lot_v

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings
    from core.db import Lanes

NO_REASON = "(no reason)"
NO_VALUE = "(none)"
TOTAL = "Total"


@query(
    "holds.held_lots",
    {"non_quality_reasons": DEFAULT_NON_QUALITY_HOLD_REASONS},
    {"non_quality_reasons": (), "include_dummy": True},
)
def held_lots_query(
    non_quality_reasons: Iterable[str] = DEFAULT_NON_QUALITY_HOLD_REASONS,
    include_dummy: bool = False,
) -> Select:
    """Every WIP lot on hold now (status HOLD by the status rule), with its hold type."""
    reasons = list(non_quality_reasons)
    zero = sa.literal(0)
    hold_type: Any = (
        sa.case((lot_v.c.holdreasonname.in_(reasons), sa.literal(NON_QUALITY)),
                else_=sa.literal(QUALITY))
        if reasons
        else sa.literal(QUALITY)
    )
    stmt = sa.select(
        lot_v.c.containerid,
        lot_v.c.lotid,
        lot_v.c.workorder,
        sa.func.coalesce(lot_v.c.qty, zero).label("qty"),
        lot_v.c.holdreasonname,
        hold_type.label("hold_type"),
        lot_v.c.agebydays,
        sa.func.coalesce(lot_v.c.package_lef, lot_v.c.productlinename).label("package"),
        lot_v.c.pj_type,
        lot_v.c.product,
        lot_v.c.firstname,
        lot_v.c.specname,
        lot_v.c.workcentername,
        lot_v.c.workcenter_group,
        lot_v.c.workcentersequence_group,
        lot_v.c.holdemp,
        lot_v.c.deptname,
        lot_v.c.comment_hold,
        lot_v.c.comment_future,
    ).where(
        lot_v.c.workorder.is_not(None),
        sa.func.coalesce(lot_v.c.equipmentcount, zero) <= 0,
        sa.func.coalesce(lot_v.c.currentholdcount, zero) > 0,
    )
    if not include_dummy:
        stmt = stmt.where(
            sa.or_(lot_v.c.lotid.is_(None),
                   sa.not_(lot_v.c.lotid.contains(core_live.DUMMY_MARK)))
        )
    return stmt.order_by(lot_v.c.containerid)


def load_held_lots(lanes: Lanes, settings: Settings) -> pd.DataFrame:
    """The held lots of the snapshot as a small DataFrame (one realtime query)."""
    table = lanes.realtime.fetch_arrow(
        held_lots_query(non_quality_reasons=settings.non_quality_hold_reasons)
    )
    return _prepare(table.to_pandas(), settings)


def _prepare(df: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    if df.empty:
        df = pd.DataFrame(columns=[c.name for c in held_lots_query().selected_columns])
    df = df.copy()
    df["qty"] = pd.to_numeric(df["qty"]).fillna(0).astype("int64")
    df["agebydays"] = pd.to_numeric(df["agebydays"], errors="coerce").astype("float64")
    df["reason"] = df["holdreasonname"].fillna(NO_REASON)
    df["station_group"] = df["workcenter_group"].fillna(NO_VALUE)
    df["package"] = df["package"].fillna(NO_VALUE)
    df["group_order"] = pd.to_numeric(df["workcentersequence_group"], errors="coerce")
    labels = age_labels(settings.hold_age_edges_days)
    edges = [float("-inf"), *settings.hold_age_edges_days, float("inf")]
    df["age_bucket"] = pd.Categorical(
        pd.cut(df["agebydays"], bins=edges, labels=labels, right=False), categories=labels
    )
    return df


# ---------------------------------------------------------------------------------------------
# refresh: one tiny query when the snapshot did not change
# ---------------------------------------------------------------------------------------------


@dataclass
class LiveHolds:
    """The held lots and WIP summary of one snapshot."""

    snapshot: datetime | None
    lots: pd.DataFrame
    wip: dict[str, Any]


@dataclass
class LiveHoldsWatcher:
    """Remembers the last snapshot; ``poll`` reloads only when sys_date changed."""

    current: LiveHolds | None = None
    loads: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def poll(self, lanes: Lanes, settings: Settings) -> tuple[LiveHolds, bool]:
        """(the live holds, whether they were reloaded). Unchanged: one tiny query."""
        with self._lock:
            snap = core_live.snapshot_time(lanes)
            if self.current is not None and self.current.snapshot == snap:
                return self.current, False
            lots = load_held_lots(lanes, settings) if snap is not None else _prepare(
                pd.DataFrame(), settings)
            wip = core_live.wip_summary(lanes, settings)
            self.current = LiveHolds(snap, lots, wip)
            self.loads += 1
            return self.current, True


def snapshot_age_s(snapshot: datetime, now: datetime | None = None) -> float:
    """Seconds since the snapshot was taken (now naive or aware like the snapshot)."""
    if now is None:
        now = datetime.now(snapshot.tzinfo) if snapshot.tzinfo else datetime.now()
    return (now - snapshot).total_seconds()


def is_stale(snapshot: datetime, settings: Settings, now: datetime | None = None) -> bool:
    return snapshot_age_s(snapshot, now) > settings.snapshot_stale_s


# ---------------------------------------------------------------------------------------------
# local slicing (pandas, ~200 rows)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveFilter:
    """Filters of the live overview; empty tuples mean 'all'."""

    hold_type: str = ALL
    reasons: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    wafer_lots: tuple[str, ...] = ()
    age_buckets: tuple[str, ...] = ()


def _isin(series: pd.Series, values: Sequence[str]) -> pd.Series:
    return series.isin(list(values)) if values else pd.Series(True, index=series.index)


def apply_filter(df: pd.DataFrame, f: LiveFilter) -> pd.DataFrame:
    mask = pd.Series(True, index=df.index)
    if f.hold_type != ALL:
        mask &= df["hold_type"] == f.hold_type
    mask &= _isin(df["reason"], f.reasons)
    mask &= _isin(df["station_group"], f.groups)
    mask &= _isin(df["package"], f.packages)
    mask &= _isin(df["pj_type"].fillna(NO_VALUE), f.types)
    mask &= _isin(df["firstname"].fillna(NO_VALUE), f.wafer_lots)
    mask &= _isin(df["age_bucket"].astype("string").fillna(NO_VALUE), f.age_buckets)
    return df[mask]


def one_per_lot(df: pd.DataFrame) -> pd.DataFrame:
    """One row per lot: the snapshot has one row per lot, but a lot must never count
    (or add its qty) twice should a view repeat it once per open hold."""
    return df.drop_duplicates("containerid")


def kpis(df: pd.DataFrame) -> dict[str, Any]:
    """Lots, qty (each lot once), average and maximum days at station, station groups."""
    lots = one_per_lot(df)
    age = lots["agebydays"].dropna()
    return {
        "lots": len(lots),
        "qty": int(lots["qty"].sum()),
        "avg_days_at_station": round(float(age.mean()), 2) if len(age) else None,
        "max_days_at_station": round(float(age.max()), 2) if len(age) else None,
        "station_groups": int(df["station_group"].nunique()),
    }


def group_order(df: pd.DataFrame) -> list[str]:
    """Station groups in flow order (workcentersequence_group), unknown ones last."""
    order = (
        df.groupby("station_group", dropna=False)["group_order"].min()
        .reset_index().sort_values(["group_order", "station_group"], na_position="last")
    )
    return list(order["station_group"])


MATRIX_MEASURES = ("qty", "lots")  # the factory's hold report counts qty: the default


def parse_matrix_measure(value: str | None) -> str:
    """'qty' (default) | 'lots'; HoldInputError names the choices."""
    text = (value or MATRIX_MEASURES[0]).strip().lower()
    if text not in MATRIX_MEASURES:
        raise HoldInputError(
            f"Unknown matrix measure {value!r}: choose one of {', '.join(MATRIX_MEASURES)}.")
    return text


def matrix(df: pd.DataFrame, measure: str = "lots") -> pd.DataFrame:
    """Station group (rows, flow order) × package (every package, none cut) with totals:
    held lots or their qty (pcs), each lot counted once."""
    measure = parse_matrix_measure(measure)
    df = one_per_lot(df)
    values = "qty" if measure == "qty" else "containerid"
    agg = "sum" if measure == "qty" else "count"
    if df.empty:
        return pd.DataFrame({TOTAL: []}, index=pd.Index([], name="station_group"))
    grouped = df.groupby(["station_group", "package"], observed=True)[values]
    pivot = (grouped.sum() if agg == "sum" else grouped.count()).unstack(fill_value=0)
    pivot = pivot.reindex(group_order(df))
    pivot = pivot[sorted(pivot.columns, key=lambda p: (-pivot[p].sum(), str(p)))]
    pivot[TOTAL] = pivot.sum(axis=1)
    pivot.loc[TOTAL] = pivot.sum(axis=0)
    pivot.columns.name = None
    pivot.index.name = "station_group"
    return pivot.astype("int64")


def pareto(df: pd.DataFrame, by: str = "reason", measure: str = "lots") -> pd.DataFrame:
    """Items sorted descending with their share (``pct``) and cumulative % (0–100), both
    rounded to 2 decimals (``core.pareto``)."""
    if measure == "qty":
        s = df.groupby(by, observed=True)["qty"].sum()
    else:
        s = df.groupby(by, observed=True).size()
    return core_pareto.pareto(s.rename(measure).reset_index(), measure, by, share_col="pct",
                              decimals=2)


def age_buckets(df: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Held lots and qty per days-at-station bucket (every bucket, zeros included)."""
    labels = age_labels(settings.hold_age_edges_days)
    df = one_per_lot(df)
    g = pd.DataFrame({"lots": df["age_bucket"].value_counts(sort=False),
                      "qty": df.groupby("age_bucket", observed=False)["qty"].sum()})
    g = g.reindex(labels, fill_value=0)
    g.index.name = "days_at_station"
    return g.reset_index().astype({"lots": "int64", "qty": "int64"})


def lot_table(df: pd.DataFrame) -> pd.DataFrame:
    """The lot list, longest at station first."""
    cols = ["lotid", "workorder", "qty", "hold_type", "reason", "station_group",
            "workcentername", "specname", "package", "pj_type", "firstname", "agebydays",
            "age_bucket", "holdemp", "deptname", "comment_hold", "comment_future",
            "containerid"]
    out = df.sort_values(["agebydays", "lotid"], ascending=[False, True], na_position="last")
    out = out[cols].rename(columns={"agebydays": "days_at_station",
                                    "age_bucket": "days_at_station_bucket",
                                    "firstname": "wafer_lot", "reason": "hold_reason"})
    out["days_at_station_bucket"] = out["days_at_station_bucket"].astype("string")
    return out.reset_index(drop=True)


def overview(lanes: Lanes, settings: Settings, hold_type: str = ALL,
             matrix_measure: str = MATRIX_MEASURES[0]) -> dict[str, Any]:
    """The CLI's live report: snapshot time, KPIs, matrix (qty or lots) and reason pareto."""
    holds, _ = LiveHoldsWatcher().poll(lanes, settings)
    df = apply_filter(holds.lots, LiveFilter(hold_type=hold_type))
    return {
        "snapshot": holds.snapshot,
        "hold_type": hold_type,
        "kpis": kpis(df),
        "matrix_measure": matrix_measure,
        "matrix": matrix(df, matrix_measure),
        "reason_pareto": pareto(df),
        "age_buckets": age_buckets(df, settings),
        "wip": holds.wip,
    }
