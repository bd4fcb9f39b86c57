"""The trace engine on real DuckDB and PostgreSQL: seeds, lineage, domains, spool.

A hand-built genealogy with known answers (core.schema tables in a tmp DuckDB file and
a fresh PostgreSQL schema): a wafer-origin split chain 8 deep, a merge of a merge, GD
rework (with and without originalcontainerid), a split cycle, a self-reference, two
wafer lots (several roots), and names with underscores for the escape rules.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from core import schema as t
from core.db import Lanes, open_lanes
from core.db._engines import make_engine
from core.jobs import Spool
from core.trace import (
    DOMAINS,
    SeedError,
    fetch_domain,
    resolve_seeds,
    trace_lineage,
)
from core.trace import _domains as domains_mod
from tests.conftest import make_settings


def cid(name: str) -> str:
    return name.encode().hex().upper().ljust(16, "0")[:16]


T0 = dt.datetime(2026, 1, 5, 8, 0, 0)

# name, work order, firstname, splitfrom (name), original (name)
CONTAINERS: list[tuple[str, str | None, str | None, str | None, str | None]] = [
    ("WAF1", None, "WAF1", None, None),
    ("WAF2", None, "WAF2", None, None),
    ("GA-A", "GA26010001", "WAF1", None, None),
    *[
        (f"GA-A{i}", "GA26010001", "WAF1", "GA-A" if i == 1 else f"GA-A{i - 1}", None)
        for i in range(1, 9)
    ],
    ("GC-B", "GC26010002", "WAF2", None, None),
    ("GA-C", "GA26010003", "WAF2", None, None),
    ("GA-M1", "GA26010001", "WAF1", None, None),  # combined from A2 + B
    ("GA-M2", "GA26010001", "WAF1", None, None),  # combined from M1 + C
    ("GD-G", "GD26010001", "WAF1", "GA-A1", "GA-A1"),  # rework of A1
    ("GD-G2", "GD26010001", "WAF1", "GD-G", None),  # split of a GD lot: rework edge
    ("GA-X", "GA26010009", "WAF3", "GA-Y", None),  # cycle X <-> Y
    ("GA-Y", "GA26010009", "WAF3", "GA-X", None),
    ("GA-Z", "GA26010009", "WAF3", "GA-X", None),
    ("GA-S", "GA26010010", "WAF3", "GA-S", None),  # self-reference
    ("LOT_X1", "GA26010011", None, None, None),
    ("LOTAX1", "GA26010011", None, None, None),
]
MERGES = [("GA-M1", "GA-A2", "SER1"), ("GA-M1", "GC-B", "SER1"),
          ("GA-M2", "GA-M1", "SER2"), ("GA-M2", "GA-C", "SER2")]
N = {name: cid(name) for name, *_ in CONTAINERS}


def _rows() -> dict[sa.Table, list[dict]]:
    containers = [
        {"containerid": N[n], "containername": n, "mfgordername": wo, "objecttype": "LOT",
         "firstname": fn, "splitfromid": N.get(sf) if sf else None,
         "originalcontainerid": N.get(orig) if orig else None, "qty": 1000,
         "createdate": T0}
        for n, wo, fn, sf, orig in CONTAINERS
    ]
    merges = [{"lotid": N[lot], "containerid": N[src], "containername": src,
               "finishedname": ser, "pj_workorder": "GA26010001"} for lot, src, ser in MERGES]
    history, rejects, materials, holds = [], [], [], []
    for i, (n, *_rest) in enumerate(CONTAINERS):
        tin = T0 + dt.timedelta(hours=i)
        base = {"containerid": N[n], "workcentername": "TMTT", "specname": "TMTT測試",
                "equipmentid": cid("EQ1"), "equipmentname": "TM-001", "trackintimestamp": tin,
                "trackinqty": 100, "pj_workorder": "GA26010001"}
        # a partial track-out: two rows of one pass; the later one is kept
        history.append({**base, "trackouttimestamp": tin + dt.timedelta(minutes=10),
                        "trackoutqty": 40})
        history.append({**base, "trackouttimestamp": tin + dt.timedelta(minutes=30),
                        "trackoutqty": 60})
        rejects.append({"historymainlineid": cid(f"H{i}"), "containerid": N[n],
                        "txndate": tin, "moveinqty": 100, "lossreasonname": "001_CRACK",
                        "rejectqty": 2, "standbyqty": None, "qtytoprocess": 1,
                        "inprocessqty": None, "processedqty": 0, "defectqty": 5})
        materials.append({"containerid": N[n], "materialpartname": "LF-1",
                          "materiallotname": f"ML{i % 3}", "qtyconsumed": 1.5, "txndate": tin})
        holds.append({"containerid": N[n], "holdtxndate": tin, "holdreasonname": "Q-Time",
                      "releasetxndate": None if i % 2 else tin + dt.timedelta(hours=3)})
    jobs = [
        {"jobid": cid("J1"), "resourceid": cid("EQ1"), "resourcename": "TM-001",
         "jobstatus": "Completed", "createdate": T0 + dt.timedelta(hours=2, minutes=5),
         "completedate": T0 + dt.timedelta(hours=2, minutes=20),
         "containerids": "should,never,be,scanned"},
        {"jobid": cid("J2"), "resourceid": cid("EQ2"), "resourcename": "OTHER",
         "jobstatus": "Completed", "createdate": T0, "completedate": T0 + dt.timedelta(days=9)},
    ]
    spec = [{"spec": "TMTT測試", "specsequence": "10", "work_center": "TMTT",
             "work_center_group": "TMTT", "workcentersequence_group": "11"}]
    return {t.container: containers, t.combinedassylots: merges, t.lotwiphistory: history,
            t.lotrejecthistory: rejects, t.lotmaterialshistory: materials,
            t.holdreleasehistory: holds, t.job: jobs, t.spec_workcenter: spec}


def _load(url: str, schema: str) -> None:
    engine = make_engine(url, schema=schema, pool=None, read_only=False)
    if url.startswith("duckdb"):
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    t.metadata.create_all(engine)
    with engine.begin() as conn:
        for table, rows in _rows().items():
            cols = {c.name for c in table.columns}
            full = [{c: r.get(c) for c in cols} for r in rows]
            conn.execute(table.insert(), full)
    engine.dispose()


@pytest.fixture(scope="module")
def hand_duckdb(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("trace") / "hand.duckdb"
    url = f"duckdb:///{path}"
    _load(url, "dwh")
    return url


@pytest.fixture(scope="module")
def hand_pg(pg_url: str) -> Iterator[str]:
    import uuid

    name = f"trace_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    _load(pg_url, name)
    yield name
    with engine.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["duckdb", "postgresql"])
def hand(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Lanes, object]]:
    overrides = {"spool_dir": str(tmp_path / "spool")}
    if request.param == "duckdb":
        settings = make_settings(request.getfixturevalue("hand_duckdb"), **overrides)
    else:
        settings = make_settings(request.getfixturevalue("pg_url"),
                                 schema=request.getfixturevalue("hand_pg"), **overrides)
    lanes = open_lanes(settings)
    yield lanes, settings
    lanes.close()


def _names(ids: list[str]) -> set[str]:
    back = {v: k for k, v in N.items()}
    return {back[i] for i in ids}


def _edges(lin) -> set[tuple[str, str, str]]:
    back = {v: k for k, v in N.items()}
    e = lin.edges.to_pydict()
    return {(back[p], back[c], k)
            for p, c, k in zip(e["parent_id"], e["child_id"], e["edge_kind"], strict=True)}


def _assert_released(lanes: Lanes) -> None:
    st = lanes.stats()
    assert st["slow"]["pool"]["checked_out"] == 0
    assert st["slow"]["throttle"]["in_use"] == 0
    assert st["slow"]["active"] == 0


# --- lineage ---------------------------------------------------------------------------------


def test_backward_merge_of_merges_wafer_origin_several_roots(hand) -> None:
    lanes, s = hand
    lin = trace_lineage(lanes, [N["GA-M2"]], "backward", settings=s)
    assert _names(lin.container_ids) == {"GA-M2", "GA-M1", "GA-C", "GA-A2", "GC-B", "GA-A1",
                                         "GA-A", "WAF1", "WAF2"}
    assert _edges(lin) == {
        ("GA-M1", "GA-M2", "merge"), ("GA-C", "GA-M2", "merge"),
        ("GA-A2", "GA-M1", "merge"), ("GC-B", "GA-M1", "merge"),
        ("GA-A1", "GA-A2", "split"), ("GA-A", "GA-A1", "split"),
        ("WAF1", "GA-A", "wafer"), ("WAF2", "GC-B", "wafer"), ("WAF2", "GA-C", "wafer"),
    }
    assert _names(lin.roots) == {"WAF1", "WAF2"} and lin.roots == sorted(lin.roots)
    assert lin.truncated is None
    kinds = dict(zip(lin.nodes["containerid"].to_pylist(), lin.nodes["kind"].to_pylist(),
                     strict=True))
    assert kinds[N["GA-M2"]] == "SERIAL" and kinds[N["WAF1"]] == "WAFER"
    assert kinds[N["GC-B"]] == "GC" and kinds[N["GA-A"]] == "GA"
    depth = dict(zip(lin.nodes["containerid"].to_pylist(), lin.nodes["depth"].to_pylist(),
                     strict=True))
    assert depth[N["GA-M2"]] == 0 and depth[N["WAF1"]] == 5
    assert lin.nodes["is_seed"].to_pylist().count(True) == 1
    _assert_released(lanes)


def test_forward_deep_chain_rework_and_merges(hand) -> None:
    lanes, s = hand
    lin = trace_lineage(lanes, [N["WAF1"]], "forward", settings=s)
    expected = {"WAF1", "GA-A", *[f"GA-A{i}" for i in range(1, 9)], "GD-G", "GD-G2",
                "GA-M1", "GA-M2"}
    assert _names(lin.container_ids) == expected
    edges = _edges(lin)
    assert ("GA-A1", "GD-G", "rework") in edges and ("GD-G", "GD-G2", "rework") in edges
    assert ("GA-A7", "GA-A8", "split") in edges
    assert ("GA-M1", "GA-M2", "merge") in edges
    assert not any(p == "WAF1" and c == "GA-M1" for p, c, _k in edges), "merge result"
    assert lin.roots == [N["WAF1"]]
    # same edges whichever direction found them
    back = trace_lineage(lanes, [N["GA-A8"]], "backward", settings=s)
    assert _edges(back) <= edges


def test_cycle_and_self_reference_terminate(hand) -> None:
    lanes, s = hand
    for direction in ("backward", "forward"):
        lin = trace_lineage(lanes, [N["GA-X"], N["GA-S"]], direction, settings=s)
        names = _names(lin.container_ids)
        assert {"GA-X", "GA-Y", "GA-S"} <= names
        assert ("GA-S", "GA-S", "split") not in _edges(lin)
    back = trace_lineage(lanes, [N["GA-Z"]], "backward", settings=s)
    assert _names(back.container_ids) == {"GA-Z", "GA-X", "GA-Y"}
    assert back.roots == [min(N["GA-X"], N["GA-Y"])]  # a cycle nobody enters: smallest id


def test_bounds_are_reported_never_silent(hand) -> None:
    lanes, s = hand
    shallow = s.replace(trace_max_depth=3)
    lin = trace_lineage(lanes, [N["WAF1"]], "forward", settings=shallow)
    assert lin.truncated and "trace_max_depth" in lin.truncated
    assert max(lin.nodes["depth"].to_pylist()) == 3
    exact = s.replace(trace_max_depth=8)  # the chain needs exactly 9 levels below WAF1
    assert trace_lineage(lanes, [N["WAF1"]], "forward", settings=exact).truncated
    enough = s.replace(trace_max_depth=9)
    assert trace_lineage(lanes, [N["WAF1"]], "forward", settings=enough).truncated is None
    small = s.replace(trace_max_nodes=5)
    lin = trace_lineage(lanes, [N["WAF1"]], "forward", settings=small)
    assert lin.nodes.num_rows == 5 and "trace_max_nodes" in lin.truncated
    again = trace_lineage(lanes, [N["WAF1"]], "forward", settings=small)
    assert again.nodes.equals(lin.nodes) and again.edges.equals(lin.edges)


# --- seeds -----------------------------------------------------------------------------------


def test_seed_wildcards_escapes_and_unmatched(hand) -> None:
    lanes, s = hand
    r = resolve_seeds(lanes, "lot", "GA-A1, GA-A*\nnope, LOT\\_X1", settings=s)
    assert r.matches["GA-A1"] == [N["GA-A1"]]
    assert _names(r.matches["GA-A*"]) == {"GA-A", *[f"GA-A{i}" for i in range(1, 9)]}
    assert r.matches["LOT\\_X1"] == [N["LOT_X1"]]
    assert r.unmatched == ["nope"]
    r = resolve_seeds(lanes, "lot", ["LOT_X1"], settings=s)  # _ is one character
    assert _names(r.container_ids) == {"LOT_X1", "LOTAX1"}
    r = resolve_seeds(lanes, "lot", ["GA-A%8", "GA-A_"], settings=s)
    assert _names(r.matches["GA-A%8"]) == {"GA-A8"}
    assert len(r.matches["GA-A_"]) == 8


def test_seed_kinds(hand) -> None:
    lanes, s = hand
    r = resolve_seeds(lanes, "serial", "SER1, WAF2, GA-C, S*R2, nothing", settings=s)
    assert r.matches["SER1"] == [N["GA-M1"]]
    assert _names(r.matches["S*R2"]) == {"GA-M2"}
    assert _names(r.matches["GA-C"]) == {"GA-C"}  # then the container name
    assert _names(r.matches["WAF2"]) == {"WAF2"}  # a name before a wafer lot
    assert r.unmatched == ["nothing"]
    r = resolve_seeds(lanes, "wafer_lot", "WAF2", settings=s)
    assert _names(r.container_ids) == {"WAF2", "GC-B", "GA-C"}
    r = resolve_seeds(lanes, "work_order", "GD26010001", settings=s)
    assert _names(r.container_ids) == {"GD-G", "GD-G2", "GA-A1"}  # GD: and reverse
    r = resolve_seeds(lanes, "work_order", "GA2601000?, GC2601*", settings=s)
    assert _names(r.container_ids) == {"GC-B"}


def test_hostile_seed_input_is_a_clear_message_never_sql(hand) -> None:
    lanes, s = hand
    hostile = ["' OR 1=1 --", '"; DROP TABLE dw_mes_container; --', "批次-01", "Ω≈ç√",
               "a'b\"c", "%' OR '1'='1", "\\", "GA-A1' --"]
    r = resolve_seeds(lanes, "lot", hostile, settings=s)
    assert set(r.matches) <= {"%' OR '1'='1"}  # a pattern: matches only such names
    assert not r.matches or not r.matches.get("%' OR '1'='1")
    many = [f"NOPE-{i:05d}" for i in range(10_000)]
    r = resolve_seeds(lanes, "lot", many, settings=s)
    assert len(r.unmatched) == 10_000 and not r.container_ids
    with pytest.raises(SeedError, match="seed_max_values"):
        resolve_seeds(lanes, "lot", [*many, "one more"], settings=s)
    with pytest.raises(SeedError, match="control characters"):
        resolve_seeds(lanes, "lot", "GA-A1\x00", settings=s)
    with pytest.raises(SeedError, match="No LOT ID given"):
        resolve_seeds(lanes, "lot", " ,\n ", settings=s)
    with pytest.raises(SeedError, match="Unknown seed kind"):
        resolve_seeds(lanes, "lots; drop", "x", settings=s)
    with pytest.raises(SeedError, match="seed_max_matches"):
        resolve_seeds(lanes, "lot", "*", settings=s.replace(seed_max_matches=5))
    with pytest.raises(SeedError, match="seed_max_patterns"):
        resolve_seeds(lanes, "lot", [f"A{i}*" for i in range(51)], settings=s)
    with pytest.raises(SeedError, match="longer than"):
        resolve_seeds(lanes, "lot", "x" * 401, settings=s)
    _assert_released(lanes)


# --- domains ---------------------------------------------------------------------------------


def test_domains_shapes_on_known_data(hand) -> None:
    lanes, s = hand
    spool = Spool.create(s)
    ids = sorted(N.values())
    res = {n: fetch_domain(lanes, n, ids, spool, settings=s) for n in DOMAINS}
    assert all(r.completeness["status"] == "complete" for r in res.values())
    assert res["history"].rows == len(CONTAINERS)  # partial track-outs deduplicated
    h = spool.sql("select min(trackoutqty) q, min(station_group) g, min(station_seq) n "
                  "from history").to_pylist()[0]
    assert h == {"q": 60, "g": "TMTT", "n": 11}
    rj = spool.sql("select sum(charged_qty) c, sum(defect_qty) d from rejects").to_pylist()[0]
    assert rj == {"c": 3 * len(CONTAINERS), "d": 5 * len(CONTAINERS)}
    assert spool.sql("select distinct reason_code from rejects").to_pylist() == [
        {"reason_code": "001"}]
    holds = spool.sql("select hold_status, count(*) n, min(hold_hours) h from holds "
                      "group by 1 order by 1").to_pylist()
    assert holds[0]["hold_status"] == "ON HOLD" and holds[0]["h"] > 24
    assert holds[1] == {"hold_status": "RELEASED", "n": (len(CONTAINERS) + 1) // 2, "h": 3.0}
    # J1 on EQ1 from 10:05 to 10:20: the lot tracked in at 10:00 (index 2) and out 10:30
    jobs = spool.sql("select containerid, jobid from jobs").to_pylist()
    assert jobs == [{"containerid": N[CONTAINERS[2][0]], "jobid": cid("J1")}]
    assert spool.count("materials", {"materiallotname": "ml1"}) == len(CONTAINERS[1::3])
    page = spool.page("history", offset=2, limit=3, order_by=[("trackintimestamp", "desc")])
    assert page.num_rows == 3
    spool.delete()
    assert not spool.path.exists()


def test_domains_agree_on_duckdb_and_postgresql(duckdb_lanes: Lanes, pg_lanes: Lanes,
                                                tmp_path: Path) -> None:
    out = {}
    for lanes in (duckdb_lanes, pg_lanes):
        s = lanes.settings.replace(spool_dir=str(tmp_path))
        ids = lanes.slow.fetch_arrow(sa.select(t.container.c.containerid))["containerid"]
        spool = Spool.create(s)
        tables = {}
        for name in DOMAINS:
            r = fetch_domain(lanes, name, ids.to_pylist(), spool, settings=s)
            assert r.completeness["status"] == "complete"
            table = pq.read_table(r.path)
            if name == "holds":
                table = table.drop(["hold_hours"])
            for i, f in enumerate(table.schema):  # NUMERIC → float64 may differ in an ulp
                if pa.types.is_floating(f.type):
                    micro = pc.round(pc.multiply(table[f.name], 1e6))
                    table = table.set_column(i, f.name, micro.cast(pa.int64()))
            tables[name] = table.sort_by([(c, "ascending") for c in table.column_names])
        out[lanes.backend] = tables
    for name in DOMAINS:
        a, b = out["duckdb"][name], out["postgresql"][name]
        assert a.num_rows > 0, name
        assert a.schema.equals(b.schema), name
        assert a.equals(b), name


def test_failing_batch_gives_partial_with_its_id_range(hand, monkeypatch) -> None:
    lanes, s = hand
    s = s.replace(in_list_max=4)
    lanes.slow.in_list_max = 4
    bad = N["GA-A5"]
    real = DOMAINS["materials"]

    def build(chunk: list[str]) -> sa.Select:
        stmt = real.build(chunk)
        if bad in chunk:  # a real database error for this batch only
            return stmt.where(sa.text("no_such_column_xyz IS NULL"))
        return stmt

    monkeypatch.setitem(domains_mod.DOMAINS, "materials", dataclasses.replace(real, build=build))
    spool = Spool.create(s)
    ids = sorted(N.values())
    r = fetch_domain(lanes, "materials", ids, spool, settings=s)
    assert r.completeness["status"] == "partial"
    [failed] = r.completeness["failed_batches"]
    pos = ids.index(bad) // 4 * 4
    assert (failed["first_id"], failed["last_id"]) == (ids[pos], ids[min(pos + 3, len(ids) - 1)])
    assert failed["error"]
    assert r.rows == len(ids) - failed["ids"]
    assert spool.meta("materials")["completeness"]["status"] == "partial"
    _assert_released(lanes)


def test_spool_pages_and_exports_show_the_lot_name_beside_the_id(tmp_path: Path) -> None:
    s = make_settings("duckdb:///" + str(tmp_path / "none.duckdb"), spool_dir=str(tmp_path))
    spool = Spool.create(s)
    spool.write_table("history", pa.table({"containerid": ["A", "B", "C"], "n": [1, 2, 3]}))
    assert spool.columns("history") == ["containerid", "n"]  # no lineage: ids only
    spool.write_table("nodes", pa.table({"containerid": ["A", "B"],
                                         "containername": ["LOT-A", "LOT-B"]}))
    assert spool.columns("history") == ["containerid", "containername", "n"]
    assert spool.columns("nodes") == ["containerid", "containername"]
    page = spool.page("history", order_by="containerid").to_pylist()
    assert page == [{"containerid": "A", "containername": "LOT-A", "n": 1},
                    {"containerid": "B", "containername": "LOT-B", "n": 2},
                    {"containerid": "C", "containername": None, "n": 3}]  # no node: kept
    assert spool.count("history", {"containername": "lot-b"}) == 1
    assert spool.count("history") == 3
    data = Path(spool.export("history", "csv")).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert ["A", "LOT-A", "1"] in rows
    assert rows[0] == ["Container ID", "LOT ID", "n"]  # labelled (core.labels); n is unknown
    raw = Path(spool.export("history", "csv", raw_headers=True)).read_bytes()
    assert raw.decode("utf-8-sig").splitlines()[0] == "containerid,containername,n"
    exported = pq.read_table(spool.export("history", "parquet"))
    assert exported.column_names == ["containerid", "containername", "n"]
    assert spool.sql("SELECT * FROM history").column_names == ["containerid", "n"]


def test_spool_reads_take_only_its_own_domains_and_columns(tmp_path: Path) -> None:
    from core.jobs._spool import SpoolError

    s = make_settings("duckdb:///" + str(tmp_path / "none.duckdb"), spool_dir=str(tmp_path))
    spool = Spool.create(s)
    spool.write_table("history", pa.table({"containerid": ["A", "B"], "n": [1, 2]}))
    assert spool.count("history") == 2
    assert spool.count("history", {"containerid": "a"}) == 1  # contains, any case
    for bad in ("history; DROP TABLE x", "materials"):  # not a name / not in this spool
        with pytest.raises(SpoolError):
            spool.count(bad)
    with pytest.raises(SpoolError):
        spool.count("history", {"n) OR (1=1": 1})
    with pytest.raises(SpoolError):
        spool.page("history", order_by=[("n", "desc; --")])
    spool.delete()
