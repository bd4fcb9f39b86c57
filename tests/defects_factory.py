"""A small hand-built factory whose defect attribution is known by hand (see
tests/test_defects_attribution.py for the expected numbers)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import sqlalchemy as sa

from core import schema
from core.db.engines import make_engine

D0 = dt.datetime(2026, 6, 1)


def day(n: int, hour: int = 8) -> dt.datetime:
    return D0 + dt.timedelta(days=n, hours=hour)


def cid(name: str) -> str:
    return name.encode().hex().upper().ljust(16, "0")[:16]


CONTAINERS = [
    # name, firstname, splitfrom, type, package, objecttype
    ("W1", "W1", None, None, None, "LOT"),
    ("W2", "W2", None, None, None, "LOT"),
    ("P1", "W1", None, "X1", "PKG1", "LOT"),
    ("A", "W1", "P1", "X1", "PKG1", "LOT"),
    ("B", "W1", "P1", "X1", "PKG1", "LOT"),
    ("C", "W2", None, "X1", "PKG1", "LOT"),
    ("D", "W2", None, "X2", "PKG2", "LOT"),
    ("E", "W2", None, "X1", "PKG1", "LOT"),
]
SPECS = [("S_DB", "1", "DB", "焊接_DB", "1"), ("S_WB", "2", "WB", "焊接_WB", "2"),
         ("S_TMTT", "20", "TMTT", "TMTT", "11"), ("S_FQC", "30", "FQC", "FQC", "12")]
HISTORY = [
    # lot, workcenter, machine, trackin, trackinqty
    ("P1", "DB", "M1", day(0), 2000),
    ("A", "WB", "WB1", day(2), 1000), ("A", "TMTT", "T1", day(5), 1000),
    ("A", "FQC", "F1", day(7), 960),
    ("B", "WB", "WB2", day(2), 1000), ("B", "TMTT", "T1", day(3), 900),
    ("B", "TMTT", "T1", day(6), 1000),
    ("C", "DB", "M2", day(1), 1000), ("C", "WB", "WB1", day(2), 1000),
    ("C", "TMTT", "T2", day(5), 1000),
    ("D", "DB", "M2", day(1), 500), ("D", "WB", "WB2", day(2), 500),
    ("D", "TMTT", "T2", day(6), 500),
    ("E", "DB", "M1", day(0), 800), ("E", "TMTT", "T1", day(40), 800),  # outside the range
]
MATERIALS = [("P1", "DB", "LF", "LF-1"), ("C", "DB", "LF", "LF-2"), ("D", "DB", "LF", "LF-2"),
             ("A", "FQC", "BOX", "BX-9")]
REJECTS = [
    # lot, workcenter, event, reason, rejectqty, standbyqty, when
    ("A", "TMTT", "H1", "274_OPEN", 30, None, day(5, 10)),
    ("A", "TMTT", "H1", "001_CRACK", 10, None, day(5, 10)),
    ("B", "TMTT", "H2", "274_OPEN", 20, 5, day(6, 10)),
    ("C", "TMTT", "H3", "001_CRACK", 5, None, day(5, 10)),
    ("A", "FQC", "H4", "274_OPEN", 7, None, day(7, 10)),  # a later station
]
EDGES = [("P1", "A", "split"), ("P1", "B", "split"), ("W1", "P1", "wafer"),
         ("W2", "C", "wafer"), ("W2", "D", "wafer"), ("W2", "E", "wafer")]


def build(url: str, schema_name: str = "dwh") -> None:
    engine = make_engine(url, schema=schema_name, pool=None, read_only=False)
    with engine.begin() as c:
        c.execute(sa.schema.CreateSchema(schema_name, if_not_exists=True))
    schema.metadata.create_all(engine)
    with engine.begin() as c:
        c.execute(schema.container.insert(), [
            {"containerid": cid(n), "containername": n, "firstname": f,
             "splitfromid": cid(s) if s else None, "pj_type": t, "productlinename": p,
             "objecttype": o, "mfgordername": None if n.startswith("W") else "GA26060001",
             "createdate": D0} for n, f, s, t, p, o in CONTAINERS])
        c.execute(schema.spec_workcenter.insert(), [
            {"spec": s, "specsequence": q, "work_center": w, "work_center_group": g,
             "workcentersequence_group": gs} for s, q, w, g, gs in SPECS])
        c.execute(schema.lotwiphistory.insert(), [
            {"containerid": cid(n), "workcentername": w, "specname": f"S_{w}",
             "equipmentid": cid(m), "equipmentname": m, "trackintimestamp": t,
             "trackouttimestamp": t + dt.timedelta(hours=2), "trackinqty": q,
             "trackoutqty": q} for n, w, m, t, q in HISTORY])
        c.execute(schema.lotmaterialshistory.insert(), [
            {"containerid": cid(n), "workcentername": w, "materialpartname": p,
             "materiallotname": lot, "qtyconsumed": 1.0, "txndate": D0}
            for n, w, p, lot in MATERIALS])
        c.execute(schema.lotrejecthistory.insert(), [
            {"historymainlineid": cid(h), "containerid": cid(n), "workcentername": w,
             "lossreasonname": r, "rejectqty": q, "standbyqty": s, "txndate": t,
             "moveinqty": 1000, "equipmentname": "T1"} for n, w, h, r, q, s, t in REJECTS])
        c.execute(schema.resource.insert(), [
            {"resourceid": cid(m), "resourcename": m, "resourcefamilyname": fam}
            for m, fam in (("M1", "ASM-AD838"), ("M2", "ASM-AD838"), ("WB1", "K&S"),
                           ("WB2", "K&S"), ("T1", "TMTT-X"), ("T2", "TMTT-X"))])
    engine.dispose()


def edges_table() -> pa.Table:
    return pa.table({"parent_id": [cid(p) for p, _, _ in EDGES],
                     "child_id": [cid(c) for _, c, _ in EDGES],
                     "edge_kind": [k for _, _, k in EDGES]})
