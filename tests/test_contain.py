"""Containment on a hand-built factory with known answers, on real DuckDB and PostgreSQL.

The genealogy (ids are the hex of the names), machines M1/M2, window 2026-11-03..11-06:

    W1 -> A  (M1 track-in 11-05 10:00, consumed MAT-1)   W1 -> B (M1 11-07 00:00: after)
    W2 -> C  (M1 11-02 23:59: before; consumed MAT-1)    W2 -> D (M2 11-04, consumed MAT-2)
    W2 -> E  (M1 11-03 00:00 and 11-04: two track-ins)
    A -> A-01 (split; WIP, on hold YieldLimit)          A -> A-02 (split; merged into S1)
    A-01 -> R (GD rework; WIP, running, on a non-quality hold: status RUN)
    E -> S1 and A-02 -> S1 (merges; S1 finished as SER-1, not in WIP)
    E -> E-01 (split; left WIP after finished goods 成品入庫)
    E -> E-02 (split; in the snapshot without a work order: raw material, not WIP)
    D -> X (merge, serial SER-X); X -> Y and Y -> X (split cycle)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pyarrow.csv as pcsv
import pytest
import sqlalchemy as sa

from core import schema as t
from core.contain import ContainError, build_suspect, contain
from core.db import open_lanes
from core.db._engines import make_engine
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[1]


def cid(name: str) -> str:
    return name.encode().hex().upper().ljust(16, "0")[:16]


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


# name, work order, firstname, splitfromid, originalcontainerid
CONTAINERS = [
    ("W1", None, "W1", None, None), ("W2", None, "W2", None, None),
    ("A", "GA26110001", "W1", None, None), ("B", "GA26110001", "W1", None, None),
    ("C", "GA26110002", "W2", None, None), ("D", "GA26110002", "W2", None, None),
    ("E", "GA26110002", "W2", None, None),
    ("A-01", "GA26110001", "W1", "A", None), ("A-02", "GA26110001", "W1", "A", None),
    ("R", "GD26110001", "W1", None, "A-01"),
    ("E-01", "GA26110002", "W2", "E", None), ("E-02", "GA26110002", "W2", "E", None),
    ("S1", "GA26110009", None, None, None),
    ("X", "GA26110008", None, "Y", None), ("Y", "GA26110008", None, "X", None),
]
MERGES = [("S1", "E", "SER-1"), ("S1", "A-02", "SER-1"), ("X", "D", "SER-X")]
MACHINES = [("M1", "R-M1", "焊_DB_料"), ("M2", "R-M2", "焊_DB_料"), ("M3", "R-M3", "焊_DB_料")]
# lot, machine, track-in, workcenter
HISTORY = [
    ("A", "M1", "2026-11-05 10:00:00", "焊_DB_料"), ("B", "M1", "2026-11-07 00:00:00", "焊_DB_料"),
    ("C", "M1", "2026-11-02 23:59:59", "焊_DB_料"), ("D", "M2", "2026-11-04 08:00:00", "焊_DB_料"),
    ("E", "M1", "2026-11-03 00:00:00", "焊_DB_料"), ("E", "M1", "2026-11-04 12:00:00", "焊_DB_料"),
    ("A-01", "M3", "2026-11-08 00:00:00", "焊_DB_料"),
    ("E-01", None, "2026-11-15 00:00:00", "成品入庫"),
]
MATERIALS = [("A", "MAT-1", "2026-11-05 09:00:00"), ("C", "MAT-1", "2026-11-02 10:00:00"),
             ("D", "MAT-2", "2026-11-04 07:00:00")]
# lot, work order, qty, equipmentcount, currentholdcount, hold reason, station group
SNAPSHOT = [
    ("A-01", "GA26110001", 300, 0, 1, "YieldLimit", "成型"),
    ("R", "GD26110001", 40, 1, 1, "工程驗證(PE)", "電鍍"),
    ("B", "GA26110001", 999, 0, 0, None, "TMTT"),
    ("E-02", None, 77, 0, 0, None, "原物料倉"),
]
SPECS = [("DB-STEP", "10", "焊_DB_料", "焊接_DB", "1"),
         ("FG-STEP", "900", "成品入庫", "成品入庫", "12"), ("MO-STEP", "40", "成型", "成型", "4")]
SNAP_AT = ts("2026-11-20 08:00:00")


def load(url: str, schema: str) -> None:
    engine = make_engine(url, schema=schema, pool=None, read_only=False)
    if url.startswith("duckdb"):
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    t.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(t.container.insert(), [
            {"containerid": cid(n), "containername": n, "mfgordername": wo, "objecttype": "LOT",
             "firstname": first, "splitfromid": cid(s) if s else None,
             "originalcontainerid": cid(o) if o else None, "qty": 100}
            for n, wo, first, s, o in CONTAINERS])
        conn.execute(t.combinedassylots.insert(), [
            {"lotid": cid(lot), "containerid": cid(src), "containername": src,
             "finishedname": f} for lot, src, f in MERGES])
        conn.execute(t.resource.insert(), [
            {"resourceid": rid, "resourcename": n, "workcentername": wc}
            for n, rid, wc in MACHINES])
        conn.execute(t.lotwiphistory.insert(), [
            {"containerid": cid(lot), "workcentername": wc, "specname": "S",
             "equipmentid": f"R-{m}" if m else None, "equipmentname": m,
             "trackintimestamp": ts(at), "trackinqty": 100} for lot, m, at, wc in HISTORY])
        conn.execute(t.lotmaterialshistory.insert(), [
            {"containerid": cid(lot), "materialpartname": "LF", "materiallotname": mat,
             "txndate": ts(at), "qtyconsumed": 1} for lot, mat, at in MATERIALS])
        conn.execute(t.lot_v.insert(), [
            {"containerid": cid(lot), "lotid": lot, "workorder": wo, "qty": qty,
             "equipmentcount": eq, "currentholdcount": held, "holdreasonname": reason,
             "workcenter_group": group, "workcentername": group, "specname": "S",
             "agebydays": 1.5, "sys_date": SNAP_AT}
            for lot, wo, qty, eq, held, reason, group in SNAPSHOT])
        conn.execute(t.spec_workcenter.insert(), [
            {"spec": s, "specsequence": q, "work_center": wc, "work_center_group": g,
             "workcentersequence_group": gs} for s, q, wc, g, gs in SPECS])
    engine.dispose()


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def factory(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(url, schema) of the hand-built factory, per backend."""
    schema = f"contain_{uuid.uuid4().hex[:8]}"
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path_factory.mktemp('contain') / 'factory.duckdb'}"
        load(url, schema)
        yield url, schema
        return
    url = request.getfixturevalue("pg_url")
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        load(url, schema)
        yield url, schema
    finally:
        with engine.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def run(factory: tuple[str, str], kind: str, names: list[str], start: str | None = None,
        end: str | None = None, **overrides: object):
    url, schema = factory
    settings = make_settings(url, schema=schema, in_list_max=2, **overrides)  # tiny batches
    lanes = open_lanes(settings)
    try:
        suspect = build_suspect(kind, names, settings=settings, start=start, end=end)
        return contain(lanes, suspect, settings=settings)
    finally:
        lanes.close()


def by_name(table) -> dict[str, dict]:
    return {r["containername"]: r for r in table.to_pylist()}


def test_a_machine_window_picks_exactly_the_lots_tracked_in_on_it(factory) -> None:
    res = run(factory, "machine", ["M1"], "2026-11-03", "2026-11-06")
    exposed = by_name(res.exposed)
    # B after the end day, C before the start, D on another machine: out
    assert set(exposed) == {"A", "E"}
    assert exposed["A"]["first_at"] == ts("2026-11-05 10:00:00")
    assert exposed["E"]["first_at"] == ts("2026-11-03 00:00:00")  # the start is included
    assert exposed["E"]["events"] == 2 and exposed["E"]["via"] == "M1"
    both = run(factory, "machine", ["M1", "M2"], "2026-11-03", "2026-11-06")
    assert set(by_name(both.exposed)) == {"A", "D", "E"}
    assert res.truncated is None


def test_descendants_splits_merges_rework_and_one_serial(factory) -> None:
    res = run(factory, "machine", ["M1"], "2026-11-03", "2026-11-06")
    d = by_name(res.descendants)
    assert set(d) == {"A-01", "A-02", "R", "S1", "E-01", "E-02"}
    assert res.descendants.num_rows == 6  # S1, merged from two lots, is one descendant
    assert (d["A-01"]["parent_name"], d["A-01"]["edge_kind"]) == ("A", "split")
    assert (d["R"]["parent_name"], d["R"]["edge_kind"], d["R"]["kind"]) == ("A-01", "rework", "GD")
    # S1 merges E (exposed, depth 0) and A-02 (depth 1): reached from the shallower one
    assert (d["S1"]["parent_name"], d["S1"]["edge_kind"], d["S1"]["parents"]) == ("E", "merge", 2)
    assert d["S1"]["kind"] == "SERIAL" and d["S1"]["serial"] == "SER-1"
    assert res.serials == ["SER-1"]  # two lots merged into it: listed once
    assert res.kpis()["contain_serials"] == 1


def test_now_from_the_snapshot_and_where_the_others_went(factory) -> None:
    res = run(factory, "machine", ["M1"], "2026-11-03", "2026-11-06")
    lots = by_name(res.lots)
    assert {n: r["state"] for n, r in lots.items()} == {
        "A": "SPLIT", "E": "MERGED", "A-01": "WIP", "A-02": "MERGED", "R": "WIP",
        "S1": "FINISHED", "E-01": "FINISHED", "E-02": "LEFT_WIP"}
    a01, r = lots["A-01"], lots["R"]
    assert (a01["status"], a01["on_hold"], a01["hold_reason"], a01["hold_type"]) == (
        "HOLD", True, "YieldLimit", "quality")
    assert (a01["station_group"], a01["qty"], a01["days_at_station"]) == ("成型", 300, 1.5)
    assert (r["status"], r["on_hold"], r["hold_type"]) == ("RUN", True, "non-quality")
    assert res.snapshot_at == SNAP_AT
    assert res.kpis() == {
        "contain_exposed_lots": 2, "contain_descendant_lots": 6, "contain_serials": 1,
        "contain_wip_lots": 2, "contain_wip_qty": 340, "contain_held_lots": 2,
        "contain_held_qty": 340, "contain_not_held_lots": 0, "contain_finished_lots": 2,
        "contain_merged_lots": 2, "contain_split_lots": 1, "contain_left_wip_lots": 1}
    hold = res.hold_list()
    assert sorted(hold["lot"].to_pylist()) == ["A-01", "R"]


def test_an_exposed_descendant_counts_as_exposed_and_no_lot_is_an_empty_answer(factory) -> None:
    # A-01 (split from A) was itself tracked in on M3 on 11-08: exposed, not a descendant
    res = run(factory, "machine", ["M1", "M3"], "2026-11-03", "2026-11-08")
    assert set(by_name(res.exposed)) == {"A", "B", "E", "A-01"}
    assert "A-01" not in by_name(res.descendants)
    assert by_name(res.lots)["R"]["parent_name"] == "A-01"
    none = run(factory, "machine", ["M3"], "2026-11-01", "2026-11-02")
    assert none.exposed.num_rows == 0 and none.lots.num_rows == 0 and none.serials == []
    assert none.snapshot_at == SNAP_AT and none.truncated is None
    assert set(none.kpis().values()) == {0}


def test_a_cycle_in_the_genealogy_ends(factory) -> None:
    res = run(factory, "machine", ["M2"], "2026-11-03", "2026-11-06")
    assert set(by_name(res.exposed)) == {"D"}
    d = by_name(res.descendants)
    assert set(d) == {"X", "Y"}
    assert (d["Y"]["parent_name"], d["Y"]["edge_kind"]) == ("X", "split")
    assert res.serials == ["SER-X"] and res.truncated is None


def test_a_material_lot_as_suspect(factory) -> None:
    res = run(factory, "material_lot", ["MAT-1"])
    exposed = by_name(res.exposed)
    assert set(exposed) == {"A", "C"}
    assert exposed["C"]["first_at"] == ts("2026-11-02 10:00:00")
    assert set(by_name(res.descendants)) == {"A-01", "A-02", "R", "S1"}
    assert res.serials == ["SER-1"]


def test_a_wafer_lot_as_suspect(factory) -> None:
    res = run(factory, "wafer_lot", ["W2"])
    # lots whose firstname is W2; the wafer lot's own container is the origin, not a lot
    assert set(by_name(res.exposed)) == {"C", "D", "E", "E-01", "E-02"}
    assert set(by_name(res.descendants)) == {"S1", "X", "Y"}
    assert by_name(res.lots)["W2"]["role"] == "origin"
    assert res.serials == ["SER-1", "SER-X"]


def test_bounds_say_which_was_hit(factory) -> None:
    cut = run(factory, "machine", ["M1"], "2026-11-03", "2026-11-06", contain_max_lots=1)
    assert cut.truncated == "contain_max_lots (1 containers)"
    assert cut.exposed.num_rows <= 1
    deep = run(factory, "machine", ["M1"], "2026-11-03", "2026-11-06", contain_max_lots=4)
    assert set(by_name(deep.exposed)) == {"A", "E"}
    assert deep.truncated == "contain_max_lots (4 containers)" and deep.lots.num_rows <= 4


def test_unknown_names_are_messages(factory) -> None:
    for kind, names, start, end, text in [
        ("machine", ["M1", "NOPE"], "2026-11-03", "2026-11-06", "Unknown machine(s): NOPE"),
        ("material_lot", ["MAT-1", "MAT-9"], None, None, "MAT-9"),
        ("wafer_lot", ["W9"], None, None, "W9"),
    ]:
        with pytest.raises(ContainError, match=text.replace("(", r"\(").replace(")", r"\)")):
            run(factory, kind, names, start, end)


# --- the command ------------------------------------------------------------------------------


def cli(factory: tuple[str, str], *argv: str, **env: str) -> subprocess.CompletedProcess:
    url, schema = factory
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MES_")}
    return subprocess.run(
        [sys.executable, "-m", "core.cli", "contain", "--db", url, *argv],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**clean, "PYTHONPATH": str(ROOT), "MES_SCHEMA": schema, **env})


def test_cli_json_shape_and_csv(factory, tmp_path: Path) -> None:
    out = tmp_path / "hold.csv"
    done = cli(factory, "--machine", "M1", "--start", "2026-11-03", "--end", "2026-11-06",
               "--json", "--csv", str(out))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {"exposed", "descendants", "serials", "now", "truncated", "kpis"} <= set(data)
    assert data["truncated"] is None and data["serials"] == ["SER-1"]
    exposed = {e["name"]: e for e in data["exposed"]}
    assert set(exposed) == {"A", "E"}
    assert exposed["A"] == {"name": "A", "cid": cid("A"), "when": "2026-11-05T10:00:00",
                            "via": "M1", "events": 1, "state": "SPLIT"}
    d = {e["name"]: e for e in data["descendants"]}
    assert (d["S1"]["cid"], d["S1"]["kind"], d["S1"]["parent"]) == (cid("S1"), "SERIAL", cid("E"))
    now = {e["name"]: e for e in data["now"]}
    assert set(now) == {"A-01", "R"}
    assert now["A-01"]["station_group"] == "成型" and now["A-01"]["status"] == "HOLD"
    assert now["A-01"]["hold"] == {"reason": "YieldLimit", "type": "quality"}
    assert data["kpis"]["contain_wip_lots"] == 2 and data["kpis"]["contain_exposed_lots"] == 2
    rows = pcsv.read_csv(out).to_pylist()
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel's UTF-8 mark
    # headers are labels (core.labels' "defect trace and containment" section)
    from core.labels import label

    assert sorted(r[label("lot")] for r in rows) == ["A-01", "R"]


def test_cli_repeated_flags_add_names(factory) -> None:
    done = cli(factory, "--machine", "M1", "--machine", "M2", "--start", "2026-11-03",
               "--end", "2026-11-06", "--json")
    assert done.returncode == 0, done.stderr
    assert sorted(e["name"] for e in json.loads(done.stdout)["exposed"]) == ["A", "D", "E"]
    done = cli(factory, "--material-lot", "MAT-1", "MAT-2", "--json")
    assert done.returncode == 0, done.stderr
    assert sorted(e["name"] for e in json.loads(done.stdout)["exposed"]) == ["A", "C", "D"]


def test_cli_help_shows_an_example(factory) -> None:
    done = cli(factory, "--help")
    assert done.returncode == 0 and "mesdash contain --machine" in done.stdout


@pytest.mark.parametrize("argv, text", [
    (["--machine", "NOPE", "--start", "2026-11-03", "--end", "2026-11-06"], "Unknown machine"),
    (["--machine", "M1", "--start", "2026-11-06", "--end", "2026-11-03"], "before the start"),
    (["--machine", "M1"], "needs a time window"),
    (["--machine", "M1", "--start", "2026-11-01", "--end", "2027-11-01"], "contain_max_days"),
    (["--wafer-lot", "W2", "--start", "2026-11-01"], "with a machine only"),
])
def test_cli_bad_input_is_exit_1(factory, argv: list[str], text: str) -> None:
    done = cli(factory, *argv)
    assert done.returncode == 1, done.stderr
    assert text in done.stderr and "Traceback" not in done.stderr


def test_cli_database_down_is_exit_3(factory) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "contain", "--db",
         "postgresql+psycopg://postgres@127.0.0.1:1/test", "--wafer-lot", "W2"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("MES_")},
             "PYTHONPATH": str(ROOT)})
    assert done.returncode == 3 and "Traceback" not in done.stderr


def test_cli_busy_is_exit_4(factory, redis_url: str) -> None:
    import redis as redis_lib

    from core.db._throttle import RedisThrottle, throttle_name

    url, _schema = factory
    holder = RedisThrottle(redis_lib.Redis.from_url(redis_url), 1,
                           name=throttle_name(url, "slow"), lease_s=30)
    permit = holder.acquire(5)
    try:
        done = cli(factory, "--wafer-lot", "W2", MES_REDIS_URL=redis_url, MES_SLOW_PERMITS="1",
                   MES_SLOW_WORKERS="1", MES_SLOW_WAIT_S="0.5")
    finally:
        holder.release(permit)
        holder.close()
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr
