"""The defect trace's counting rules (issue 13) on a hand-built factory with answers worked
out by hand (tests/defects_factory.py, "counting"), on DuckDB and PostgreSQL.

Seeds at TMTT (June 1–30): G 1000 in (one track-in, rows 1000 / 600 / 200), 6 charged +
4 uncharged; H 500 in, 5 uncharged only; J 800 in, clean. Totals: 2300 in, 6 + 9 = 15.
G comes from P (die bond M1, lead frame LF-1); H ran on M2 with a lead frame of unknown
lot; J's die-bond row names no machine but carries M2's id. Every seed passed WB1.
Forward: G's child G-01 tracked into FQC 700 (rows 700 / 300), G 250, H 480.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from core import jsonsafe
from core.db import Lanes, open_lanes
from core.defects import DefectRequest, pareto, ranked
from core.defects._analysis import UNKNOWN_LOT, analyse_backward, analyse_forward
from core.defects._attribution import LIFT_UNBOUNDED, LIFT_UNDEFINED
from core.defects._defect_job import resources_query
from core.defects._detection import detect
from core.export import csv_bytes
from core.schema import lotmaterialshistory, lotrejecthistory, lotwiphistory
from core.scrap import charged_scrap
from core.stations import load_station_map
from core.stepqty import entered_qty
from tests import defects_factory as f
from tests.conftest import make_settings
from tests.test_cli import mesdash


@pytest.fixture(params=["duckdb", "postgresql"])
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lanes]:
    if request.param == "duckdb":
        url, schema_name = f"duckdb:///{tmp_path / 'counting.duckdb'}", "dwh"
    else:
        url, schema_name = request.getfixturevalue("pg_url"), request.getfixturevalue(
            "pg_schema")
    f.build_counting(url, schema_name)
    lanes = open_lanes(make_settings(url, schema=schema_name,
                                     spool_dir=str(tmp_path / "spool")))
    yield lanes
    lanes.close()


def _history(lanes: Lanes) -> pa.Table:
    h = lotwiphistory.c
    return lanes.slow.fetch_arrow(sa.select(
        h.containerid, h.workcentername, h.specname, h.equipmentid, h.equipmentname,
        h.trackintimestamp, h.trackinqty))


def backward(lanes: Lanes, now: dt.datetime | None = None, **kw: object):
    req = DefectRequest.build(lanes.settings, station="TMTT", start="2026-06-01",
                              end="2026-06-30", **kw)
    stations = load_station_map(lanes, lanes.settings)
    det = detect(lanes, req, stations)
    m = lotmaterialshistory.c
    materials = lanes.slow.fetch_arrow(sa.select(
        m.containerid, m.workcentername, m.materialpartname, m.materiallotname, m.txndate))
    back = analyse_backward(det, f.counting_edges(), _history(lanes), materials, stations,
                            reasons_selected=req.reasons,
                            resources=lanes.slow.fetch_arrow(resources_query()),
                            period=(req.start_ts, req.end_ts), now=now)
    return det, back


def factor(table: pa.Table, kind: str, name: str) -> dict:
    rows = [r for r in table.to_pylist() if r["factor_kind"] == kind and r["factor"] == name]
    assert len(rows) == 1, (kind, name, [r["factor"] for r in table.to_pylist()])
    return rows[0]


def test_defects_are_charged_plus_uncharged_and_both_parts_stay_visible(
    factory: Lanes,
) -> None:
    det, back = backward(factory)
    seeds = {r["containername"]: r for r in det.seeds.to_pylist()}
    assert {n: (s["charged"], s["uncharged"], s["defects"], s["defective"])
            for n, s in seeds.items()} == {"G": (6, 4, 10, True), "H": (0, 5, 5, True),
                                           "J": (0, 0, 0, False)}
    assert back.kpis == {
        "detection_lots": 3, "defective_lots": 2, "detection_input": 2300,
        "detection_charged": 6, "detection_uncharged": 9, "detection_defects": 15,
        "detection_defect_rate_pct": pytest.approx(100 * 15 / 2300),
        "top_reason": "274_OPEN", "affected_machines": 3, "unattributed_rows": 2}
    m2 = factor(back.factors, "machine", "焊接_DB / M2")  # H only uncharged, J clean
    assert (m2["defects"], m2["charged"], m2["uncharged"]) == (5, 0, 5)
    assert [(r["reason"], r["defects"], r["charged"], r["uncharged"], r["lots"])
            for r in back.reasons.to_pylist()] == [("274_OPEN", 10, 6, 4, 1),
                                                   ("001_CRACK", 5, 0, 5, 1)]
    lots = {(r["lot"], r["reason"]): (r["defects"], r["charged"], r["uncharged"])
            for r in back.lots.to_pylist()}
    assert lots == {("G", "274_OPEN"): (10, 6, 4), ("H", "001_CRACK"): (5, 0, 5),
                    ("J", None): (0, 0, 0)}
    assert [(r["charged"], r["uncharged"], r["defects"]) for r in back.trend.to_pylist()] \
        == [(6, 9, 15), (0, 0, 0)]
    top = pareto(back.factors, "machine", top=1, exposures=back.exposures, seeds=back.seeds)
    assert [(r["factor"], r["charged"], r["uncharged"]) for r in top.to_pylist()] == [
        ("焊接_WB / WB1", 6, 9), ("others (2)", 0, 0)]
    # the reason filter masks the numerator only, in both parts
    _, crack = backward(factory, reasons=["001_CRACK"])
    assert (crack.kpis["detection_input"], crack.kpis["detection_charged"],
            crack.kpis["detection_uncharged"]) == (2300, 0, 5)


def test_detection_input_is_the_largest_trackinqty_of_the_track_in(factory: Lanes) -> None:
    det, back = backward(factory)
    inputs = {r["containername"]: r["input"] for r in det.seeds.to_pylist()}
    assert inputs == {"G": 1000, "H": 500, "J": 800}  # not G's last row (200), nor 1800
    assert factor(back.factors, "machine", "焊接_DB / M1")["input"] == 1000
    assert sum(r["input"] for r in back.trend.to_pylist()) == 2300


def test_entered_quantity_rule_in_arrow_and_in_trace_shaping() -> None:
    t0 = dt.datetime(2026, 6, 6, 8)
    table = pa.table({
        "containerid": ["G", "G", "G", "X", "G"], "specname": ["S", "S", "S", "S", "S2"],
        "trackintimestamp": [t0, t0, t0, t0, t0],
        "trackinqty": pa.array([600, 1000, 200, None, 5], pa.int64())})
    assert entered_qty(table).to_pylist() == [1000, 1000, 1000, None, 5]
    from core.trace._shaping import history_shape

    rows = {"containerid": ["G"] * 3, "workcentername": ["TMTT"] * 3, "specname": ["S"] * 3,
            "equipmentid": ["T1"] * 3, "equipmentname": ["T1"] * 3,
            "trackintimestamp": [t0] * 3,
            "trackouttimestamp": [t0 + dt.timedelta(hours=h) for h in (1, 2, 3)],
            "trackinqty": pa.array([1000, 600, 200], pa.int64()),
            "trackoutqty": pa.array([400, 400, 190], pa.int64()),
            "finishedruncard": [None] * 3, "pj_workorder": [None] * 3}
    stations = pa.table({"work_center": ["TMTT"], "station_group": ["TMTT"],
                         "group_seq": pa.array([11], pa.int64())})
    shaped = history_shape(pa.table(rows), stations).to_pylist()
    # the latest track-out row is kept, with the quantity that entered the step
    assert [(r["trackinqty"], r["trackoutqty"]) for r in shaped] == [(1000, 190)]


def test_unknown_keys_are_attributed_and_unplaceable_rows_counted(factory: Lanes) -> None:
    _, back = backward(factory)
    unknown = factor(back.factors, "material", f"LF / {UNKNOWN_LOT}")  # null and '' lots
    assert (unknown["lots"], unknown["input"], unknown["defects"]) == (1, 500, 5)
    # J's die-bond row has M2's id but no name: it still counts for M2
    assert factor(back.factors, "machine", "焊接_DB / M2")["lots"] == 2
    names = {r["factor"] for r in back.factors.to_pylist()}
    assert not any(n.startswith("machine id") or "ZZ" in n or "GLUE" in n for n in names)
    assert back.scope["unattributed"]["history_rows"] == 1
    assert back.scope["unattributed"]["material_rows"] == 1
    h_rows = [r for r in back.lots.to_pylist() if r["lot"] == "H"]
    assert h_rows[0]["materials"] == f"LF / {UNKNOWN_LOT}"


def test_lift_is_null_when_every_lot_was_exposed_and_ranks_last(factory: Lanes) -> None:
    _, back = backward(factory)
    wb1 = factor(back.factors, "machine", "焊接_WB / WB1")
    assert (wb1["lift"], wb1["lift_note"], wb1["rate_unexposed"]) == (None, LIFT_UNDEFINED,
                                                                       None)
    m1 = factor(back.factors, "machine", "焊接_DB / M1")
    assert m1["lift"] == pytest.approx((10 / 1000) / (5 / 1300)) and m1["lift_note"] is None
    by_lift = ranked(back.factors, "machine", "lift").column("factor").to_pylist()
    assert by_lift == ["焊接_DB / M1", "焊接_DB / M2", "焊接_WB / WB1"]
    # T1's unexposed lot (J) is clean: unbounded, null too, but ranked first
    t1 = factor(back.factors, "detection_machine", "T1")
    assert (t1["lift"], t1["lift_note"]) == (None, LIFT_UNBOUNDED)
    t2 = factor(back.factors, "detection_machine", "T2")
    assert (t2["lift"], t2["lift_note"]) == (0.0, None)
    assert ranked(back.factors, "detection_machine", "lift").column(
        "factor").to_pylist() == ["T1", "T2"]
    # the CSV download holds an empty cell, never inf or nan
    text = csv_bytes(back.factors).decode("utf-8-sig")
    assert "inf" not in text.lower() and "nan" not in text.lower()
    assert f',,"{LIFT_UNDEFINED}",' in text  # empty lift, then the note


def test_json_never_holds_inf_nan_or_python_reprs() -> None:
    value = {"a": float("inf"), "b": float("nan"), "c": (), "d": {1: (1, 2)},
             "e": dt.date(2026, 6, 1), "f": pa.array([1.0, None, float("-inf")])}
    text = jsonsafe.dumps(value)
    assert json.loads(text) == {"a": None, "b": None, "c": [], "d": {"1": [1, 2]},
                                "e": "2026-06-01", "f": [1.0, None, None]}
    for bad in ("Infinity", "NaN", '"inf"', '"()"'):
        assert bad not in text


def test_forward_rate_uses_the_descendants_own_track_in_at_the_station(
    factory: Lanes,
) -> None:
    req = DefectRequest.build(factory.settings, station="TMTT", start="2026-06-01",
                              end="2026-06-30", direction="forward")
    stations = load_station_map(factory, factory.settings)
    det = detect(factory, req, stations)
    r = lotrejecthistory.c
    down = factory.slow.fetch_arrow(sa.select(
        r.containerid, r.workcentername, r.equipmentname, r.lossreasonname,
        charged_scrap().label("charged"),
        sa.func.coalesce(r.defectqty, sa.literal(0)).label("defectqty"),
    ).where(r.workcentername != "TMTT"))
    fwd = analyse_forward(det, down, stations, history=_history(factory),
                          since=req.start_ts)
    # FQC: G-01 700 (not its last row's 300) + G 250 + H 480 = 1430, not the 1500 in
    assert fwd["station"].to_pylist() == [
        {"factor": "FQC", "lots": 2, "input": 1430, "rejects": 10, "uncharged": 2,
         "rate": pytest.approx(10 / 1430)}]
    machines = {m["factor"]: (m["input"], m["rate"]) for m in fwd["machine"].to_pylist()}
    assert machines == {"F1": (950, pytest.approx(7 / 950)),
                        "F2": (480, pytest.approx(3 / 480))}
    reasons = {m["factor"]: (m["input"], m["rejects"]) for m in fwd["reason"].to_pylist()}
    assert reasons == {"274_OPEN": (1430, 7), "001_CRACK": (1430, 3)}
    assert fwd["kpis"] == {"defective_lots": 2, "defective_input": 1500,
                           "downstream_rejects": 10, "downstream_uncharged": 2,
                           "unattributed_rows": 1, "amplification": pytest.approx(0.8)}
    # without the descendants' history the rate is unknown, never the detection input
    bare = analyse_forward(det, down, stations)
    assert bare["station"].to_pylist()[0]["rate"] is None
    # per defective lot (with the lineage), the reason × station matrix, amplification
    fwd = analyse_forward(det, down, stations, history=_history(factory),
                          since=req.start_ts, edges=f.counting_edges())
    lots = {r["containername"]: r for r in fwd["lots"].to_pylist()}
    assert {n: (r["detection_defects"], r["descendants"], r["stations_reached"],
                r["downstream_rejects"], r["downstream_uncharged"], r["worst_station"])
            for n, r in lots.items()} == {"G": (10, 1, 1, 7, 2, "FQC"),
                                          "H": (5, 0, 1, 3, 0, "FQC")}
    assert fwd["matrix"].to_pylist() == [
        {"reason": "001_CRACK", "station_group": "FQC", "rejects": 3, "uncharged": 0},
        {"reason": "274_OPEN", "station_group": "FQC", "rejects": 7, "uncharged": 2}]
    # (7 + 3 charged + 2 uncharged downstream) / (10 + 5 defects at detection)
    assert fwd["kpis"]["amplification"] == pytest.approx(12 / 15)


def test_trend_marks_a_day_the_range_covers_in_part(factory: Lanes) -> None:
    _, back = backward(factory, now=f.day(6, 4))  # June 7, noon: J's day is not over
    assert [(r["day"], r["lots"], r["partial"]) for r in back.trend.to_pylist()] == [
        (dt.date(2026, 6, 6), 2, False), (dt.date(2026, 6, 7), 1, True)]


def test_cli_json_prints_both_parts_and_a_null_lift(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'counting.duckdb'}"
    f.build_counting(url)
    env = {"MES_DB_URL": url, "MES_SPOOL_DIR": str(tmp_path / "spool")}
    res = mesdash("defects", "--station", "TMTT", "--start", "2026-06-01", "--end",
                  "2026-06-30", "--json", env=env)
    assert res.returncode == 0, res.stderr
    for bad in ("Infinity", "NaN", '"inf"', '"()"'):
        assert bad not in res.stdout
    data = json.loads(res.stdout)
    k = data["kpis"]
    assert (k["detection_charged"], k["detection_uncharged"], k["detection_defects"],
            k["detection_input"]) == (6, 9, 15, 2300)
    assert data["request"]["reasons"] == [] and data["request"]["start"] == "2026-06-01"
    wb1 = next(r for r in data["paretos"]["machine"] if r["factor"] == "焊接_WB / WB1")
    assert wb1["lift"] is None and wb1["lift_note"] == LIFT_UNDEFINED
    assert (wb1["defects"], wb1["charged"], wb1["uncharged"]) == (15, 6, 9)
    assert data["paretos"]["reason"][0] == {
        "factor": "274_OPEN", "defects": 10, "charged": 6, "uncharged": 4, "lots": 1,
        "share_pct": pytest.approx(100 * 10 / 15), "cumulative_pct": pytest.approx(
            100 * 10 / 15)}
    fwd = mesdash("defects", "--station", "TMTT", "--start", "2026-06-01", "--end",
                  "2026-06-30", "--direction", "forward", "--json", env=env)
    assert fwd.returncode == 0, fwd.stderr
    forward = json.loads(fwd.stdout)
    assert forward["paretos"]["station"] == [
        {"factor": "FQC", "lots": 2, "input": 1430, "rejects": 10, "uncharged": 2,
         "rate": pytest.approx(10 / 1430)}]
    assert forward["kpis"]["amplification"] == pytest.approx(12 / 15)
    assert {r["containername"]: r["worst_station"] for r in forward["forward_lots"]} == {
        "G": "FQC", "H": "FQC"}
    assert len(forward["forward_matrix"]) == 2
