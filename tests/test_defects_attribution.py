"""Defect attribution on a hand-built factory with answers worked out by hand.

Seeds at TMTT (June 1–30): A (1000 in, 30 OPEN + 10 CRACK), B (latest pass 1000 in,
20+5 OPEN), C (1000, 5 CRACK), D (500, clean). E passed TMTT outside the range. A and B
are splits of P1, which ran on die-bond machine M1 with lead frame LF-1; C and D ran on
M2 with LF-2. A's FQC step (machine F1, box BX-9) comes after TMTT and must not count.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from core.db import Lanes, open_lanes
from core.defects import DefectInputError, DefectRequest, pareto
from core.defects._analysis import analyse_backward, analyse_forward
from core.defects._attribution import LIFT_UNBOUNDED
from core.defects._detection import detect
from core.schema import lotmaterialshistory, lotwiphistory, resource
from core.stations import load_station_map
from tests import defects_factory as f
from tests.conftest import make_settings


@pytest.fixture(params=["duckdb", "postgresql"])
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lanes]:
    if request.param == "duckdb":
        url, schema_name = f"duckdb:///{tmp_path / 'factory.duckdb'}", "dwh"
    else:
        url, schema_name = request.getfixturevalue("pg_url"), request.getfixturevalue(
            "pg_schema")
    f.build(url, schema_name)
    lanes = open_lanes(make_settings(url, schema=schema_name))
    yield lanes
    lanes.close()


def run(lanes: Lanes, **kw: object):
    req = DefectRequest.build(lanes.settings, station="TMTT", start="2026-06-01",
                              end="2026-06-30", **kw)
    stations = load_station_map(lanes, lanes.settings)
    det = detect(lanes, req, stations)
    history = lanes.slow.fetch_arrow(sa.select(
        lotwiphistory.c.containerid, lotwiphistory.c.workcentername,
        lotwiphistory.c.equipmentid, lotwiphistory.c.equipmentname,
        lotwiphistory.c.trackintimestamp))
    materials = lanes.slow.fetch_arrow(sa.select(
        lotmaterialshistory.c.containerid, lotmaterialshistory.c.workcentername,
        lotmaterialshistory.c.materialpartname, lotmaterialshistory.c.materiallotname,
        lotmaterialshistory.c.txndate))
    res = lanes.slow.fetch_arrow(sa.select(resource.c.resourcename,
                                           resource.c.resourcefamilyname))
    back = analyse_backward(det, f.edges_table(), history, materials, stations,
                            reasons_selected=req.reasons, resources=res)
    return det, back


def row(table: pa.Table, kind: str, factor: str) -> dict:
    rows = [r for r in table.to_pylist() if r["factor_kind"] == kind and r["factor"] == factor]
    assert len(rows) == 1, (kind, factor, table.to_pylist())
    return rows[0]


def test_seeds_are_latest_passes_with_clean_lots_in_the_denominator(factory: Lanes) -> None:
    det, back = run(factory)
    seeds = {r["containername"]: r for r in det.seeds.to_pylist()}
    assert set(seeds) == {"A", "B", "C", "D"}  # E passed outside the range
    assert seeds["B"]["input"] == 1000  # latest pass, not the earlier 900
    assert {n: s["defects"] for n, s in seeds.items()} == {"A": 40, "B": 25, "C": 5, "D": 0}
    assert back.kpis == {"detection_lots": 4, "defective_lots": 3, "detection_input": 3500,
                         "detection_charged": 70, "detection_uncharged": 0,
                         "detection_defects": 70, "detection_defect_rate_pct": 2.0,
                         "top_reason": "274_OPEN", "affected_machines": 4,
                         "unattributed_rows": 0}


def test_upstream_exposure_rate_lift_and_p_value(factory: Lanes) -> None:
    _, back = run(factory)
    m1 = row(back.factors, "machine", "焊接_DB / M1")
    assert (m1["lots"], m1["input"], m1["defects"]) == (2, 2000, 65)
    assert m1["rate"] == pytest.approx(65 / 2000)
    assert m1["rate_unexposed"] == pytest.approx(5 / 1500)
    assert m1["lift"] == pytest.approx((65 / 2000) / (5 / 1500))
    assert m1["p_value"] == pytest.approx(0.5)  # hypergeometric: C(3,2)C(1,0)/C(4,2)
    assert m1["detail"] == "ASM-AD838"
    wb1 = row(back.factors, "machine", "焊接_WB / WB1")
    assert (wb1["input"], wb1["defects"]) == (2000, 45)
    assert wb1["lift"] == pytest.approx((45 / 2000) / (25 / 1500))
    lf1 = row(back.factors, "material", "LF / LF-1")
    assert (lf1["lots"], lf1["defects"]) == (2, 65)
    assert row(back.factors, "wafer", "W1")["defects"] == 65
    assert row(back.factors, "detection_machine", "T2")["input"] == 1500
    kinds = {(r["factor_kind"], r["factor"]) for r in back.factors.to_pylist()}
    # steps at or after the detection station are not upstream
    assert ("machine", "FQC / F1") not in kinds and ("machine", "TMTT / T1") not in kinds
    assert ("material", "BOX / BX-9") not in kinds


def test_reason_filter_masks_only_the_numerator(factory: Lanes) -> None:
    _, back = run(factory, reasons=["274_OPEN"])
    assert back.kpis["detection_input"] == 3500 and back.kpis["detection_defects"] == 55
    m1 = row(back.factors, "machine", "焊接_DB / M1")
    assert (m1["input"], m1["defects"], m1["rate_unexposed"]) == (2000, 55, 0.0)
    # the unexposed lots had no defects: unbounded, null in data (never inf), ranked first
    assert (m1["lift"], m1["lift_note"]) == (None, LIFT_UNBOUNDED)
    assert [r["reason"] for r in back.reasons.to_pylist()] == ["274_OPEN"]


def test_type_and_package_filters_mask_both(factory: Lanes) -> None:
    def kpis(back) -> tuple[int, int, int]:
        k = back.kpis
        return k["detection_lots"], k["detection_input"], k["detection_defects"]

    _, back = run(factory, types=["X1"])
    assert kpis(back) == (3, 3000, 70)
    _, back = run(factory, packages=["PKG2"])
    assert kpis(back) == (1, 500, 0)


def test_reason_pareto_and_lot_detail(factory: Lanes) -> None:
    _, back = run(factory)
    reasons = back.reasons.to_pylist()
    assert [(r["reason"], r["defects"]) for r in reasons] == [("274_OPEN", 55),
                                                             ("001_CRACK", 15)]
    assert reasons[-1]["cumulative_pct"] == pytest.approx(100.0)
    lots = back.lots.to_pylist()
    a_rows = [r for r in lots if r["lot"] == "A"]
    assert {r["reason"]: r["defects"] for r in a_rows} == {"274_OPEN": 30, "001_CRACK": 10}
    assert a_rows[0]["upstream_machines"] == "焊接_DB / M1; 焊接_WB / WB1"
    assert a_rows[0]["wafer_lot"] == "W1"
    d_rows = [r for r in lots if r["lot"] == "D"]
    assert len(d_rows) == 1 and d_rows[0]["reason"] is None and d_rows[0]["defects"] == 0
    trend = back.trend.to_pylist()
    assert sum(r["input"] for r in trend) == 3500


def test_pareto_coverage_line_and_others_never_double_count(factory: Lanes) -> None:
    _, back = run(factory)
    p = pareto(back.factors, "machine", by="defects", top=2, exposures=back.exposures,
               seeds=back.seeds).to_pylist()
    assert [r["factor"] for r in p] == ["焊接_DB / M1", "焊接_WB / WB1", "others (2)"]
    # M1's lots (A, B) hold 65 of the 70 defective pcs; WB1 adds C (5); the others add
    # only D, a clean lot — not the 25 + 5 their own exposure sums would suggest.
    assert [round(r["cumulative_pct"], 3) for r in p] == [92.857, 100.0, 100.0]
    assert (p[-1]["lots"], p[-1]["input"], p[-1]["defects"]) == (1, 500, 0)
    plain = pareto(back.factors, "machine", by="defects", top=2).to_pylist()
    assert plain[-1]["cumulative_pct"] is None and plain[-1]["defects"] is None
    by_lift = pareto(back.factors, "machine", by="lift", top=10).to_pylist()
    assert by_lift[0]["factor"] == "焊接_DB / M1"
    with pytest.raises(ValueError):
        pareto(back.factors, "machine", by="color")


def test_coverage_stops_short_of_100_when_defective_lots_touched_no_factor() -> None:
    from core.defects._attribution import FACTOR_SCHEMA

    def factor(name: str, lots: int, defects: int) -> dict:
        return {"factor_kind": "machine", "factor": name, "detail": "", "lots": lots,
                "input": 100 * lots, "defects": defects, "charged": defects, "uncharged": 0}

    factors = pa.Table.from_pylist([factor("M1", 2, 15), factor("M2", 1, 5)],
                                   schema=FACTOR_SCHEMA)
    # L3 (20 of the 35 defective pcs) passed neither machine; L2 passed both
    exposures = pa.table({"containerid": ["L1", "L2", "L2"], "factor_kind": ["machine"] * 3,
                          "factor": ["M1", "M1", "M2"]})
    seeds = pa.table({"containerid": ["L1", "L2", "L3"], "input": [100, 100, 100],
                      "defects": [10, 5, 20], "charged": [10, 5, 20], "uncharged": [0, 0, 0]})
    p = pareto(factors, "machine", top=1, exposures=exposures, seeds=seeds).to_pylist()
    assert [r["factor"] for r in p] == ["M1", "others (1)"]
    assert [round(r["cumulative_pct"], 3) for r in p] == [42.857, 42.857]  # 15 of 35
    assert (p[-1]["lots"], p[-1]["defects"]) == (0, 0)  # M2 adds no lot M1 did not


def test_forward_counts_later_station_rejects_of_defective_lots(factory: Lanes) -> None:
    det, _ = run(factory)
    down = pa.table({"containerid": [f.cid("A")], "workcentername": ["FQC"],
                     "equipmentname": ["F1"], "lossreasonname": ["274_OPEN"],
                     "charged": pa.array([7], pa.int64()),
                     "defectqty": pa.array([0], pa.int64())})
    history = factory.slow.fetch_arrow(sa.select(
        lotwiphistory.c.containerid, lotwiphistory.c.workcentername,
        lotwiphistory.c.specname, lotwiphistory.c.equipmentname,
        lotwiphistory.c.trackintimestamp, lotwiphistory.c.trackinqty))
    fwd = analyse_forward(det, down, load_station_map(factory, factory.settings),
                          history=history)
    assert fwd["kpis"] == {"defective_lots": 3, "defective_input": 3000,
                           "downstream_rejects": 7, "downstream_uncharged": 0,
                           "unattributed_rows": 0,
                           # 7 downstream per 70 found at detection
                           "amplification": pytest.approx(0.1)}
    st = fwd["station"].to_pylist()
    # the rate's base is what A brought into FQC (960), not the detection input (3000)
    assert st == [{"factor": "FQC", "lots": 1, "input": 960, "rejects": 7, "uncharged": 0,
                   "rate": pytest.approx(7 / 960)}]


@pytest.mark.parametrize(("kw", "needle"), [
    ({"start": "2026-06-30", "end": "2026-06-01"}, "before the start date"),
    ({"start": "2026-01-01", "end": "2026-12-31"}, "longest allowed is 180 days"),
    ({"start": "June 1", "end": "2026-06-30"}, "is not a date"),
    ({"start": "2026-06-01", "end": "2026-06-30", "direction": "sideways"}, "backward or"),
])
def test_bad_input_is_a_clear_message(kw: dict, needle: str) -> None:
    settings = make_settings("duckdb:///:memory:")
    with pytest.raises(DefectInputError, match=needle):
        DefectRequest.build(settings, station="TMTT", **kw)


def test_unknown_station_lists_the_known_ones(factory: Lanes) -> None:
    req = DefectRequest.build(factory.settings, station="NOPE", start="2026-06-01",
                              end="2026-06-30")
    with pytest.raises(DefectInputError, match=r"Unknown detection station 'NOPE'.*TMTT"):
        detect(factory, req, load_station_map(factory, factory.settings))


def test_seeds_from_a_list_of_lots_with_unmatched_values(factory: Lanes) -> None:
    req = DefectRequest.build(factory.settings, station="TMTT", start="", end="",
                              seed_kind="lot", seed_values=["A", "C", "E", "NOPE*"])
    det = detect(factory, req, load_station_map(factory, factory.settings))
    seeds = {r["containername"]: r for r in det.seeds.to_pylist()}
    # E counts too: in list mode its latest pass at the station is a seed whatever the date
    assert set(seeds) == {"A", "C", "E"} and det.unmatched == ("NOPE*",)
    assert seeds["A"]["defects"] == 40 and seeds["E"]["input"] == 800
    ranged = DefectRequest.build(factory.settings, station="TMTT", start="2026-06-01",
                                 end="2026-06-30", seed_kind="lot", seed_values=["A", "E"])
    det = detect(factory, ranged, load_station_map(factory, factory.settings))
    assert det.seeds.column("containername").to_pylist() == ["A"]


def test_list_mode_needs_a_known_kind_and_range_mode_needs_dates() -> None:
    settings = make_settings("duckdb:///:memory:")
    with pytest.raises(DefectInputError, match="Seed list kind"):
        DefectRequest.build(settings, station="TMTT", start="", end="", seed_kind="serial",
                            seed_values=["X"])
    with pytest.raises(DefectInputError, match="Give a start and an end date"):
        DefectRequest.build(settings, station="TMTT", start="", end="")


def test_fisher_p_values_match_scipy_hypergeom_at_the_support_edges() -> None:
    import numpy as np
    from scipy.stats import hypergeom

    from core.defects._attribution import fisher_one_sided

    rng = np.random.default_rng(11)
    for n_lots, n_defective in [(1000, 120), (50, 49), (50, 0), (50, 50), (10, 3)]:
        lots = rng.integers(1, n_lots + 1, 500)
        bad = np.minimum(lots, rng.integers(0, n_defective + 1, 500))
        bad[:5] = 0  # no defective exposed lot: p = 1
        lots[5:10], bad[5:10] = n_lots, n_defective  # every lot exposed
        want = hypergeom.sf(bad - 1, n_lots, n_defective, lots)
        got = fisher_one_sided(bad, lots, n_defective, n_lots)
        assert not np.isnan(got).any()
        assert np.allclose(got, want, rtol=1e-9, atol=1e-15)


def test_fisher_p_values_match_scipy_at_the_incident_size_and_in_the_far_tails() -> None:
    """70K lots, 23K factors from 1 to 8000 exposed lots, counts from far below to far
    above the expectation: the vectorised tail equals scipy's to 1e-9 relative."""
    import numpy as np
    from scipy.stats import hypergeom

    from core.defects._attribution import fisher_one_sided

    rng = np.random.default_rng(3)
    for n_lots, n_defective in [(69666, 61000), (69666, 3000), (113420, 100)]:
        lots = np.concatenate([rng.integers(1, 5, 2000), rng.integers(5, 8000, 1000)])
        mean = lots * n_defective / n_lots
        bad = np.round(mean + rng.normal(0, 4, len(lots)) * np.sqrt(lots))
        bad = np.clip(bad, 0, np.minimum(lots, n_defective))
        want = hypergeom.sf(bad - 1, n_lots, n_defective, lots)
        got = fisher_one_sided(bad, lots, n_defective, n_lots)
        assert np.allclose(got, want, rtol=1e-9, atol=1e-300)
        assert (want < 1e-30).any() and (want > 0.999).any()  # both far tails were hit


def test_lot_detail_pages_add_up_to_the_whole(factory: Lanes, tmp_path) -> None:
    """The lot detail is built a page at a time when read: the pages, in order, are the
    whole detail; once the job's files are gone it says so."""
    from dataclasses import replace

    from core.defects._analysis import ResultExpired

    _, back = run(factory)
    whole = back.lot_detail()
    assert whole.num_rows == back.lot_rows() > 2
    pages = [back.lot_detail(i, 2) for i in range(0, whole.num_rows, 2)]
    assert pa.concat_tables(pages).equals(whole)
    assert back.lots.equals(whole)
    from core.export import csv_bytes  # the page's lot-detail download

    assert csv_bytes(whole).decode("utf-8-sig").count("\n") == 1 + whole.num_rows
    gone = replace(back, exposures=str(tmp_path / "expired" / "exposures.parquet"))
    with pytest.raises(ResultExpired, match="run it again"):
        gone.lot_detail(0, 10)
