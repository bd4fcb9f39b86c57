"""Reject history on a hand-built data set with known answers, on DuckDB and PostgreSQL.

Every rule of domain.md ("Reject (scrap) measures") has a row here: move-in repeated on
the reason rows of one event (with and without historymainlineid), the exclusion list by
code and by full name (and an inactive entry), NNN_/XXX_/ZZZ_/null reasons, a material
container, a PB_ package, a station group found by spec and one by workcenter, a machine
list, one lot rejected on two days, and a row outside the range. Two later days (D3, D4)
hold an event with the same reason on two rows (kept as two records, each with its own
comment, counted once for move-in) and an event that
disagrees with itself (machines and days differ between its rows), which takes the
slicer's general forms. The expected numbers are worked out by hand in the comments.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pyarrow.compute as pc
import pytest
import sqlalchemy as sa

from core import glossary, schema
from core.db import open_lanes
from core.db._engines import make_engine
from core.rejects._load import load_containers, load_range
from core.rejects._measures import DETAIL_COLUMNS, Filters, Selection
from core.rejects._policy import Policy
from core.rejects._slicer import Slicer
from tests.conftest import make_settings

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)
D3, D4 = date(2026, 3, 5), date(2026, 3, 6)

CONTAINERS = [
    dict(containerid="C000000000000001", containername="LOT-A1", mfgordername="GA26010001",
         objecttype="LOT", firstname="W1", productlinename="SOT-23", pj_type="T1",
         pj_function="TVS", productname="P1"),
    dict(containerid="C000000000000002", containername="LOT-B1", mfgordername="GC26010002",
         objecttype="LOT", firstname="W1", productlinename="SOD-323", pj_type="T2",
         pj_function="ZENER", productname="P2"),
    dict(containerid="C000000000000003", containername="LOT_PB", mfgordername="GA26010003",
         objecttype="LOT", firstname="W2", productlinename="PB_SMA", pj_type="T3",
         pj_function="SKY", productname="P3"),
    dict(containerid="M000000000000001", containername="MAT-1", mfgordername=None,
         objecttype="MATERIAL", firstname=None, productlinename=None, pj_type=None,
         pj_function=None, productname=None),
    dict(containerid="C000000000000004", containername="DUP-1", mfgordername="GA26010009",
         objecttype="LOT", firstname="W4", productlinename="SOT-23", pj_type="T1",
         pj_function="TVS", productname="P1"),
]
SPECS = [
    dict(spec="S-DB", specsequence="110", work_center="焊_DB", work_center_group="焊接_DB",
         workcentersequence_group="1"),
    dict(spec="S-TM", specsequence="200", work_center="TMTT", work_center_group="TMTT",
         workcentersequence_group="11"),
]
WIP_AS_OF = datetime(2026, 3, 7, 6, 0)
LOT_V = [  # the WIP snapshot: where a lot's workflow comes from (core.rejects._workflow)
    dict(containerid="C000000000000001", lotid="LOT-A1", workorder="GA26010001",
         workflowname="WF-A", sys_date=WIP_AS_OF),
    dict(containerid="C000000000000002", lotid="LOT-B1", workorder="GC26010002",
         workflowname="WF-B", sys_date=WIP_AS_OF),
    dict(containerid="C000000000000004", lotid="DUP-1", workorder="GA26010009",
         workflowname=None, sys_date=WIP_AS_OF),  # in WIP without a workflow: (none)
    # raw material in the store (no work order): not WIP, its workflow is not taken
    dict(containerid="M000000000000001", lotid="MAT-1", workorder=None,
         workflowname="WF-RAW", sys_date=WIP_AS_OF),
    # LOT_PB has left WIP: unknown
]
EXCLUDE = [
    dict(reason_id="X1", reason_name="358", description="by code", enable_flag="Y"),
    dict(reason_id="X2", reason_name="505_機台拋料", description="by name", enable_flag="Y"),
    dict(reason_id="X3", reason_name="402", description="inactive", enable_flag="N"),
]


def _rej(hml, cid, when, spec, wc, machine, movein, reason, specid="SP00000000000001",
         wo="same", **qty):
    cont = next(c for c in CONTAINERS if c["containerid"] == cid)
    row = dict(historymainlineid=hml, containerid=cid,
               pj_workorder=cont["mfgordername"] if wo == "same" else wo,
               workcentername=wc, specid=specid, specname=spec, equipmentname=machine,
               txndate=when, moveinqty=movein, lossreasonname=reason,
               rejectcategoryname="cat", rejectcomment=None, defectqty=None)
    for b in ("rejectqty", "standbyqty", "qtytoprocess", "inprocessqty", "processedqty"):
        row[b] = None
    row.update(qty)
    return row


C1, C2, C3, M1, C4 = (c["containerid"] for c in CONTAINERS)
T = datetime
REJECTS = [
    # E1: lot A1, day 1, move-in 1000 on 3 rows; 358 excluded by code
    _rej("H000000000000001", C1, T(2026, 3, 1, 10), "S-DB", "焊_DB", "DB-01", 1000,
         "274_OPEN", rejectqty=10, standbyqty=5, defectqty=3),
    _rej("H000000000000001", C1, T(2026, 3, 1, 10), "S-DB", "焊_DB", "DB-01", 1000,
         "275_SHORT", rejectqty=20),
    _rej("H000000000000001", C1, T(2026, 3, 1, 10), "S-DB", "焊_DB", "DB-01", 1000,
         "358_工程試作", rejectqty=7),
    # E2: no historymainlineid: fallback key (same lot, second, spec); group by workcenter;
    # a machine list; 505_機台拋料 excluded by full name
    _rej(None, C1, T(2026, 3, 1, 11, 0, 0, 300000), "S-UNKNOWN", "TMTT", "TM-01,TM-02",
         500, "274_OPEN", specid="SP00000000000009", rejectqty=4),
    _rej(None, C1, T(2026, 3, 1, 11, 0, 0, 700000), "S-UNKNOWN", "TMTT", "TM-01,TM-02",
         500, "505_機台拋料", specid="SP00000000000009", rejectqty=6),
    # E3: lot B1, day 2, move-in 2000; no work order on the row (the container's is used)
    _rej("H000000000000003", C2, T(2026, 3, 2, 9), "S-TM", "TMTT", "TM-02", 2000,
         "001_CRACK", wo=None, rejectqty=30, processedqty=10, inprocessqty=5, defectqty=8),
    _rej("H000000000000003", C2, T(2026, 3, 2, 9), "S-TM", "TMTT", "TM-02", 2000,
         "XXX_未分類", wo=None, rejectqty=9),
    _rej("H000000000000003", C2, T(2026, 3, 2, 9), "S-TM", "TMTT", "TM-02", 2000,
         "ZZZ_TEST", wo=None, rejectqty=3),
    _rej("H000000000000003", C2, T(2026, 3, 2, 9), "S-TM", "TMTT", "TM-02", 2000,
         "REWORK-SCRAP", wo=None, rejectqty=2),
    _rej("H000000000000003", C2, T(2026, 3, 2, 9), "S-TM", "TMTT", "TM-02", 2000,
         None, wo=None, rejectqty=1),
    _rej("H000000000000003", C2, T(2026, 3, 2, 9), "S-TM", "TMTT", "TM-02", 2000,
         "402_設備異常", wo=None, rejectqty=12),
    # E4: a PB_ package
    _rej("H000000000000004", C3, T(2026, 3, 2, 10), "S-TM", "TMTT", "TM-01", 800,
         "274_OPEN", rejectqty=50),
    # E5: a material container
    _rej("H000000000000005", M1, T(2026, 3, 1, 12), "S-DB", "焊_DB", "DB-02", 100,
         "012_來料不良", wo=None, rejectqty=25),
    # E6: lot A1 again, on day 2
    _rej("H000000000000006", C1, T(2026, 3, 2, 14), "S-TM", "TMTT", "TM-01", 900,
         "276_腳型不良", rejectqty=8),
    # outside the range
    _rej("H000000000000007", C2, T(2026, 2, 27, 14), "S-TM", "TMTT", "TM-01", 900,
         "001_CRACK", rejectqty=100),
    # D3: E7, lot DUP-1, move-in 300; 274_OPEN booked on two rows (5 + 7, comments a, b)
    _rej("H000000000000008", C4, T(2026, 3, 5, 8), "S-TM", "TMTT", "M-A", 300,
         "274_OPEN", rejectqty=5, rejectcomment="a"),
    _rej("H000000000000008", C4, T(2026, 3, 5, 8), "S-TM", "TMTT", "M-A", 300,
         "274_OPEN", rejectqty=7, rejectcomment="b"),
    _rej("H000000000000008", C4, T(2026, 3, 5, 8), "S-TM", "TMTT", "M-A", 300,
         "275_SHORT", rejectqty=2),
    # E8, lot DUP-1, move-in 400, disagreeing with itself: 001_CRACK on M-A and on M-B,
    # 276 on M-B just after midnight (D4)
    _rej("H000000000000009", C4, T(2026, 3, 5, 23), "S-TM", "TMTT", "M-A", 400,
         "001_CRACK", rejectqty=10),
    _rej("H000000000000009", C4, T(2026, 3, 5, 23), "S-TM", "TMTT", "M-B", 400,
         "001_CRACK", rejectqty=6),
    _rej("H000000000000009", C4, T(2026, 3, 6, 0, 30), "S-TM", "TMTT", "M-B", 400,
         "276_腳型不良", rejectqty=4),
]


def _fill(url: str, schema_name: str) -> None:
    engine = make_engine(url, schema=schema_name, pool=None, read_only=False)
    try:
        tables = [schema.container, schema.lotrejecthistory, schema.spec_workcenter,
                  schema.scrap_reasons_exclude, schema.lot_v]
        schema.metadata.create_all(engine, tables=tables)
        with engine.begin() as c:
            full = {col.key: None for col in schema.container.c}
            c.execute(sa.insert(schema.container), [{**full, **r} for r in CONTAINERS])
            c.execute(sa.insert(schema.lotrejecthistory), REJECTS)
            c.execute(sa.insert(schema.spec_workcenter), SPECS)
            c.execute(sa.insert(schema.scrap_reasons_exclude), EXCLUDE)
            wip = {col.key: None for col in schema.lot_v.c}
            c.execute(sa.insert(schema.lot_v), [{**wip, **r} for r in LOT_V])
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def _duck_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("rejects") / "hand.duckdb"
    url = f"duckdb:///{path}"
    engine = make_engine(url, pool=None, read_only=False)
    with engine.begin() as c:
        c.execute(sa.text("CREATE SCHEMA IF NOT EXISTS dwh"))
    engine.dispose()
    _fill(url, "dwh")
    return url


@pytest.fixture(params=["duckdb", "postgresql"])
def hand(request: pytest.FixtureRequest) -> Iterator[object]:
    if request.param == "duckdb":
        settings = make_settings(request.getfixturevalue("_duck_url"))
    else:
        pg_url, name = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema")
        _fill(pg_url, name)
        settings = make_settings(pg_url, schema=name)
    lanes = open_lanes(settings)
    yield lanes
    lanes.close()


@pytest.fixture
def sl(hand: object) -> Slicer:
    return Slicer(load_range(hand, D1, D2).table)


P = Policy()
F = Filters()


def test_default_policy_kpis(sl: Slicer) -> None:
    k = sl.kpis(P, F)
    # counted: E1 274 (15) + 275 (20); E2 274 (4); E3 001 (45) + 402 (12, inactive
    # exclusion); E6 276 (8). Defect apart: 3 + 8.
    assert k["charged"] == 104
    assert k["defect"] == 11
    assert k["total"] == 115
    assert k["charged_share_pct"] == pytest.approx(104 / 115 * 100, abs=1e-3)
    # once per event: E1 1000 + E2 500 + E3 2000 + E6 900 (naively 7400)
    assert k["movein"] == 4400
    assert k["reject_rate_pct"] == pytest.approx(104 / 4400 * 100, abs=1e-3)
    assert k["defect_rate_pct"] == pytest.approx(11 / 4400 * 100, abs=1e-3)
    # A1 on two days and several reasons counts once; B1
    assert k["lots"] == 2
    assert k["workorders"] == 2  # E3's row has no work order: the container's is used


@pytest.mark.parametrize(
    ("policy", "charged", "movein", "lots"),
    [
        (Policy(include_excluded=True), 104 + 7 + 6, 4400, 2),  # by code and by name
        (Policy(include_xxx_zzz=True), 104 + 9 + 3, 4400, 2),
        (Policy(include_non_nnn=True), 104 + 2 + 1, 4400, 2),  # REWORK-SCRAP, null
        (Policy(include_non_nnn=True, include_xxx_zzz=True), 104 + 15, 4400, 2),
        (Policy(include_material=True), 104 + 25, 4500, 3),
        (Policy(include_pb=True), 104 + 50, 5200, 3),
    ],
)
def test_toggles(sl: Slicer, policy: Policy, charged: int, movein: int, lots: int) -> None:
    k = sl.kpis(policy, F)
    assert (k["charged"], k["movein"], k["lots"]) == (charged, movein, lots)


def test_pb_counted_when_chosen(sl: Slicer) -> None:
    k = sl.kpis(P, Filters(package=("PB_SMA",)))
    assert (k["charged"], k["movein"], k["lots"]) == (50, 800, 1)
    assert "PB_ counted: PB_SMA" in P.chips(("PB_SMA",))


def test_reason_pareto_and_top80(sl: Slicer) -> None:
    df = sl.pareto(P, F, "reason")
    assert list(df["reason"]) == ["001_CRACK", "275_SHORT", "274_OPEN", "402_設備異常",
                                  "276_腳型不良"]
    assert list(df["charged"]) == [45, 20, 19, 12, 8]
    assert df["cum_pct"].iloc[-1] == pytest.approx(100)
    assert df["cum_pct"].iloc[2] == pytest.approx(84 / 104 * 100)
    # 274_OPEN crosses 80 % (62.5 -> 80.8): kept; 402 starts above 80: dropped
    top = sl.pareto(P, F, "reason", only_top80=True)
    assert list(top["reason"]) == ["001_CRACK", "275_SHORT", "274_OPEN"]
    # move-in per reason: 274_OPEN was in E1 and E2
    assert int(df.set_index("reason").loc["274_OPEN", "movein"]) == 1500
    defect = sl.pareto(P, F, "reason", "defect")
    assert list(defect["reason"]) == ["001_CRACK", "274_OPEN"]


def test_chart_keeps_the_top_bars_and_sums_the_rest_into_others(sl: Slicer) -> None:
    from core.rejects._measures import chart_items

    df = sl.pareto(P, F, "reason")
    assert chart_items(df, "reason", 5) is df  # fits: unchanged
    bars = chart_items(df, "reason", 2)
    assert list(bars["reason"]) == ["001_CRACK", "275_SHORT", "others (3)"]
    assert list(bars["charged"]) == [45, 20, 19 + 12 + 8]
    assert int(bars["movein"].iloc[-1]) == int(df["movein"].iloc[2:].sum())
    assert bars["cum_pct"].iloc[-1] == pytest.approx(100)
    assert bars["share_pct"].sum() == pytest.approx(100)
    assert bars["lots"].iloc[-1] is None or bars["lots"].isna().iloc[-1]  # distinct: no sum


def test_top80_exact_boundary() -> None:
    import pandas as pd

    from core.pareto import top80

    df = pd.DataFrame({"item": list("abc"), "cum_pct": [50.0, 80.0, 100.0]})
    assert list(top80(df)["item"]) == ["a", "b"]  # b reaches 80 %: included, then stop
    df = pd.DataFrame({"item": list("ab"), "cum_pct": [85.0, 100.0]})
    assert list(top80(df)["item"]) == ["a"]


def test_dimensions_station_group_and_machine(sl: Slicer) -> None:
    g = sl.pareto(P, F, "station_group")
    # E2 has an unknown spec: its workcenter TMTT gives the group
    assert dict(zip(g["station_group"], g["charged"], strict=True)) == {"TMTT": 69,
                                                                        "焊接_DB": 35}
    k = sl.kpis(P, Filters(machine=("TM-02",)))  # E2 lists TM-01,TM-02
    assert k["charged"] == 4 + 57
    k = sl.kpis(P, Filters(reason=("274_OPEN",)))
    assert (k["charged"], k["movein"], k["lots"]) == (19, 1500, 1)
    k = sl.kpis(P, Filters(station_group=("焊接_DB",), function=("TVS",)))
    assert (k["charged"], k["movein"]) == (35, 1000)
    assert "TM-02" in sl.options()["machine"]


def test_trend_and_period_filter(sl: Slicer) -> None:
    t = sl.trend(P, F, "day")
    assert list(t["label"]) == ["2026-03-01", "2026-03-02"]
    assert list(t["charged"]) == [39, 65]
    assert list(t["defect"]) == [3, 8]
    assert list(t["movein"]) == [1500, 2900]
    w = sl.trend(P, F, "week")
    # 2026-03-01 is a Sunday (ISO week 9), 03-02 a Monday (week 10)
    assert list(w["label"]) == ["2026-W09", "2026-W10"] and list(w["charged"]) == [39, 65]
    assert sl.kpis(P, Filters(period=("week", date(2026, 2, 23))))["charged"] == 39
    m = sl.trend(P, F, "month")
    assert list(m["label"]) == ["2026-03"] and list(m["movein"]) == [4400]
    k = sl.kpis(P, Filters(period=("day", D2)))
    assert (k["charged"], k["movein"], k["lots"]) == (65, 2900, 2)


def test_detail_paging_sorting_and_csv(sl: Slicer) -> None:
    rows, total = sl.detail(P, F, sort="charged", descending=True, page=1, page_size=2)
    assert total == 6
    assert list(rows["charged"]) == [45, 20]
    rows, _ = sl.detail(P, F, sort="charged", descending=True, page=3, page_size=2)
    assert list(rows["charged"]) == [8, 4]
    rows, total = sl.detail(P, F, Selection("reason", "274_OPEN"))
    assert total == 2 and set(rows["lot"]) == {"LOT-A1"}
    data = sl.csv_bytes(P, F)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    # labelled headers (core/labels.py; a measure's from the glossary), raw on request
    assert lines[0].startswith("Transaction time,LOT ID,WORKORDER,Station,Station group")
    assert glossary.label("charged") in lines[0].split(",")
    raw = sl.csv_bytes(P, F, raw_headers=True).decode("utf-8-sig").splitlines()
    assert raw[0].split(",") == list(DETAIL_COLUMNS)
    assert len(lines) == 1 + 6
    assert "焊接_DB" in data.decode("utf-8-sig")


def test_range_is_whole_days(hand: object) -> None:
    sl = Slicer(load_range(hand, date(2026, 2, 27), date(2026, 2, 27)).table)
    assert sl.kpis(P, F)["charged"] == 100
    assert Slicer(load_range(hand, D2, D2).table).kpis(P, F)["charged"] == 65


def test_container_list_with_wildcards_and_unmatched(hand: object) -> None:
    got = load_containers(hand, ["LOT-A*", "GC26010002", "LOT\\_PB", "NOPE-1", "X%"],
                          max_matches=100)
    assert got.unmatched == ("NOPE-1", "X%")
    assert got.containers == 3
    sl = Slicer(got.table)
    k = sl.kpis(Policy(include_pb=True), F)
    # A1: 35 + 4 + 8; B1: 57 plus its out-of-range 100 (a list has no range); PB: 50
    assert k["charged"] == 47 + 157 + 50
    # LOT_PB escaped: '_' literal, so LOT-PB would not match; a wafer lot W1 gives A1, B1
    got = load_containers(hand, ["W1"], max_matches=100)
    assert got.containers == 2 and not got.unmatched
    assert load_containers(hand, ["LOT?PB"], max_matches=100).unmatched == ("LOT?PB",)


def test_too_many_matches_is_refused(hand: object) -> None:
    from core.rejects._inputs import RejectInputError

    # core.values' resolver refuses as soon as the limit is passed: "more than 2"
    with pytest.raises(RejectInputError, match="matches more than 2 containers"):
        load_containers(hand, ["LOT*"], max_matches=2)


def test_slicing_never_queries_again(hand: object) -> None:
    loaded = load_range(hand, D1, D2)
    before = hand.stats()["slow"]["queries"]
    sl = Slicer(loaded.table)
    for policy in (P, Policy(include_excluded=True), Policy(include_pb=True)):
        for f in (F, Filters(package=("SOT-23",)), Filters(period=("week", date(2026, 2, 23)))):
            sl.kpis(policy, f)
            sl.trend(policy, f, "month")
            sl.pareto(policy, f, "machine", only_top80=True)
            sl.detail(policy, f, Selection("reason", "274_OPEN"))
            sl.csv_bytes(policy, f)
    assert hand.stats()["slow"]["queries"] == before


@pytest.fixture
def later(hand: object) -> Slicer:
    return Slicer(load_range(hand, D3, D4).table)


def test_reason_booked_twice_is_two_records_and_a_self_contradicting_event_counts_once(
    hand: object, later: Slicer
) -> None:
    table = load_range(hand, D3, D4).table
    e7 = [r for r in table.to_pylist() if r["event_key"] == "H000000000000008"]
    opens = sorted((r["charged"], r["comment"], r["moveinqty"]) for r in e7
                   if r["reason"] == "274_OPEN")
    # each record as booked, with its own comment; the event's move-in on both
    assert (len(e7), opens) == (3, [(5, "a", 300), (7, "b", 300)])
    k = later.kpis(P, F)
    # E7 5 + 7 + 2, E8 10 + 6 + 4; move-in 300 + 400, each event once; E8's two
    # 001_CRACK rows (M-A, M-B) stay apart: 6 records
    assert (k["charged"], k["movein"], k["events"], k["rows"], k["lots"]) == (34, 700, 2, 6, 1)
    by_reason = later.pareto(P, F, "reason").set_index("reason")
    assert by_reason.loc["001_CRACK", ["charged", "movein", "lots"]].tolist() == [16, 400, 1]
    assert by_reason.loc["274_OPEN", ["charged", "movein"]].tolist() == [12, 300]
    by_machine = later.pareto(P, F, "machine").set_index("machine")
    assert by_machine.loc["M-A", ["charged", "movein"]].tolist() == [24, 700]
    assert by_machine.loc["M-B", ["charged", "movein"]].tolist() == [10, 400]
    assert later.kpis(P, Filters(machine=("M-B",)))["movein"] == 400
    t = later.trend(P, F, "day")
    # per period each event once: E8 touches both days
    assert list(zip(t["label"], t["charged"], t["movein"], strict=True)) == [
        ("2026-03-05", 30, 700), ("2026-03-06", 4, 400)]
    assert list(later.trend(P, F, "month")["movein"]) == [700]


@pytest.mark.parametrize(("last", "drop", "short", "by_event"), [
    (D2, None, {"day", "machine", "station_group", "package", "reason_rows"}, True),
    # E7 books 274_OPEN on two records; without E8 every event agrees with itself
    (D4, "H000000000000009", {"day", "machine", "station_group", "package"}, True),
    (D4, None, {"station_group", "package"}, False),  # E8 splits machine, day and a reason
])
def test_short_and_general_forms_agree(
    hand: object, last: date, drop: str | None, short: set[str], by_event: bool
) -> None:
    """Where the data allow it the slicer takes short forms (the per-event table when
    every filter but the reason is a property of the event; grouping by event first for a
    dimension that is; a reason pareto summing rows, each (event, reason) once). Forcing
    the general (item, event) forms must give the same answers."""
    table = load_range(hand, D1, last).table
    if drop is not None:
        table = table.filter(pc.not_equal(table["event_key"], drop))
    fast, mid, general = Slicer(table), Slicer(table), Slicer(table)
    object.__setattr__(mid, "_by_event", False)  # per-dimension short forms only
    object.__setattr__(general, "_by_event", False)
    object.__setattr__(general, "_event_level", frozenset())
    assert fast._event_level & {"day", "machine", "station_group", "package",
                                "reason_rows"} == short
    assert fast._by_event is by_event
    filters = (F, Filters(machine=("TM-02", "M-B")), Filters(period=("day", D3)),
               Filters(reason=("274_OPEN", "001_CRACK"), package=("SOT-23", "PB_SMA")),
               Filters(station_group=("TMTT",), period=("week", date(2026, 2, 23))),
               Filters(workflow=("WF-A", "(none)"), machine=("TM-01",)))
    for policy in (P, Policy(include_excluded=True, include_pb=True),
                   Policy(True, True, True, True, True)):
        for f in filters:
            want = general.kpis(policy, f)
            assert fast.kpis(policy, f) == want and mid.kpis(policy, f) == want
            for dim in ("reason", "package", "station_group", "machine", "workflow"):
                want_p = general.pareto(policy, f, dim).to_dict("records")
                assert fast.pareto(policy, f, dim).to_dict("records") == want_p, dim
                assert mid.pareto(policy, f, dim).to_dict("records") == want_p, dim
            for grain in ("day", "week"):
                want_t = general.trend(policy, f, grain).to_dict("records")
                assert fast.trend(policy, f, grain).to_dict("records") == want_t, grain
                assert mid.trend(policy, f, grain).to_dict("records") == want_t, grain


def test_an_empty_range_slices_to_zeros(hand: object) -> None:
    sl = Slicer(load_range(hand, date(2026, 1, 1), date(2026, 1, 1)).table)
    assert sl.rows == 0
    k = sl.kpis(P, F)
    assert (k["charged"], k["movein"], k["lots"], k["reject_rate_pct"]) == (0, 0, 0, 0.0)
    assert sl.pareto(P, F, "reason").empty and sl.trend(P, F, "week").empty
    assert sl.options()["reason"] == []


def test_workcenter_map_override_reaches_reject_history(
    hand: object, tmp_path: Path
) -> None:
    """workcenter_map_file (core.stations) decides the station group here too: a step
    found in the view takes the override of its work center, a step missing from the view
    the override of the row's own work center."""
    override = tmp_path / "map.csv"
    override.write_text("work_center,work_center_group,workcentersequence_group\n"
                        "焊_DB,DB_NEW,1\nTMTT,TEST_NEW,11\n", encoding="utf-8")
    settings = replace(hand.settings, workcenter_map_file=str(override))  # type: ignore[attr-defined]
    lanes = open_lanes(settings)
    try:
        sl = Slicer(load_range(lanes, D1, D2).table)
    finally:
        lanes.close()
    g = sl.pareto(P, F, "station_group")
    # as test_dimensions_station_group_and_machine, under the new names: E1 by its step
    # S-DB (work center 焊_DB), E2 (unknown step) by its row's work center TMTT
    assert dict(zip(g["station_group"], g["charged"], strict=True)) == {"TEST_NEW": 69,
                                                                        "DB_NEW": 35}
    assert sl.options()["station_group"] == ["DB_NEW", "TEST_NEW"]


@pytest.mark.parametrize(
    ("reason", "excluded"),
    [
        ("358", True),  # the code itself, as a full name
        ("358_工程試作", True), ("358 TRIAL", True), ("358-TRIAL", True),  # code + separator
        ("3580_X", False), ("X358_A", False),  # another code; not at the start
        ("505_機台拋料", True), ("505_OTHER", False),  # by full name only
        (None, False),
    ],
)
def test_exclusion_list_matching(reason: str | None, excluded: bool) -> None:
    from core.rejects._records import reason_flags

    assert reason_flags(reason, ["358", "505_機台拋料"])["excluded"] is excluded


def test_a_load_runs_as_a_job_with_stages_and_gives_the_same_numbers(hand: object) -> None:
    from core.jobs import JobManager
    from core.rejects._load_job import RejectRequest, run_reject_load

    settings = hand.settings  # type: ignore[attr-defined]
    manager = JobManager(settings)
    try:
        request = RejectRequest("range", D1, D2)
        job = manager.submit(request.key(settings),
                             lambda j: run_reject_load(j, hand, request, settings),
                             label=request.label)
        assert job.wait(60) and job.state == "done", job.error
        assert [s["name"] for s in job.snapshot()["stages"]] == [
            "Reject records (slow lane)", "Local slicer"]
        assert job.snapshot()["stages"][0]["rows"] > 0
        assert job.result.slicer.kpis(P, F) == Slicer(load_range(hand, D1, D2).table).kpis(P, F)
        assert job.result.loaded.table.num_rows == 0  # the rows live in the slicer only
        listed = RejectRequest("list", values=("LOT-A*",))
        assert listed.key(settings) != request.key(settings)
        lj = manager.submit(listed.key(settings),
                            lambda j: run_reject_load(j, hand, listed, settings),
                            label=listed.label)
        assert lj.wait(60) and lj.state == "done", lj.error
        stage = lj.snapshot()["stages"][0]
        assert stage["total"] == lj.result.loaded.containers and stage["done"] == stage["total"]
        assert not lj.private  # small: shared by key
    finally:
        manager.close()


def test_a_cancelled_load_returns_every_permit_and_connection(hand: object) -> None:
    from core.jobs import Job
    from core.jobs._spool import Spool
    from core.rejects._load_job import RejectRequest, run_reject_load
    from tests.test_lanes import all_returned

    settings = hand.settings  # type: ignore[attr-defined]
    request = RejectRequest("range", D1, D2)
    job = Job(request.key(settings), request.label, Spool.create(settings))
    job.cancel_token.cancel()  # Cancel pressed before the query ran
    job.run(lambda j: run_reject_load(j, hand, request, settings))
    assert job.state == "cancelled" and job.result is None
    assert all_returned(hand)  # type: ignore[arg-type]
    job.spool.delete()


def test_keep_latest_bounds_the_memory_the_finished_loads_hold(hand: object) -> None:
    """reject_cache_mb: the newest loads are kept while their slicers hold at most the
    budget; the newest is always kept, even alone over it. Real loads and slicers."""
    from core.jobs import JobManager
    from core.rejects._load_job import RejectRequest, run_reject_load

    settings = hand.settings  # type: ignore[attr-defined]
    manager = JobManager(settings)
    try:
        jobs = []
        for first in (D1, D2, D3):
            request = RejectRequest("range", first, D4)
            job = manager.submit(request.key(settings),
                                 lambda j, r=request: run_reject_load(j, hand, r, settings),
                                 label=request.label)
            assert job.wait(60) and job.state == "done", job.error
            jobs.append(job)
        sizes = [j.result.size_bytes for j in jobs]
        assert all(size > 0 for size in sizes)
        assert [r["memory_mb"] for r in manager.overview()] == [
            round(size / 2**20, 1) for size in sizes]
        budget = sizes[2] + sizes[1]  # the two newest fit, the third does not
        assert manager.keep_latest("rejects:", 8, max_bytes=budget) == [jobs[0].id]
        assert manager.keep_latest("rejects:", 8, max_bytes=1) == [jobs[1].id]
        assert manager.get(jobs[2].id) is jobs[2]  # the newest stays, even over budget
    finally:
        manager.close()


def test_keep_latest_bounds_the_finished_loads_a_process_holds(hand: object) -> None:
    from core.jobs import JobManager

    manager = JobManager(hand.settings)  # type: ignore[attr-defined]
    try:
        jobs = [manager.submit(f"rejects:{i}", lambda j, i=i: i, label=str(i))
                for i in range(4)]
        other = manager.submit("trace:x", lambda j: "t", label="t")
        for j in [*jobs, other]:
            assert j.wait(10)
        gone = manager.keep_latest("rejects:", 2)
        assert len(gone) == 2 and manager.by_key("trace:x") is other
        kept = [j for j in jobs if manager.get(j.id) is not None]
        assert len(kept) == 2 and all(not j.spool.path.exists() for j in jobs
                                      if j not in kept)
    finally:
        manager.close()


def test_a_slicer_built_on_two_threads_slices_on_one_with_the_same_answers(
    hand: object,
) -> None:
    table = load_range(hand, D1, D4).table
    one, two = Slicer(table), Slicer(table, threads=2)
    assert two._con.sql("SELECT current_setting('threads')").fetchall() == [(1,)]
    for f in (F, Filters(machine=("M-B",)), Filters(reason=("274_OPEN",))):
        assert two.kpis(P, f) == one.kpis(P, f)
        assert two.pareto(P, f, "reason").equals(one.pareto(P, f, "reason"))


# --- issue 13: machine lists, the workflow dimension, partial periods ---------------------


@pytest.mark.parametrize(("equipment", "first"), [
    ("TM-01,TM-02", "TM-01"), (" TM-02 , TM-01", "TM-02"), ("DB-01", "DB-01"),
    (",M-B", "M-B"), ("", None), (None, None),
])
def test_first_listed_machine(equipment: str | None, first: str | None) -> None:
    from core.rejects._records import first_machine

    assert first_machine(equipment) == first


def test_machine_pareto_counts_a_machine_list_for_its_first_machine(sl: Slicer) -> None:
    """E2 is booked on "TM-01,TM-02": the pareto counts it (4 pcs, move-in 500) for TM-01
    only; a click on TM-01 shows it with the whole list; the machine filter still finds
    it under TM-02 (any listed machine)."""
    df = sl.pareto(P, F, "machine")
    assert list(zip(df["machine"], df["charged"], df["movein"], strict=True)) == [
        ("TM-02", 57, 2000), ("DB-01", 35, 1000), ("TM-01", 4 + 8, 500 + 900)]
    assert df["cum_pct"].iloc[-1] == pytest.approx(100)
    rows, total = sl.detail(P, F, Selection("machine", "TM-01"), sort="charged")
    assert total == 2
    assert sorted(zip(rows["machine"], rows["charged"], strict=True)) == [
        ("TM-01", 8), ("TM-01,TM-02", 4)]
    rows, total = sl.detail(P, F, Selection("machine", "TM-02"))
    assert total == 2 and set(rows["machine"]) == {"TM-02"}
    assert sl.kpis(P, Filters(machine=("TM-02",)))["charged"] == 4 + 57
    assert "TM-01,TM-02" not in sl.options()["machine"]


def test_workflow_dimension_from_the_wip_snapshot(hand: object) -> None:
    """LOT-A1 and LOT-B1 are in WIP with a workflow; DUP-1 is in WIP without one; LOT_PB
    has left WIP and the material lot is not WIP (its snapshot row has no work order)."""
    from core.rejects._workflow import UNKNOWN

    loaded = load_range(hand, D1, D2)
    assert loaded.workflow_as_of == WIP_AS_OF
    sl = Slicer(loaded.table)
    everything = Policy(include_pb=True, include_material=True)
    df = sl.pareto(everything, F, "workflow")
    # unknown: LOT_PB 50 (E4, 800) + MAT-1 25 (E5, 100); WF-B: E3 45 + 12 (2000);
    # WF-A: E1 35 + E2 4 + E6 8 (1000 + 500 + 900)
    assert list(zip(df["workflow"], df["charged"], df["movein"], strict=True)) == [
        (UNKNOWN, 75, 900), ("WF-B", 57, 2000), ("WF-A", 47, 2400)]
    assert sl.kpis(P, Filters(workflow=("WF-A",)))["charged"] == 47
    assert sl.options()["workflow"] == sorted([UNKNOWN, "WF-A", "WF-B"])
    rows, total = sl.detail(everything, F, Selection("workflow", UNKNOWN))
    assert total == 2 and set(rows["lot"]) == {"LOT_PB", "MAT-1"}
    later = Slicer(load_range(hand, D3, D4).table)
    assert later.pareto(P, F, "workflow")[["workflow", "charged"]].values.tolist() == [
        ["(none)", 34]]
    listed = Slicer(load_containers(hand, ["LOT-A1", "LOT_PB"], max_matches=10).table)
    got = listed.pareto(Policy(include_pb=True), F, "workflow")
    assert dict(zip(got["workflow"], got["charged"], strict=True)) == {"WF-A": 47,
                                                                      UNKNOWN: 50}


@pytest.mark.parametrize(("grain", "first", "last", "want"), [
    # whole days: a day is never cut, at either end
    ("day", date(2026, 11, 28), date(2026, 11, 30),
     [("2026-11-28", 1, 1), ("2026-11-29", 1, 1), ("2026-11-30", 1, 1)]),
    # Fri 11-27 .. Wed 12-09: Fri-Sun of the first week, Mon-Wed of the last
    ("week", date(2026, 11, 27), date(2026, 12, 9),
     [("2026-W48", 3, 7), ("2026-W49", 7, 7), ("2026-W50", 3, 7)]),
    ("month", date(2026, 11, 27), date(2026, 12, 4),
     [("2026-11", 4, 30), ("2026-12", 4, 31)]),
    ("month", date(2026, 10, 1), date(2026, 11, 30), [("2026-10", 31, 31), ("2026-11", 30, 30)]),
    ("month", date(2026, 2, 1), date(2026, 3, 30), [("2026-02", 28, 28), ("2026-03", 30, 31)]),
    ("week", date(2026, 11, 23), date(2026, 12, 6), [("2026-W48", 7, 7), ("2026-W49", 7, 7)]),
])
def test_partial_periods_at_both_ends(grain: str, first: date, last: date,
                                      want: list[tuple[str, int, int]]) -> None:
    from core.periods import period_label, periods

    got = periods(grain, (first, last))
    assert [(period_label(grain, c.start), c.days, c.period_days) for c in got] == want
    assert [c.partial for c in got] == [d < n for _, d, n in want]
    notes = [c.note() for c in got]
    assert notes == [f"partial ({d} of {n} days)" if d < n else "" for _, d, n in want]


def test_trend_says_which_periods_the_range_covers_in_part(sl: Slicer) -> None:
    m = sl.trend(P, F, "month", span=(D1, D2))
    assert m[["label", "days", "period_days", "partial", "coverage"]].values.tolist() == [
        ["2026-03", 2, 31, True, "partial (2 of 31 days)"]]
    w = sl.trend(P, F, "week", span=(D1, D2))  # Sunday 03-01 ends W09, Monday 03-02 opens W10
    assert list(w["coverage"]) == ["partial (1 of 7 days)", "partial (1 of 7 days)"]
    d = sl.trend(P, F, "day", span=(D1, D2))
    assert not d["partial"].any() and list(d["days"]) == [1, 1]
    whole = sl.trend(P, F, "month")  # a container list has no range: nothing is cut
    assert not whole["partial"].any() and list(whole["coverage"]) == [""]
