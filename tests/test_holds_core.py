"""Hold rules and hold analysis on hand-built data with known answers, on real DuckDB and
PostgreSQL: the status rule, hold classification (null reason = quality), the shift-day
boundary (07:30 and 07:29:59), the history trend, KPIs, real durations and buckets, the
record list, the live held lots and the refresh that reloads only when sys_date changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from core import realtime as core_realtime
from core import schema as t
from core.db import Lanes, open_lanes
from core.db._engines import make_engine
from core.holds import _classify as classify
from core.holds import current, history
from core.holds._classify import HoldInputError
from tests.conftest import make_settings

NQ = "工程驗證(PE)"  # a non-quality reason
SNAP = datetime(2026, 3, 4, 8, 0)


def cid(n: int) -> str:
    return f"{n:016X}"


def ts(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-{text}")


# --- the hand-built history (see test_trend_counts for the answers) ---------------------------
def _hold(n: int, hold: str, release: str | None, reason: str | None, qty: int,
          future: str | None = None) -> dict:
    return {"containerid": cid(n), "pj_workorder": f"GA2603{n:04d}", "workcentername": "TMTT",
            "qty": qty, "holdtxndate": ts(hold),
            "releasetxndate": ts(release) if release else None, "holdreasonname": reason,
            "futureholdcomments": future}


HOLDS = [
    _hold(1, "03-01 07:30:00", "03-01 09:30:00", "YieldLimit", 100),  # A: shift day 03-02
    _hold(2, "03-01 07:29:59", None, None, 200),  # B: shift day 03-01, open, null = quality
    _hold(3, "03-02 08:00:00", "03-02 09:00:00", "OOC", 290),  # C1
    _hold(3, "03-02 10:00:00", "03-03 10:00:00", NQ, 300, "下站TMTT前Hold"),  # C2: 24 h
    _hold(4, "02-20 08:00:00", "03-01 07:00:00", "YieldLimit", 70),  # D: before the range
    _hold(5, "02-27 12:00:00", "03-03 08:00:00", "需綁尾數(PD)", 50),  # E: 92 h
    _hold(6, "03-04 06:00:00", "03-05 06:00:00", "Q-Time", 10),  # F: released after as_of
    _hold(7, "03-04 08:00:00", None, "Q-Time", 5),  # G: after the range
]


def _lot(n: int, *, wo: str | None = "GA26030001", eq: int | None = 0, hold: int = 0,
         reason: str | None = None, age: float = 1.0, group: str = "TMTT", seq: str = "11",
         package: str = "SOD-323", lotid: str | None = None, qty: int = 1000) -> dict:
    return {"containerid": cid(100 + n), "lotid": lotid or f"GA26030001-A00-{n:03d}",
            "workorder": wo, "qty": qty, "holdreasonname": reason, "currentholdcount": hold,
            "equipmentcount": eq, "agebydays": age, "package_lef": package,
            "productlinename": package, "pj_type": "BAT54", "firstname": f"W{n % 2}",
            "workcenter_group": group, "workcentersequence_group": seq,
            "workcentername": group, "sys_date": SNAP}


LOTS = [
    _lot(1, eq=1, hold=1, reason="YieldLimit"),  # RUN wins over hold
    _lot(2, hold=1, reason=None, age=0.5, group="成型", seq="4"),  # quality (null reason)
    _lot(3, hold=1, reason=NQ, age=1.0, package="SOT-23 CU", qty=500),  # non-quality
    _lot(4),  # QUEUE
    _lot(5, wo=None, hold=1, reason="YieldLimit"),  # raw material: not WIP
    _lot(6, hold=1, reason="YieldLimit", lotid="DUMMY-0001"),  # hidden
    _lot(7, eq=None, hold=2, reason="YieldLimit", age=7.0, qty=250),  # HOLD, quality
]


def _fill(url: str, schema: str, holds: list[dict] = HOLDS, lots: list[dict] = LOTS,
          containers: list[dict] | None = None) -> None:
    engine = make_engine(url, schema=schema, pool=None, read_only=False)
    try:
        with engine.begin() as c:
            if engine.dialect.name == "duckdb":
                c.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        t.metadata.create_all(engine, tables=[t.holdreleasehistory, t.lot_v, t.container])
        with engine.begin() as c:
            c.execute(t.holdreleasehistory.insert(), holds)
            c.execute(t.lot_v.insert(), lots)
            if containers:
                c.execute(t.container.insert(), containers)
    finally:
        engine.dispose()


@pytest.fixture
def duck_hand(tmp_path: Path) -> Iterator[Lanes]:
    url = f"duckdb:///{tmp_path / 'holds.duckdb'}"
    _fill(url, "dwh")
    lanes = open_lanes(make_settings(url, spool_dir=str(tmp_path / "spool")))
    yield lanes
    lanes.close()


@pytest.fixture
def pg_hand(pg_url: str, pg_schema: str, tmp_path: Path) -> Iterator[Lanes]:
    _fill(pg_url, pg_schema)
    lanes = open_lanes(make_settings(pg_url, schema=pg_schema,
                                     spool_dir=str(tmp_path / "spool")))
    yield lanes
    lanes.close()


@pytest.fixture(params=["duckdb", "postgresql"])
def hand(request: pytest.FixtureRequest) -> Lanes:
    return request.getfixturevalue("duck_hand" if request.param == "duckdb" else "pg_hand")


# ---------------------------------------------------------------------------------------------
# rules
# ---------------------------------------------------------------------------------------------


def test_status_rule() -> None:
    assert classify.status_of(1, 1) == "RUN"
    assert classify.status_of(0, 2) == "HOLD"
    assert classify.status_of(None, 1) == "HOLD"
    assert classify.status_of(0, 0) == "QUEUE"
    assert classify.status_of(None, None) == "QUEUE"


def test_hold_classification_null_reason_is_quality() -> None:
    reasons = make_settings("duckdb:///x").non_quality_hold_reasons
    assert classify.hold_type_of(None, reasons) == classify.QUALITY
    assert classify.hold_type_of("YieldLimit", reasons) == classify.QUALITY
    assert classify.hold_type_of(NQ, reasons) == classify.NON_QUALITY
    assert classify.hold_type_of("盤點(收線)需求", reasons) == classify.NON_QUALITY


def test_shift_day_boundary() -> None:
    m = make_settings("duckdb:///x").shift_day_offset_minutes
    assert m == 450
    assert classify.shift_day(datetime(2026, 3, 1, 7, 30), m) == date(2026, 3, 2)
    assert classify.shift_day(datetime(2026, 3, 1, 7, 29, 59), m) == date(2026, 3, 1)
    assert classify.shift_day(datetime(2026, 3, 1, 0, 0), m) == date(2026, 3, 1)
    assert classify.shift_day_bounds(date(2026, 3, 2), m) == (
        datetime(2026, 3, 1, 7, 30), datetime(2026, 3, 2, 7, 30))
    other = make_settings("duckdb:///x", shift_day_start="00:00").shift_day_offset_minutes
    assert classify.shift_day(datetime(2026, 3, 1, 23, 59), other) == date(2026, 3, 1)


def test_bucket_labels_and_edges_come_from_settings() -> None:
    s = make_settings("duckdb:///x")
    assert classify.duration_labels(s.hold_duration_edges_h) == [
        "<4 h", "4–24 h", "1–3 d", "≥3 d"]
    assert classify.age_labels(s.hold_age_edges_days) == ["<1 d", "1–3 d", "3–7 d", "≥7 d"]
    assert classify.bucket_index(3.99, s.hold_duration_edges_h) == 0
    assert classify.bucket_index(4.0, s.hold_duration_edges_h) == 1
    assert classify.bucket_index(24.0, s.hold_duration_edges_h) == 2
    assert classify.bucket_index(72.0, s.hold_duration_edges_h) == 3
    s2 = make_settings("duckdb:///x", hold_duration_edges_h="2;8")
    assert classify.duration_labels(s2.hold_duration_edges_h) == ["<2 h", "2–8 h", "≥8 h"]


@pytest.mark.parametrize(
    ("value", "message"),
    [("qualty", "Unknown hold type"), ("ALL", None), ("non_quality", None), (None, None)],
)
def test_parse_hold_type(value: str | None, message: str | None) -> None:
    if message:
        with pytest.raises(HoldInputError, match=message):
            classify.parse_hold_type(value)
    else:
        assert classify.parse_hold_type(value) in classify.HOLD_TYPES


def test_bad_dates_and_ranges() -> None:
    with pytest.raises(HoldInputError, match="YYYY-MM-DD"):
        classify.parse_day("2026-13-01", "start")
    with pytest.raises(HoldInputError, match="before the start"):
        classify.check_range(date(2026, 3, 2), date(2026, 3, 1), 365)
    with pytest.raises(HoldInputError, match="longest allowed is 365"):
        classify.check_range(date(2025, 1, 1), date(2026, 3, 1), 365)
    classify.check_range(date(2026, 1, 1), date(2026, 1, 1), 1)


# ---------------------------------------------------------------------------------------------
# history on both backends
# ---------------------------------------------------------------------------------------------

START, END = date(2026, 3, 2), date(2026, 3, 4)


def _load(lanes: Lanes) -> history.HoldHistory:
    return history.load_history(lanes, lanes.settings, START, END, now=datetime(2026, 3, 10))


def test_history_loads_overlapping_holds_and_as_of(hand: Lanes) -> None:
    h = _load(hand)
    assert h.begin == datetime(2026, 3, 1, 7, 30)
    assert h.window_end == datetime(2026, 3, 4, 7, 30) == h.as_of
    # D was released before the window begins and G held after it ends: neither is loaded.
    assert h.rows == 6


def test_trend_counts(hand: Lanes) -> None:
    h = _load(hand)
    with history.HistoryView(h) as v:
        trend = v.trend(history.HistoryFilter())
        rows = {r["day"]: r for r in trend.to_dict("records")}
    assert list(rows) == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]
    d2, d3, d4 = rows.values()
    # on hold at the end of the shift day (distinct lots)
    assert (d2["on_hold_end"], d3["on_hold_end"], d4["on_hold_end"]) == (2, 3, 2)
    assert d2["on_hold_end_qty"] == 250  # B + E
    # new: A at exactly 07:30 belongs to 03-02; C held twice on 03-03 counts once (latest)
    assert (d2["new"], d3["new"], d4["new"]) == (1, 1, 1)
    assert (d2["new_qty"], d3["new_qty"], d4["new_qty"]) == (100, 300, 10)
    # released: F's release is after as_of
    assert (d2["released"], d3["released"], d4["released"]) == (1, 1, 2)
    assert (d2["future"], d3["future"], d4["future"]) == (0, 1, 0)


def test_kpis_real_durations(hand: Lanes) -> None:
    h = _load(hand)
    with history.HistoryView(h) as v:
        k = v.kpis(history.HistoryFilter())
        q = v.kpis(history.HistoryFilter(hold_type="quality"))
        nq = v.kpis(history.HistoryFilter(hold_type="non-quality"))
    assert (k["on_hold_now"], k["on_hold_now_qty"]) == (2, 210)  # B, F
    assert (k["new"], k["new_qty"], k["released"], k["released_qty"]) == (3, 410, 4, 740)
    assert k["net_change"] == -1
    assert k["released_avg_h"] == pytest.approx((2 + 1 + 24 + 92) / 4)
    assert k["released_max_h"] == pytest.approx(92)
    b_open = 72 + 1 / 3600  # B: 07:29:59 to 07:30 three days later
    assert k["open_avg_h"] == pytest.approx((b_open + 1.5) / 2, abs=1e-3)
    assert k["open_max_h"] == pytest.approx(b_open, abs=1e-3)
    # quality: A, B, C1, F; C's latest *quality* hold on 03-03 is C1
    assert (q["on_hold_now"], q["new"], q["new_qty"], q["released"]) == (2, 3, 400, 2)
    assert (nq["on_hold_now"], nq["new"], nq["released"], nq["released_max_h"]) == (
        0, 1, 2, pytest.approx(92))


def test_buckets_pareto_and_records(hand: Lanes) -> None:
    h = _load(hand)
    with history.HistoryView(h) as v:
        b = v.duration_buckets(history.HistoryFilter())
        got = {(r["duration_bucket"], r["kind"]): r["holds"] for r in b.to_dict("records")}
        assert got == {("<4 h", "released"): 2, ("<4 h", "open"): 1,
                       ("4–24 h", "released"): 0, ("4–24 h", "open"): 0,
                       ("1–3 d", "released"): 1, ("1–3 d", "open"): 0,  # C2: exactly 24 h
                       ("≥3 d", "released"): 1, ("≥3 d", "open"): 1}
        p = v.reason_pareto(history.HistoryFilter(record_type="released"))
        assert list(p["reason"]) == ["OOC", "YieldLimit", NQ, "需綁尾數(PD)"]
        assert list(p["qty"]) == [290, 100, 300, 50]
        assert p["count_cum_pct"].iloc[-1] == 100.0
        # the qty chart's cumulative % runs in qty order: 300, 290, 100, 50 of 740
        by_qty = v.by_qty(p)
        assert list(by_qty["reason"]) == [NQ, "OOC", "YieldLimit", "需綁尾數(PD)"]
        assert list(by_qty["qty_cum_pct"]) == [40.54, 79.73, 93.24, 100.0]
        o = v.reason_pareto(history.HistoryFilter(record_type="on_hold"))
        assert set(o["reason"]) == {history.NO_REASON, "Q-Time"}

        def n(**kw: object) -> int:
            return v.records(history.HistoryFilter(**kw), limit=1)[1]

        assert n(record_type="new") == 3
        assert n(record_type="released") == 4
        assert n(record_type="on_hold") == 2
        assert n(record_type="on_hold", day=date(2026, 3, 3)) == 3
        assert n(record_type="released", day=date(2026, 3, 4)) == 2
        assert n(record_type="new", buckets=("<4 h",)) == 2  # A (2 h), F (open, 1.5 h)
        assert n(record_type="new", reasons=(NQ,)) == 1
        page, total = v.records(history.HistoryFilter(record_type="released"), offset=1,
                                limit=2)
        assert total == 4 and len(page) == 2
        full, _ = v.records(history.HistoryFilter(record_type="released"))
        assert len(full) == 4 and set(full["lot"].isna()) == {True}  # no container rows
        # the page's "Download CSV (all rows)" of that list
        assert len(_csv_rows(full)) == 1 + 4


def test_history_range_checks(duck_hand: Lanes) -> None:
    with pytest.raises(HoldInputError, match="before the start"):
        history.load_history(duck_hand, duck_hand.settings, END, START)
    with pytest.raises(HoldInputError, match="hold_history_max_days"):
        history.load_history(duck_hand, duck_hand.settings, date(2025, 1, 1), END)


def test_history_backends_agree_on_the_demo(duckdb_lanes: Lanes, pg_lanes: Lanes,
                                            tmp_path: Path) -> None:
    out = []
    for lanes in (duckdb_lanes, pg_lanes):
        s = lanes.settings.replace(spool_dir=str(tmp_path))
        h = history.load_history(lanes, s, date(2026, 10, 1), date(2026, 11, 21),
                                 now=datetime(2026, 11, 20, 8))
        rep = history.report(h, history.HistoryFilter(record_type="released"))
        out.append((h.rows, rep["kpis"], rep["trend"].to_dict("records"),
                    rep["reason_pareto"].to_dict("records"),
                    rep["duration_buckets"].to_dict("records")))
    assert out[0] == out[1]
    assert out[0][0] > 0 and out[0][1]["new"] > 0 and out[0][1]["released"] > 0


# ---------------------------------------------------------------------------------------------
# live
# ---------------------------------------------------------------------------------------------


def test_live_held_lots_and_aggregates(hand: Lanes) -> None:
    holds, reloaded = current.LiveHoldsWatcher().poll(hand, hand.settings)
    assert reloaded and holds.snapshot == SNAP
    df = holds.lots
    assert sorted(df["containerid"]) == [cid(102), cid(103), cid(107)]
    types = dict(zip(df["containerid"], df["hold_type"], strict=True))
    assert types == {cid(102): "quality", cid(103): "non-quality", cid(107): "quality"}
    assert holds.wip["RUN"]["lots"] == 1 and holds.wip["QUEUE"]["lots"] == 1
    assert holds.wip["HOLD"]["quality"] == {"lots": 2, "qty": 1250}
    assert holds.wip["HOLD"]["non_quality"] == {"lots": 1, "qty": 500}
    k = current.kpis(df)
    assert k == {"lots": 3, "qty": 1750, "avg_days_at_station": pytest.approx(8.5 / 3, 0.01),
                 "max_days_at_station": 7.0, "station_groups": 2}
    ages = current.age_buckets(df, hand.settings)
    assert dict(zip(ages["days_at_station"], ages["lots"], strict=True)) == {
        "<1 d": 1, "1–3 d": 1, "3–7 d": 0, "≥7 d": 1}
    m = current.matrix(df)
    assert list(m.index) == ["成型", "TMTT", current.TOTAL]  # flow order, then totals
    assert set(m.columns) == {"SOD-323", "SOT-23 CU", current.TOTAL}
    assert m.loc[current.TOTAL, current.TOTAL] == 3 and m.loc["TMTT", "SOT-23 CU"] == 1
    q = current.apply_filter(df, current.LiveFilter(hold_type="quality"))
    assert len(q) == 2
    f = current.apply_filter(df, current.LiveFilter(groups=("TMTT",), packages=("SOD-323",)))
    assert list(f["containerid"]) == [cid(107)]
    assert len(current.apply_filter(df, current.LiveFilter(age_buckets=("≥7 d",)))) == 1
    p = current.pareto(df)
    # one lot each: ties keep the reason order; by qty (1000, 500, 250) largest first
    assert list(p["reason"]) == [current.NO_REASON, "YieldLimit", NQ]
    assert p["lots"].tolist() == [1, 1, 1]
    assert list(p["cum_pct"]) == [33.33, 66.67, 100.0]
    pq_ = current.pareto(df, measure="qty")
    assert list(pq_["reason"]) == [current.NO_REASON, NQ, "YieldLimit"]
    assert pq_["qty"].tolist() == [1000, 500, 250]
    assert list(pq_["cum_pct"]) == [57.14, 85.71, 100.0]
    rows = _csv_rows(current.lot_table(df))  # the page's "Export CSV": labelled headers
    assert rows[0][:3] == ["LOT ID", "WORKORDER", "Qty"] and len(rows) == 1 + 3
    assert "Days at station" in rows[0] and "days_at_station" not in rows[0]
    rows = _csv_rows(current.lot_table(df), raw=True)  # csv_headers = "names"
    assert rows[0][:2] == ["lotid", "workorder"]


def _csv_rows(df: object, raw: bool = False) -> list[list[str]]:
    import csv
    import io

    from core.export import csv_bytes

    return list(csv.reader(io.StringIO(csv_bytes(df, raw_headers=raw).decode("utf-8-sig"))))  # type: ignore[arg-type]


def test_live_backends_agree_on_the_demo(duckdb_lanes: Lanes, pg_lanes: Lanes) -> None:
    a = current.overview(duckdb_lanes, duckdb_lanes.settings)
    b = current.overview(pg_lanes, pg_lanes.settings)
    assert a["kpis"] == b["kpis"] and a["kpis"]["lots"] > 0
    assert a["matrix"].equals(b["matrix"]) and a["reason_pareto"].equals(b["reason_pareto"])
    assert a["wip"] == b["wip"]
    assert a["wip"]["HOLD"]["quality"]["lots"] > 0 and a["wip"]["HOLD"]["non_quality"]["lots"] > 0


def _rt_queries(lanes: Lanes) -> int:
    return lanes.stats()["realtime"]["queries"]


def test_refresh_reloads_only_when_sys_date_changes(pg_hand: Lanes, pg_url: str) -> None:
    watcher = current.LiveHoldsWatcher()
    before = _rt_queries(pg_hand)
    first, reloaded = watcher.poll(pg_hand, pg_hand.settings)
    assert reloaded and _rt_queries(pg_hand) - before == 3  # sys_date, held lots, summary
    for _ in range(3):
        before = _rt_queries(pg_hand)
        same, reloaded = watcher.poll(pg_hand, pg_hand.settings)
        assert not reloaded and same is first
        assert _rt_queries(pg_hand) - before == 1  # only the tiny sys_date query
    schema = pg_hand.settings.schema
    engine = sa.create_engine(pg_url)
    with engine.begin() as c:
        c.execute(sa.text(f'UPDATE "{schema}".dw_mes_lot_v SET sys_date = :d, '
                          "currentholdcount = 0 WHERE containerid = :c"),
                  {"d": SNAP + timedelta(minutes=5), "c": cid(103)})
        c.execute(sa.text(f'UPDATE "{schema}".dw_mes_lot_v SET sys_date = :d'),
                  {"d": SNAP + timedelta(minutes=5)})
    engine.dispose()
    before = _rt_queries(pg_hand)
    new, reloaded = watcher.poll(pg_hand, pg_hand.settings)
    assert reloaded and new.snapshot == SNAP + timedelta(minutes=5)
    assert _rt_queries(pg_hand) - before == 3
    assert len(new.lots) == 2 and watcher.loads == 2
    assert current.is_stale(new.snapshot, pg_hand.settings, now=new.snapshot + timedelta(hours=1))
    assert not current.is_stale(new.snapshot, pg_hand.settings,
                             now=new.snapshot + timedelta(minutes=1))


def test_wip_summary_query_uses_the_status_rule(hand: Lanes) -> None:
    wip = core_realtime.wip_summary(hand, hand.settings)
    assert wip["total"]["lots"] == 5  # LOTS minus raw material and DUMMY
    assert wip["HOLD"]["lots"] == 3


# ---------------------------------------------------------------------------------------------
# counting each lot once, future-hold repeats, live vs history, matrix, partial periods
# ---------------------------------------------------------------------------------------------
# Shift days 03-04 = [03-03 07:30, 03-04 07:30) and 03-05; as_of = the snapshot, 03-04
# 08:00, so 03-05 is covered only to 08:00 (partial).
#   L1 (201) three open holds on 03-03 (400 pcs, then 380 pcs twice for Q-Time): qty once
#            = 380 (latest)
#   L2 (202) open since 03-02; L3 (203) open in history, but RUN in the snapshot
#   L4 (204) held in the snapshot; its history hold was released at 03-04 07:50
#   L5 (205) the same future hold (lot and reason) twice on 03-04; L6 (206) another one
REC_HOLDS = [
    _hold(201, "03-03 09:00:00", None, "YieldLimit", 400),
    _hold(201, "03-03 10:00:00", None, "Q-Time", 380),
    _hold(201, "03-03 11:00:00", None, "Q-Time", 380),  # the same reason again
    _hold(202, "03-02 12:00:00", None, "BPM Hold", 100),
    _hold(203, "03-03 20:00:00", None, "SBL Limit(PE)", 50),
    _hold(204, "03-03 13:00:00", "03-04 07:50:00", "YieldLimit", 70),
    _hold(205, "03-03 08:00:00", "03-03 08:30:00", "Q-Time", 10, "下站Hold"),
    _hold(205, "03-03 09:00:00", "03-03 10:00:00", "Q-Time", 10, "下站Hold"),
    _hold(206, "03-03 11:00:00", "03-03 12:00:00", "Q-Time", 20, "下站Hold"),
]


def _rec_lot(n: int, **kw: object) -> dict:
    row = _lot(n - 100, **kw)  # type: ignore[arg-type]
    row["lotid"] = f"L{n - 200}"
    return row


REC_LOTS = [
    _rec_lot(201, hold=2, reason="Q-Time", qty=380),
    # the same lot again with its other open hold (a view joining holds would repeat it):
    # still one lot and 380 pcs
    _rec_lot(201, hold=2, reason="YieldLimit", qty=380),
    _rec_lot(202, hold=1, reason="BPM Hold", qty=100, group="成型", seq="4",
             package="SOT-23 CU"),
    _rec_lot(203, eq=1, hold=1, reason="SBL Limit(PE)", qty=50),  # RUN: not held now
    _rec_lot(204, hold=1, reason="YieldLimit", qty=70),
    _rec_lot(207, qty=999),  # QUEUE
]
REC_CONTAINERS = [{"containerid": cid(n), "containername": f"L{n - 200}"}
                  for n in (201, 202, 203, 204, 205, 206)]


def _fill_rec(url: str, schema: str) -> None:
    _fill(url, schema, REC_HOLDS, REC_LOTS, REC_CONTAINERS)


@pytest.fixture(params=["duckdb", "postgresql"])
def rec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lanes]:
    if request.param == "duckdb":
        url, schema = f"duckdb:///{tmp_path / 'rec.duckdb'}", "dwh"
    else:
        url, schema = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema")
    _fill_rec(url, schema)
    lanes = open_lanes(make_settings(url, schema=schema, spool_dir=str(tmp_path / "spool")))
    yield lanes
    lanes.close()


REC_START, REC_END = date(2026, 3, 4), date(2026, 3, 5)


def _rec_load(lanes: Lanes) -> history.HoldHistory:
    return history.load_history(lanes, lanes.settings, REC_START, REC_END, now=SNAP)


def test_each_lot_once_and_future_repeats_once(rec: Lanes) -> None:
    h = _rec_load(rec)
    assert h.as_of == SNAP
    with history.HistoryView(h) as v:
        rows = {r["day"]: r for r in v.trend(history.HistoryFilter()).to_dict("records")}
        k = v.kpis(history.HistoryFilter())
    d4, d5 = rows[date(2026, 3, 4)], rows[date(2026, 3, 5)]
    # L1's two open holds count once, with the qty of its latest hold (380, not 780)
    assert (d4["on_hold_end"], d4["on_hold_end_qty"]) == (4, 380 + 100 + 50 + 70)
    assert (d5["on_hold_end"], d5["on_hold_end_qty"]) == (3, 380 + 100 + 50)  # at 08:00
    assert (k["on_hold_now"], k["on_hold_now_qty"]) == (3, 530)
    # new: one per lot a day (L1's latest hold); L5's repeat counts once as a future hold
    assert (d4["new"], d4["new_qty"]) == (5, 380 + 50 + 70 + 10 + 20)
    assert (d4["released"], d5["released"]) == (3, 1)
    assert (d4["future"], d5["future"]) == (2, 0)
    with history.HistoryView(h) as v:
        p = v.reason_pareto(history.HistoryFilter(record_type="on_hold"))
    # on hold by reason: L1's two Q-Time holds add its 380 pcs once
    got = {r["reason"]: (r["count"], r["qty"]) for r in p.to_dict("records")}
    assert got == {"Q-Time": (2, 380), "YieldLimit": (1, 400), "BPM Hold": (1, 100),
                   "SBL Limit(PE)": (1, 50)}


def test_live_counts_each_lot_once(rec: Lanes) -> None:
    holds, _ = current.LiveHoldsWatcher().poll(rec, rec.settings)
    k = current.kpis(holds.lots)
    assert (k["lots"], k["qty"]) == (3, 380 + 100 + 70)
    ages = current.age_buckets(holds.lots, rec.settings)
    assert (ages["lots"].sum(), ages["qty"].sum()) == (3, 550)


def test_matrix_in_lots_and_in_qty(rec: Lanes) -> None:
    holds, _ = current.LiveHoldsWatcher().poll(rec, rec.settings)
    lots = current.matrix(holds.lots, "lots")
    qty = current.matrix(holds.lots, "qty")
    assert list(lots.index) == ["成型", "TMTT", current.TOTAL]
    assert lots.loc["TMTT", "SOD-323"] == 2 and lots.loc["成型", "SOT-23 CU"] == 1
    assert lots.loc["TMTT", "SOT-23 CU"] == 0 and lots.loc[current.TOTAL, current.TOTAL] == 3
    assert qty.loc["TMTT", "SOD-323"] == 450 and qty.loc["成型", "SOT-23 CU"] == 100
    assert qty.loc[current.TOTAL, current.TOTAL] == 550
    assert current.parse_matrix_measure(None) == "qty"  # the factory's report counts qty
    with pytest.raises(HoldInputError, match="choose one of qty, lots"):
        current.parse_matrix_measure("pieces")


def test_live_and_history_differences_list_exactly_the_lots(rec: Lanes) -> None:
    from core.holds import reconcile

    h = _rec_load(rec)
    holds, _ = current.LiveHoldsWatcher().poll(rec, rec.settings)
    with history.HistoryView(h) as v:
        c = reconcile.compare(holds.lots, holds.snapshot, v, history.HistoryFilter())
        q = reconcile.compare(holds.lots, holds.snapshot, v,
                              history.HistoryFilter(reasons=("YieldLimit",)))
    # the same count (3) from both sources, but not the same lots
    assert c.comparable and (c.live_lots, c.history_lots) == (3, 3)
    assert (c.live_qty, c.history_qty) == (550, 530)
    got = [(r["lot"], r["source"], r["reason"], r["station"], r["qty"])
           for r in c.differing.to_dict("records")]
    assert got == [("L3", reconcile.HISTORY, "SBL Limit(PE)", "TMTT", 50),
                   ("L4", reconcile.LIVE, "YieldLimit", "TMTT", 70)]
    out = c.as_dict()
    assert out["live"]["source"] == "live snapshot" and out["live"]["lots"] == 3
    assert out["history"]["source"] == "hold history" and out["history"]["lots"] == 3
    assert (out["only_live"], out["only_history"]) == (1, 1)
    assert [d["lot"] for d in out["differing_lots"]] == ["L3", "L4"]
    # a reason filter applies to both sides, each with its own reasons: L1 holds
    # YieldLimit in both; L4 only in the snapshot
    assert (q.live_lots, q.history_lots) == (2, 1)
    assert [(r["lot"], r["source"]) for r in q.differing.to_dict("records")] == [
        ("L4", reconcile.LIVE)]


def test_history_of_another_time_is_not_compared(rec: Lanes) -> None:
    from core.holds import reconcile

    h = history.load_history(rec, rec.settings, date(2026, 3, 3), date(2026, 3, 4), now=SNAP)
    holds, _ = current.LiveHoldsWatcher().poll(rec, rec.settings)
    with history.HistoryView(h) as v:
        c = reconcile.compare(holds.lots, holds.snapshot, v, history.HistoryFilter())
    assert not c.comparable and "different times" in (c.note or "")
    assert c.differing.empty and c.as_dict()["differing_lots"] == []


def test_partial_periods_are_marked(rec: Lanes) -> None:
    h = _rec_load(rec)
    with history.HistoryView(h) as v:
        days = v.trend(history.HistoryFilter())
        weeks = v.trend(history.HistoryFilter(), "week")
    # 03-05 is covered to the as-of time (08:00) only
    assert days["partial"].tolist() == [False, True]
    assert days["covered_to"].iloc[-1] == SNAP
    # 2026-03-04/05 (Wed, Thu) are part of the week of Monday 03-02: partial
    assert weeks["period"].tolist() == ["2026-W10"] and weeks["partial"].tolist() == [True]
    assert weeks["day"].tolist() == [date(2026, 3, 2)]
    assert (weeks["new"].iloc[0], weeks["released"].iloc[0]) == (5, 4)
    assert weeks["on_hold_end"].iloc[0] == 3  # at the end of its last covered day
    assert weeks["covered_from"].iloc[0] == datetime(2026, 3, 3, 7, 30)


def test_whole_periods_are_not_partial(hand: Lanes) -> None:
    # shift days 03-02..03-08 are the whole week of Monday 03-02, read after its end
    h = history.load_history(hand, hand.settings, date(2026, 3, 2), date(2026, 3, 8),
                             now=datetime(2026, 3, 10))
    with history.HistoryView(h) as v:
        weeks = v.trend(history.HistoryFilter(), "week")
        days = v.trend(history.HistoryFilter(), "day")
        months = v.trend(history.HistoryFilter(), "month")
    assert weeks["partial"].tolist() == [False]
    assert not days["partial"].any()
    assert months["partial"].tolist() == [True] and months["period"].tolist() == ["2026-03"]
    with pytest.raises(HoldInputError, match="Unknown period"):
        history.parse_grain("year")


def test_bucket_text_keeps_values_and_shows_units_in_words() -> None:
    """Bucket labels are values (URLs, filters, CLI); pages show bucket_text: in English
    the same text, the unit through core.fmt's words ('{n} d', '{n} h')."""
    from core.holds import bucket_text
    from core.holds._classify import duration_labels

    labels = classify.age_labels([1, 3, 7]) + duration_labels([4, 24, 72])
    assert [bucket_text(x) for x in labels] == labels
    assert bucket_text("odd") == "odd"
